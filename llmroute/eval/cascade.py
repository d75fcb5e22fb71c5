"""Offline cascade replay: what a cascade would have served, scored and cost on recorded outcomes.

Each example's recorded answer per model (RouterBench's ``model_response`` columns, or
``response`` in a JSONL dataset) goes through the same checks a live cascade uses
(:mod:`llmroute.cascade.checks`: agreement, validity, a user function; log-probability
confidence where recorded answers carry none scores None). A cascade pays every step it takes,
so an example's cost is the sum of the recorded costs of the models it asked.

Curves: a threshold sweep gives the cascade's operating points; :func:`frontier` keeps the
points no other point beats on both cost and quality, joined by straight lines (mixing two
policies prompt by prompt reaches any point between them). :func:`cost_area` is the
APGR-equivalent: the area under quality against cost, the cost axis running from always-weak
(0) to always-strong (1), less q(weak), over q(strong) - q(weak).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from .._request import build_request
from ..cascade import Answer, Cascade, Judge
from ..errors import ConfigError
from .dataset import Dataset, DatasetError
from .metrics import CurvePoint
from .replay import outcome_cost

__all__ = [
    "CascadeCurve",
    "CascadePoint",
    "CascadeReplay",
    "cascade_curve",
    "cost_area",
    "frontier",
    "quality_at_cost",
    "replay_cascade",
    "write_cascade_report",
]


@dataclass(frozen=True, slots=True)
class CascadePoint:
    """One threshold: mean quality, mean cost per call, and the share of calls that reached the last model."""

    threshold: float
    quality: float
    cost: float
    last_share: float


@dataclass(frozen=True)
class CascadeReplay:
    """Per example: the model that served, its quality, the cost of every step taken."""

    ladder: tuple[str, ...]
    served: tuple[str, ...]
    quality: tuple[float, ...]
    cost: tuple[float, ...]

    @property
    def mean_quality(self) -> float:
        return sum(self.quality) / len(self.quality)

    @property
    def mean_cost(self) -> float:
        return sum(self.cost) / len(self.cost)

    def share(self, model: str) -> float:
        return self.served.count(model) / len(self.served)


class _Scored:
    """Each example's combined check score at each step but the last, computed once for a sweep."""

    def __init__(self, dataset: Dataset, ladder: Sequence[str], cascade: Cascade) -> None:
        if len(ladder) < 2:
            raise ConfigError("a cascade needs at least two models", path="ladder")
        if any(isinstance(c, Judge) for c in cascade.checks):
            raise ConfigError("a Judge calls a model: it cannot run offline", path="cascade.accept")
        missing = [m for m in ladder if m not in dataset.models]
        if missing:
            raise ConfigError(f"no outcomes for {missing} in {dataset.name}", path="ladder")
        rows = [ex for ex in dataset if all(m in ex.outcomes for m in ladder)]
        if not rows:
            raise DatasetError(f"no example records every model of {list(ladder)}", file=dataset.name)
        self.ladder = tuple(ladder)
        self.quality: list[list[float]] = []
        self.cost: list[list[float]] = []
        self.scores: list[list[float]] = []
        for ex in rows:
            request = build_request(list(ex.messages), params=dict(ex.params))
            outcomes = [ex.outcomes[m] for m in ladder]
            answers: list[Answer] = []
            step_scores: list[float] = []
            for name, o in zip(ladder[:-1], outcomes, strict=False):
                answer = Answer(name, o.response, None, "stop", tuple(answers))
                answers.append(answer)
                step_scores.append(cascade.verdict({n: cascade.score(c, request, answer) for n, c in cascade.ordered}).score)
            self.quality.append([o.quality for o in outcomes])
            self.cost.append([outcome_cost(o) for o in outcomes])
            self.scores.append(step_scores)

    def replay(self, threshold: float) -> CascadeReplay:
        served: list[str] = []
        quality: list[float] = []
        cost: list[float] = []
        last = len(self.ladder) - 1
        for q, c, s in zip(self.quality, self.cost, self.scores, strict=True):
            i = next((k for k, score in enumerate(s) if score >= threshold), last)
            served.append(self.ladder[i])
            quality.append(q[i])
            cost.append(sum(c[: i + 1]))
        return CascadeReplay(self.ladder, tuple(served), tuple(quality), tuple(cost))


def _cascade(accept: Cascade | object) -> Cascade:
    return accept if isinstance(accept, Cascade) else Cascade(accept)


def replay_cascade(dataset: Dataset, ladder: Sequence[str], accept: Cascade | object, *, threshold: float | None = None) -> CascadeReplay:
    """Replay a cascade up ``ladder`` (cheapest first) with ``accept``'s checks; no model is called.

    ``threshold`` overrides the Cascade's. Examples lacking an outcome for a ladder model are left out.
    """
    cascade = _cascade(accept)
    return _Scored(dataset, ladder, cascade).replay(cascade.threshold if threshold is None else threshold)


@dataclass(frozen=True)
class CascadeCurve:
    name: str
    points: tuple[CascadePoint, ...]


