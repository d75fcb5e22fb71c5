"""Spans and metrics in the OpenTelemetry GenAI conventions, read back with the SDK's in-memory exporters."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import SECRET
from helpers import SECRET_MSG as MSG
from helpers import privacy_fires as privacy
from openai_server import OpenAIServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmroute import (
    AllAttemptsFailedError,
    Model,
    NoEligibleModelError,
    Price,
    Request,
    Router,
    Verdict,
)
from llmroute.adapters import Function, LiteLLM
from llmroute.errors import ProviderUnavailableError, RateLimitError
from llmroute.observability import CAPTURE_CONTENT_ENV, format_tree


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def router(self, models: Sequence[Model], policies: Sequence[Any] = (), **kw: Any) -> Router:
        return Router(models, policies, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kw)

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def by_name(self) -> dict[str, list[ReadableSpan]]:
        out: dict[str, list[ReadableSpan]] = {}
        for s in self.finished():
            out.setdefault(s.name, []).append(s)
        return out

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        found.extend((metric, p) for p in metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    yield Otel(exporter, reader, tp, mp)
    tp.shutdown()
    mp.shutdown()


def ok(text: str = "hello world") -> Function:
    return Function(lambda r: {"content": text, "usage": {"prompt_tokens": 11, "completion_tokens": 2}, "id": "resp-1", "model": "backend-model-v2"})


def rate_limited() -> Function:
    def fn(request: Request) -> str:
        raise RateLimitError("slow down", retry_after=0.0)

    return Function(fn)


def down() -> Function:
    def fn(request: Request) -> str:
        raise ProviderUnavailableError("503 from backend")

    return Function(fn)


def prefer_b(request: Request, candidates: Sequence[Model]) -> Verdict:
    return Verdict.ranked(candidates, key=lambda m: m.name != "b", reason="b first")


def all_text(spans: Sequence[ReadableSpan]) -> str:
    return json.dumps([dict(s.attributes or {}) for s in spans] + [[e.name for e in s.events] for s in spans], default=str)


# -- success ----------------------------------------------------------------------------------
def test_success_decision_span_and_attempt_child(otel: Otel) -> None:
    router = otel.router([Model("a", ok(), price=Price(1.0, 2.0)), Model("b", ok())], [prefer_b])
    resp = router.completion(MSG, max_tokens=50, temperature=0.2, top_p=0.9, seed=7, stop=["END"])
    spans = otel.by_name()
    assert set(spans) == {"llmroute.route", "chat b"}
    root, attempt = spans["llmroute.route"][0], spans["chat b"][0]
    assert root.parent is None
    assert attempt.parent is not None and attempt.parent.span_id == root.context.span_id
    assert attempt.context.trace_id == root.context.trace_id
    assert root.kind == SpanKind.INTERNAL and attempt.kind == SpanKind.CLIENT

    r = dict(root.attributes or {})
    assert r["llmroute.model"] == "b" and r["llmroute.served_by"] == "b"
    assert r["llmroute.candidates"] == ("b", "a")
    assert r["llmroute.policies"] == ("prefer_b",)
    assert r["llmroute.policy.prefer_b.reason"] == "b first"
    assert r["llmroute.decision.reason"] == "prefer_b"
    assert r["llmroute.attempts"] == 1
    assert r["llmroute.estimated.input_tokens"] > 0

    a = dict(attempt.attributes or {})
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "function"
    assert a["gen_ai.request.model"] == "b"
    assert a["gen_ai.response.model"] == "backend-model-v2"
    assert a["gen_ai.response.id"] == "resp-1"
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 2
    assert a["gen_ai.request.max_tokens"] == 50 and a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.top_p"] == 0.9 and a["gen_ai.request.seed"] == 7
    assert a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["llmroute.attempt.index"] == 0
    assert a["llmroute.attempt.fallback"] is False and a["llmroute.attempt.retry"] is False
    assert "error.type" not in a and attempt.status.status_code == StatusCode.UNSET
    assert resp.content == "hello world"


def test_metrics_tokens_duration_cost_decisions(otel: Otel) -> None:
    router = otel.router([Model("a", ok(), price=Price(1.0, 2.0))])
    router.completion(MSG)
    router.completion(MSG)
    tokens = otel.points("gen_ai.client.token.usage")
    assert {m.unit for m, _ in tokens} == {"{token}"}
    by_type = {p.attributes["gen_ai.token.type"]: p for _, p in tokens}
    assert by_type["input"].sum == 22 and by_type["input"].count == 2
    assert by_type["output"].sum == 4
    assert by_type["input"].attributes["gen_ai.request.model"] == "a"
    assert by_type["input"].attributes["gen_ai.operation.name"] == "chat"
    assert by_type["input"].attributes["gen_ai.provider.name"] == "function"
    (metric, duration), = otel.points("gen_ai.client.operation.duration")
    assert metric.unit == "s" and duration.count == 2 and duration.sum > 0
    (metric, cost), = otel.points("llmroute.cost")
    assert metric.unit == "USD" and cost.value == pytest.approx(2 * (11 * 1.0 + 2 * 2.0) / 1e6)
    (_, decisions), = otel.points("llmroute.decisions")
    assert decisions.value == 2
    assert dict(decisions.attributes) == {"llmroute.model": "a", "llmroute.decision.reason": "default", "llmroute.operation": "chat"}


def test_route_dry_run_has_decision_span_only(otel: Otel) -> None:
    fn = ok()
    router = otel.router([Model("a", fn), Model("b", ok())], [prefer_b])
    decision = router.route(MSG)
    assert decision.model == "b" and fn.calls == 0
    spans = otel.finished()
    assert [s.name for s in spans] == ["llmroute.route"]
    assert spans[0].attributes["llmroute.operation"] == "route"


# -- fallback, retry, failure -----------------------------------------------------------------
def test_fallback_after_rate_limit(otel: Otel) -> None:
    router = otel.router([Model("first", rate_limited()), Model("second", ok())])
    resp = router.completion(MSG)
    assert resp.model == "second"
    spans = otel.by_name()
    root = spans["llmroute.route"][0]
    failed, good = spans["chat first"], spans["chat second"][0]
    tries = len(failed)  # a rate limit is retried on the same model first (RetryPolicy), then falls back
    assert tries == len([a for a in resp.attempts if a.model == "first"]) >= 1
    for s in [*failed, good]:
        assert s.parent is not None and s.parent.span_id == root.context.span_id
    for i, s in enumerate(sorted(failed, key=lambda s: s.start_time or 0)):
        assert s.attributes["error.type"] == "RateLimitError"
        assert s.status.status_code == StatusCode.ERROR
        assert s.attributes["llmroute.attempt.index"] == i
        assert s.attributes["llmroute.attempt.fallback"] is False
        assert s.attributes["llmroute.attempt.retry"] is (i > 0)
    assert good.attributes["llmroute.attempt.index"] == tries and good.attributes["llmroute.attempt.fallback"] is True
    assert good.attributes["llmroute.attempt.retry"] is False
    assert good.status.status_code == StatusCode.UNSET
    assert root.status.status_code == StatusCode.UNSET
    assert root.attributes["llmroute.attempts"] == tries + 1 and root.attributes["llmroute.served_by"] == "second"
    durations = {p.attributes.get("error.type"): p.count for _, p in otel.points("gen_ai.client.operation.duration")}
    assert durations == {"RateLimitError": tries, None: 1}


def test_retry_of_same_model_is_marked(otel: Otel) -> None:
    calls = []

    def flaky(request: Request) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ProviderUnavailableError("503 once")
        return "fine"

    resp = otel.router([Model("only", Function(flaky))]).completion(MSG)
    if len(resp.attempts) == 1:
        pytest.skip("this build of the plan does not retry the same model")
    spans = sorted(otel.by_name()["chat only"], key=lambda s: s.start_time or 0)
    assert [s.attributes["llmroute.attempt.retry"] for s in spans] == [False, True]
    assert [s.attributes.get("error.type") for s in spans] == ["ProviderUnavailableError", None]
    assert "llmroute.attempt.delay_s" in (spans[1].attributes or {})


def test_all_attempts_failed(otel: Otel) -> None:
    router = otel.router([Model("a", down()), Model("b", rate_limited())])
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    spans = otel.by_name()
    root = spans["llmroute.route"][0]
    assert root.status.status_code == StatusCode.ERROR
    assert root.attributes["error.type"] == "AllAttemptsFailedError"
    assert spans["chat a"][0].attributes["error.type"] == "ProviderUnavailableError"
    assert spans["chat b"][0].attributes["error.type"] == "RateLimitError"
    assert not otel.points("gen_ai.client.token.usage") and not otel.points("llmroute.cost")


def test_no_eligible_model_ends_decision_span_with_error(otel: Otel) -> None:
    router = otel.router([Model("cloud", ok(), hosting="api")], [privacy])
    with pytest.raises(NoEligibleModelError):
        router.completion(MSG)
    (root,) = otel.finished()
    assert root.name == "llmroute.route" and root.status.status_code == StatusCode.ERROR
    assert root.attributes["error.type"] == "NoEligibleModelError"


async def test_acompletion_same_structure(otel: Otel) -> None:
    router = otel.router([Model("first", rate_limited()), Model("second", ok())])
    resp = await router.acompletion(MSG)
    assert resp.model == "second"
    spans = otel.by_name()
    root = spans["llmroute.route"][0]
    assert {s.parent.span_id for s in spans["chat first"] + spans["chat second"] if s.parent} == {root.context.span_id}


def test_attempt_span_is_current_while_the_adapter_runs(otel: Otel) -> None:
    from opentelemetry import trace

    seen: list[Any] = []

    def fn(request: Request) -> str:
        seen.append(trace.get_current_span().get_span_context().span_id)
        return "ok"

    otel.router([Model("a", Function(fn))]).completion(MSG)
    assert seen == [otel.by_name()["chat a"][0].context.span_id]
    assert not trace.get_current_span().get_span_context().is_valid  # detached afterwards


# -- streaming --------------------------------------------------------------------------------
def test_stream_span_ends_with_stream_and_records_first_chunk(otel: Otel) -> None:
    router = otel.router([Model("first", rate_limited()), Model("second", ok("one two three"))])
    chunks = router.stream(MSG)
    first = next(chunks)
    assert first.content == "one"
    assert otel.by_name().get("chat second") is None  # still open mid-stream
    rest = list(chunks)
    assert "".join(c.content for c in [first, *rest]) == "one two three"
    spans = otel.by_name()
    root, attempt = spans["llmroute.route"][0], spans["chat second"][0]
    assert attempt.parent is not None and attempt.parent.span_id == root.context.span_id
    a = attempt.attributes or {}
    assert a["gen_ai.request.stream"] is True
    assert 0 <= a["gen_ai.response.time_to_first_chunk"] <= (attempt.end_time - attempt.start_time) / 1e9
    assert a["gen_ai.usage.output_tokens"] == 2 and a["gen_ai.response.finish_reasons"] == ("stop",)
    assert spans["chat first"][0].attributes["error.type"] == "RateLimitError"
    assert root.end_time >= attempt.end_time
    (_, ttfc), = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1


def test_stream_closed_early_is_cancelled_not_error(otel: Otel) -> None:
    router = otel.router([Model("a", ok("one two three four"))])
    chunks = router.stream(MSG)
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    spans = otel.by_name()
    root, attempt = spans["llmroute.route"][0], spans["chat a"][0]
    assert attempt.attributes["error.type"] == "cancelled" and root.attributes["error.type"] == "cancelled"
    assert root.status.status_code == StatusCode.UNSET


async def test_astream_spans(otel: Otel) -> None:
    router = otel.router([Model("a", ok("alpha beta"))])
    text = "".join([c.content async for c in router.astream(MSG)])
    assert text == "alpha beta"
    spans = otel.by_name()
    attempt = spans["chat a"][0]
    assert attempt.parent is not None and attempt.parent.span_id == spans["llmroute.route"][0].context.span_id
    assert "gen_ai.response.time_to_first_chunk" in (attempt.attributes or {})


# -- content ----------------------------------------------------------------------------------
def test_content_stays_out_by_default(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
    router = otel.router([Model("a", ok(SECRET))])
    router.completion(MSG)
    list(router.stream(MSG))
    text = all_text(otel.finished())
    assert "4111" not in text and "bob@example.com" not in text
    assert "gen_ai.input.messages" not in text and "gen_ai.output.messages" not in text


@pytest.mark.parametrize("how", ["option", "env"])
def test_content_recorded_when_opted_in(otel: Otel, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    kw: dict[str, Any] = {}
    if how == "env":
        monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    else:
        monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
        kw["capture_content"] = True
    otel.router([Model("a", ok("the answer"))], **kw).completion(MSG)
    attempt = otel.by_name()["chat a"][0].attributes or {}
    assert json.loads(str(attempt["gen_ai.input.messages"])) == [{"role": "user", "parts": [{"type": "text", "content": SECRET}]}]
    out = json.loads(str(attempt["gen_ai.output.messages"]))
    assert out[0]["role"] == "assistant" and out[0]["parts"][0]["content"] == "the answer"


def test_option_false_beats_env(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    otel.router([Model("a", ok())], capture_content=False).completion(MSG)
    assert "4111" not in all_text(otel.finished())


def test_no_content_when_privacy_fired_even_opted_in(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    router = otel.router([Model("local", ok(SECRET), hosting="local"), Model("cloud", ok())], [privacy], capture_content=True)
    resp = router.completion(MSG)
    list(router.stream(MSG))
    assert resp.model == "local"
    spans = otel.finished()
    text = all_text(spans)
    assert "4111" not in text and "bob@example.com" not in text and "gen_ai.input.messages" not in text
    root = otel.by_name()["llmroute.route"][0].attributes or {}
    assert root["llmroute.privacy.detectors"] == ("email",)
    assert root["llmroute.constraints"] == ("privacy: personal data",)
    local = otel.by_name()["chat local"][0]
    assert local.kind == SpanKind.INTERNAL  # local hosting: in-process, not a client call


def test_real_privacy_policy_when_present(otel: Otel) -> None:
    privacy_mod = pytest.importorskip("llmroute.policies.privacy")
    policy_cls = getattr(privacy_mod, "Privacy", None)
    if policy_cls is None:
        pytest.skip("llmroute.policies.privacy has no Privacy yet")
    router = otel.router([Model("local", ok(SECRET), hosting="local"), Model("cloud", ok())], [policy_cls()], capture_content=True)
    resp = router.completion(MSG)
    assert resp.model == "local"
    text = all_text(otel.finished())
    assert "4111" not in text and "bob@example.com" not in text and "gen_ai.input.messages" not in text
    root = otel.by_name()["llmroute.route"][0].attributes or {}
    assert "email" in root["llmroute.privacy.detectors"]


# -- real HTTP --------------------------------------------------------------------------------
def test_http_client_span_has_server_address_and_port(otel: Otel, openai_server: OpenAIServer) -> None:
    adapter = LiteLLM("openai/served-model", api_base=openai_server.base_url, api_key="sk-test-0000")
    router = otel.router([Model("self", adapter, hosting="self_hosted")])
    resp = router.completion(MSG, max_tokens=20)
    assert resp.content == f"echo: {SECRET}"
    attempt = otel.by_name()["chat self"][0]
    a = attempt.attributes or {}
    port = int(openai_server.base_url.rsplit(":", 1)[1].split("/")[0])
    assert attempt.kind == SpanKind.CLIENT
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == port
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.response.model"] == "served-model"
    assert a["gen_ai.usage.output_tokens"] == resp.usage.completion_tokens
    assert "4111" not in all_text(otel.finished()) and "sk-test-0000" not in all_text(otel.finished())
    (_, d), = otel.points("gen_ai.client.operation.duration")
    assert d.attributes["server.address"] == "127.0.0.1" and d.attributes["server.port"] == port


def test_http_failure_then_fallback_over_real_server(otel: Otel, openai_server: OpenAIServer) -> None:
    from openai_server import Fault

    openai_server.always = Fault("500")
    with OpenAIServer() as healthy:
        broken = LiteLLM("openai/served-model", api_base=openai_server.base_url, api_key="sk-test-0000")
        good = LiteLLM("openai/served-model", api_base=healthy.base_url, api_key="sk-test-0000")
        assert otel.router([Model("one", broken), Model("two", good)]).completion(MSG).model == "two"
        healthy_port = int(healthy.base_url.rsplit(":", 1)[1].split("/")[0])
    spans = otel.by_name()
    assert spans["chat one"] and all(s.status.status_code == StatusCode.ERROR for s in spans["chat one"])
    assert {s.attributes["error.type"] for s in spans["chat one"]} == {"ProviderUnavailableError"}
    two = spans["chat two"][0].attributes or {}
    assert two["llmroute.attempt.fallback"] is True and two["server.port"] == healthy_port


# -- without an SDK, and for people -----------------------------------------------------------
def test_import_llmroute_does_not_import_opentelemetry() -> None:
    code = "import sys, llmroute; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_works_with_no_sdk_configured() -> None:
    # The global provider is the API's no-op proxy in this process unless a test set one.
    router = Router([Model("a", ok())])
    assert router.completion(MSG).content == "hello world"
    assert "".join(c.content for c in router.stream(MSG)) == "hello world"


def test_instrument_false_makes_no_spans(otel: Otel) -> None:
    otel.router([Model("a", ok())], instrument=False).completion(MSG)
    assert otel.finished() == [] and not otel.points("gen_ai.client.token.usage")


def test_format_tree_prints_nested_spans(otel: Otel) -> None:
    otel.router([Model("first", rate_limited()), Model("second", ok())]).completion(MSG)
    text = format_tree(otel.finished())
    lines = text.splitlines()
    assert lines[0].startswith("llmroute.route  [internal")
    assert any(line.startswith("  chat first  [client") and "ERROR" in line for line in lines)
    assert any(line.startswith("  chat second  [client") for line in lines)
    assert "      gen_ai.usage.output_tokens = 2" in lines


def test_print_spans_installs_a_printer() -> None:
    code = (
        "import io, sys\n"
        "from llmroute import Router, Model\n"
        "from llmroute.adapters import Function\n"
        "from llmroute.observability import print_spans\n"
        "print_spans(sys.stdout)\n"
        "Router([Model('m', Function(lambda r: 'hi'))]).completion([{'role': 'user', 'content': 'x'}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("llmroute.route  [internal")
    assert "  chat m  [client" in out.stdout and "gen_ai.provider.name = function" in out.stdout


def test_print_spans_without_sdk_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from llmroute.observability import print_spans

    real_import = builtins.__import__

    def no_sdk(name: str, *args: Any, **kw: Any) -> Any:
        if name.startswith("opentelemetry.sdk"):
            raise ImportError(name)
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_sdk)
    out = io.StringIO()
    assert print_spans(out) is None
    assert "pip install 'llmroute[trace]'" in out.getvalue()


# -- real local model -------------------------------------------------------------------------
@pytest.mark.llama
def test_llamacpp_attempt_is_internal_span(otel: Otel) -> None:
    pytest.importorskip("llama_cpp")
    from llmroute.adapters.llamacpp import LlamaCpp

    adapter = LlamaCpp(n_ctx=512)
    try:
        router = otel.router([Model("smollm2", adapter, hosting="local")])
        resp = router.completion([{"role": "user", "content": "Say hi."}], max_tokens=4, temperature=0)
        chunks = list(router.stream([{"role": "user", "content": "Say hi."}], max_tokens=4, temperature=0))
    finally:
        adapter.close()
    attempts = otel.by_name()["chat smollm2"]
    assert len(attempts) == 2
    for span in attempts:
        a = span.attributes or {}
        assert span.kind == SpanKind.INTERNAL
        assert a["gen_ai.provider.name"] == "llama.cpp" and "server.address" not in a
        assert a["gen_ai.request.max_tokens"] == 4
        assert 0 < a["gen_ai.usage.output_tokens"] <= 4
    assert attempts[0].attributes["gen_ai.usage.output_tokens"] == resp.usage.completion_tokens
    streamed = next(s for s in attempts if s.attributes.get("gen_ai.request.stream"))
    assert streamed.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert chunks[-1].usage is not None


@pytest.mark.llama
def test_demo_trace_prints_the_spans() -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("llmroute.cli.demo")
    out = subprocess.run([sys.executable, "-m", "llmroute.cli", "demo", "--trace"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "llmroute.route  [internal" in out.stdout
    assert "  chat smollm2-135m-local  [internal" in out.stdout
    assert "gen_ai.provider.name = llama.cpp" in out.stdout


def test_stream_never_iterated_still_ends_its_span_and_budget(otel: Otel) -> None:
    import gc

    from llmroute._request import build_request
    from llmroute.policies import Cost

    cost = Cost(budgets=[{"limit": 1.0, "window": "day"}])
    probe = build_request(MSG, params={})

    def left() -> float:
        found = cost.remaining(probe)
        assert found is not None
        return found[0]

    router = otel.router([Model("a", ok("one two"), price=Price(1.0, 1.0))], [cost])
    chunks = router.stream(MSG)  # decided, with budget reserved, and never iterated
    assert left() < 1.0 and "llmroute.route" not in otel.by_name()
    del chunks
    gc.collect()
    root = otel.by_name()["llmroute.route"][0]
    assert root.attributes["error.type"] == "cancelled"
    assert left() == 1.0  # the reservation went back when the stream was dropped
