"""OpenTelemetry spans and metrics for routed calls, in the GenAI semantic conventions' names.

The router calls one wrapper object (:class:`Telemetry`) at a few points; nothing else in
llmroute knows about OpenTelemetry. Only ``opentelemetry-api`` is needed, and it is imported on
a router's first call, so ``import llmroute`` stays fast. With no SDK configured every span is
a no-op and the whole wrapper costs about a microsecond per call (benchmarks/tracing_overhead.py).

Spans, per call::

    llmroute.route                 INTERNAL; the decision: candidates, verdicts, constraints
    └── chat <model>               one per attempt; CLIENT for HTTP backends, INTERNAL for local

What a span says of an attempt comes from the plan's :class:`~llmroute.Attempt` (usage, cost,
index, retry, fallback); what it says of the call comes from a :class:`CallSummary`. Content
follows the one rule in :mod:`.facts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._text import message_texts
from .._types import Attempt, Decision, Model, Request, StreamEvent
from .facts import (
    CallSummary,
    cancelled,
    content_allowed,
    decision_reason,
    error_text,
    error_type,
    privacy_fired,
)

if TYPE_CHECKING:
    from .._plan import Step
    from ..cascade import CascadeResult, CascadeStep
    from .audit import AuditRecord

__all__ = ["AttemptSpan", "CallTrace", "Telemetry"]

_LOCAL_PROVIDERS = frozenset({"llama.cpp", "llama_cpp", "llamacpp"})
# Request parameter -> GenAI attribute; only numbers are recorded.
_PARAMS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("seed", "gen_ai.request.seed"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
)
# The conventions' advised histogram buckets.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_STATUS_LIMIT = 300

AuditCallback = Callable[["AuditRecord"], object]


def messages_json(messages: Sequence[Mapping[str, Any]]) -> str:
    """Messages in the conventions' ``gen_ai.input.messages`` shape (role + parts), as JSON."""
    import json

    out = [{"role": message.get("role", "user"), "parts": _parts(message)} for message in messages]
    return json.dumps(out, ensure_ascii=False)


def _parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "content": text} for text in message_texts(message)]
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            fn = call.get("function") or {}
            parts.append({"type": "tool_call", "id": call.get("id"), "name": fn.get("name"), "arguments": fn.get("arguments")})
    return parts


def _output_json(text: str | None, finish_reason: str | None) -> str:
    import json

    parts = [{"type": "text", "content": text}] if text else []
    return json.dumps([{"role": "assistant", "parts": parts, "finish_reason": finish_reason or "stop"}], ensure_ascii=False)


