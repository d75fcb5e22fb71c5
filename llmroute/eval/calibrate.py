"""Pick the score threshold that meets a target, and write it into a router configuration.

Prompts with score >= threshold go to the strong model. Every distinct score on the dataset is
a candidate threshold (an exact sweep, not binned), plus "nothing to strong".
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Model
from ..errors import ConfigError
from .dataset import Dataset

__all__ = [
    "BudgetTarget",
    "Calibration",
    "QualityTarget",
    "calibrate",
    "calibrate_dataset",
    "policy_setting",
    "set_policy_param",
    "write_config",
]


@dataclass(frozen=True, slots=True)
class QualityTarget:
    """Reach ``fraction`` of the strong model's mean quality (0.95 = 95%), as cheaply as possible."""

    fraction: float

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 2:
            raise ConfigError(f"must be in (0, 2], got {self.fraction!r}", path="target.fraction")


@dataclass(frozen=True, slots=True)
class BudgetTarget:
    """Best quality whose cost stays within ``usd_per_month`` at ``requests_per_month``."""

    usd_per_month: float
    requests_per_month: float

    def __post_init__(self) -> None:
        if not self.usd_per_month >= 0:
            raise ConfigError(f"must be >= 0, got {self.usd_per_month!r}", path="target.usd_per_month")
        if not self.requests_per_month > 0:
            raise ConfigError(f"must be > 0, got {self.requests_per_month!r}", path="target.requests_per_month")

    @property
    def per_request(self) -> float:
        return self.usd_per_month / self.requests_per_month


@dataclass(frozen=True, slots=True)
class Calibration:
    """The chosen threshold and what it gave on the dataset; ``met`` is False if no threshold did."""

    threshold: float
    share: float
    quality: float
    cost_per_request: float
    strong_quality: float
    weak_quality: float
    met: bool
    target: QualityTarget | BudgetTarget

    def monthly_cost(self, requests_per_month: float) -> float:
        return self.cost_per_request * requests_per_month


def _candidates(
    scores: Sequence[float], strong: Sequence[float], weak: Sequence[float], strong_cost: Sequence[float], weak_cost: Sequence[float]
) -> list[tuple[float, float, float, float]]:
    """(threshold, share, mean quality, mean cost) for each distinct threshold, fewest to strong first."""
    n = len(scores)
    order = sorted(range(n), key=lambda i: -scores[i])
    quality = sum(weak)
    cost = sum(weak_cost)
    out = [(math.nextafter(max(scores), math.inf), 0.0, quality / n, cost / n)]
    k = 0
    while k < n:
        t = scores[order[k]]
        while k < n and scores[order[k]] == t:  # every prompt with this score moves together
            i = order[k]
            quality += strong[i] - weak[i]
            cost += strong_cost[i] - weak_cost[i]
            k += 1
        out.append((t, k / n, quality / n, cost / n))
    return out


def calibrate(
    scores: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    target: QualityTarget | BudgetTarget,
    *,
    strong_cost: Sequence[float] | None = None,
    weak_cost: Sequence[float] | None = None,
) -> Calibration:
    """The threshold that meets ``target`` on these per-prompt outcomes.

    A quality target takes the cheapest threshold that reaches it (fewest calls to strong when
    there are no costs); a budget target the best quality within it (the cheaper on a tie).
    When nothing meets the target: the best quality for a quality target, the cheapest for a
    budget, with ``met=False``.
    """
    n = len(scores)
    if n == 0:
        raise ConfigError("no examples to calibrate on", path="dataset")
    if not len(strong) == len(weak) == n:
        raise ValueError(f"lengths differ: scores {n}, strong {len(strong)}, weak {len(weak)}")
    s_cost = list(strong_cost) if strong_cost is not None else [0.0] * n
    w_cost = list(weak_cost) if weak_cost is not None else [0.0] * n
    if isinstance(target, BudgetTarget) and strong_cost is None:
        raise ConfigError("a budget target needs recorded costs (or prices) for both models", path="target")
    points = _candidates(scores, strong, weak, s_cost, w_cost)
    q_s, q_w = sum(strong) / n, sum(weak) / n
    if isinstance(target, QualityTarget):
        goal = target.fraction * q_s
        ok = [p for p in points if p[2] >= goal - 1e-12]
        chosen = min(ok, key=lambda p: (p[3], p[1])) if ok else max(points, key=lambda p: (p[2], -p[3]))
    else:
        ok = [p for p in points if p[3] <= target.per_request + 1e-15]
        chosen = max(ok, key=lambda p: (p[2], -p[3])) if ok else min(points, key=lambda p: p[3])
    t, share, quality, cost = chosen
    return Calibration(t, share, quality, cost, q_s, q_w, bool(ok), target)


def calibrate_dataset(
    dataset: Dataset, scores: Sequence[float], strong: str, weak: str, target: QualityTarget | BudgetTarget, **kw: Any
) -> Calibration:
    """:func:`calibrate` on a dataset's recorded outcomes of ``strong`` and ``weak``."""
    from .curves import _Pair

    pair = _Pair(dataset, strong, weak, kw.pop("by_name", None))
    return calibrate(scores, pair.strong, pair.weak, target, strong_cost=pair.strong_cost, weak_cost=pair.weak_cost)


def policy_setting(policy: Any, models: Mapping[str, Model], strong: str, weak: str, threshold: float) -> tuple[str, Any]:
    """The constructor keyword and value that make ``policy`` send score >= ``threshold`` to ``strong``.

    For the complexity policy (two models on different tiers) that is one end of its
    ``thresholds`` pair: the low one when the weak model is on the lowest tier (a request scored
    between the two prefers the stronger neighbour), else the high one. Any other policy gets
    ``threshold``.
    """
    from ..policies.complexity import Complexity

    if not isinstance(policy, Complexity):
        return "threshold", threshold
    tiers = policy.tiers
    w, s = models[weak].tier, models[strong].tier
    if w not in tiers or s not in tiers or tiers.index(w) >= tiers.index(s):
        raise ConfigError(
            f"complexity calibration needs {weak!r} on a lower tier than {strong!r} (tiers {list(tiers)}; got {w!r}, {s!r})",
            path="models",
        )
    t = min(max(threshold, 0.0), 1.0)
    lo, hi = policy.thresholds
    return "thresholds", [t, max(t, hi)] if tiers.index(w) == 0 else [min(lo, t), t]


def set_policy_param(config: Mapping[str, Any], policy: str, param: str, value: Any) -> dict[str, Any]:
    """A copy of ``config`` with ``param: value`` on the first policy whose type is ``policy``."""
    out = {k: v for k, v in config.items()}
    policies = [dict(p) for p in out.get("policies") or []]
    for entry in policies:
        if entry.get("type") == policy:
            entry[param] = value
            break
    else:
        raise ConfigError(f"no policy of type {policy!r} to set {param!r} on", path="policies")
    out["policies"] = policies
    return out


def write_config(config: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a config dict as YAML (or JSON for a .json path), validated first."""
    import json

    import yaml

    from ..config import load_config

    load_config(config)  # never write a config the router would refuse
    p = Path(path)
    if p.suffix == ".json":
        p.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    else:
        p.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
