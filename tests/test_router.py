"""The Router's contract: dry-run decisions, policies, pins, fallback, streaming, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from llmroute import (
    AllAttemptsFailedError,
    ConfigError,
    Constraint,
    InvalidRequestError,
    Model,
    NoEligibleModelError,
    PolicyError,
    Price,
    Request,
    Router,
    Verdict,
)
from llmroute.adapters import Function
from llmroute.errors import (
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)

MSG = [{"role": "user", "content": "Classify: I love it"}]


def by_tenant(request: Request, candidates: Sequence[Model]) -> Verdict:
    """A user policy: tenant 'acme' may only use models on its own hardware."""
    if request.tenant != "acme":
        return Verdict.keep_all(candidates, reason="no tenant rule")
    return Verdict.filter(
        candidates,
        lambda m: None if m.hosting != "api" else "acme's contract forbids hosted APIs",
        reason="tenant acme: own hardware only",
        constraints=(Constraint("tenant", "acme: own hardware only", hosting=frozenset({"local", "self_hosted"})),),
    )


def fail(error: Exception) -> Function:
    def raiser(request: Request) -> str:
        raise error

    return Function(raiser)


def models(**adapters: Function) -> list[Model]:
    hosting = {"local": "local", "hosted": "api", "backup": "api", "selfhost": "self_hosted"}
    return [
        Model(name, adapter, hosting=hosting.get(name, "api"), price=Price(1.0, 4.0))  # type: ignore[arg-type]
        for name, adapter in adapters.items()
    ]


def test_route_is_a_dry_run() -> None:
    local, hosted = Function(lambda r: "l"), Function(lambda r: "h")
    router = Router(models(hosted=hosted, local=local), [by_tenant])
    decision = router.route(MSG, tenant="acme")
    assert decision.model == "local"
    assert decision.candidates == ("local",)
    assert decision.dropped == {"hosted": "by_tenant: acme's contract forbids hosted APIs"}
    assert decision.verdicts[0].policy == "by_tenant"
    assert "acme" in decision.explain()
    assert local.calls == 0 and hosted.calls == 0
    assert router.route(MSG).model == "hosted"


def test_completion_is_openai_shaped() -> None:
    router = Router([Model("m", Function(lambda r: "ok"), price=Price(2.0, 8.0))])
    resp = router.completion(MSG, max_tokens=50)
    assert resp.choices[0].message.content == "ok" and resp.content == "ok"
    assert resp.choices[0].message.role == "assistant"
    assert resp.model == "m" and resp.object == "chat.completion"
    assert resp.usage.prompt_tokens == resp.decision.estimated_input_tokens
    assert resp.cost == pytest.approx(Price(2.0, 8.0).cost(resp.usage.prompt_tokens, resp.usage.completion_tokens))
    assert resp.to_dict()["choices"][0]["message"] == {"role": "assistant", "content": "ok"}
    assert resp.decision.estimated_output_tokens == 50


def test_fallback_after_retryable_error_keeps_the_attempt_log() -> None:
    # Retry-After beyond the retry policy's cap: no retry of the same model, straight to the fallback.
    hosted = fail(RateLimitError("429", retry_after=30.0))
    backup = Function(lambda r: "from backup")
    resp = Router(models(hosted=hosted, backup=backup)).completion(MSG)
    assert resp.content == "from backup" and resp.model == "backup"
    assert [a.model for a in resp.attempts] == ["hosted", "backup"]
    err = resp.attempts[0].error
    assert isinstance(err, RateLimitError) and err.retry_after == 30.0 and err.model == "hosted"


def test_all_attempts_failed_is_an_exception_group() -> None:
    router = Router(models(hosted=fail(ProviderUnavailableError("503")), backup=fail(RateLimitError("429"))))
    with pytest.raises(AllAttemptsFailedError) as info:
        router.completion(MSG)
    group = info.value
    # each transient failure is retried once on the same model before falling back
    assert [type(e) for e in group.exceptions] == [ProviderUnavailableError] * 2 + [RateLimitError] * 2
    assert [a.model for a in group.attempts] == ["hosted", "hosted", "backup", "backup"]
    assert all(a.elapsed_s >= 0 for a in group.attempts)
    matched, _rest = group.split(RateLimitError)
    assert matched is not None and isinstance(matched, AllAttemptsFailedError)
    assert group.decision is not None and group.decision.model == "hosted" and matched.decision is group.decision


def test_bad_request_and_content_filter_do_not_fall_back() -> None:
    for error in (BadRequestError("400"), ContentFilterError("refused")):
        backup = Function(lambda r: "x")
        with pytest.raises(AllAttemptsFailedError):
            Router(models(hosted=fail(error), backup=backup)).completion(MSG)
        assert backup.calls == 0
    backup = Function(lambda r: "answered")
    router = Router(models(hosted=fail(ContentFilterError("refused")), backup=backup), fallback_on_content_filter=True)
    assert router.completion(MSG).content == "answered"


def test_context_overflow_falls_back_only_to_a_larger_window() -> None:
    small = fail(ContextWindowExceededError("too long"))
    same, larger = Function(lambda r: "same"), Function(lambda r: "larger")
    router = Router([
        Model("small", small, context_window=8000),
        Model("same", same, context_window=8000),
        Model("larger", larger, context_window=128000),
    ])
    resp = router.completion(MSG)
    assert resp.model == "larger" and same.calls == 0


def test_constraint_rechecked_before_every_attempt() -> None:
    local = fail(ProviderUnavailableError("down"))
    hosted = Function(lambda r: "leaked")
    router = Router(models(local=local, hosted=hosted), [by_tenant])
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG, tenant="acme")
    assert hosted.calls == 0


def test_pin_overrides_preferences_not_constraints() -> None:
    local, hosted = Function(lambda r: "l"), Function(lambda r: "h")

    def prefer_local(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict.filter(candidates, lambda m: None if m.hosting == "local" else "not local", reason="local first")

    router = Router(models(hosted=hosted, local=local), [prefer_local, by_tenant])
    assert router.completion(MSG, model="hosted").model == "hosted"  # a soft drop yields to a pin
    with pytest.raises(NoEligibleModelError, match="pinned model 'hosted'") as info:
        router.completion(MSG, model="hosted", tenant="acme")
    assert "tenant" in info.value.reasons["hosted"]
    assert hosted.calls == 1


def test_no_eligible_model_lists_every_reason() -> None:
    def nobody(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict(keep=(), dropped={m.name: f"{m.name} is busy" for m in candidates}, reason="closed")

    with pytest.raises(NoEligibleModelError) as info:
        Router(models(hosted=Function(str), backup=Function(str)), [nobody]).route(MSG)
    assert info.value.reasons == {"hosted": "nobody: hosted is busy", "backup": "nobody: backup is busy"}
    assert "hosted is busy" in str(info.value)


def test_bad_policies_get_a_policy_error() -> None:
    def stray(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict(keep=("ghost",))

    def broken(request: Request, candidates: Sequence[Model]) -> Verdict:
        raise KeyError("oops")

    def wrong_type(request: Request, candidates: Sequence[Model]) -> list[str]:
        return ["m"]

    for policy, text in ((stray, "ghost"), (broken, "KeyError"), (wrong_type, "expected Verdict")):
        with pytest.raises(PolicyError, match=text):
            Router([Model("m", Function(str))], [policy]).route(MSG)  # type: ignore[list-item]


def test_silently_omitted_candidates_count_as_dropped() -> None:
    def only_first(request: Request, candidates: Sequence[Model]) -> Verdict:
        return Verdict(keep=(candidates[0].name,))

    decision = Router(models(hosted=Function(str), backup=Function(str)), [only_first]).route(MSG)
    assert decision.dropped == {"backup": "only_first: dropped without a reason"}


@pytest.mark.parametrize(
    ("messages", "kw", "text"),
    [
        ([], {}, "messages: must not be empty"),
        ("hello", {}, "must be a list"),
        ([{"content": "x"}], {}, r"messages\[0\].role"),
        ([{"role": "user", "content": 5}], {}, r"messages\[0\].content"),
        ([{"role": "user", "content": [{"type": "text"}]}], {}, r"content\[0\].text"),
        ([{"role": "user"}], {}, "has no 'content'"),
        (MSG, {"max_token": 5}, "did you mean 'max_tokens'"),
        (MSG, {"max_tokens": 0}, "max_tokens: must be a positive integer"),
        (MSG, {"temperature": 3}, "temperature"),
        (MSG, {"model": "nope"}, "unknown model 'nope'"),
        (MSG, {"classification": "secret"}, "classification"),
        (MSG, {"tags": "urgent"}, "tags"),
    ],
)
def test_bad_input_is_rejected_before_any_call(messages: object, kw: dict[str, object], text: str) -> None:
    adapter = Function(lambda r: "x")
    router = Router([Model("m", adapter)])
    with pytest.raises(InvalidRequestError, match=text):
        router.completion(messages, **kw)
    with pytest.raises(InvalidRequestError, match=text):
        router.stream(messages, **kw)  # raised at the call, before iteration
    assert adapter.calls == 0


def test_errors_do_not_echo_message_content() -> None:
    secret = "my SSN is 078-05-1120"
    with pytest.raises(InvalidRequestError) as info:
        Router([Model("m", Function(str))]).route([{"role": "robot", "content": secret}])
    assert secret not in str(info.value)


def test_router_config_errors() -> None:
    with pytest.raises(ConfigError, match="duplicate model name 'a'"):
        Router([Model("a", Function(str)), Model("a", Function(str))])
    with pytest.raises(ConfigError, match="at least one model"):
        Router([])
    with pytest.raises(ConfigError, match="hosting"):
        Model("a", Function(str), hosting="cloud")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no complete"):
        Model("a", object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"price\.input"):
        Price(input=-1)


def test_stream_falls_back_before_the_first_chunk() -> None:
    backup = Function(lambda r: "streamed reply here")
    router = Router(models(hosted=fail(ProviderUnavailableError("down")), backup=backup))
    chunks = list(router.stream(MSG))
    assert "".join(c.content for c in chunks) == "streamed reply here"
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.usage is not None and last.cost is not None
    assert [a.model for a in last.attempts] == ["hosted", "hosted", "backup"]


class BreaksMidStream(Function):
    def stream(self, request: Request):  # type: ignore[no-untyped-def, override]
        from llmroute import StreamEvent

        self.calls += 1
        yield StreamEvent(text="partial ")
        yield StreamEvent(text="answer")
        raise ProviderUnavailableError("connection reset")

    async def astream(self, request: Request):  # type: ignore[no-untyped-def, override]
        for event in self.stream(request):
            yield event


def test_stream_failure_after_content_raises_with_partial_text() -> None:
    backup = Function(lambda r: "never")
    router = Router([Model("hosted", BreaksMidStream(str)), Model("backup", backup)])
    got: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:
        for chunk in router.stream(MSG):
            got.append(chunk.content)
    assert info.value.partial == "partial answer" == "".join(got)
    assert info.value.model == "hosted" and backup.calls == 0


async def test_async_paths_match_sync() -> None:
    async def slow(request: Request) -> str:
        await asyncio.sleep(0.01)
        return "async answer"

    router = Router(models(hosted=fail(RateLimitError("429")), backup=Function(slow)))
    resp = await router.acompletion(MSG)
    assert resp.content == "async answer" and [a.model for a in resp.attempts] == ["hosted", "hosted", "backup"]
    chunks = [c async for c in router.astream(MSG)]
    assert "".join(c.content for c in chunks) == "async answer"

    router = Router([Model("hosted", BreaksMidStream(str)), Model("backup", Function(str))])
    with pytest.raises(StreamInterruptedError):
        async for _ in router.astream(MSG):
            pass


def test_max_attempts_and_no_fallback() -> None:
    third = Function(lambda r: "third")
    router = Router([Model("a", fail(RateLimitError("x"))), Model("b", fail(RateLimitError("y"))), Model("c", third)], max_attempts=2)
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert third.calls == 0
    router = Router([Model("a", fail(RateLimitError("x"))), Model("c", third)], fallback=False)
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    assert third.calls == 0


def test_function_adapter_results() -> None:
    router = Router([Model("m", Function(lambda r: {"content": "hi", "usage": {"prompt_tokens": 7, "completion_tokens": 2}}))])
    resp = router.completion(MSG)
    assert (resp.content, resp.usage.prompt_tokens, resp.usage.completion_tokens) == ("hi", 7, 2)
    with pytest.raises(AllAttemptsFailedError):
        Router([Model("m", Function(lambda r: 42))]).completion(MSG)


def test_router_closes_adapters() -> None:
    closed: list[str] = []

    class Closing(Function):
        def close(self) -> None:
            closed.append("x")

    with Router([Model("m", Closing(str))]):
        pass
    assert closed == ["x"]
