"""The facts that spans and audit records both report, computed in one place.

A finished call is handed to observability as a :class:`CallSummary` — plain data the router
builds from its plan — so neither spans nor audit reach into the router's working objects.
The content rule lives here too: message text is recorded only when capture is on and the
privacy policy did not fire.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._types import Attempt, Constraint, Decision, Request
from ..errors import LLMRouteError, NoEligibleModelError

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "CallSummary",
    "cancelled",
    "capture_content_from_env",
    "content_allowed",
    "decision_reason",
    "error_text",
    "error_type",
    "privacy_fired",
]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# "true" is the classic opt-in; the newer values name where content goes (spans count for us).
_CAPTURE_ON = frozenset({"true", "1", "yes", "span_only", "span_and_event"})

Operation = Literal["chat", "route"]


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One finished call as plain data: what was asked, decided and tried, and how it ended.

    ``attempts`` are the plan's own records (each with its usage and cost); ``output`` is the
    served text, kept only for content capture.
    """

    request: Request
    operation: Operation
    started: float  # time.time() when the call started
    duration_s: float
    decision: Decision | None
    attempts: tuple[Attempt, ...] = ()
    output: str | None = None
    error: BaseException | None = None

    @property
    def served(self) -> Attempt | None:
        """The attempt that answered, when the call succeeded."""
        if self.error is not None or not self.attempts or not self.attempts[-1].ok:
            return None
        return self.attempts[-1]

    @property
    def private(self) -> bool:
        """The privacy policy fired for this request, before or while deciding."""
        if self.decision is not None and privacy_fired(self.decision.constraints):
            return True
        err = self.error
        return isinstance(err, NoEligibleModelError) and (
            bool(err.detectors) or any(privacy_fired(v.constraints) for v in err.verdicts)
        )


def capture_content_from_env() -> bool:
    """Whether the environment opts in to recording message content."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CAPTURE_ON


def privacy_fired(constraints: Sequence[Constraint]) -> bool:
    """True when a privacy constraint or any detector fired: content must never be recorded."""
    return any(c.name == "privacy" or c.data.get("detectors") for c in constraints)


def content_allowed(capture: bool, decision: Decision | None) -> bool:
    """The one content rule: opted in, decided, and the privacy policy did not fire."""
    return capture and decision is not None and not privacy_fired(decision.constraints)


def cancelled(exc: BaseException) -> bool:
    """The caller stopped (closed a stream, cancelled a task): not a failure of the call."""
    return isinstance(exc, GeneratorExit) or type(exc).__name__ == "CancelledError" or getattr(exc, "cancelled", None) is True


def error_type(exc: BaseException) -> str:
    """The low-cardinality ``error.type`` value: the exception's class name, or "cancelled"."""
    return "cancelled" if cancelled(exc) else type(exc).__name__


def error_text(exc: BaseException, limit: int = 500, *, private: bool = False) -> str:
    """An error's message fit for spans and audit.

    A provider's error can echo the prompt ("invalid value in messages[0]: ..."): llmroute's
    errors are scrubbed of what the default privacy detectors find, and for a request the
    privacy policy marked (``private``) only the error's type is recorded. Any other exception is
    named, not quoted.
    """
    if private or not isinstance(exc, LLMRouteError):
        return type(exc).__name__
    return scrubbed(str(getattr(exc, "message", exc)))[:limit]


@functools.cache
def _scrubber() -> Any:
    from ..policies.privacy import Privacy  # loaded on the first error, not at import

    return Privacy()


def scrubbed(text: str) -> str:
    """``text`` with what the default privacy detectors find replaced by ``[REDACTED]``; an
    error while scanning gives ``[REDACTED]`` for all of it (fail closed)."""
    if not text:
        return text
    try:
        spans = _scrubber()._spans(text)
    except Exception:
        return "[REDACTED]"
    for start, end, _name in reversed(spans):
        text = text[:start] + "[REDACTED]" + text[end:]
    return text


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
