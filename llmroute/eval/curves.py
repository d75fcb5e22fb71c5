"""Quality against cost and against the share of calls sent to the strong model.

Two ways to draw a curve between a weak model W and a strong model S:

- :func:`score_curve`: a scorer gives each prompt a score once; the threshold sweep and APGR /
  CPT follow RouteLLM (:mod:`llmroute.eval.metrics`). Random and oracle baselines use the same
  machinery with random scores and with the true per-prompt gain as the score.
- :func:`sweep`: any router factory ``value -> Router`` replayed at each value; slower, but works
  for any policy parameter.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._types import Message, Model
from ..router import Router
from .dataset import Dataset, DatasetError
from .metrics import CurvePoint, apgr, cpt, quality_curve
from .replay import Progress, outcome_cost, replay

__all__ = ["Curve", "SweepPoint", "oracle_curve", "random_curve", "score_curve", "scores_for", "sweep"]

Scorer = Callable[[Sequence[Message]], float]


@dataclass(frozen=True)
class Curve:
    """A router's curve with its RouteLLM numbers. ``points`` carry mean cost per call."""

    name: str
    points: tuple[CurvePoint, ...]
    apgr: float
    cpt50: float
    cpt80: float


def scores_for(dataset: Dataset, scorer: Any, progress: Progress | None = None) -> list[float]:
    """Each example's score from ``scorer.score(messages)`` or ``scorer(messages)``."""
    fn = getattr(scorer, "score", scorer)
    if not callable(fn):
        raise TypeError(f"scorer must have score(messages) or be callable, got {type(scorer).__name__}")
    out: list[float] = []
    for i, ex in enumerate(dataset, 1):
        out.append(float(fn(list(ex.messages))))
        if progress is not None:
            progress(i, len(dataset))
    return out


class _Pair:
    """Per-example quality and cost of S and W, from a dataset that recorded both."""

    def __init__(self, dataset: Dataset, strong: str, weak: str, by_name: Mapping[str, Model] | None) -> None:
        rows = [ex for ex in dataset if strong in ex.outcomes and weak in ex.outcomes]
        if len(rows) != len(dataset):
            raise DatasetError(
                f"{len(dataset) - len(rows)} examples lack an outcome for {strong!r} or {weak!r}; "
                "use dataset.complete([strong, weak])",
                file=dataset.name,
            )
        if not rows:
            raise DatasetError("no examples", file=dataset.name)
        names = by_name or {}
        self.strong = [ex.outcomes[strong].quality for ex in rows]
        self.weak = [ex.outcomes[weak].quality for ex in rows]
        self.strong_cost = [outcome_cost(ex.outcomes[strong], names.get(strong)) for ex in rows]
        self.weak_cost = [outcome_cost(ex.outcomes[weak], names.get(weak)) for ex in rows]

    def curve(self, name: str, scores: Sequence[float], bins: int) -> Curve:
        if len(scores) != len(self.strong):
            raise ValueError(f"{len(scores)} scores for {len(self.strong)} examples")
        points = quality_curve(scores, self.strong, self.weak, bins=bins, strong_cost=self.strong_cost, weak_cost=self.weak_cost)
        return Curve(
            name,
            tuple(points),
            apgr(scores, self.strong, self.weak, bins=bins),
            cpt(scores, self.strong, self.weak, 50, bins=bins),
            cpt(scores, self.strong, self.weak, 80, bins=bins),
        )


def score_curve(
    dataset: Dataset,
    scores: Sequence[float],
    strong: str,
    weak: str,
    *,
    bins: int = 10,
    name: str = "router",
    by_name: Mapping[str, Model] | None = None,
) -> Curve:
    """The curve of a router that sends prompts with score >= t to ``strong``."""
    return _Pair(dataset, strong, weak, by_name).curve(name, scores, bins)


def random_curve(
    dataset: Dataset, strong: str, weak: str, *, bins: int = 10, seed: int = 0, by_name: Mapping[str, Model] | None = None
) -> Curve:
    """A router that scores prompts at random (seeded): APGR about 0.5."""
    rng = random.Random(seed)
    return _Pair(dataset, strong, weak, by_name).curve("random", [rng.random() for _ in dataset], bins)


def oracle_curve(
    dataset: Dataset, strong: str, weak: str, *, bins: int = 10, by_name: Mapping[str, Model] | None = None
) -> Curve:
    """A router that knows each prompt's outcome: it ranks prompts by S's quality minus W's.

    Ties are broken by position, so every score is distinct and the quantile edges fall on
    the best prompts first (tied gains would otherwise collapse the 11 edges into a few).
    """
    pair = _Pair(dataset, strong, weak, by_name)
    n = len(pair.strong)
    order = sorted(range(n), key=lambda i: (pair.weak[i] - pair.strong[i], i))
    scores = [0.0] * n
    for rank, i in enumerate(order):
        scores[i] = float(n - rank)
    return pair.curve("oracle", scores, bins)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One replay of a swept parameter value."""

    value: float
    share: float  # share of served calls sent to the strong model
    quality: float
    cost: float  # mean per served call
    refused: int


def sweep(
    factory: Callable[[float], Router],
    values: Iterable[float],
    dataset: Dataset,
    strong: str,
    *,
    progress: Progress | None = None,
) -> list[SweepPoint]:
    """Replay ``factory(value)`` for each value: any policy parameter, no model called."""
    values = list(values)
    out: list[SweepPoint] = []
    for i, value in enumerate(values, 1):
        result = replay(factory(value), dataset)
        out.append(SweepPoint(value, result.share.get(strong, 0.0), result.quality, result.cost_per_request, result.refused))
        if progress is not None:
            progress(i, len(values))
    return out
