"""A privacy finding: which detector fired where, never the matched text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector hit: where it is, never what it is.

    ``message`` indexes the messages (-1: a request parameter); ``part`` the content part (None
    for string content); ``field`` is "content" or "tool_calls[i]", or for the other fields a
    path such as ``name``, ``content[1].image_url.url`` or ``tools[0].function.description``;
    ``start``/``end`` slice that text. Only "content" and "tool_calls[i]" findings can be
    redacted (``redactable``); an ``unscannable`` finding marks a value that is not text.
    """

    detector: str
    message: int
    part: int | None
    start: int
    end: int
    field: str = "content"
    redactable: bool = True
