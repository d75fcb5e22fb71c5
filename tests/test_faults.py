"""Fault injection over real HTTP: every fault x sync / async / stream / astream, with a healthy
fallback and without one, through both HTTP adapters (LiteLLM and OpenAI).

Three OpenAI-compatible servers on 127.0.0.1: ``flaky`` plays the fault on every request,
``healthy`` answers, ``forbidden`` is a hosted-API model that tenant acme's policy forbids and
must never receive a request. Each case asserts the outcome, the attempts, the elapsed time,
the error type, the requests each server received (nothing answered twice, nothing sent where
the policy forbids) and that the API key appears in nothing that was emitted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import run_mode
from openai_server import Fault, OpenAIServer

from llmroute import AllAttemptsFailedError, Constraint, Model, Request, Router, Verdict
from llmroute.adapters import LiteLLM, OpenAI
from llmroute.adapters.litellm import import_litellm
from llmroute.adapters.openai import DEFAULT_CONNECT_TIMEOUT_S
from llmroute.cascade import Agreement, Cascade
from llmroute.errors import (
    CircuitOpenError,
    ContentFilterError,
    ContextWindowExceededError,
    LLMRouteError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)
from llmroute.reliability import BreakerPolicy, RetryPolicy
from llmroute.state import InMemoryStore

KEY = "sk-fault-SECRET-4242424242"
MSG = [{"role": "user", "content": "hello there"}]
TIMEOUT_S = 0.5  # the flaky model's read timeout: a hang fails in about this long
RETRY = RetryPolicy(attempts_per_model=2, base_delay_s=0.01, max_delay_s=0.05, jitter_s=0.01, max_retry_after_s=1.0)
MODES = ("sync", "async", "stream", "astream")


def own_hardware_only(request: Request, candidates: Sequence[Model]) -> Verdict:
    """Tenant acme may only use self-hosted models (as in test_router.py)."""
    return Verdict.filter(
        candidates,
        lambda m: None if m.hosting != "api" else "acme's contract forbids hosted APIs",
        reason="tenant acme: own hardware only",
        constraints=(Constraint("tenant", "acme: own hardware only", hosting=frozenset({"local", "self_hosted"})),),
    )


def make_adapter(kind: str, name: str, server: OpenAIServer, read_s: float, connect_s: float | None = None) -> Any:
    """The same OpenAI-compatible model through the LiteLLM or the OpenAI adapter, each with
    ``read_s`` for reads and the OpenAI adapter's default connect timeout unless ``connect_s``.

    A single number would bound litellm's connect by ``read_s`` (0.5 s) too: under load a
    loopback connect then sometimes timed out and was retried, one request more than a test meant.
    """
    if kind == "litellm":
        timeout: Any = {"connect": connect_s or DEFAULT_CONNECT_TIMEOUT_S, "read": read_s}
        return LiteLLM(f"openai/{name}", api_base=server.base_url, api_key=KEY, timeout=timeout)
    split = {} if connect_s is None else {"connect_timeout_s": connect_s}
    return OpenAI(name, base_url=server.base_url, api_key=KEY, timeout_s=read_s, **split)


@pytest.fixture(params=["litellm", "openai"])
def adapter_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Servers:
    flaky: OpenAIServer
    healthy: OpenAIServer
    forbidden: OpenAIServer
    adapter_kind: str = "litellm"

    def adapter(self, name: str, server: OpenAIServer, read_s: float = TIMEOUT_S, connect_s: float | None = None) -> Any:
        return make_adapter(self.adapter_kind, name, server, read_s, connect_s)

    def router(self, *, fallback: bool, **kw: Any) -> Router:
        def model(name: str, server: OpenAIServer, hosting: str, window: int) -> Model:
            return Model(name, self.adapter(name, server), hosting=hosting, context_window=window)  # type: ignore[arg-type]

        models = [model("primary", self.flaky, "self_hosted", 8192), model("hosted", self.forbidden, "api", 1_000_000)]
        if fallback:
            models.append(model("backup", self.healthy, "self_hosted", 128_000))
        kw.setdefault("retry", RETRY)
        return Router(models, [own_hardware_only], **kw)


@pytest.fixture
def servers(adapter_kind: str) -> Iterator[Servers]:
    with OpenAIServer(reply=lambda b: "from primary model") as flaky, OpenAIServer(
        reply=lambda b: "from backup model"
    ) as healthy, OpenAIServer(reply=lambda b: "leaked") as forbidden:
        yield Servers(flaky, healthy, forbidden, adapter_kind)


def call(router: Router, mode: str, **kw: Any) -> tuple[str, Any]:
    """Run one request in ``mode``; the text and the final Response or last chunk."""
    return run_mode(router, mode, MSG, **kw)


RETRYABLE = {
    "429": RateLimitError,
    "500": ProviderUnavailableError,
    "503": ProviderUnavailableError,
    "hang": ProviderTimeoutError,
    "reset": ProviderUnavailableError,
    "malformed": ProviderUnavailableError,
    "empty": ProviderUnavailableError,
    "cut_before": ProviderUnavailableError,
}


def fault(kind: str) -> Fault:
    return Fault(kind, retry_after=0.2 if kind == "429" else None)


def assert_no_secret(*things: object, log: str = "") -> None:
    for thing in things:
        texts = [str(thing), repr(thing), repr(getattr(thing, "__cause__", None))]
        for sub in getattr(thing, "exceptions", ()):
            texts += [str(sub), repr(sub), repr(getattr(sub, "__cause__", None))]
        for attempt in getattr(thing, "attempts", ()) or ():
            texts += [repr(attempt), str(attempt.error)]
        texts.append(repr(getattr(thing, "decision", None)))
        assert not [t for t in texts if KEY in t], f"key leaked from {type(thing).__name__}"
    assert KEY not in log, "key leaked into the logs"


@pytest.fixture(scope="module", autouse=True)
def _litellm_loaded() -> None:
    import_litellm()  # its import takes seconds: keep it out of the timed calls
    import openai  # noqa: F401 - and the OpenAI SDK's, about one


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    # litellm's own handlers print to the terminal: keep its DEBUG records for caplog only
    handlers = [(h, h.level) for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy") for h in logging.getLogger(name).handlers]
    for handler, _ in handlers:
        handler.setLevel(logging.WARNING)
    yield
    for handler, level in handlers:
        handler.setLevel(level)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_transient_fault_retries_then_falls_back(servers: Servers, kind: str, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = fault(kind)
    router = servers.router(fallback=True)
    started = time.perf_counter()
    text, last = call(router, mode, tenant="acme")
    elapsed = time.perf_counter() - started
    assert text == "from backup model"
    assert [a.model for a in last.attempts] == ["primary", "primary", "backup"]
    assert all(isinstance(a.error, RETRYABLE[kind]) for a in last.attempts[:2])
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (2, 1, 0)
    assert elapsed < 4.0
    if kind == "hang":
        assert elapsed >= 2 * TIMEOUT_S * 0.9
    if kind == "429":
        assert elapsed >= 0.2  # Retry-After honoured before the retry
    assert_no_secret(last, log=caplog.text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_transient_fault_without_fallback_fails_after_retries(servers: Servers, kind: str, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = fault(kind)
    router = servers.router(fallback=False)
    started = time.perf_counter()
    with pytest.raises(AllAttemptsFailedError) as info:
        call(router, mode, tenant="acme")
    elapsed = time.perf_counter() - started
    group = info.value
    assert [type(e) for e in group.exceptions] == [RETRYABLE[kind]] * 2
    assert [a.model for a in group.attempts] == ["primary", "primary"]
    assert all(a.elapsed_s >= 0 for a in group.attempts)
    assert (servers.flaky.requests, servers.forbidden.requests) == (2, 0)
    assert elapsed < 4.0
    assert_no_secret(group, log=caplog.text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_one_transient_fault_is_absorbed_by_a_retry(servers: Servers, kind: str, mode: str) -> None:
    servers.flaky.script(fault(kind))
    text, last = call(servers.router(fallback=True), mode, tenant="acme")
    assert text == "from primary model"
    assert [(a.model, a.ok) for a in last.attempts] == [("primary", False), ("primary", True)]
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (2, 0, 0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fallback", [True, False])
def test_cut_after_first_chunk(servers: Servers, mode: str, fallback: bool, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = Fault("cut_after")
    router = servers.router(fallback=fallback)
    if mode in ("stream", "astream"):
        # content reached the caller: no retry, no fallback, the partial text is in the error
        got: list[str] = []
        with pytest.raises(StreamInterruptedError) as info:
            if mode == "stream":
                for chunk in router.stream(MSG, tenant="acme"):
                    got.append(chunk.content)
            else:

                async def consume() -> None:
                    async for chunk in router.astream(MSG, tenant="acme"):
                        got.append(chunk.content)

                asyncio.run(consume())
        assert info.value.partial == "from" == "".join(got)
        assert info.value.model == "primary"
        assert isinstance(info.value.__cause__, ProviderUnavailableError)
        assert (servers.flaky.requests, servers.healthy.requests) == (1, 0)
        assert_no_secret(info.value, log=caplog.text)
    elif fallback:
        # a plain reply cut mid-body delivered nothing: retried, then the fallback answers
        text, _ = call(router, mode, tenant="acme")
        assert text == "from backup model"
        assert (servers.flaky.requests, servers.healthy.requests) == (2, 1)
    else:
        with pytest.raises(AllAttemptsFailedError) as group:
            call(router, mode, tenant="acme")
        assert [type(e) for e in group.value.exceptions] == [ProviderUnavailableError] * 2
    assert servers.forbidden.requests == 0


# -- cascades: each step is an attempt of the same plan, so the same rules hold at every step --
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_cascade_cheap_step_fault_retries_then_escalates(servers: Servers, kind: str, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = fault(kind)
    router = servers.router(fallback=True, cascade=Cascade(Agreement()))
    text, last = call(router, mode, tenant="acme")
    assert text == "from backup model"
    assert [a.model for a in last.attempts] == ["primary", "primary", "backup"]
    assert [s.model for s in last.cascade.steps] == ["backup"] and last.cascade.stopped == "last model of the cascade"
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (2, 1, 0)
    assert_no_secret(last, log=caplog.text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["429", "503", "reset"])
def test_cascade_fault_absorbed_by_a_retry_then_the_answer_is_checked(servers: Servers, kind: str, mode: str) -> None:
    servers.flaky.script(fault(kind))
    text, last = call(servers.router(fallback=True, cascade=Cascade(Agreement())), mode, tenant="acme")
    assert text == "from backup model"  # primary's answer had nothing to agree with: escalated
    assert [(a.model, a.ok) for a in last.attempts] == [("primary", False), ("primary", True), ("backup", True)]
    assert [(s.model, s.accepted) for s in last.cascade.steps] == [("primary", False), ("backup", False)]
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (2, 1, 0)


@pytest.mark.parametrize("mode", MODES)
def test_cascade_last_step_cut_after_first_chunk(servers: Servers, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = Fault("cut_after")
    router = servers.router(fallback=True, cascade=Cascade(Agreement(), order=["backup", "primary"]))
    if mode in ("stream", "astream"):
        with pytest.raises(StreamInterruptedError) as info:
            call(router, mode, tenant="acme")
        assert info.value.partial == "from" and info.value.model == "primary"  # the live last step
        assert (servers.flaky.requests, servers.healthy.requests) == (1, 1)
        assert_no_secret(info.value, log=caplog.text)
    else:  # the escalation failed: the call fails, the rejected cheap answer is not passed off as served
        with pytest.raises(AllAttemptsFailedError) as group:
            call(router, mode, tenant="acme")
        assert [a.model for a in group.value.attempts] == ["backup", "primary", "primary"]
    assert servers.forbidden.requests == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fallback", [True, False])
def test_context_length_goes_only_to_a_larger_window(servers: Servers, mode: str, fallback: bool, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = Fault("context_length")
    router = servers.router(fallback=fallback)
    if fallback:
        text, last = call(router, mode, tenant="acme")
        assert text == "from backup model"
        assert [a.model for a in last.attempts] == ["primary", "backup"]  # never retried on the same window
        assert isinstance(last.attempts[0].error, ContextWindowExceededError)
        assert_no_secret(last, log=caplog.text)
    else:
        with pytest.raises(AllAttemptsFailedError) as info:
            call(router, mode, tenant="acme")
        assert [type(e) for e in info.value.exceptions] == [ContextWindowExceededError]
        assert_no_secret(info.value, log=caplog.text)
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (1, int(fallback), 0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fallback", [True, False])
def test_content_filter_stops_unless_configured(servers: Servers, mode: str, fallback: bool, caplog: pytest.LogCaptureFixture) -> None:
    servers.flaky.always = Fault("content_filter")
    with pytest.raises(AllAttemptsFailedError) as info:
        call(servers.router(fallback=fallback), mode, tenant="acme")
    assert [type(e) for e in info.value.exceptions] == [ContentFilterError]
    assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (1, 0, 0)
    assert_no_secret(info.value, log=caplog.text)
    if fallback:
        text, _ = call(servers.router(fallback=True, fallback_on_content_filter=True), mode, tenant="acme")
        assert text == "from backup model"
        assert (servers.flaky.requests, servers.healthy.requests, servers.forbidden.requests) == (2, 1, 0)


def test_fault_server_answers_normally_after_its_script(servers: Servers) -> None:
    servers.flaky.script("503", Fault("429", retry_after=0))
    router = servers.router(fallback=False, retry=RetryPolicy(attempts_per_model=3, base_delay_s=0, jitter_s=0))
    assert router.completion(MSG).content == "from primary model"
    assert servers.flaky.faults_served == ["503", "429"] and servers.flaky.requests == 3


# -- deadlines, cancellation, breakers --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_request_deadline_bounds_a_slow_model(servers: Servers, mode: str) -> None:
    servers.flaky.always = Fault("hang", hang_s=10)
    adapter = servers.adapter("slow", servers.flaky, read_s=30)
    router = Router([Model("slow", adapter, hosting="self_hosted")], retry=RetryPolicy(deadline_s=0.6))
    started = time.perf_counter()
    with pytest.raises(AllAttemptsFailedError, match=r"deadline of 0\.6 s reached") as info:
        call(router, mode)
    elapsed = time.perf_counter() - started
    assert 0.5 <= elapsed < 2.0  # the 30 s model timeout was narrowed to the time left
    assert [type(e) for e in info.value.exceptions] == [ProviderTimeoutError]
    assert servers.flaky.requests == 1


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_deadline_cuts_a_stream_that_trickles_on(openai_server: OpenAIServer, mode: str, adapter_kind: str) -> None:
    # Every chunk arrives well within the read timeout, but the whole stream takes ~4 s.
    openai_server.reply = lambda body: " ".join(f"w{i}" for i in range(20))
    openai_server.chunk_delay_s = 0.2
    adapter = make_adapter(adapter_kind, "slow", openai_server, read_s=30)
    router = Router([Model("slow", adapter, hosting="self_hosted")], retry=RetryPolicy(deadline_s=1.5))
    adapter.warmup()  # imports and clients before the clock starts: the deadline is for the stream
    started = time.perf_counter()
    with pytest.raises(StreamInterruptedError) as info:
        call(router, mode)
    assert time.perf_counter() - started < 3.5  # the stream alone takes ~4 s
    assert info.value.partial.startswith("w0") and "w19" not in info.value.partial
    assert isinstance(info.value.__cause__, ProviderTimeoutError)


@pytest.mark.parametrize("mode", ["async", "astream"])
def test_cancelling_the_task_cancels_the_attempt(servers: Servers, mode: str) -> None:
    servers.flaky.always = Fault("hang", hang_s=10)
    adapter = servers.adapter("slow", servers.flaky, read_s=30)
    router = Router([Model("slow", adapter, hosting="self_hosted")], retry=RETRY)

    async def run() -> float:
        async def consume() -> None:
            if mode == "async":
                await router.acompletion(MSG)
            else:
                async for _ in router.astream(MSG):
                    pass

        task = asyncio.create_task(consume())
        for _ in range(200):  # wait until the request is at the server
            if servers.flaky.requests:
                break
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ended = time.perf_counter() - started
        await asyncio.sleep(0.2)  # nothing retries behind the caller's back
        return ended

    assert asyncio.run(run()) < 0.5
    assert servers.flaky.requests == 1


def test_breaker_opens_skips_and_fails_fast(servers: Servers) -> None:
    servers.flaky.always = Fault("503")
    breaker = BreakerPolicy(failure_threshold=2, cooldown_s=0.4, failure_rate=None)
    store = InMemoryStore()
    router = servers.router(fallback=True, breaker=breaker, state_store=store)
    assert router.completion(MSG, tenant="acme").content == "from backup model"
    assert servers.flaky.requests == 2  # two consecutive failures: the circuit is open now

    resp = router.completion(MSG, tenant="acme")
    assert resp.model == "backup" and [a.model for a in resp.attempts] == ["backup"]
    assert resp.decision.dropped["primary"].startswith("circuit open")
    assert servers.flaky.requests == 2  # skipped, not called

    alone = servers.router(fallback=False, breaker=breaker, state_store=store)  # shares the state
    started = time.perf_counter()
    with pytest.raises(CircuitOpenError, match="open circuit") as info:
        alone.completion(MSG, tenant="acme")
    assert time.perf_counter() - started < 0.3  # refused at once: no request, no wait for the 0.4 s cooldown
    assert "primary" in info.value.reasons and servers.flaky.requests == 2

    time.sleep(0.45)  # cooldown over: one probe goes through and, succeeding, closes the circuit
    servers.flaky.always = None
    assert router.completion(MSG, tenant="acme").content == "from primary model"
    assert servers.flaky.requests == 3
    assert router.completion(MSG, tenant="acme").model == "primary"
    assert servers.forbidden.requests == 0


def test_breaker_failure_is_not_counted_for_bad_requests(servers: Servers) -> None:
    servers.flaky.always = Fault("context_length")
    router = servers.router(fallback=True, breaker=BreakerPolicy(failure_threshold=1, failure_rate=None))
    for _ in range(3):
        assert router.completion(MSG, tenant="acme").model == "backup"
    assert servers.flaky.requests == 3  # a too-long prompt says nothing about the model's health


def test_errors_are_llmroute_errors(servers: Servers) -> None:
    servers.flaky.always = Fault("reset")
    with pytest.raises(LLMRouteError):
        servers.router(fallback=False).completion(MSG)


@pytest.mark.parametrize("mode", ["sync", "astream"])
def test_split_timeouts_and_a_request_timeout_only_shorten(servers: Servers, mode: str) -> None:
    servers.flaky.always = Fault("hang", hang_s=10)
    split = servers.adapter("slow", servers.flaky, read_s=1.0, connect_s=2)
    router = Router([Model("slow", split, hosting="self_hosted")], retry={"attempts_per_model": 1})
    started = time.perf_counter()
    with pytest.raises(AllAttemptsFailedError) as info:
        call(router, mode)
    assert 0.9 <= time.perf_counter() - started < 3.0  # the read timeout fired
    assert [type(e) for e in info.value.exceptions] == [ProviderTimeoutError]
    started = time.perf_counter()
    with pytest.raises(AllAttemptsFailedError):
        call(router, mode, timeout=0.2)  # a request's own timeout narrows every part
    assert 0.15 <= time.perf_counter() - started < 0.8
    with pytest.raises(AllAttemptsFailedError):
        call(router, mode, timeout=30)  # and never lengthens them
    assert servers.flaky.requests == 3


def test_bad_timeouts_are_rejected() -> None:
    for bad in (0, -1, "5", {"reed": 1}, {"read": 0}, {}):
        with pytest.raises(ValueError, match="timeout"):
            LiteLLM("openai/m", timeout=bad)