class _Otel:
    """The tracer and instruments, made once per router on its first call."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        from opentelemetry import metrics, trace

        from .. import __version__

        self.trace = trace
        self.client = trace.SpanKind.CLIENT
        self.internal = trace.SpanKind.INTERNAL
        self.error = trace.StatusCode.ERROR
        self.tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("llmroute", __version__)
        meter = (meter_provider or metrics.get_meter_provider()).get_meter("llmroute", __version__)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        # With no SDK configured the API hands out no-op spans and instruments; knowing that up
        # front lets a call skip them entirely (the API's proxies pick up an SDK set later, and
        # so does this check). The module globals are read defensively: if a future API renames
        # them, tracing stays on and only gets a little slower.
        from opentelemetry.metrics import _internal as metrics_internal

        self._own = tracer_provider is not None or meter_provider is not None
        self._trace_mod: Any = trace
        self._metrics_mod: Any = metrics_internal
        self.cost = meter.create_counter("llmroute.cost", unit="USD", description="Estimated cost of successful calls, from each model's price.")
        self.decisions = meter.create_counter("llmroute.decisions", unit="{decision}", description="Routing decisions by chosen model and reason.")


    def live(self) -> bool:
        """False only when no SDK is configured: every span and instrument would be a no-op."""
        return (
            self._own
            or getattr(self._trace_mod, "_TRACER_PROVIDER", True) is not None
            or getattr(self._metrics_mod, "_METER_PROVIDER", True) is not None
        )


class Telemetry:
    """Everything a router reports about its calls: spans, metrics and the audit callback.

    ``enabled=False`` turns OpenTelemetry off (the audit callback still runs).
    """

    def __init__(
        self,
        *,
        first_model: str,
        capture_content: bool | None = None,
        audit: AuditCallback | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        enabled: bool = True,
    ) -> None:
        if audit is not None and not callable(audit):
            from ..errors import ConfigError

            raise ConfigError(f"must be callable (record) -> None, got {type(audit).__name__}", path="audit")
        from .facts import capture_content_from_env

        self.first_model = first_model
        self.capture_content = capture_content_from_env() if capture_content is None else bool(capture_content)
        self.audit = audit
        self.enabled = enabled
        self._providers = (tracer_provider, meter_provider)
        self._otel: _Otel | None = None

    @property
    def otel(self) -> _Otel:
        if self._otel is None:
            self._otel = _Otel(*self._providers)
        return self._otel

    def call(self, request: Request, operation: str = "chat") -> CallTrace:
        """Start tracing one call (``operation`` is "chat", or "route" for a dry run)."""
        otel = self.otel if self.enabled else None
        if otel is not None and not otel.live():
            otel = None
        if otel is None and self.audit is None:
            return _QUIET_CALL
        return CallTrace(self, request, operation, otel)

    def _audit(self, summary: CallSummary) -> None:
        from .audit import build_record

        try:
            record = build_record(summary, first_model=self.first_model, capture_content=self.capture_content)
            assert self.audit is not None
            self.audit(record)
        except Exception:  # an audit sink that fails must not fail the call it records
            import logging

            logging.getLogger("llmroute.audit").exception("llmroute audit callback failed")


class CallTrace:
    """One routed call as spans and metrics: the decision span, and one span per attempt.

    ``quiet`` is True for the stand-in used when nothing listens: callers skip building the
    summary for it.
    """

    quiet = False

    def __init__(self, telemetry: Telemetry, request: Request, operation: str, otel: _Otel | None) -> None:
        self.t = telemetry
        self.request = request
        self.operation = operation
        self.decision: Decision | None = None
        self.current: AttemptSpan | None = None
        self._ended = False
        self.otel = otel
        self.span: Any = None
        if otel is not None:
            self.span = otel.tracer.start_span("llmroute.route", kind=otel.internal)
            self.recording: bool = self.span.is_recording()
        else:
            self.recording = False

    # -- the decision --------------------------------------------------------------------
    def decided(self, decision: Decision) -> None:
        """The decision is made: count it and describe it on the decision span."""
        self.decision = decision
        if self.otel is not None:
            self.otel.decisions.add(1, {
                "llmroute.model": decision.model,
                "llmroute.decision.reason": decision_reason(decision, self.t.first_model),
                "llmroute.operation": self.operation,
            })
        if self.recording:
            self._decision_attributes(decision)

    def _decision_attributes(self, d: Decision) -> None:
        a: dict[str, Any] = {}
        a["llmroute.operation"] = self.operation
        a["llmroute.model"] = d.model
        a["llmroute.candidates"] = list(d.candidates)
        a["llmroute.pinned"] = d.pinned
        a["llmroute.decision.reason"] = decision_reason(d, self.t.first_model)
        a["llmroute.estimated.input_tokens"] = d.estimated_input_tokens
        a["llmroute.estimated.output_tokens"] = d.estimated_output_tokens
        if d.estimated_cost is not None:  # unknown price: no attribute rather than a false $0
            a["llmroute.estimated.cost"] = d.estimated_cost
        a["llmroute.policies"] = [v.policy for v in d.verdicts]
        for v in d.verdicts:
            prefix = f"llmroute.policy.{v.policy}"
            a[f"{prefix}.kept"] = list(v.keep)
            if v.reason:
                a[f"{prefix}.reason"] = v.reason
            if v.dropped:
                a[f"{prefix}.dropped"] = [f"{n}: {why}" for n, why in v.dropped.items()]
        if d.dropped:
            a["llmroute.dropped"] = [f"{n}: {why}" for n, why in d.dropped.items()]
        if d.constraints:
            a["llmroute.constraints"] = [f"{c.name}: {c.reason}" for c in d.constraints]
            detectors = sorted({str(n) for c in d.constraints for n in c.data.get("detectors", ())})
            if detectors:
                a["llmroute.privacy.detectors"] = detectors
        self.span.set_attributes(a)

    @property
    def content_allowed(self) -> bool:
        return content_allowed(self.t.capture_content, self.decision)

    # -- attempts ------------------------------------------------------------------------
    def attempt(self, step: Step) -> AttemptSpan:
        """Start the span for one attempt; it is the current span until it ends (not for streams)."""
        return AttemptSpan(self, step)

    # -- a cascade's steps: one event each on the call's span, in one place ---------------
    def cascade_step(self, step: CascadeStep) -> None:
        """A cascade step's check result and cost (its call has its own attempt span)."""
        if not self.recording:
            return
        a: dict[str, Any] = {"llmroute.cascade.model": step.model, "llmroute.cascade.attempt": step.attempt}
        a["llmroute.cascade.accepted"] = step.accepted
        if step.score is not None:
            a["llmroute.cascade.score"] = step.score
        if step.cost is not None:
            a["llmroute.cascade.cost"] = step.cost
        a["llmroute.cascade.checks"] = [f"{n}: {'none' if v is None else f'{v:.4g}'}" for n, v in step.checks.items()]
        if step.note:
            a["llmroute.cascade.note"] = step.note
        self.span.add_event("llmroute.cascade.step", a)

    def cascade_end(self, result: CascadeResult) -> None:
        """How the cascade ended: which step served, whether a check accepted it, why it stopped."""
        if not self.recording:
            return
        a: dict[str, Any] = {"llmroute.cascade.steps": len(result.steps), "llmroute.cascade.accepted": result.accepted}
        a["llmroute.cascade.served"] = result.served
        if result.cost is not None:
            a["llmroute.cascade.cost"] = result.cost
        if result.stopped:
            a["llmroute.cascade.stopped"] = result.stopped
        self.span.set_attributes(a)

    # -- the end -------------------------------------------------------------------------
    def end(self, summary: CallSummary) -> None:
        """End the call once: the decision span's outcome, then the audit record."""
        if self._ended:
            return
        self._ended = True
        exc = summary.error
        if self.current is not None:  # an attempt cut short (cancelled, or a bug in an adapter)
            self.current.cut(exc or GeneratorExit())
        if self.recording:
            span = self.span
            span.set_attribute("llmroute.attempts", len(summary.attempts))
            served = summary.served
            if served is not None:
                span.set_attribute("llmroute.served_by", served.model)
                if served.cost is not None:
                    span.set_attribute("llmroute.cost", served.cost)
            if exc is not None:
                span.set_attribute("error.type", error_type(exc))
                if not cancelled(exc):
                    assert self.otel is not None
                    span.set_status(self.otel.error, error_text(exc, _STATUS_LIMIT, private=summary.private))
        if self.span is not None:
            self.span.end()
        if self.t.audit is not None:
            self.t._audit(summary)


