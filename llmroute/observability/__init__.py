"""What llmroute reports about its calls: OpenTelemetry spans and metrics, and an audit trail.

- :mod:`.facts` — the facts both report (decision reason, error type, the content rule) and
  the :class:`CallSummary` a finished call is handed over as;
- :mod:`.spans` — spans and metrics in the GenAI semantic conventions (``Telemetry``);
- :mod:`.audit` — one structured record per call to a sink you own (``JsonlAuditLog``);
- :mod:`.console` — printing spans for people (``print_spans``, needs ``opentelemetry-sdk``).

Names load on first use, so ``import llmroute`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .audit import AuditRecord, AuditSink, JsonlAuditLog
    from .console import format_tree, print_spans
    from .facts import CAPTURE_CONTENT_ENV, CallSummary, capture_content_from_env

_LAZY = {
    "AuditRecord": ".audit",
    "AuditSink": ".audit",
    "CAPTURE_CONTENT_ENV": ".facts",
    "CallSummary": ".facts",
    "JsonlAuditLog": ".audit",
    "capture_content_from_env": ".facts",
    "format_tree": ".console",
    "print_spans": ".console",
}

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "AuditRecord",
    "AuditSink",
    "CallSummary",
    "JsonlAuditLog",
    "capture_content_from_env",
    "format_tree",
    "print_spans",
]

__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
