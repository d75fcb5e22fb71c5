"""Privacy(mode="redact"): hosted models see placeholders only; the answer gets the values back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from openai_server import OpenAIServer

from llmroute import Constraint, Model, NoEligibleModelError, Request, Router, StreamEvent, Verdict
from llmroute.adapters import Function, LiteLLM, OpenAI
from llmroute.errors import AllAttemptsFailedError, ConfigError, ProviderUnavailableError
from llmroute.policies import Privacy

EMAIL, PHONE = "jane.doe@example.com", "+1 415 555 0134"
MSG = [{"role": "user", "content": f"Write to {EMAIL} or call {PHONE} about Friday."}]


class Echo(Function):
    """Answers with the last message it received and keeps what it saw; streams 3 characters a chunk."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(self._answer)

    def _answer(self, request: Request) -> str:
        text = str(request.messages[-1]["content"])
        self.seen.append(text)
        return f"Sent: {text}"

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        text = self.complete(request).content or ""
        for i in range(0, len(text), 3):
            yield StreamEvent(text=text[i : i + 3])
        yield StreamEvent(finish_reason="stop")

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        for event in self.stream(request):
            yield event


def down(request: Request) -> str:
    raise ProviderUnavailableError("local model down")


def test_hosted_model_sees_placeholders_and_the_answer_is_restored() -> None:
    echo = Echo()
    router = Router([Model("hosted", echo, hosting="api")], [Privacy(mode="redact")])
    resp = router.completion(MSG)
    assert EMAIL not in echo.seen[0] and PHONE not in echo.seen[0]
    assert "[EMAIL_1]" in echo.seen[0] and "[PHONE_1]" in echo.seen[0]
    assert resp.content == f"Sent: {MSG[0]['content']}"
    assert resp.attempts[0].redacted
    assert "redacted copy" in resp.decision.explain()
    assert EMAIL not in repr(resp.decision)


def test_allowed_hosting_first_then_a_redacted_fallback() -> None:
    local, echo = Echo(), Echo()
    router = Router([Model("hosted", echo, hosting="api"), Model("local", local, hosting="local")], [Privacy(mode="redact")])
    assert router.route(MSG).candidates == ("local", "hosted")
    resp = router.completion(MSG)
    assert resp.model == "local" and EMAIL in local.seen[0] and not resp.attempts[0].redacted
    router = Router([Model("local", Function(down), hosting="local"), Model("hosted", echo, hosting="api")], [Privacy(mode="redact")], retry={"attempts_per_model": 1})
    resp = router.completion(MSG)
    assert resp.model == "hosted" and [a.redacted for a in resp.attempts] == [False, True]
    assert EMAIL not in echo.seen[0] and resp.content == f"Sent: {MSG[0]['content']}"


def test_stream_restores_placeholders_split_across_chunks() -> None:
    echo = Echo()
    router = Router([Model("hosted", echo, hosting="api")], [Privacy(mode="redact")])
    chunks = list(router.stream(MSG))
    text = "".join(c.content for c in chunks)
    assert text == f"Sent: {MSG[0]['content']}"
    assert all("[EMAIL" not in c.content and "_1]" not in c.content for c in chunks)


async def test_async_paths_restore_too() -> None:
    echo = Echo()
    router = Router([Model("hosted", echo, hosting="api")], [Privacy(mode="redact")])
    resp = await router.acompletion(MSG)
    assert resp.content == f"Sent: {MSG[0]['content']}"
    chunks = [c.content async for c in router.astream(MSG)]
    assert "".join(chunks) == f"Sent: {MSG[0]['content']}"
    assert all(EMAIL not in seen for seen in echo.seen)


def test_classified_requests_are_not_redacted_but_restricted() -> None:
    echo = Echo()
    router = Router([Model("hosted", echo, hosting="api")], [Privacy(mode="redact")])
    with pytest.raises(NoEligibleModelError):
        router.completion(MSG, classification="confidential")
    assert echo.calls == 0


def test_a_redaction_that_fails_keeps_hosted_models_out() -> None:
    def broken(messages: Any) -> Any:
        raise RuntimeError("cannot")

    def sensitive(request: Request, candidates: Any) -> Verdict:
        return Verdict.keep_all(candidates, "always sensitive", constraints=(
            Constraint("privacy", "test", hosting=frozenset({"local"}), data={"detectors": ("x",)}, redact=broken),
        ))

    echo = Echo()
    with pytest.raises(NoEligibleModelError) as info:
        Router([Model("hosted", echo, hosting="api")], [sensitive]).completion(MSG)
    assert "could not redact" in str(info.value) and echo.calls == 0
    router = Router([Model("local", Function(down), hosting="local"), Model("hosted", echo, hosting="api")], [sensitive], retry={"attempts_per_model": 1})
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert echo.calls == 0


def test_over_http_the_server_never_receives_the_values(openai_server: OpenAIServer) -> None:
    adapter = LiteLLM("openai/m", api_base=openai_server.base_url, api_key="sk-test")
    router = Router([Model("hosted", adapter, hosting="api")], [Privacy(mode="redact")])
    resp = router.completion(MSG)
    stream = "".join(c.content for c in router.stream(MSG))
    sent = json.dumps([r.body for r in openai_server.received])
    assert len(openai_server.received) == 2
    assert EMAIL not in sent and PHONE not in sent and "[EMAIL_1]" in sent
    assert resp.content == f"echo: {MSG[0]['content']}" == stream