def cascade_curve(
    dataset: Dataset, ladder: Sequence[str], accept: Cascade | object, *, thresholds: Sequence[float] | None = None, name: str = "cascade"
) -> CascadeCurve:
    """The cascade at each threshold (default: 0, every distinct check score, and just above 1)."""
    scored = _Scored(dataset, ladder, _cascade(accept))
    if thresholds is None:
        seen = sorted({round(v, 6) for s in scored.scores for v in s})
        thresholds = [0.0, *seen, 1.000001] if len(seen) <= 40 else [0.0, *(i / 20 for i in range(1, 21)), 1.000001]
    points = []
    for t in thresholds:
        r = scored.replay(t)
        points.append(CascadePoint(float(t), r.mean_quality, r.mean_cost, r.share(ladder[-1])))
    return CascadeCurve(name, tuple(points))


def frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(cost, quality) points that no other point beats on both, cheapest first."""
    out: list[tuple[float, float]] = []
    for cost, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not out or quality > out[-1][1]:
            out.append((cost, quality))
    return out


def quality_at_cost(points: Sequence[tuple[float, float]], cost: float) -> float | None:
    """Quality on the frontier at ``cost`` (linear between points); None below its cheapest point."""
    front = frontier(points)
    if not front or cost < front[0][0]:
        return None
    for (c0, q0), (c1, q1) in pairwise(front):
        if c0 <= cost <= c1:
            return q0 + (q1 - q0) * ((cost - c0) / (c1 - c0) if c1 > c0 else 1.0)
    return front[-1][1]


def cost_area(points: Sequence[tuple[float, float]], weak: tuple[float, float], strong: tuple[float, float], steps: int = 1000) -> float:
    """The APGR-equivalent area of a quality-vs-cost frontier (``weak``/``strong``: (cost, quality)
    of always using each; both are always reachable, so they join every frontier)."""
    (cw, qw), (cs, qs) = weak, strong
    if cs <= cw or qs == qw:
        raise ValueError("the strong model must cost more than the weak one and score differently")
    pts = [*points, weak, strong]
    total = 0.0
    for k in range(steps):
        c = cw + (cs - cw) * (k + 0.5) / steps
        total += quality_at_cost(pts, c) or qw
    return (total / steps - qw) / (qs - qw)


def write_cascade_report(
    path: str | Path,
    *,
    title: str,
    cascades: Sequence[CascadeCurve],
    prompt_only: Sequence[tuple[str, Sequence[CurvePoint]]],
    always: Mapping[str, tuple[float, float]],
    weak: str,
    strong: str,
    notes: Sequence[str] = (),
    plot: bool = True,
) -> dict[str, Any]:
    """A Markdown report (and a PNG beside it) of cascades next to prompt-only curves and the
    random/oracle baselines, on one quality-vs-cost plot. ``always``: model -> (cost, quality).
    Returns the figures it wrote: each curve's area and quality at prompt-only's 50%-share cost."""
    path = Path(path)
    w, s = always[weak], always[strong]
    curves: dict[str, list[tuple[float, float]]] = {c.name: [(p.cost, p.quality) for p in c.points] for c in cascades}
    for name, curve in prompt_only:
        curves[name] = [(p.cost or 0.0, p.quality) for p in curve]
    first = prompt_only[0][1]
    half = min(first, key=lambda p: abs(p.share - 0.5))
    target = half.cost or 0.0
    figures: dict[str, Any] = {"cost_at_half_share": target, "prompt_only_quality_at_half_share": half.quality, "curves": {}}
    rows = []
    for name, pts in curves.items():
        area = cost_area(pts, w, s)
        at = quality_at_cost([*pts, w], target)
        figures["curves"][name] = {"area": area, "quality_at_cost": at}
        rows.append(f"| {name} | {area:.3f} | {'-' if at is None else f'{at:.4f}'} |")
    lines = [f"# {title}", "", f"Weak {weak} (cost ${w[0]:.6f}, quality {w[1]:.4f}); strong {strong} (${s[0]:.6f}, {s[1]:.4f}).", ""]
    lines += [f"Cost of prompt-only routing ({prompt_only[0][0]}) at 50% to {strong}: ${target:.6f} per call, quality {half.quality:.4f}.", ""]
    lines += ["| curve | APGR-equivalent area (cost axis) | quality at that cost |", "|---|---:|---:|", *rows, ""]
    for c in cascades:
        lines += [f"## {c.name}", "", "| threshold | quality | cost per call | reached the last model |", "|---:|---:|---:|---:|"]
        lines += [f"| {p.threshold:.3f} | {p.quality:.4f} | ${p.cost:.6f} | {p.last_share:.1%} |" for p in c.points]
        lines.append("")
    lines += ["| always | cost per call | quality |", "|---|---:|---:|"]
    lines += [f"| {m} | ${c:.6f} | {q:.4f} |" for m, (c, q) in always.items()]
    lines += ["", *notes]
    if plot:
        png = path.with_suffix(".png")
        _plot(png, title, curves, always, target)
        lines += ["", f"![quality against cost]({png.name})"]
        figures["plot"] = str(png)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return figures


def _plot(png: Path, title: str, curves: Mapping[str, Sequence[tuple[float, float]]], always: Mapping[str, tuple[float, float]], target: float) -> None:
    from ..errors import MissingDependencyError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("plotting needs matplotlib: pip install 'llmroute[eval]'") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, pts in curves.items():
        front = sorted(pts)
        ax.plot([p[0] for p in front], [p[1] for p in front], marker="o", markersize=3, label=name)
    for name, (c, q) in always.items():
        ax.scatter([c], [q], marker="s")
        ax.annotate(name.split("/")[-1], (c, q), fontsize=7)
    ax.axvline(target, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per call (USD, log scale)")
    ax.set_ylabel("mean quality")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
