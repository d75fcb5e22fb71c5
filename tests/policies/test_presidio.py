"""The Presidio backend (``llmroute[presidio]``): names found by a spaCy pipeline the user
provides, kept off a hosted model on the wire in every call style, offline, and bad setups
refused when the policy is built.

The pipeline is a real spaCy pipeline saved to a directory, as a user's own model would be; its
entity ruler tags a few names (the statistical pipelines are not on PyPI, so none can be
installed here), which keeps the test's findings the same on every machine.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import spacy
from openai_server import OpenAIServer
from test_privacy_wire import MODES, assert_never_sent, call, home, hosted

from llmroute import ConfigError, Model, NoEligibleModelError, Request, Router
from llmroute.adapters import Function
from llmroute.policies import Presidio, Privacy

NAME = "Jane Roe"
PROMPT = f"Please draft a friendly note to {NAME} about next week's team offsite."


@pytest.fixture(scope="module")
def names_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spaCy pipeline on disk whose entity ruler tags first name + surname pairs it knows."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": [{"LOWER": first}, {"LOWER": last}]}
                        for first, last in (("jane", "roe"), ("omar", "haddad"))])
    path = tmp_path_factory.mktemp("spacy") / "names"
    nlp.to_disk(path)
    return path


def test_a_name_is_found_only_with_the_backend(names_model: Path) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    assert Privacy().scan(messages) == []  # no built-in rule finds a bare name
    found = Privacy(recognizers=[Presidio(names_model)]).scan(messages)
    assert [(f.detector, f.start, f.end) for f in found] == [("person", PROMPT.index(NAME), PROMPT.index(NAME) + len(NAME))]


@pytest.mark.parametrize("mode", MODES)
def test_a_named_person_never_reaches_the_hosted_model(openai_server: OpenAIServer, names_model: Path, mode: str) -> None:
    seen: list[Request] = []
    router = Router([hosted(openai_server), home(seen)], [Privacy(recognizers=[Presidio(names_model)])])
    assert call(router, mode, [{"role": "user", "content": PROMPT}], {}) == "served at home"
    assert openai_server.requests == 0
    with pytest.raises(NoEligibleModelError):
        call(router, mode, [{"role": "user", "content": PROMPT}], {"model": "hosted"})
    # a prompt with no name still goes to the hosted model: the backend is what kept it home
    call(router, mode, [{"role": "user", "content": "Please draft a note about next week's offsite."}], {})
    assert openai_server.requests == 1
    assert_never_sent(openai_server, NAME)


@pytest.mark.parametrize("mode", MODES)
def test_redaction_masks_a_name(openai_server: OpenAIServer, names_model: Path, mode: str) -> None:
    router = Router([hosted(openai_server)], [Privacy(mode="redact", recognizers=[Presidio(names_model)])])
    answer = call(router, mode, [{"role": "user", "content": PROMPT}], {})
    assert openai_server.requests == 1
    assert "[PERSON_1]" in openai_server.received[0].raw.decode()
    assert_never_sent(openai_server, NAME, "Roe")
    assert NAME in answer  # the loopback server echoes the prompt; the name is put back


def test_pattern_recognisers_work_without_a_model() -> None:
    backend = Presidio()
    assert "PERSON" not in backend.entities and "US_PASSPORT" in backend.entities
    text = "Wallet for the refund: 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ"
    assert [label for _, _, label in backend.find(text)] == ["crypto"]


def test_scanning_opens_no_connection(names_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Presidio's e-mail check would fetch the public suffix list; llmroute leaves it out."""
    backends = [Presidio(), Presidio(names_model)]

    def refuse(*args: Any, **kw: Any) -> None:
        raise AssertionError(f"network access: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    text = f"{NAME} <jane.roe@mail.example.org>, see https://intranet.example.com/u/jroe and www.example.co.uk"
    for backend in backends:
        backend.find(text)
    assert "email" in {f.detector for f in Privacy(recognizers=backends).scan([{"role": "user", "content": text}])}


def test_async_calls_decide_off_the_event_loop(openai_server: OpenAIServer, names_model: Path) -> None:
    threads: list[str] = []

    class Watched:
        name = "watched"
        blocking = True

        def find(self, text: str) -> list[tuple[int, int]]:
            threads.append(threading.current_thread().name)
            return []

    class Quick(Watched):
        blocking = False

    async def run(recognizer: Any) -> str:
        router = Router([home([])], [Privacy(recognizers=[recognizer])])
        threads.clear()  # the probe when the policy was built
        answer = await router.acompletion([{"role": "user", "content": "hello"}])
        chunks = [c.content async for c in router.astream([{"role": "user", "content": "hello"}])]
        return (answer.content or "") + "".join(chunks)

    main = threading.current_thread().name
    asyncio.run(run(Watched()))
    assert len(threads) == 2 and main not in threads
    asyncio.run(run(Quick()))
    assert threads == [main, main]
    assert Presidio.blocking and Privacy(recognizers=[Presidio(names_model)]).blocking


def test_a_long_request_decides_off_the_event_loop() -> None:
    threads: list[str] = []

    def watch(request: Request, candidates: Any) -> Any:
        threads.append(threading.current_thread().name)
        return Privacy()(request, candidates)

    router = Router([Model("m", Function(lambda r: "ok"), hosting="local")], [watch])
    for size in (1_000, 30_000):
        asyncio.run(router.acompletion([{"role": "user", "content": "word " * (size // 5)}]))
    assert threads[0] == threading.current_thread().name
    assert threads[1] != threading.current_thread().name


# -- bad setups: a ConfigError when the policy is built, nothing downloaded ----------------------


def test_a_missing_model_is_refused_not_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def download(*args: Any, **kw: Any) -> None:
        raise AssertionError("tried to download a model")

    monkeypatch.setattr("spacy.cli.download", download)
    for model in ("en_core_web_lg", tmp_path / "no-such-pipeline"):
        with pytest.raises(ConfigError, match="never downloads") as info:
            Presidio(model)
        assert info.value.path == "privacy.recognizers.presidio.model"


def test_a_broken_model_directory_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.cfg").write_text("not a spaCy config", encoding="utf-8")
    with pytest.raises(ConfigError, match="could not load"):
        Presidio(tmp_path)


def test_bad_arguments_name_what_is_wrong(names_model: Path) -> None:
    with pytest.raises(ConfigError, match=r"not supported by this analyzer: \['SOCIAL_SECURITY'\]"):
        Presidio(entities=["SOCIAL_SECURITY"])
    with pytest.raises(ConfigError, match="PERSON"):
        Presidio(entities=["PERSON"])  # no model: no NER, so no names
    assert Presidio(names_model, entities=["PERSON"]).entities == ("PERSON",)
    with pytest.raises(ConfigError, match="from 0 to 1"):
        Presidio(score_threshold=1.5)
    with pytest.raises(ConfigError, match="not both"):
        Presidio(names_model, analyzer=object())
    with pytest.raises(ConfigError, match="AnalyzerEngine"):
        Presidio(analyzer=object())


def test_presidio_not_installed_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    with pytest.raises(ConfigError, match=r"pip install 'llmroute\[presidio\]'"):
        Presidio()


def test_a_backend_that_fails_while_scanning_fails_closed(openai_server: OpenAIServer, names_model: Path) -> None:
    backend = Presidio(names_model)
    router = Router([hosted(openai_server), home([])], [Privacy(recognizers=[backend])])

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("model crashed")

    backend._analyzer.analyze = broken  # after the probe at build time: the model dies later
    assert router.completion([{"role": "user", "content": "hello"}]).content == "served at home"
    assert openai_server.requests == 0
