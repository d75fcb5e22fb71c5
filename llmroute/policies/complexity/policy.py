"""The Complexity policy: score a request, map the score to a tier, prefer models of that tier."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..._types import Message, Model, Request, Verdict
from ..._validate import number
from ...errors import ConfigError
from .features import FEATURES, features
from .fitting import LinearScorer, _percentiles, _quantile, fit_logistic

__all__ = ["DEFAULT_TIERS", "Complexity"]

DEFAULT_TIERS = ("simple", "standard", "complex")
_DEFAULT_FILE = Path(__file__).with_name("complexity_default.json")


class Complexity:
    """Prefer models whose ``tier`` matches the request's complexity; neighbours follow as fallbacks.

    ``path`` loads a scorer saved with :meth:`save` (default: the shipped one). ``thresholds`` (low, high) split the score into ``tiers`` (simple / standard / complex by
    default); the scorer's own thresholds apply when not given. Nothing is dropped unless
    ``strict``: models of other tiers are ranked by distance (the stronger neighbour first on a
    tie), models without a tier last. ``metadata={"tier": ...}`` on a request overrides the score.
    """

    name = "complexity"

    def __init__(
        self,
        scorer: LinearScorer | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        thresholds: tuple[float, float] | None = None,
        tiers: Sequence[str] = DEFAULT_TIERS,
        strict: bool = False,
    ) -> None:
        if scorer is None and path is not None:
            scorer = LinearScorer.from_dict(_read_json(path), str(path))
        self.scorer = scorer or _default_scorer()
        self.tiers = tuple(tiers)
        if len(self.tiers) != 3 or len(set(self.tiers)) != 3:
            raise ConfigError(f"need three distinct tier names, got {list(tiers)}", path="complexity.tiers")
        lo, hi = thresholds if thresholds is not None else self.scorer.thresholds
        for value in (lo, hi):
            number(value, "complexity.thresholds", minimum=0, maximum=1)
        if lo > hi:
            raise ConfigError(f"need low <= high, got ({lo}, {hi})", path="complexity.thresholds")
        self.thresholds = (float(lo), float(hi))
        self.strict = strict
        self._index = {t: i for i, t in enumerate(self.tiers)}
        # per wanted tier: the tiers in preference order (nearest first, the stronger on a tie), then untiered
        self._preference: dict[str, tuple[str | None, ...]] = {
            want: (*sorted(self.tiers, key=lambda t: (abs(self._index[t] - self._index[want]), -self._index[t])), None)
            for want in self.tiers
        }

    def __repr__(self) -> str:
        return f"Complexity(thresholds={self.thresholds}, tiers={list(self.tiers)})"

    def score(self, messages: Sequence[Message] | Request | str) -> float:
        """How hard the request looks, in [0, 1]."""
        if isinstance(messages, Request):
            messages = messages.messages
        return self.scorer(messages)

    def tier(self, score: float) -> str:
        lo, hi = self.thresholds
        return self.tiers[0] if score < lo else self.tiers[1] if score < hi else self.tiers[2]

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        wanted = request.metadata.get("tier")
        if isinstance(wanted, str) and wanted in self.tiers:
            score, why = None, f"tier {wanted!r} requested"
        else:
            score = self.score(request.messages)
            wanted = self.tier(score)
            why = f"score {score:.2f} -> {wanted} (thresholds {self.thresholds[0]:.2f}/{self.thresholds[1]:.2f})"
        data = {"score": score, "tier": wanted}
        if self.strict:
            return Verdict.filter(
                candidates,
                lambda m: None if m.tier == wanted else f"tier {m.tier!r} is not {wanted!r}",
                why,
                data=data,
            )
        buckets: dict[str | None, list[str]] = {}
        for model in candidates:
            buckets.setdefault(model.tier if model.tier in self._index else None, []).append(model.name)
        keep = [name for tier in self._preference[wanted] for name in buckets.get(tier, ())]
        return Verdict(keep=tuple(keep), reason=why, data=data)

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        prompts: Sequence[Sequence[Message] | str],
        labels: Sequence[float],
        *,
        l2: float = 1.0,
        nonnegative: bool = True,
        percentile: bool = True,
        tier_shares: tuple[float, float] = (1 / 3, 2 / 3),
        info: Mapping[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        **kw: Any,
    ) -> Complexity:
        """A Complexity whose scorer is fitted on ``prompts`` (text or messages) and ``labels``.

        A label is how much the prompt needs a strong model, in [0, 1]: 1 when a small model
        failed it, 0 when it answered well (fractions, e.g. the share of small models that
        failed, work too). With ``percentile`` the score is the prompt's percentile among the
        fitted prompts (see :class:`LinearScorer`); tier thresholds default to their terciles.
        ``nonnegative`` keeps every weight >= 0 (more of a cue never makes a prompt easier), a
        prior that stops the fit from learning one dataset's quirks (say, that short prompts
        in it happen to be hard). ``feature_names`` fits a subset of :data:`FEATURES` (default: all).
        """
        if len(prompts) != len(labels) or len(prompts) < 10:
            raise ConfigError(f"need at least 10 prompts and one label each, got {len(prompts)} and {len(labels)}", path="fit")
        if any(not 0.0 <= y <= 1.0 for y in labels):
            raise ConfigError("labels must be in [0, 1]", path="fit.labels")
        names = tuple(feature_names) if feature_names is not None else FEATURES
        unknown = sorted(set(names) - set(FEATURES))
        if unknown or not names:
            raise ConfigError(f"unknown features {unknown}; known: {list(FEATURES)}", path="fit.feature_names")
        raw = [[features(p)[k] for k in names] for p in prompts]
        mean = [sum(col) / len(col) for col in zip(*raw, strict=True)]
        scale = [
            math.sqrt(sum((v - mu) ** 2 for v in col) / len(col)) or 1.0 for col, mu in zip(zip(*raw, strict=True), mean, strict=True)
        ]
        rows = [[(v - mu) / sd for v, mu, sd in zip(r, mean, scale, strict=True)] for r in raw]
        targets = [float(y) for y in labels]
        active = list(range(len(names)))
        while True:  # with nonnegative: drop the most negative weight and refit (an active-set NNLS)
            w, bias = fit_logistic([[r[i] for i in active] for r in rows], targets, l2=l2)
            negative = [(wi, i) for wi, i in zip(w, active, strict=True) if wi < 0]
            if not nonnegative or not negative:
                break
            active.remove(min(negative)[1])
            if not active:
                w, bias = [], fit_logistic([[0.0] for _ in rows], targets, l2=l2)[1]
                break
        weights = [0.0] * len(names)
        for wi, i in zip(w, active, strict=True):
            weights[i] = wi
        fitted = LinearScorer(names, tuple(mean), tuple(scale), tuple(weights), bias, (0.0, 1.0), dict(info or {}))
        probabilities = [fitted.probability(p) for p in prompts]
        if percentile:
            scorer = replace(fitted, thresholds=(float(tier_shares[0]), float(tier_shares[1])), quantiles=_percentiles(probabilities))
        else:
            scorer = replace(fitted, thresholds=(_quantile(probabilities, tier_shares[0]), _quantile(probabilities, tier_shares[1])))
        return cls(scorer, **kw)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the scorer (and these thresholds) as JSON."""
        data = self.scorer.to_dict()
        data["thresholds"] = list(self.thresholds)
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str], **kw: Any) -> Complexity:
        """A Complexity with the scorer saved at ``path``."""
        return cls(LinearScorer.from_dict(_read_json(path), str(path)), **kw)


def _read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read complexity scorer: {type(exc).__name__}: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("not a complexity scorer: expected a JSON object", path=str(path))
    return data


_default: LinearScorer | None = None


def _default_scorer() -> LinearScorer:
    global _default
    if _default is None:
        _default = LinearScorer.from_dict(json.loads(_DEFAULT_FILE.read_text(encoding="utf-8")), str(_DEFAULT_FILE))
    return _default
