"""Detector backends: plug your own recogniser (an NER model, Presidio, a rule set) into Privacy.

A recogniser is any object with a ``name`` and a ``find(text)`` method that returns the spans it
recognises as ``(start, end)`` or ``(start, end, label)`` tuples; a plain function works too (its
``__name__`` is the name). Findings are reported as ``label`` when given, else ``name``::

    class Names:
        name = "person"
        def find(self, text):
            return [(m.start(), m.end()) for m in MY_NER(text)]

    Privacy(recognizers=[Names()])

The policy checks each recogniser when it is built (it must have a name, be callable, and
answer a probe text without raising and with well-formed spans): a broken one is a
:class:`~llmroute.errors.ConfigError` then, never a silent "nothing found" later. At scan time a
recogniser that raises makes the scan raise, and the policy treats the request as sensitive
(fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from ...errors import ConfigError

__all__ = ["Recognizer", "check_recognizers", "run_recognizer"]

_PROBE = "Probe text: Jane Roe, jane.roe@mail.test, 536-22-8745, 221B Baker Street."


@runtime_checkable
class Recognizer(Protocol):
    """What Privacy calls: ``find(text)`` -> spans ``(start, end)`` or ``(start, end, label)``."""

    name: str

    def find(self, text: str) -> Iterable[tuple[int, int] | tuple[int, int, str]]: ...


class _FunctionRecognizer:
    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable[[str], Iterable[Any]], name: str) -> None:
        self.fn = fn
        self.name = name

    def find(self, text: str) -> Iterable[Any]:
        return self.fn(text)


def _spans(name: str, raw: Any, length: int) -> list[tuple[int, int, str]]:
    if raw is None:
        return []
    out: list[tuple[int, int, str]] = []
    for item in raw:
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            raise TypeError(f"recognizer {name!r} returned {type(item).__name__}, not (start, end[, label])")
        start, end = item[0], item[1]
        label = item[2] if len(item) == 3 else name
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= length and isinstance(label, str)):
            raise ValueError(f"recognizer {name!r} returned a span outside the text: {item[:2]!r}")
        out.append((start, end, label))
    return out


def check_recognizers(recognizers: Iterable[Any]) -> tuple[Recognizer, ...]:
    """Validate user recognisers once, at construction; ConfigError names the bad one."""
    checked: list[Recognizer] = []
    for k, rec in enumerate(recognizers):
        path = f"privacy.recognizers[{k}]"
        if not hasattr(rec, "find") and callable(rec):
            rec = _FunctionRecognizer(rec, getattr(rec, "__name__", f"recognizer_{k}"))
        name = getattr(rec, "name", None)
        if not isinstance(name, str) or not name or not callable(getattr(rec, "find", None)):
            raise ConfigError("a recognizer needs a non-empty str `name` and a `find(text)` method (or be a function)", path=path)
        try:
            _spans(name, rec.find(_PROBE), len(_PROBE))
        except Exception as exc:
            raise ConfigError(f"recognizer {name!r} failed on a probe text: {type(exc).__name__}: {exc}", path=path) from None
        checked.append(rec)
    return tuple(checked)


def run_recognizer(recognizer: Recognizer, text: str) -> list[tuple[int, int, str]]:
    """The recogniser's spans in ``text``; raises if it fails (the policy then fails closed)."""
    return _spans(recognizer.name, recognizer.find(text), len(text))
