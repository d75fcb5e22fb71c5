"""Complexity fitting: the linear scorer and the small solvers that fit it (no numpy)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..._types import Message
from ...errors import ConfigError
from .features import FEATURES, features

__all__ = ["DEFAULT_FEATURES", "TASK_WEIGHT", "LinearScorer", "default_recipe", "fit_logistic"]

_EDGE = 0.01


@dataclass(frozen=True)
class LinearScorer:
    """A logistic model over :func:`features`: standardise, weigh, squash to (0, 1).

    With ``quantiles`` (the model's outputs at the 0th..100th percentile of the prompts it was
    fitted on) the score is about that percentile instead (0.01 + 0.98 x percentile; the outer 1%
    at each end for prompts outside the fitted range): 0.8 means harder-looking than about 80%
    of them, so tier thresholds read as shares of traffic.
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    thresholds: tuple[float, float]
    info: Mapping[str, Any]
    quantiles: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        # z = bias + sum(w * (f - mean) / scale), folded once into an offset and per-feature
        # coefficients, zero weights skipped: the per-request loop is as short as it can be
        terms = [(n, w / sd) for n, mu, sd, w in zip(self.names, self.mean, self.scale, self.weights, strict=True) if w]
        offset = self.bias - sum(w * mu / sd for mu, sd, w in zip(self.mean, self.scale, self.weights, strict=True) if w)
        object.__setattr__(self, "_terms", tuple(terms))
        object.__setattr__(self, "_offset", offset)
        object.__setattr__(self, "_reads", frozenset(n for n, _ in terms))  # features() computes only these

    def probability(self, messages: Sequence[Message] | str) -> float:
        """The logistic model's output: how likely a small model fails the prompt."""
        f = features(messages, self._reads)  # type: ignore[attr-defined]
        z: float = self._offset  # type: ignore[attr-defined]
        for name, c in self._terms:  # type: ignore[attr-defined]
            z += c * f.get(name, 0.0)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def __call__(self, messages: Sequence[Message] | str) -> float:
        p = self.probability(messages)
        q = self.quantiles
        if not q:
            return p
        # inside the fitted range: 0.01 + 0.98 x percentile; outside it, the last 1% at each end
        # keeps the order of prompts easier or harder than anything seen in fitting
        if p <= q[0]:
            return _EDGE * p / q[0] if q[0] > 0 else 0.0
        if p >= q[-1]:
            return 1.0 - _EDGE * (1.0 - p) / (1.0 - q[-1]) if q[-1] < 1 else 1.0
        i = bisect.bisect_right(q, p)
        lo, hi = q[i - 1], q[i]
        within = (p - lo) / (hi - lo) if hi > lo else 0.0
        return _EDGE + (1.0 - 2 * _EDGE) * (i - 1 + within) / (len(q) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "llmroute.complexity.linear/1",
            "features": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "thresholds": list(self.thresholds),
            "quantiles": list(self.quantiles),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "complexity") -> LinearScorer:
        try:
            if data.get("kind") != "llmroute.complexity.linear/1":
                raise ValueError(f"unknown kind {data.get('kind')!r}")
            names = tuple(str(n) for n in data["features"])
            unknown = sorted(set(names) - set(FEATURES))
            if unknown:
                raise ValueError(f"unknown features {unknown}")
            vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
            if any(len(v) != len(names) for v in vectors) or any(s <= 0 for s in vectors[1]):
                raise ValueError("mean/scale/weights must match features, scale > 0")
            lo, hi = (float(t) for t in data["thresholds"])
            quantiles = tuple(float(v) for v in data.get("quantiles", ()))
            if quantiles and (len(quantiles) < 2 or list(quantiles) != sorted(quantiles)):
                raise ValueError("quantiles must be ascending, at least two")
            info = dict(data.get("info", {}))
            return cls(names, vectors[0], vectors[1], vectors[2], float(data["bias"]), (lo, hi), info, quantiles)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a complexity scorer: {exc}", path=where) from None


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (small, dense, symmetric positive definite)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit_logistic(rows: Sequence[Sequence[float]], labels: Sequence[float], l2: float = 1.0, iterations: int = 25) -> tuple[list[float], float]:
    """L2-regularised logistic regression by Newton's method; labels may be soft (in [0, 1])."""
    d = len(rows[0])
    w = [0.0] * (d + 1)  # last is the bias, not regularised
    for _ in range(iterations):
        grad = [0.0] * (d + 1)
        hess = [[0.0] * (d + 1) for _ in range(d + 1)]
        for x, y in zip(rows, labels, strict=True):
            xb = [*x, 1.0]
            z = sum(wi * xi for wi, xi in zip(w, xb, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g, h = p - y, max(p * (1 - p), 1e-9)
            for i in range(d + 1):
                grad[i] += g * xb[i]
                hi = h * xb[i]
                row = hess[i]
                for j in range(i, d + 1):
                    row[j] += hi * xb[j]
        for i in range(d + 1):
            for j in range(i):
                hess[i][j] = hess[j][i]
            if i < d:
                grad[i] += l2 * w[i]
                hess[i][i] += l2
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w[:d], w[d]


def _quantile(values: Sequence[float], q: float) -> float:
    data = sorted(values)
    pos = q * (len(data) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _percentiles(probabilities: Sequence[float]) -> tuple[float, ...]:
    """The 0th..100th percentiles: what :class:`LinearScorer` maps its output through."""
    return tuple(_quantile(probabilities, i / 100) for i in range(101))


# -- the shipped default's recipe -----------------------------------------------------------

DEFAULT_FEATURES = ("log_message_chars", "quantities", "punct", "task_prior")
"""What the default reads: length, numbers that count or measure, notation density, task type."""
TASK_WEIGHT = math.log(4) / 0.85
"""Per unit of ``task_prior``: maths (1.0) over writing (0.15) counts as a prompt four times longer."""


def default_recipe(prompts: Sequence[Sequence[Message] | str], info: Mapping[str, Any]) -> LinearScorer:
    """The shipped default: a stated formula over topic-independent cues, nothing fitted to outcomes.

    ``z = ln(1 + chars) + ln(1 + quantities) + b * notation + TASK_WEIGHT * task_prior``: a doubling
    of the numbers in the ask weighs like a doubling of its length, ``b`` gives notation density
    (symbols per character) the spread of log length over ``prompts``, and the task weight is a
    stated prior. Outcome-fitted cue weights did not transfer across tasks (leave-one-task-out,
    ``benchmarks/scorer_loto.py``), so none are used. The score is the percentile among ``prompts``
    (everyday requests), which sets the tiers' shares of traffic.
    """
    rows = [features(p) for p in prompts]
    n = len(rows)
    if n < 10:
        raise ConfigError(f"need at least 10 prompts to place percentiles, got {n}", path="default_recipe")

    def spread(key: str) -> float:
        mu = sum(f[key] for f in rows) / n
        return math.sqrt(sum((f[key] - mu) ** 2 for f in rows) / n) or 1.0

    notation = 9.0 * spread("log_message_chars") / spread("punct")
    mean = tuple(sum(f[k] for f in rows) / n for k in DEFAULT_FEATURES)
    weights = (9.0, 3.0, notation, TASK_WEIGHT)  # the features store ln(1+x)/9 and ln(1+q)/3
    base = LinearScorer(DEFAULT_FEATURES, mean, (1.0,) * 4, weights, 0.0, (1 / 3, 2 / 3), dict(info) | {"notation_weight": notation})
    return replace(base, quantiles=_percentiles([base.probability(p) for p in prompts]))
