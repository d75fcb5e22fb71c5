"""An audit trail of routing decisions: one structured record per call, to a sink you own.

``Router(..., audit=callback)`` calls ``callback(record)`` once per call (and per ``route()``
dry run) with an :class:`AuditRecord`: the Decision, every attempt, and how the call ended.
Message content is in a record only when content capture is on, and never when the privacy
policy fired. :class:`JsonlAuditLog` is a ready sink that appends one JSON line per record.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from typing import IO, Any, Literal, Protocol

from .._types import Attempt, Constraint, Decision, Usage, Verdict
from ..errors import ConfigError, NoEligibleModelError
from .facts import CallSummary, content_allowed, decision_reason, error_text, error_type

__all__ = ["AuditRecord", "AuditSink", "JsonlAuditLog", "build_record"]

Outcome = Literal["ok", "error", "route"]


class AuditSink(Protocol):
    """Anything called with each record. It runs on the caller's thread: keep it quick."""

    def __call__(self, record: AuditRecord) -> object: ...


@dataclass(frozen=True)
class AuditRecord:
    """What was decided for one call and how it ended; ``to_dict()`` is JSON-ready."""

    id: str  # the request's id (Request.id)
    time: str  # ISO 8601, UTC, when the call started
    operation: Literal["chat", "route"]
    stream: bool
    outcome: Outcome
    duration_s: float
    decision: dict[str, Any] | None
    attempts: tuple[dict[str, Any], ...] = ()
    model: str | None = None  # the model that served it
    usage: dict[str, int] | None = None
    cost: float | None = None
    error_type: str | None = None
    error: str | None = None
    request: dict[str, Any] = field(default_factory=dict)  # user, tenant, tags, classification
    privacy: bool = False  # the privacy policy fired: content is never recorded
    messages: list[dict[str, Any]] | None = None  # only when content capture is on
    output: str | None = None  # only when content capture is on

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["attempts"] = list(self.attempts)
        return out


def _constraint(c: Constraint) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "reason": c.reason}
    if c.hosting is not None:
        out["hosting"] = sorted(c.hosting)
    if c.models is not None:
        out["models"] = sorted(c.models)
    if c.max_cost is not None:
        out["max_cost"] = c.max_cost
    detectors = c.data.get("detectors")
    if detectors:  # detector names only; what they matched stays out
        out["detectors"] = [str(d) for d in detectors]
    return out


def _verdict(v: Verdict) -> dict[str, Any]:
    return {
        "policy": v.policy,
        "keep": list(v.keep),
        "dropped": dict(v.dropped),
        "reason": v.reason,
        "constraints": [_constraint(c) for c in v.constraints],
    }


def decision_dict(d: Decision, reason: str | None = None) -> dict[str, Any]:
    """A Decision as plain JSON-ready data."""
    return {
        "model": d.model,
        "candidates": list(d.candidates),
        "pinned": d.pinned,
        "reason": reason,
        "verdicts": [_verdict(v) for v in d.verdicts],
        "constraints": [_constraint(c) for c in d.constraints],
        "dropped": dict(d.dropped),
        "estimated_input_tokens": d.estimated_input_tokens,
        "estimated_output_tokens": d.estimated_output_tokens,
        "estimated_cost": d.estimated_cost,
    }


def build_record(summary: CallSummary, *, first_model: str, capture_content: bool = False) -> AuditRecord:
    """The record for a finished call: built from its summary, content only as the rule allows."""
    request = summary.request
    decision = summary.decision
    exc = summary.error
    private = summary.private
    content = content_allowed(capture_content, decision) and not private
    decided: dict[str, Any] | None = None
    if decision is not None:
        decided = decision_dict(decision, decision_reason(decision, first_model))
    elif isinstance(exc, NoEligibleModelError):
        decided = {
            "model": None,
            "dropped": dict(exc.reasons),
            "verdicts": [_verdict(v) for v in exc.verdicts],
            "detectors": list(exc.detectors),
        }
    served = summary.served
    outcome: Outcome = "error" if exc is not None else ("route" if summary.operation == "route" else "ok")
    return AuditRecord(
        id=request.id,
        time=datetime.fromtimestamp(summary.started, timezone.utc).isoformat(),
        operation=summary.operation,
        stream=request.stream,
        outcome=outcome,
        duration_s=summary.duration_s,
        decision=decided,
        attempts=tuple(_attempt(a, private) for a in summary.attempts),
        model=served.model if served is not None else None,
        usage=_usage(served.usage) if served is not None else None,
        cost=served.cost if served is not None else None,
        error_type=error_type(exc) if exc is not None else None,
        error=error_text(exc, private=private) if exc is not None else None,
        request={
            "user": request.user,
            "tenant": request.tenant,
            "tags": sorted(request.tags),
            "classification": request.classification,
        },
        privacy=private,
        messages=[dict(m) for m in request.messages] if content else None,
        output=summary.output if content and served is not None else None,
    )


def _usage(usage: Usage | None) -> dict[str, int] | None:
    return None if usage is None else {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


def _attempt(a: Attempt, private: bool) -> dict[str, Any]:
    return {
        "model": a.model,
        "ok": a.ok,
        "index": a.index,
        "retry": a.retry,
        "fallback": a.fallback,
        "elapsed_s": a.elapsed_s,
        "error_type": None if a.error is None else type(a.error).__name__,
        "error": None if a.error is None else error_text(a.error, private=private),
        "usage": _usage(a.usage),
        "cost": a.cost,
    }


class JsonlAuditLog:
    """Appends each record as one JSON line to ``path`` (thread-safe, flushed per record).

    ``JsonlAuditLog("audit.jsonl")`` is passed as ``Router(..., audit=...)``; ``close()`` it when done.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = path
        try:
            self._file: IO[str] = open(path, "a", encoding="utf-8")  # held open: one handle for the log
        except OSError as exc:
            raise ConfigError(f"cannot open audit log for appending: {exc.strerror}", path="audit") from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonlAuditLog({str(self.path)!r})"

    def __call__(self, record: AuditRecord) -> None:
        line = json.dumps(record.to_dict(), ensure_ascii=False, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> JsonlAuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
