"""OpenTelemetry spans and metrics for routed calls, in the GenAI semantic conventions' names.

The router calls one wrapper object (:class:`Telemetry`) at a few points; nothing else in
llmroute knows about OpenTelemetry. Only ``opentelemetry-api`` is needed, and it is imported on
a router's first call, so ``import llmroute`` stays fast. With no SDK configured every span is
a no-op and the whole wrapper costs about a microsecond per call (benchmarks/tracing_overhead.py).

Spans, per call::

    llmroute.route                 INTERNAL; the decision: candidates, verdicts, constraints
    └── chat <model>               one per attempt; CLIENT for HTTP backends, INTERNAL for local

Message content is recorded only when asked for (``capture_content=True`` or the
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` variable), and never when the privacy
policy fired for the request.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ._types import Completion, Constraint, Decision, Model, Request, StreamEvent, Usage
from .errors import NoEligibleModelError

if TYPE_CHECKING:
    from ._plan import AttemptPlan, Step
    from .audit import AuditRecord

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "AttemptTrace",
    "CallTrace",
    "Telemetry",
    "capture_content_from_env",
    "print_spans",
    "privacy_fired",
    "traced_astream",
    "traced_stream",
]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# "true" is the classic opt-in; the newer values name where content goes (spans count for us).
_CAPTURE_ON = frozenset({"true", "1", "yes", "span_only", "span_and_event"})
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

AuditCallback = Callable[["AuditRecord"], object]


def capture_content_from_env() -> bool:
    """Whether the environment opts in to recording message content."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CAPTURE_ON


def privacy_fired(constraints: Sequence[Constraint]) -> bool:
    """True when a privacy constraint or any detector fired: content must never be recorded."""
    return any(c.name == "privacy" or c.data.get("detectors") for c in constraints)


def _error_privacy(exc: BaseException) -> bool:
    if isinstance(exc, NoEligibleModelError):
        return bool(exc.detectors) or any(privacy_fired(v.constraints) for v in exc.verdicts)
    return False


def _cancelled(exc: BaseException) -> bool:
    """The caller stopped (closed a stream, cancelled a task): not a failure of the call."""
    return isinstance(exc, GeneratorExit) or type(exc).__name__ == "CancelledError"


def error_type(exc: BaseException) -> str:
    """The low-cardinality ``error.type`` value: the exception's class name, or "cancelled"."""
    return "cancelled" if _cancelled(exc) else type(exc).__name__


def decision_reason(decision: Decision, first_model: str) -> str:
    """Why this model, in one low-cardinality word: the policy that last changed the top choice.

    ``pinned`` for a pinned model, ``default`` when no policy moved the first configured model,
    ``constraint`` when a hard constraint ruled out the policies' own first choice.
    """
    if decision.pinned:
        return "pinned"
    top, decider = first_model, "default"
    for verdict in decision.verdicts:
        if verdict.keep and verdict.keep[0] != top:
            top, decider = verdict.keep[0], verdict.policy
    return decider if top == decision.model else "constraint"


def messages_json(messages: Sequence[Mapping[str, Any]]) -> str:
    """Messages in the conventions' ``gen_ai.input.messages`` shape (role + parts), as JSON."""
    import json

    out = []
    for message in messages:
        content = message.get("content")
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    parts.append({"type": "text", "content": part["text"]})
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping):
                fn = call.get("function") or {}
                parts.append({"type": "tool_call", "id": call.get("id"), "name": fn.get("name"), "arguments": fn.get("arguments")})
        out.append({"role": message.get("role", "user"), "parts": parts})
    return json.dumps(out, ensure_ascii=False)


def _output_json(text: str | None, finish_reason: str | None) -> str:
    import json

    parts = [{"type": "text", "content": text}] if text else []
    return json.dumps([{"role": "assistant", "parts": parts, "finish_reason": finish_reason or "stop"}], ensure_ascii=False)


