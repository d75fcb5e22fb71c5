"""A privacy finding: which detector fired where, never the matched text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector hit: where it is, never what it is.

    ``message`` indexes the messages; ``part`` the content part (None for string content);
    ``field`` is "content" or "tool_calls[i]"; ``start``/``end`` slice that text.
    """

    detector: str
    message: int
    part: int | None
    start: int
    end: int
    field: str = "content"