class AttemptSpan:
    """One attempt's span and metrics; what it reports of the outcome is the plan's Attempt."""

    def __init__(self, call: CallTrace, step: Step) -> None:
        model = step.model
        self.call = call
        self.model = model
        self.first_chunk_s: float | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self._token: object = None
        adapter = model.adapter
        self.provider = str(getattr(adapter, "provider", "unknown"))
        call.current = self
        self.span: Any = self._start(call, step)
        # Timed from after the span starts, so the first chunk's time never exceeds the span.
        self.started = time.perf_counter()

    def _start(self, call: CallTrace, step: Step) -> Any:
        otel = call.otel
        if not call.recording or otel is None:
            return None
        model = self.model
        local = self.provider in _LOCAL_PROVIDERS or model.hosting == "local"
        trace = otel.trace
        request = call.request
        a: dict[str, Any] = {}
        a["gen_ai.operation.name"] = "chat"
        a["gen_ai.provider.name"] = self.provider
        a["gen_ai.request.model"] = model.name
        for key, name in _PARAMS:
            value = request.params.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                a[name] = value
        stop = request.params.get("stop")
        if isinstance(stop, str):
            a["gen_ai.request.stop_sequences"] = [stop]
        elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            a["gen_ai.request.stop_sequences"] = list(stop)
        if request.stream:
            a["gen_ai.request.stream"] = True
        a.update(_server(model))
        a["llmroute.attempt.index"] = step.index
        a["llmroute.attempt.fallback"] = step.fallback
        a["llmroute.attempt.retry"] = step.retry
        if step.delay_s:
            a["llmroute.attempt.delay_s"] = step.delay_s
        if call.content_allowed:
            a["gen_ai.input.messages"] = messages_json(request.messages)
        span = otel.tracer.start_span(
            f"chat {model.name}",
            context=trace.set_span_in_context(call.span),
            kind=otel.internal if local else otel.client,
            attributes=a,
        )
        if not request.stream:
            # Current while the adapter runs, so an HTTP client's own spans nest under it.
            self._token = trace.context_api.attach(trace.set_span_in_context(span))
        return span

    def saw(self, event: StreamEvent) -> None:
        """One stream event: note the first chunk's time and the response's id and model."""
        if event.text and self.first_chunk_s is None:
            self.first_chunk_s = time.perf_counter() - self.started
        if event.response_id:
            self.response_id = event.response_id
        if event.response_model:
            self.response_model = event.response_model

    def ended(
        self,
        attempt: Attempt,
        *,
        output: str | None = None,
        finish_reason: str | None = None,
        response_id: str | None = None,
        response_model: str | None = None,
    ) -> None:
        """The plan has booked ``attempt``: close the span with what it says."""
        self.response_id = response_id or self.response_id
        self.response_model = response_model or self.response_model
        span = self.span
        if span is not None:
            if attempt.error is not None:
                self._error_attributes(attempt.error)
            else:
                a: dict[str, Any] = {}
                if self.response_id:
                    a["gen_ai.response.id"] = self.response_id
                a["gen_ai.response.model"] = self.response_model or self.model.name
                a["gen_ai.response.finish_reasons"] = [finish_reason or "stop"]
                if attempt.usage is not None:
                    a["gen_ai.usage.input_tokens"] = attempt.usage.prompt_tokens
                    a["gen_ai.usage.output_tokens"] = attempt.usage.completion_tokens
                if attempt.cost is not None:
                    a["llmroute.cost"] = attempt.cost
                if self.first_chunk_s is not None:
                    a["gen_ai.response.time_to_first_chunk"] = self.first_chunk_s
                if self.call.content_allowed:
                    a["gen_ai.output.messages"] = _output_json(output, finish_reason)
                span.set_attributes(a)
        self._end(attempt.elapsed_s, attempt, attempt.error)

    def cut(self, exc: BaseException) -> None:
        """The call ended while this attempt was in flight (cancelled, or a bug in an adapter)."""
        if self.span is not None:
            self._error_attributes(exc)
        self._end(time.perf_counter() - self.started, None, exc)

    def _error_attributes(self, exc: BaseException) -> None:
        self.span.set_attribute("error.type", error_type(exc))
        if not cancelled(exc):
            otel = self.call.otel
            assert otel is not None
            private = self.call.decision is not None and privacy_fired(self.call.decision.constraints)
            self.span.set_status(otel.error, error_text(exc, _STATUS_LIMIT, private=private))

    def _end(self, elapsed: float, attempt: Attempt | None, exc: BaseException | None) -> None:
        call = self.call
        if call.current is self:
            call.current = None
        otel = call.otel
        if self._token is not None:
            assert otel is not None
            otel.trace.context_api.detach(self._token)
            self._token = None
        if self.span is not None:
            self.span.end()
        if otel is None:
            return
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.model.name,
            **_server(self.model),
        }
        if exc is not None:
            attrs["error.type"] = error_type(exc)
            otel.duration.record(elapsed, attrs)
            return
        attrs["gen_ai.response.model"] = self.response_model or self.model.name
        otel.duration.record(elapsed, attrs)
        if self.first_chunk_s is not None:
            otel.first_chunk.record(self.first_chunk_s, attrs)
        usage = attempt.usage if attempt is not None else None
        if usage is not None:
            otel.tokens.record(usage.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
            otel.tokens.record(usage.completion_tokens, {**attrs, "gen_ai.token.type": "output"})
        if attempt is not None and attempt.cost is not None:
            otel.cost.add(attempt.cost, {"gen_ai.provider.name": self.provider, "gen_ai.request.model": self.model.name})


def _server(model: Model) -> dict[str, Any]:
    """``server.address``/``server.port`` of an HTTP backend, as its adapter states them."""
    out: dict[str, Any] = {}
    address = getattr(model.adapter, "server_address", None)
    if isinstance(address, str) and address:
        out["server.address"] = address
        port = getattr(model.adapter, "server_port", None)
        if isinstance(port, int):
            out["server.port"] = port
    return out


class _QuietCall(CallTrace):
    """Nothing listens (no SDK, no audit): the same calls, doing nothing, shared by every call."""

    quiet = True

    def __init__(self) -> None:  # no super(): a shared, stateless stand-in
        return None

    def decided(self, decision: Decision) -> None:
        return None

    def attempt(self, step: Step) -> AttemptSpan:
        return _QUIET_ATTEMPT

    def cascade_step(self, step: CascadeStep) -> None:
        return None

    def cascade_end(self, result: CascadeResult) -> None:
        return None

    def end(self, summary: CallSummary) -> None:
        return None


class _QuietAttempt(AttemptSpan):
    def __init__(self) -> None:  # no super(): a shared, stateless stand-in
        return None

    def saw(self, event: StreamEvent) -> None:
        return None

    def ended(self, attempt: Attempt, **kw: Any) -> None:
        return None

    def cut(self, exc: BaseException) -> None:
        return None


_QUIET_CALL = _QuietCall()
_QUIET_ATTEMPT = _QuietAttempt()