class _Otel:
    """The tracer and instruments, made once per router on its first call."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        from opentelemetry import metrics, trace

        from . import __version__

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
            from .errors import ConfigError

            raise ConfigError(f"must be callable (record) -> None, got {type(audit).__name__}", path="audit")
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
            return _QuietCall(request)
        return CallTrace(self, request, operation, otel)


class CallTrace:
    """One routed call: the decision span, its attempt spans, metrics and the audit record."""

    def __init__(self, telemetry: Telemetry, request: Request, operation: str, otel: _Otel | None) -> None:
        self.t = telemetry
        self.request = request
        self.operation = operation
        self.plan: AttemptPlan | None = None
        self.decision: Decision | None = None
        self.started = time.perf_counter()
        self.served: AttemptTrace | None = None
        self.current: AttemptTrace | None = None
        self._ended = False
        self._token: object = None
        self.otel = otel
        self.span: Any = None
        if self.otel is not None:
            self.span = self.otel.tracer.start_span("llmroute.route", kind=self.otel.internal)
            self.recording: bool = self.span.is_recording()
        else:
            self.recording = False

    # -- the decision --------------------------------------------------------------------
    def decide(self, decide: Callable[[Request], Decision]) -> Decision:
        """Run ``decide`` under the decision span; a refusal ends the call here."""
        try:
            decision = decide(self.request)
        except BaseException as exc:
            self.end(exc)
            raise
        self.decision = decision
        if self.otel is not None:
            self.otel.decisions.add(1, {
                "llmroute.model": decision.model,
                "llmroute.decision.reason": decision_reason(decision, self.t.first_model),
                "llmroute.operation": self.operation,
            })
        if self.recording:
            self._decision_attributes(decision)
        if self.operation == "route":
            self.end(None)
        return decision

    def _decision_attributes(self, d: Decision) -> None:
        a: dict[str, Any] = {}
        a["llmroute.operation"] = self.operation
        a["llmroute.model"] = d.model
        a["llmroute.candidates"] = list(d.candidates)
        a["llmroute.pinned"] = d.pinned
        a["llmroute.decision.reason"] = decision_reason(d, self.t.first_model)
        a["llmroute.estimated.input_tokens"] = d.estimated_input_tokens
        a["llmroute.estimated.output_tokens"] = d.estimated_output_tokens
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

    # -- content rules -------------------------------------------------------------------
    @property
    def content_allowed(self) -> bool:
        """Opted in, and the privacy policy did not fire."""
        if not self.t.capture_content:
            return False
        return self.decision is not None and not privacy_fired(self.decision.constraints)

    # -- attempts ------------------------------------------------------------------------
    def attempt(self, step: Step) -> AttemptTrace:
        """Start the span for one attempt; it is the current span until it ends (not for streams)."""
        return AttemptTrace(self, step.model, step.delay_s)

    # -- the end -------------------------------------------------------------------------
    def __enter__(self) -> CallTrace:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.end(exc)

    def end(self, exc: BaseException | None) -> None:
        """End the call once: the decision span's outcome, then the audit record."""
        if self._ended:
            return
        self._ended = True
        if self.current is not None:  # an attempt cut short (cancelled, or a bug in an adapter)
            self.current.failed(exc or GeneratorExit())
        if self.recording:
            span = self.span
            span.set_attribute("llmroute.attempts", len(self.plan.attempts) if self.plan else 0)
            if self.served is not None:
                span.set_attribute("llmroute.served_by", self.served.model.name)
                if self.served.cost is not None:
                    span.set_attribute("llmroute.cost", self.served.cost)
            if exc is not None:
                span.set_attribute("error.type", error_type(exc))
                if not _cancelled(exc):
                    assert self.otel is not None
                    span.set_status(self.otel.error, str(exc)[:300])
        if self.span is not None:
            self.span.end()
        if self.t.audit is not None:
            self._audit(exc)

    def _audit(self, exc: BaseException | None) -> None:
        from .audit import build_record

        private = (self.decision is not None and privacy_fired(self.decision.constraints)) or (
            exc is not None and _error_privacy(exc)
        )
        content = self.t.capture_content and not private and self.decision is not None
        try:
            record = build_record(self, exc, content=content, private=private)
            assert self.t.audit is not None
            self.t.audit(record)
        except Exception:  # an audit sink that fails must not fail the call it records
            import logging

            logging.getLogger("llmroute.audit").exception("llmroute audit callback failed")


