"""Refit the complexity scorer from recorded outcomes and recalibrate its thresholds.

The loop: ship a config, record ratings (``router.feedback`` into a :class:`FeedbackLog`),
``refit`` on them, compare old and new configs with ``llmroute eval`` on data neither was fitted on.

A label is how much a prompt needed the strong model, in [0, 1]:

- an example that recorded the weak model only: ``1 - quality`` of the weak model's answer;
- one that recorded both models (shadow traffic, ``llmroute eval --online``): the gain
  ``max(0, strong quality - weak quality)``;
- one that recorded only the strong model is left out: a good answer from the strong model says
  nothing about whether the weak one would have done. (Routed traffic therefore rates mostly
  prompts the old scorer found easy; sending a small random share to the weak model, or
  recording both models on a sample, gives the refit the rest.)

Thresholds: with a target (:class:`QualityTarget` / :class:`BudgetTarget`) the cut between the
weak and strong model is calibrated on the examples that recorded both; without one the new
scorer sends the same share of the rated prompts to the strong model as the config did, so
cost stays where it was and only the choice of prompts changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Message, Model
from ..errors import ConfigError
from .calibrate import (
    BudgetTarget,
    Calibration,
    QualityTarget,
    calibrate_dataset,
    policy_setting,
    write_config,
)
from .dataset import Dataset, DatasetError, load_dataset

__all__ = ["Labelled", "Refit", "fit_scorer", "labelled", "refit"]

MIN_EXAMPLES = 10


@dataclass(frozen=True)
class Labelled:
    """The prompts a refit learns from and their labels; counts of how each label was made."""

    prompts: tuple[tuple[Message, ...], ...]
    labels: tuple[float, ...]
    weak_only: int
    both: int
    skipped: int


def _quality(dataset: Dataset, ex_id: str, model: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise DatasetError(f"example {ex_id!r}: quality of {model!r} must be in [0, 1] to refit, got {value!r}", file=dataset.name)
    return value


def labelled(dataset: Dataset, strong: str, weak: str) -> Labelled:
    """Labels for :meth:`Complexity.fit` from recorded outcomes (see the module docstring)."""
    prompts: list[tuple[Message, ...]] = []
    labels: list[float] = []
    weak_only = both = skipped = 0
    for ex in dataset:
        w, s = ex.outcomes.get(weak), ex.outcomes.get(strong)
        if w is None:
            skipped += 1
            continue
        q_w = _quality(dataset, ex.id, weak, w.quality)
        if s is None:
            weak_only += 1
            labels.append(1.0 - q_w)
        else:
            both += 1
            labels.append(max(0.0, _quality(dataset, ex.id, strong, s.quality) - q_w))
        prompts.append(ex.messages)
    return Labelled(tuple(prompts), tuple(labels), weak_only, both, skipped)


def fit_scorer(data: Labelled, *, l2: float = 1.0, info: Mapping[str, Any] | None = None, **kw: Any) -> Any:
    """A :class:`Complexity` fitted on ``data`` (all features, non-negative weights, percentile scores)."""
    from ..policies.complexity import Complexity

    n = len(data.labels)
    if n < MIN_EXAMPLES:
        raise ConfigError(f"need at least {MIN_EXAMPLES} rated requests answered by the weak model to refit, got {n}", path="feedback")
    details = {"fitted_on": f"{n} rated requests ({data.weak_only} weak model only, {data.both} both models)", "l2": l2}
    return Complexity.fit(list(data.prompts), list(data.labels), l2=l2, info=details | dict(info or {}), **kw)


@dataclass(frozen=True)
class Refit:
    """What :func:`refit` made: the new policy, the config holding it, and the figures behind it."""

    policy: Any  # the refitted Complexity, with the new thresholds
    config: dict[str, Any]
    strong: str
    weak: str
    data: Labelled
    share: float  # share of the rated prompts the new config sends to the strong model's tier
    calibration: Calibration | None
    config_path: Path | None = None
    scorer_path: Path | None = None


def _models_and_policies(raw: Mapping[str, Any]) -> tuple[list[Model], list[Any]]:
    from ..config import load_config
    from .replay import _never_called

    cfg = load_config(raw)
    models = [m.build(f"models[{i}]", adapter=_never_called(m.name)) for i, m in enumerate(cfg.models)]
    return models, [p.build(f"policies[{i}]") for i, p in enumerate(cfg.policies)]


def _ends(models: Sequence[Model], tiers: Sequence[str], strong: str | None, weak: str | None) -> tuple[str, str]:
    tiered = [m for m in models if m.tier in tiers]
    if (strong is None or weak is None) and not tiered:
        raise ConfigError(f"no model is on a complexity tier {list(tiers)}; name --strong and --weak", path="models")
    names = {m.name for m in models}
    weak = weak or min(tiered, key=lambda m: tiers.index(m.tier or "")).name
    strong = strong or max(tiered, key=lambda m: tiers.index(m.tier or "")).name
    for role, name in (("strong", strong), ("weak", weak)):
        if name not in names:
            raise ConfigError(f"{role} model {name!r} is not in the config; it has: {', '.join(sorted(names))}", path=role)
    if strong == weak:
        raise ConfigError(f"the strong and the weak model are both {strong!r}: refit needs two tiers", path="models")
    return strong, weak


def refit(
    feedback: Dataset | str | os.PathLike[str],
    config: Mapping[str, Any] | str | os.PathLike[str],
    *,
    strong: str | None = None,
    weak: str | None = None,
    target: QualityTarget | BudgetTarget | None = None,
    l2: float = 1.0,
    out: str | os.PathLike[str] | None = None,
    scorer_out: str | os.PathLike[str] | None = None,
) -> Refit:
    """Refit ``config``'s complexity policy on ``feedback`` and recalibrate its thresholds.

    ``strong``/``weak`` default to the models on the config's highest and lowest tier. With
    ``out`` the new config is written there (YAML, or JSON for .json) and the scorer beside it
    (``scorer_out``, default ``<out stem>.complexity.json``); the config names the scorer by the
    path as given (relative paths resolve from the working directory), and is loaded back,
    policies built, before this returns: it is a config ``Router.from_config`` accepts.
    """
    from .._files import read_mapping
    from ..config import load_config
    from ..policies.complexity import Complexity

    dataset = feedback if isinstance(feedback, Dataset) else load_dataset(feedback)
    raw = dict(read_mapping(config))
    models, policies = _models_and_policies(raw)
    index = next((i for i, p in enumerate(policies) if isinstance(p, Complexity)), None)
    if index is None:
        raise ConfigError("the config has no complexity policy to refit", path="policies")
    current: Complexity = policies[index]
    strong, weak = _ends(models, current.tiers, strong, weak)
    by_name = {m.name: m for m in models}
    policy_setting(current, by_name, strong, weak, 0.5)  # the two models sit on tiers in the right order
    # which threshold is the cut between them: the low one when the weak model is on the lowest tier
    end = 0 if current.tiers.index(by_name[weak].tier or "") == 0 else 1
    data = labelled(dataset, strong, weak)
    fitted = fit_scorer(data, l2=l2, info={"strong": strong, "weak": weak}, tiers=current.tiers, strict=current.strict)

    calibration: Calibration | None = None
    if target is not None:
        both = dataset.complete([strong, weak])
        if len(both) < MIN_EXAMPLES:
            raise ConfigError(
                f"a target needs at least {MIN_EXAMPLES} examples that recorded both {strong!r} and {weak!r}, got {len(both)}",
                path="target",
            )
        calibration = calibrate_dataset(both, [fitted.score(ex.messages) for ex in both], strong, weak, target, by_name=by_name)
        threshold = calibration.threshold
    else:  # the share the config sends to the strong model now, by the new scorer's ranking
        sent = sum(current.score(p) >= current.thresholds[end] for p in data.prompts)
        ranked = sorted((fitted.score(p) for p in data.prompts), reverse=True)
        threshold = ranked[sent - 1] if sent else 1.0
    _, thresholds = policy_setting(fitted, by_name, strong, weak, threshold)
    policy = Complexity(fitted.scorer, thresholds=tuple(thresholds), tiers=current.tiers, strict=current.strict)
    share = sum(policy.score(p) >= policy.thresholds[end] for p in data.prompts) / len(data.prompts)

    entry = dict(raw["policies"][index])
    new = raw | {"policies": [*raw["policies"][:index], entry, *raw["policies"][index + 1 :]]}
    entry["thresholds"] = list(policy.thresholds)
    config_path = scorer_path = None
    if out is not None:
        config_path = Path(out)
        scorer_path = Path(scorer_out) if scorer_out is not None else config_path.with_name(f"{config_path.stem}.complexity.json")
        entry["path"] = str(scorer_path)
        policy.save(scorer_path)
        write_config(new, config_path)
        check = load_config(config_path)  # loads back, and the policy finds and reads its scorer
        check.policies[index].build(f"policies[{index}]")
    return Refit(policy, new, strong, weak, data, share, calibration, config_path, scorer_path)
