"""Offline replay: what a routing policy stack would have chosen, scored and cost on a dataset.

A real :class:`llmroute.Router` decides each example (``router.decide``) over models whose
adapters are never called; the chosen model's recorded outcome scores the choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._types import Model, Request
from ..adapters.testing import Function
from ..errors import ConfigError, NoEligibleModelError
from ..policies.base import Policy
from ..router import Router
from .dataset import Dataset, DatasetError, Example, Outcome

__all__ = [
    "Choice",
    "ModelStats",
    "ReplayResult",
    "model_stats",
    "offline_models",
    "offline_router",
    "outcome_cost",
    "replay",
]

Progress = Callable[[int, int], None]


def _never_called(name: str) -> Function:
    def refuse(request: Request) -> str:
        raise AssertionError(f"offline replay called model {name!r}; it must only decide")

    return Function(refuse, provider="offline")


def offline_models(dataset: Dataset, models: Sequence[Model] = ()) -> list[Model]:
    """Models for replay: ``models``' attributes (tier, price, hosting...) with adapters that are never called.

    Without ``models``, one plain model per model name in the dataset.
    """
    if not models:
        return [Model(name, _never_called(name)) for name in dataset.models]
    known = set(dataset.models)
    out: list[Model] = []
    for i, m in enumerate(models):
        if m.name not in known:
            raise ConfigError(
                f"model {m.name!r} has no outcomes in {dataset.name}; it has: {', '.join(dataset.models)}",
                path=f"models[{i}].name",
            )
        out.append(replace(m, adapter=_never_called(m.name)))
    return out


def offline_router(dataset: Dataset, source: Router | Mapping[str, Any] | str | None = None, policies: Sequence[Policy] = ()) -> Router:
    """A Router for replay from a Router, a config (dict or YAML path), or just ``policies``.

    Models' adapters are never built from the config (no keys or model files needed).
    """
    if source is None:
        return Router(offline_models(dataset), policies)
    if isinstance(source, Router):
        return Router(offline_models(dataset, source.models), source.policies or policies)
    from ..config import load_config

    cfg = load_config(source)
    models = [m.build(f"models[{i}]", adapter=_never_called(m.name)) for i, m in enumerate(cfg.models)]
    built = [p.build(f"policies[{i}]") for i, p in enumerate(cfg.policies)] or list(policies)
    # state stays in memory: an offline replay must not touch (or spend) a live shared store
    return Router(offline_models(dataset, models), built, **cfg.router.model_dump(exclude={"state"}))


def outcome_cost(outcome: Outcome, model: Model | None = None) -> float:
    """Recorded cost; else the model's price (llmroute.pricing) times recorded tokens; else 0."""
    if outcome.cost is not None:
        return outcome.cost
    if model is not None and outcome.input_tokens is not None:
        from ..pricing import cost_of

        return cost_of(model, outcome.input_tokens, outcome.output_tokens or 0) or 0.0
    return 0.0


@dataclass(frozen=True, slots=True)
class Choice:
    """One replayed example: the model the router chose (None when it refused) and its outcome."""

    id: str
    model: str | None
    quality: float | None
    cost: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ModelStats:
    """What always sending every request to one model would have given."""

    model: str
    quality: float
    total_cost: float
    n: int


@dataclass(frozen=True)
class ReplayResult:
    """Quality and cost of a routed replay, next to always using the premium model."""

    choices: tuple[Choice, ...]
    premium: ModelStats
    baselines: tuple[ModelStats, ...] = ()
    models: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def routed(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.model is not None)

    @property
    def refused(self) -> int:
        return len(self.choices) - len(self.routed)

    @property
    def quality(self) -> float:
        """Mean quality over the examples the router served (refusals left out)."""
        routed = self.routed
        return sum(c.quality or 0.0 for c in routed) / len(routed) if routed else 0.0

    @property
    def total_cost(self) -> float:
        return sum(c.cost for c in self.choices)

    @property
    def cost_per_request(self) -> float:
        routed = self.routed
        return self.total_cost / len(routed) if routed else 0.0

    @property
    def counts(self) -> dict[str, int]:
        out = {m: 0 for m in self.models}
        for c in self.routed:
            out[c.model or ""] = out.get(c.model or "", 0) + 1
        return out

    @property
    def share(self) -> dict[str, float]:
        """Share of served calls per model."""
        n = len(self.routed) or 1
        return {m: k / n for m, k in self.counts.items()}

    @property
    def savings(self) -> float:
        """1 - routed cost / premium cost on the same examples (0.3 means 30% cheaper)."""
        return 1 - self.total_cost / self.premium.total_cost if self.premium.total_cost > 0 else 0.0

    @property
    def quality_vs_premium(self) -> float:
        return self.quality / self.premium.quality if self.premium.quality else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.choices),
            "refused": self.refused,
            "quality": self.quality,
            "total_cost": self.total_cost,
            "cost_per_request": self.cost_per_request,
            "share": self.share,
            "premium": self.premium.model,
            "premium_quality": self.premium.quality,
            "premium_total_cost": self.premium.total_cost,
            "quality_vs_premium": self.quality_vs_premium,
            "savings": self.savings,
        }


def model_stats(dataset: Dataset, model: str, by_name: Mapping[str, Model] | None = None) -> ModelStats:
    """Always ``model``: its mean quality and total cost over the examples that recorded it."""
    m = (by_name or {}).get(model)
    rows = [ex.outcomes[model] for ex in dataset if model in ex.outcomes]
    if not rows:
        raise DatasetError(f"no outcome recorded for model {model!r}", file=dataset.name)
    return ModelStats(model, sum(o.quality for o in rows) / len(rows), sum(outcome_cost(o, m) for o in rows), len(rows))


def _choose(router: Router, ex: Example, by_name: Mapping[str, Model], dataset: str) -> Choice:
    try:
        decision = router.route(list(ex.messages), **dict(ex.params))
    except NoEligibleModelError as exc:
        return Choice(ex.id, None, None, 0.0, reason=str(exc))
    outcome = ex.outcomes.get(decision.model)
    if outcome is None:
        raise DatasetError(
            f"example {ex.id!r}: the router chose {decision.model!r}, which has no recorded outcome there; "
            "replay on dataset.complete(models) or record it with online mode",
            file=dataset,
        )
    cost = outcome_cost(outcome, by_name.get(decision.model))
    return Choice(ex.id, decision.model, outcome.quality, cost, reason="; ".join(decision.reasons))


def replay(
    router: Router,
    dataset: Dataset,
    *,
    premium: str | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Decide every example with ``router`` (no model is called) and score each choice.

    ``premium`` is the model to compare against; by default the router's model with the best
    mean quality on the dataset (the dearer one on a tie).
    """
    by_name = {m.name: m for m in router.models}
    names = tuple(m for m in by_name if m in set(dataset.models))
    if not names:
        raise ConfigError(f"none of the router's models {sorted(by_name)} has outcomes in {dataset.name}", path="models")
    baselines = tuple(model_stats(dataset, m, by_name) for m in names)
    if premium is None:
        best = max(baselines, key=lambda s: (s.quality, s.total_cost / s.n))
    else:
        found = [s for s in baselines if s.model == premium]
        if not found:
            raise ConfigError(f"premium model {premium!r} is not one of {list(names)}", path="premium")
        best = found[0]
    choices: list[Choice] = []
    total = len(dataset)
    for i, ex in enumerate(dataset, 1):
        choices.append(_choose(router, ex, by_name, dataset.name))
        if progress is not None:
            progress(i, total)
    return ReplayResult(tuple(choices), best, baselines, tuple(by_name))
