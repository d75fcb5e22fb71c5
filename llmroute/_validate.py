"""Shared checks for settings: each raises ``ConfigError(message, path=...)`` naming the field.

Messages read "<path>: must be <what>, got <value!r>", e.g.
``retry.attempts_per_model: must be an integer >= 1, got 0`` or
``fit.margin: must be a number in [0, 1), got 1.5``. The ``*_problem`` variants return that
message (without path) or None, for callers that raise another error type (a bad request
parameter is an ``InvalidRequestError``, not a configuration error).

- :func:`number` / :func:`number_problem` - a real number (never a bool), optionally an integer,
  within bounds.
- :func:`one_of` - one value of a fixed set (``mode``, ``window``).
- :func:`subset` - every value known (detector names, classifications, hostings).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

from .errors import ConfigError

__all__ = ["number", "number_problem", "one_of", "subset"]

T = TypeVar("T")


def _bounds(
    minimum: float | None, maximum: float | None, exclusive_minimum: bool, exclusive_maximum: bool
) -> str:
    if minimum is not None and maximum is not None:
        return f" in {'(' if exclusive_minimum else '['}{minimum:g}, {maximum:g}{')' if exclusive_maximum else ']'}"
    if minimum is not None:
        return f" {'>' if exclusive_minimum else '>='} {minimum:g}"
    if maximum is not None:
        return f" {'<' if exclusive_maximum else '<='} {maximum:g}"
    return ""


def number_problem(
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    integer: bool = False,
    finite: bool = True,
    allow_none: bool = False,
) -> str | None:
    """What is wrong with ``value`` as such a number ("must be a number >= 0"), or None if nothing.

    bools are never numbers (``True`` is an int to Python, not to a config file); NaN never
    passes; infinities pass only with ``finite=False`` (and the bounds allowing them).
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if ok:
        assert isinstance(value, (int, float))
        ok = not math.isnan(value) and (not finite or not math.isinf(value))
        if ok and minimum is not None:
            ok = value > minimum if exclusive_minimum else value >= minimum
        if ok and maximum is not None:
            ok = value < maximum if exclusive_maximum else value <= maximum
    if ok:
        return None
    if integer and minimum == 0 and exclusive_minimum and maximum is None:
        what = "a positive integer"  # the usual words for an integer > 0
    else:
        what = ("an integer" if integer else "a number") + _bounds(minimum, maximum, exclusive_minimum, exclusive_maximum)
    return f"must be {what}{' or None' if allow_none else ''}"


def number(
    value: object,
    path: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    integer: bool = False,
    finite: bool = True,
    allow_none: bool = False,
) -> None:
    """Raise ``ConfigError`` at ``path`` unless ``value`` is such a number (see :func:`number_problem`)."""
    problem = number_problem(
        value,
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=exclusive_minimum,
        exclusive_maximum=exclusive_maximum,
        integer=integer,
        finite=finite,
        allow_none=allow_none,
    )
    if problem is not None:
        raise ConfigError(f"{problem}, got {value!r}", path=path)


def _choices(choices: Sequence[object]) -> str:
    shown = [repr(c) for c in choices]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def one_of(value: object, choices: Sequence[T], path: str) -> T:
    """``value`` if it is one of ``choices``; else ``ConfigError``: "must be 'a', 'b' or 'c', got 'x'"."""
    for choice in choices:
        if value == choice and isinstance(value, bool) == isinstance(choice, bool):  # True is not 1 here
            return choice
    raise ConfigError(f"must be {_choices(choices)}, got {value!r}", path=path)


def subset(values: Iterable[T], choices: Iterable[T], path: str, *, what: str = "values") -> frozenset[T]:
    """``values`` as a frozenset if each is one of ``choices``; else ``ConfigError`` listing the
    unknown ones and the known ones: "unknown detectors ['x']; known: ['email', ...]"."""
    found = frozenset(values)
    known = list(choices)
    unknown = found.difference(known)
    if unknown:
        raise ConfigError(f"unknown {what} {sorted(map(str, unknown))}; known: {known}", path=path)
    return found
