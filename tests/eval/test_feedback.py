"""router.feedback: ratings of answered requests recorded in the dataset format, over real HTTP.

Every call style (sync, async, stream, async stream) goes to the loopback OpenAI-compatible
server through the native OpenAI adapter; the file written is read back with load_dataset.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import SECRET, SECRET_MSG, ok
from openai_server import OpenAIServer

from llmroute import Model, Price, Router
from llmroute.adapters.openai import OpenAI
from llmroute.errors import ConfigError, InvalidRequestError
from llmroute.eval.dataset import Example, load_dataset
from llmroute.eval.feedback import Feedback, FeedbackError, FeedbackLog
from llmroute.policies import Privacy

ASK = [{"role": "user", "content": "Name three rivers in Europe."}]


def http_router(server: OpenAIServer, log: FeedbackLog | None, **kw: Any) -> Router:
    model = Model("remote", OpenAI("remote", base_url=server.base_url, api_key="sk-test"), price=Price(input=1.0, output=2.0))
    return Router([model], feedback=log, **kw)


def test_sync_completion_rated_by_response_lands_in_the_dataset_format(openai_server: OpenAIServer, tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    audit: list[Any] = []
    router = http_router(openai_server, log, audit=audit.append)
    response = router.completion(ASK, max_tokens=20, temperature=0.1)
    assert response.request_id is not None and response.request_id.startswith("req-")
    assert audit[0].id == response.request_id  # the audit record and the rating name the same call
    written = router.feedback(response, 0.75, metadata={"rater": "qa"})
    assert isinstance(written, Example)
    data = load_dataset(log.path)
    (ex,) = data.examples
    assert ex == written
    assert ex.id == response.request_id
    assert ex.messages == tuple(ASK)
    outcome = ex.outcomes["remote"]
    assert outcome.quality == 0.75
    assert (outcome.input_tokens, outcome.output_tokens) == (response.usage.prompt_tokens, response.usage.completion_tokens)
    assert outcome.cost == pytest.approx(response.cost)
    assert outcome.latency_s is not None and outcome.latency_s >= 0
    assert ex.params == {"max_tokens": 20}  # what routing reads; sampling settings are not kept
    assert ex.metadata["source"] == "feedback" and ex.metadata["chosen"] == "remote" and ex.metadata["rater"] == "qa"


def test_async_completion_rated_later_by_request_id(openai_server: OpenAIServer, tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "f.jsonl")
    router = http_router(openai_server, log)

    async def two() -> list[str]:
        responses = await asyncio.gather(router.acompletion(ASK), router.acompletion([{"role": "user", "content": "Another one."}]))
        return [r.request_id or "" for r in responses]

    first, second = asyncio.run(two())
    assert first != second
    router.feedback(second, 0.0)
    router.feedback(first, 1.0)
    data = load_dataset(log.path)
    assert [(ex.id, ex.outcomes["remote"].quality) for ex in data] == [(second, 0.0), (first, 1.0)]
    assert data.examples[1].messages == tuple(ASK)


@pytest.mark.parametrize("style", ["stream", "astream"])
def test_streams_carry_the_request_id_and_are_rated_by_the_last_chunk(openai_server: OpenAIServer, tmp_path: Path, style: str) -> None:
    log = FeedbackLog(tmp_path / "f.jsonl")
    router = http_router(openai_server, log)
    if style == "stream":
        chunks = list(router.stream(ASK))
    else:

        async def collect() -> list[Any]:
            return [c async for c in router.astream(ASK)]

        chunks = asyncio.run(collect())
    ids = {c.request_id for c in chunks}
    assert len(ids) == 1 and None not in ids
    last = chunks[-1]
    assert last.usage is not None
    router.feedback(last, 1.0)
    (ex,) = load_dataset(log.path).examples
    assert ex.id == last.request_id and ex.outcomes["remote"].output_tokens == last.usage.completion_tokens


def test_privacy_fired_requests_are_never_recorded(openai_server: OpenAIServer, tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "f.jsonl")
    remote = Model("remote", OpenAI("remote", base_url=openai_server.base_url, api_key="sk-test"))
    router = Router([remote, Model("local", ok("fine"), hosting="local")], [Privacy()], feedback=log)
    private = router.completion(SECRET_MSG)
    assert private.model == "local"
    kept = router._feedback._answered[private.request_id or ""]  # type: ignore[union-attr]
    assert kept.messages is None  # not even held in memory
    assert router.feedback(private, 1.0) is None
    assert not log.path.exists()
    with pytest.raises(FeedbackError, match="already rated"):  # refused once is refused: it is gone
        router.feedback(private, 1.0)
    public = router.completion(ASK)
    router.feedback(public, 1.0)
    text = log.path.read_text()
    assert SECRET not in text and "4111" not in text
    assert [ex.id for ex in load_dataset(log.path)] == [public.request_id]


def test_bad_ratings_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "f.jsonl")
    router = Router([Model("m", ok())], feedback=Feedback(log, keep=2))
    response = router.completion(ASK)
    for bad in (1.5, -0.1, math.nan, True, "good", None):
        with pytest.raises(FeedbackError, match=r"quality must be a number in \[0, 1\]"):
            router.feedback(response, bad)  # type: ignore[arg-type]
    with pytest.raises(FeedbackError, match="no answered request 'req-nope'"):
        router.feedback("req-nope", 1.0)
    with pytest.raises(FeedbackError, match="needs a Response, the last StreamChunk or a request id, got int"):
        router.feedback(42, 1.0)  # type: ignore[arg-type]
    with pytest.raises(FeedbackError, match="metadata must be a mapping"):
        router.feedback(response, 1.0, metadata=["x"])  # type: ignore[arg-type]
    assert not log.path.exists()
    assert isinstance(FeedbackError("x"), InvalidRequestError)
    router.feedback(response, 1.0)
    with pytest.raises(FeedbackError, match="already rated"):
        router.feedback(response, 1.0)
    # keep=2: the oldest unrated request is pushed out by newer ones
    a, b, c = (router.completion(ASK) for _ in range(3))
    with pytest.raises(FeedbackError, match="more than 2 newer requests"):
        router.feedback(a, 1.0)
    router.feedback(c, 0.5)
    router.feedback(b, 0.5)
    assert len(load_dataset(log.path)) == 3


def test_off_by_default_and_a_sink_per_call(tmp_path: Path) -> None:
    plain = Router([Model("m", ok())])
    response = plain.completion(ASK)
    assert response.request_id
    with pytest.raises(ConfigError, match="feedback is off"):
        plain.feedback(response, 1.0)
    assert plain._feedback is None  # nothing is kept when feedback is off

    remembering = Router([Model("m", ok())], feedback=True)
    answered = remembering.completion(ASK)
    with pytest.raises(FeedbackError, match="no feedback sink"):
        remembering.feedback(answered, 1.0)
    got: list[Example] = []
    remembering.feedback(answered, 1.0, sink=got.append)
    assert [ex.id for ex in got] == [answered.request_id]


def test_bad_feedback_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"feedback: a feedback log is a \.jsonl file"):
        Router([Model("m", ok())], feedback=str(tmp_path / "f.csv"))
    with pytest.raises(ConfigError, match=r"feedback\.keep"):
        Feedback(keep=0)
    with pytest.raises(ConfigError, match="got int"):
        Router([Model("m", ok())], feedback=3)  # type: ignore[arg-type]


def test_config_names_the_feedback_log(openai_server: OpenAIServer, tmp_path: Path) -> None:
    path = tmp_path / "fb.jsonl"
    config = {
        "models": [{"name": "remote", "adapter": {"type": "openai", "model": "remote", "base_url": openai_server.base_url}}],
        "router": {"feedback": str(path)},
    }
    (tmp_path / "router.yaml").write_text(yaml.safe_dump(config))
    router = Router.from_config(tmp_path / "router.yaml")
    router.feedback(router.completion(ASK), 1.0)
    assert [ex.outcomes["remote"].quality for ex in load_dataset(path)] == [1.0]