class AttemptTrace:
    """One attempt's span and metrics."""

    def __init__(self, call: CallTrace, model: Model, delay_s: float) -> None:
        self.call = call
        self.model = model
        self.started = time.perf_counter()
        self.first_chunk_s: float | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.output: str | None = None
        self.finish_reason: str | None = None
        self.cost: float | None = None
        self.span: Any = None
        self._token: object = None
        adapter = model.adapter
        self.provider = str(getattr(adapter, "provider", "unknown"))
        call.current = self
        otel = call.otel
        if not call.recording or otel is None:
            return
        plan = call.plan
        previous = plan.attempts if plan is not None else []
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
        address = getattr(adapter, "server_address", None)
        port = getattr(adapter, "server_port", None)
        if isinstance(address, str) and address:
            a["server.address"] = address
        if isinstance(port, int):
            a["server.port"] = port
        a["llmroute.attempt.index"] = len(previous)
        a["llmroute.attempt.fallback"] = call.decision is not None and model.name != call.decision.model
        a["llmroute.attempt.retry"] = any(p.model == model.name for p in previous)
        if delay_s:
            a["llmroute.attempt.delay_s"] = delay_s
        if call.content_allowed:
            a["gen_ai.input.messages"] = messages_json(request.messages)
        self.span = span = otel.tracer.start_span(
            f"chat {model.name}",
            context=trace.set_span_in_context(call.span),
            kind=otel.internal if local else otel.client,
            attributes=a,
        )
        if not request.stream:
            # Current while the adapter runs, so an HTTP client's own spans nest under it.
            self._token = trace.context_api.attach(trace.set_span_in_context(span))

    # -- what the adapter returned -------------------------------------------------------
    def saw(self, event: StreamEvent) -> None:
        """One stream event: note the first chunk's time and the response's id and model."""
        if event.text and self.first_chunk_s is None:
            self.first_chunk_s = time.perf_counter() - self.started
        if event.response_id:
            self.response_id = event.response_id
        if event.response_model:
            self.response_model = event.response_model

    def completed(self, result: Completion) -> None:
        self.response_id = result.response_id
        self.response_model = result.response_model
        self._succeeded(result.usage, result.finish_reason, result.content)

    def streamed(self, usage: Usage, finish_reason: str | None, text: str) -> None:
        self._succeeded(usage, finish_reason, text)

    def _succeeded(self, usage: Usage, finish_reason: str | None, text: str | None) -> None:
        self.finish_reason = finish_reason
        self.cost = self.model.price.cost(usage.prompt_tokens, usage.completion_tokens)
        self.output = text
        self.call.served = self
        elapsed = time.perf_counter() - self.started
        span = self.span
        if span is not None:
            a: dict[str, Any] = {}
            if self.response_id:
                a["gen_ai.response.id"] = self.response_id
            a["gen_ai.response.model"] = self.response_model or self.model.name
            a["gen_ai.response.finish_reasons"] = [finish_reason or "stop"]
            a["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            a["gen_ai.usage.output_tokens"] = usage.completion_tokens
            a["llmroute.cost"] = self.cost
            if self.first_chunk_s is not None:
                a["gen_ai.response.time_to_first_chunk"] = self.first_chunk_s
            if self.call.content_allowed:
                a["gen_ai.output.messages"] = _output_json(text, finish_reason)
            span.set_attributes(a)
        self._end(elapsed, usage, None)

    def failed(self, exc: BaseException) -> None:
        elapsed = time.perf_counter() - self.started
        span = self.span
        if span is not None:
            span.set_attribute("error.type", error_type(exc))
            otel = self.call.otel
            assert otel is not None
            if not _cancelled(exc):
                span.set_status(otel.error, str(exc)[:300])
        self._end(elapsed, None, exc)

    def _end(self, elapsed: float, usage: Usage | None, exc: BaseException | None) -> None:
        call = self.call
        if call.current is self:
            call.current = None
        if self._token is not None:
            otel = call.otel
            assert otel is not None
            otel.trace.context_api.detach(self._token)
            self._token = None
        if self.span is not None:
            self.span.end()
        otel = call.otel
        if otel is None:
            return
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.model.name,
        }
        address = getattr(self.model.adapter, "server_address", None)
        if isinstance(address, str) and address:
            attrs["server.address"] = address
            port = getattr(self.model.adapter, "server_port", None)
            if isinstance(port, int):
                attrs["server.port"] = port
        if exc is not None:
            attrs["error.type"] = error_type(exc)
            otel.duration.record(elapsed, attrs)
            return
        attrs["gen_ai.response.model"] = self.response_model or self.model.name
        otel.duration.record(elapsed, attrs)
        if self.first_chunk_s is not None:
            otel.first_chunk.record(self.first_chunk_s, attrs)
        if usage is not None:
            otel.tokens.record(usage.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
            otel.tokens.record(usage.completion_tokens, {**attrs, "gen_ai.token.type": "output"})
        if self.cost is not None:
            otel.cost.add(self.cost, {"gen_ai.provider.name": self.provider, "gen_ai.request.model": self.model.name})


class _QuietCall(CallTrace):
    """Nothing to report (no SDK, no audit): the same calls, doing nothing, at a fraction of the cost."""

    def __init__(self, request: Request) -> None:  # no super(): nothing to set up
        self.request = request
        self.plan = None

    def decide(self, decide: Callable[[Request], Decision]) -> Decision:
        return decide(self.request)

    def attempt(self, step: Step) -> AttemptTrace:
        return _QUIET_ATTEMPT

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        return None

    def end(self, exc: BaseException | None) -> None:
        return None


class _QuietAttempt(AttemptTrace):
    def __init__(self) -> None:  # no super(): a shared, stateless stand-in
        return None

    def saw(self, event: StreamEvent) -> None:
        return None

    def completed(self, result: Completion) -> None:
        return None

    def streamed(self, usage: Usage, finish_reason: str | None, text: str) -> None:
        return None

    def failed(self, exc: BaseException) -> None:
        return None


_QUIET_ATTEMPT = _QuietAttempt()


def traced_stream(call: CallTrace, chunks: Iterator[Any]) -> Iterator[Any]:
    """Yield ``chunks`` with the call open: its span ends when the stream ends or is closed."""
    with call:
        yield from chunks


async def traced_astream(call: CallTrace, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The async twin of :func:`traced_stream`; closing it closes ``chunks`` too."""
    try:
        with call:
            async for chunk in chunks:
                yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


# -- printing spans for people ---------------------------------------------------------------
def print_spans(stream: TextIO | None = None) -> Any:
    """Install a global tracer provider that prints each finished call as an indented tree.

    For ``llmroute demo --trace`` and first experiments; needs ``opentelemetry-sdk``. Returns the
    provider, or None (with a message on ``stream``) when the SDK is not installed.
    """
    out = stream or sys.stderr
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    except ImportError:
        print("tracing output needs the OpenTelemetry SDK: pip install 'llmroute[trace]' (or opentelemetry-sdk)", file=out)
        return None
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_TreePrinter(out)))  # type: ignore[arg-type]
    trace.set_tracer_provider(provider)
    return provider


class _TreePrinter:
    """A span exporter that holds a trace's spans until its root ends, then prints the tree."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.pending: dict[int, list[Any]] = {}

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        for span in spans:
            self.pending.setdefault(span.context.trace_id, []).append(span)
            if span.parent is None:
                self.out.write(format_tree(self.pending.pop(span.context.trace_id)))
                self.out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def format_tree(spans: Sequence[Any]) -> str:
    """Finished SDK spans of one trace as an indented tree, attributes one per line."""
    children: dict[int | None, list[Any]] = {}
    ids = {s.context.span_id for s in spans}
    for s in spans:
        parent = s.parent.span_id if s.parent is not None and s.parent.span_id in ids else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def walk(span: Any, depth: int) -> None:
        pad = "  " * depth
        ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        status = f" {span.status.status_code.name}" if span.status.status_code.name == "ERROR" else ""
        lines.append(f"{pad}{span.name}  [{span.kind.name.lower()}, {ms:.1f} ms{status}]")
        for key, value in (span.attributes or {}).items():
            shown = list(value) if isinstance(value, tuple) else value
            lines.append(f"{pad}    {key} = {shown}")
        for child in sorted(children.get(span.context.span_id, []), key=lambda c: c.start_time or 0):
            walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=lambda c: c.start_time or 0):
        walk(root, 0)
    return "\n".join(lines) + "\n"

