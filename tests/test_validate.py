"""llmroute._validate: shared setting checks that name the field and say what was wrong."""

from __future__ import annotations

import math

import pytest

from llmroute._validate import number, number_problem, one_of, subset
from llmroute.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "kw", "message"),
    [
        (0, {"minimum": 1, "integer": True}, "x.y: must be an integer >= 1, got 0"),
        (1.5, {"minimum": 1, "integer": True}, "x.y: must be an integer >= 1, got 1.5"),
        (True, {"minimum": 0}, "x.y: must be a number >= 0, got True"),
        ("3", {}, "x.y: must be a number, got '3'"),
        (0, {"minimum": 0, "exclusive_minimum": True}, "x.y: must be a number > 0, got 0"),
        (1.0, {"minimum": 0, "maximum": 1, "exclusive_maximum": True}, "x.y: must be a number in [0, 1), got 1.0"),
        (0, {"minimum": 0, "maximum": 1, "exclusive_minimum": True}, "x.y: must be a number in (0, 1], got 0"),
        (2, {"maximum": 1}, "x.y: must be a number <= 1, got 2"),
        (0, {"minimum": 0, "exclusive_minimum": True, "integer": True}, "x.y: must be a positive integer, got 0"),
        (math.inf, {"minimum": 0}, "x.y: must be a number >= 0, got inf"),
        (math.nan, {}, "x.y: must be a number, got nan"),
        (-1, {"minimum": 0, "allow_none": True}, "x.y: must be a number >= 0 or None, got -1"),
    ],
)
def test_number_says_what_it_wanted(value: object, kw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        number(value, "x.y", **kw)  # type: ignore[arg-type]
    assert str(info.value) == message and info.value.path == "x.y"


def test_number_accepts_good_values() -> None:
    number(1, "a", minimum=1, integer=True)
    number(0.5, "a", minimum=0, maximum=1)
    number(None, "a", minimum=0, allow_none=True)
    number(math.inf, "a", minimum=0, finite=False)
    assert number_problem(5, minimum=0) is None
    assert number_problem(-1, minimum=0) == "must be a number >= 0"


def test_one_of_returns_the_choice_or_names_them_all() -> None:
    assert one_of("lazy", ("eager", "lazy"), "load") == "lazy"
    with pytest.raises(ConfigError, match=r"^load: must be 'eager' or 'lazy', got 'soon'$"):
        one_of("soon", ("eager", "lazy"), "load")
    with pytest.raises(ConfigError, match=r"^w: must be 'minute', 'hour' or 'day', got 'week'$"):
        one_of("week", ("minute", "hour", "day"), "w")
    with pytest.raises(ConfigError, match=r"must be 1 or 2, got True"):
        one_of(True, (1, 2), "n")  # a bool is not a number here


def test_subset_lists_unknown_and_known() -> None:
    assert subset(["a"], ("a", "b"), "p") == frozenset({"a"})
    with pytest.raises(ConfigError, match=r"^p: unknown detectors \['x', 'y'\]; known: \['a', 'b'\]$"):
        subset(["y", "a", "x"], ("a", "b"), "p", what="detectors")