def test_a_name_cut_by_the_person_rules_window_is_redacted_whole(openai_server: OpenAIServer) -> None:
    """The person rule reads a window around each cue word; a name its edge cut was redacted up to
    the edge ("Olivia Gr") and the rest of it went out."""
    text = "diabetes " + "x" * 109 + " Olivia Grant called."  # the window after "diabetes" ends inside "Grant"
    router = Router([Model("hosted", OpenAI("m", base_url=openai_server.base_url, api_key="sk-test"), hosting="api")], [Privacy(mode="redact")])
    resp = router.completion([{"role": "user", "content": text}])
    [sent] = openai_server.received
    assert resp.attempts[0].redacted
    assert b"Olivia" not in sent.raw and b"ant called" not in sent.raw and b" called" in sent.raw
    router.close()


def test_mode_is_configurable_and_checked() -> None:
    router = Router.from_config({
        "models": [{"name": "hosted", "adapter": {"type": "function", "fn": lambda r: "x"}}],
        "policies": [{"type": "privacy", "mode": "redact"}],
    })
    assert router.route(MSG).model == "hosted"
    with pytest.raises(ConfigError, match=r"privacy\.mode"):
        Privacy(mode="mask")  # type: ignore[arg-type]


# -- StreamRestorer: the placeholder restorer for streamed text --------------------------------
def _restorer(values: dict[str, str]) -> Any:
    from llmroute.policies.privacy.redaction import Redaction, StreamRestorer

    return StreamRestorer(Redaction((), values).restore)


def _stream(chunks: list[str], values: dict[str, str]) -> list[str]:
    restorer = _restorer(values)
    return [restorer.feed(c) for c in chunks] + [restorer.flush()]


def test_stream_restorer_restores_a_placeholder_split_across_chunks() -> None:
    values = {"[EMAIL_1]": EMAIL, "[PHONE_12]": PHONE}
    out = _stream(["Mail [EM", "AIL", "_1] or ", "call [PHONE_1", "2]", " now"], values)
    assert out == ["Mail ", "", "jane.doe@example.com or ", "call ", "+1 415 555 0134", " now", ""]
    # every split point of the whole text gives the same restored text
    text = "a [EMAIL_1] b [PHONE_12] c"
    for cut in range(len(text) + 1):
        assert "".join(_stream([text[:cut], text[cut:]], values)) == f"a {EMAIL} b {PHONE} c"


def test_stream_restorer_lets_long_bracket_text_through() -> None:
    from llmroute.policies.privacy.redaction import MAX_PLACEHOLDER

    restorer = _restorer({"[EMAIL_1]": EMAIL})
    assert restorer.feed("see [") == "see "  # may be a placeholder: held back
    long_tail = "x" * MAX_PLACEHOLDER
    assert restorer.feed(long_tail) == "[" + long_tail  # longer than any placeholder: plain text
    assert restorer.feed("[a](link) and [b") == "[a](link) and "  # closed brackets pass at once
    assert restorer.flush() == "[b"  # the end of the stream releases what was held back
    assert restorer.flush() == ""
    assert restorer.feed("plain") == "plain"


def test_stream_restorer_flush_restores_a_placeholder_at_the_very_end() -> None:
    restorer = _restorer({"[EMAIL_1]": EMAIL})
    assert restorer.feed("to [EMAIL_1") == "to "
    assert restorer.flush() == "[EMAIL_1"  # never closed: not a placeholder
    assert restorer.feed("to [EMAIL_1]") == f"to {EMAIL}"
    assert restorer.flush() == ""


def test_placeholders_fit_what_the_stream_restorer_holds_back() -> None:
    from llmroute.policies.privacy.redaction import (
        MAX_PLACEHOLDER,
        StreamRestorer,
        placeholder,
        placeholder_kind,
    )

    kind = placeholder_kind("pattern:" + "very-long-pattern-name-" * 5)
    assert kind.startswith("PATTERN_VERY_LONG") and not kind.endswith("_")
    assert len(placeholder(kind, 999_999)) <= MAX_PLACEHOLDER == StreamRestorer.HOLD
    assert placeholder(placeholder_kind("pattern:order-id"), 3) == "[PATTERN_ORDER_ID_3]"
    with pytest.raises(ValueError, match="values of one kind"):
        placeholder(kind, 1_000_000)
    # a long pattern name still redacts and restores, streamed too
    policy = Privacy(mode="redact", patterns={"customer-reference-number-of-the-legacy-billing-system": r"CRN-\d{6}"})
    redaction = policy.redact([{"role": "user", "content": "ref CRN-123456 please"}])
    (holder,) = redaction.placeholders
    assert len(holder) <= MAX_PLACEHOLDER and "CRN-" not in redaction.messages[0]["content"]
    restorer = StreamRestorer(redaction.restore)
    reply = f"got {holder}."
    assert "".join([restorer.feed(reply[:10]), restorer.feed(reply[10:]), restorer.flush()]) == "got CRN-123456."
