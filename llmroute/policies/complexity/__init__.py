"""Complexity: score how hard a request is (0..1), map the score to a tier, prefer models of that tier.

The default scorer is a stated formula over cheap, topic-independent text cues (length, numbers
that count or measure, notation density, task type), shipped as JSON: no network, API key, GPU or
model download. ``Complexity.fit`` fits a scorer over all the features on a user's own outcomes.

The package, by concept:

- :mod:`.features` - :func:`features`, the text cues (``FEATURES`` names them).
- :mod:`.fitting` - :class:`LinearScorer`, the logistic solver :func:`fit_logistic` and the
  default's recipe.
- :mod:`.policy` - the :class:`Complexity` policy and the shipped default scorer
  (``complexity_default.json`` beside it).

Every name importable from the single module this package replaced still imports from here:
the public ones directly, private helpers on first use (``_MOVED``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .features import FEATURES, features
from .fitting import LinearScorer, fit_logistic
from .policy import DEFAULT_TIERS, Complexity

__all__ = ["DEFAULT_TIERS", "FEATURES", "Complexity", "LinearScorer", "features", "fit_logistic"]

# name -> module for the private names of the former single module (read on each access, not
# copied: ``_default`` is the lazily loaded default scorer and changes)
_MOVED: dict[str, str] = {
    **dict.fromkeys(("_DEFAULT_FILE", "_read_json", "_default", "_default_scorer"), ".policy"),
    **dict.fromkeys(("_EDGE", "_solve", "_quantile"), ".fitting"),
    **dict.fromkeys((
        "_MIN_DENSITY_CHARS", "_ASK_CHARS", "_COMMON", "_CODE", "_MATH", "_REASON", "_MULTI", "_CONSTRAINT",
        "_NEGATION", "_PHRASES", "_PUNCT", "_DIGITS", "_UPPER", "_SPACE_OUT", "_CLASSES", "_last_user_text",
    ), ".features"),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
