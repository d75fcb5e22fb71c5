"""Routing quality as RouteLLM scores it (Ong et al. 2024): quality vs share-to-strong, APGR, CPT.

A router gives each prompt a score; prompts with score >= t go to the strong model S, the rest
to the weak model W. Sweeping t over the edges of quantile bins of the scores draws the curve.
Pure Python: no numpy needed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CurvePoint", "apgr", "cpt", "quality_curve", "quantile"]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One threshold: share of calls sent to S, mean quality, and mean cost per call (if priced)."""

    threshold: float
    share: float
    quality: float
    cost: float | None = None


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation (numpy's default method)."""
    if not values:
        raise ValueError("quantile of an empty sequence")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    data = sorted(values)
    pos = q * (len(data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _check(scores: Sequence[float], strong: Sequence[float], weak: Sequence[float]) -> None:
    if not scores:
        raise ValueError("no prompts to score")
    if not len(scores) == len(strong) == len(weak):
        raise ValueError(f"lengths differ: scores {len(scores)}, strong {len(strong)}, weak {len(weak)}")


def quality_curve(
    scores: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    *,
    bins: int = 10,
    strong_cost: Sequence[float] | None = None,
    weak_cost: Sequence[float] | None = None,
) -> list[CurvePoint]:
    """Points (share to S, mean quality) at the ``bins + 1`` quantile edges of the scores.

    Sorted by share, with (0, q(W)) and (1, q(S)) added when the sweep does not reach them, so
    the curve spans share in [0, 1]. ``strong_cost``/``weak_cost`` (per prompt) add mean cost.
    """
    _check(scores, strong, weak)
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    priced = strong_cost is not None and weak_cost is not None
    if priced and not len(strong_cost or ()) == len(weak_cost or ()) == len(scores):
        raise ValueError("cost lengths differ from scores")
    n = len(scores)
    ordered = sorted(scores)

    def point(t: float) -> CurvePoint:
        sent = [s >= t for s in scores]
        quality = sum(strong[i] if sent[i] else weak[i] for i in range(n)) / n
        cost = None
        if priced:
            assert strong_cost is not None and weak_cost is not None
            cost = sum(strong_cost[i] if sent[i] else weak_cost[i] for i in range(n)) / n
        return CurvePoint(t, sum(sent) / n, quality, cost)

    edges = sorted({quantile(ordered, i / bins) for i in range(bins + 1)})
    points = {p.share: p for p in (point(t) for t in edges)}
    if 0.0 not in points:
        points[0.0] = point(math.inf)
    if 1.0 not in points:
        points[1.0] = point(-math.inf)
    return [points[s] for s in sorted(points)]


def _gap(strong: Sequence[float], weak: Sequence[float]) -> tuple[float, float]:
    q_s, q_w = sum(strong) / len(strong), sum(weak) / len(weak)
    if q_s == q_w:
        raise ValueError("q(S) equals q(W): the quality gap is zero, so APGR/CPT are undefined")
    return q_s, q_w


def apgr(scores: Sequence[float], strong: Sequence[float], weak: Sequence[float], *, bins: int = 10) -> float:
    """Average performance gap recovered: (area under the curve - q(W)) / (q(S) - q(W))."""
    curve = quality_curve(scores, strong, weak, bins=bins)
    q_s, q_w = _gap(strong, weak)
    area = sum((b.share - a.share) * (a.quality + b.quality) / 2 for a, b in itertools.pairwise(curve))
    return (area - q_w) / (q_s - q_w)


def cpt(
    scores: Sequence[float], strong: Sequence[float], weak: Sequence[float], percent: float, *, bins: int = 10
) -> float:
    """Call-performance threshold: the share of calls to S that first recovers ``percent``% of the gap.

    Linear interpolation between curve points; 1.0 when only sending everything recovers it.
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be in [0, 100], got {percent}")
    curve = quality_curve(scores, strong, weak, bins=bins)
    q_s, q_w = _gap(strong, weak)
    target = q_w + percent / 100 * (q_s - q_w)
    up = q_s > q_w

    def reached(q: float) -> bool:
        return q >= target if up else q <= target

    if reached(curve[0].quality):
        return curve[0].share
    for a, b in itertools.pairwise(curve):
        if reached(b.quality):
            if b.quality == a.quality:
                return b.share
            return a.share + (target - a.quality) / (b.quality - a.quality) * (b.share - a.share)
    return 1.0
