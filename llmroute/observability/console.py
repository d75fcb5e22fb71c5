"""Printing spans for people: ``llmroute demo --trace`` and first experiments.

Needs ``opentelemetry-sdk`` (extra ``trace``); nothing else in llmroute imports this module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["format_tree", "print_spans"]


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

