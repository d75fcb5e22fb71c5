"""A Markdown report of a replay, with PNG plots (matplotlib, imported only here and only when plotting)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError
from .calibrate import Calibration, QualityTarget
from .curves import Curve
from .metrics import CurvePoint
from .replay import ReplayResult

__all__ = ["Report", "summary_table", "table", "write_report"]


@dataclass(frozen=True)
class Report:
    """What the report holds beyond the replay: curves between ``weak`` and ``strong``, a calibration."""

    result: ReplayResult
    title: str = "Routing evaluation"
    strong: str | None = None
    weak: str | None = None
    curves: Sequence[Curve] = ()
    calibration: Calibration | None = None
    notes: Sequence[str] = ()


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _usd(x: float) -> str:
    return f"${x:.6f}" if x < 1 else f"${x:,.2f}"


def _rows(result: ReplayResult) -> list[list[str]]:
    rows = [
        [
            "router",
            f"{result.quality:.4f}",
            _usd(result.total_cost),
            _usd(result.cost_per_request),
            f"{result.savings:+.1%}",
            ", ".join(f"{m} {s:.0%}" for m, s in result.share.items() if s),
        ]
    ]
    for b in result.baselines:
        saving = 1 - b.total_cost / result.premium.total_cost if result.premium.total_cost else 0.0
        rows.append([f"always {b.model}", f"{b.quality:.4f}", _usd(b.total_cost), _usd(b.total_cost / b.n), f"{saving:+.1%}", ""])
    return rows


_HEADER = ["policy", "quality", "total cost", "per request", "savings", "share of calls"]


def cost_phrase(result: ReplayResult) -> str:
    """"at 42.0% lower cost", or a warning when the dataset gave no costs to compare."""
    if not result.premium.total_cost:
        return "(no costs in the dataset: savings cannot be computed; give per-model costs)"
    return f"at {result.savings:.1%} lower cost"


def summary_table(result: ReplayResult) -> str:
    """The replay next to always using each model; savings are against the premium model."""
    head = (
        f"{len(result.choices)} requests, {result.refused} refused; premium model {result.premium.model}: "
        f"router quality {result.quality_vs_premium:.1%} of premium {cost_phrase(result)}"
    )
    return head + "\n" + table(_HEADER, _rows(result))


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("plots need matplotlib: pip install 'llmroute[eval]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _share(p: CurvePoint) -> float:
    return p.share


def _cost(p: CurvePoint) -> float:
    return p.cost or 0.0


def _plots(report: Report, out: Path) -> list[tuple[str, str]]:
    plt = _pyplot()
    made: list[tuple[str, str]] = []
    result = report.result
    strong_share = result.share.get(report.strong or "", 0.0)
    if report.curves:
        for fname, title, xlabel, x_of, router_x in (
            ("quality_vs_share.png", "Quality vs share of calls to the strong model", f"share of calls to {report.strong}",
             _share, strong_share),
            ("quality_vs_cost.png", "Quality vs cost per request", "mean cost per request (USD)",
             _cost, result.cost_per_request),
        ):
            fig, ax = plt.subplots(figsize=(6, 4.2))
            for curve in report.curves:
                style = {"random": ":", "oracle": "--"}.get(curve.name, "-")
                ax.plot([x_of(p) for p in curve.points], [p.quality for p in curve.points], style, marker="o",
                        markersize=3, label=f"{curve.name} (APGR {curve.apgr:.3f})")
            ax.scatter([router_x], [result.quality], color="black", zorder=5, label="replayed router")
            cal = report.calibration
            if cal is not None:
                cal_x = cal.share if fname == "quality_vs_share.png" else cal.cost_per_request
                ax.scatter([cal_x], [cal.quality], color="red", marker="x", s=60, zorder=6, label="calibrated threshold")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("mean quality")
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(out / fname, dpi=110)
            plt.close(fig)
            made.append((fname, title))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for b in result.baselines:
        ax.scatter([b.total_cost / b.n], [b.quality])
        ax.annotate(b.model, (b.total_cost / b.n, b.quality), fontsize=7)
    ax.scatter([result.cost_per_request], [result.quality], color="black", marker="*", s=120, label="router")
    ax.set_xlabel("mean cost per request (USD)")
    ax.set_ylabel("mean quality")
    ax.margins(x=0.25, y=0.1)  # room for the model names
    ax.set_title("Router vs always one model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "models.png", dpi=110)
    plt.close(fig)
    made.append(("models.png", "Router vs always one model"))
    return made


def write_report(report: Report, out_dir: str | os.PathLike[str], *, plots: bool = True) -> Path:
    """Write ``report.md`` (and PNG plots) into ``out_dir``; returns the Markdown file's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = report.result
    lines = [f"# {report.title}", ""]
    lines.append(
        f"{len(result.choices)} requests replayed offline ({result.refused} refused by the policies). "
        f"Premium model: `{result.premium.model}`. The router reached {result.quality_vs_premium:.1%} of its "
        f"quality {cost_phrase(result)}."
    )
    lines += ["", "## Summary", "", _md_table(_HEADER, _rows(result)), ""]
    if report.curves:
        lines += [f"## Routing quality: `{report.weak}` (weak) vs `{report.strong}` (strong)", ""]
        lines.append("APGR and CPT as RouteLLM defines them (11 quantile edges of the scores).")
        lines.append("")
        lines.append(_md_table(
            ["router", "APGR", "CPT(50%)", "CPT(80%)"],
            [[c.name, f"{c.apgr:.3f}", f"{c.cpt50:.1%}", f"{c.cpt80:.1%}"] for c in report.curves],
        ))
        lines.append("")
    cal = report.calibration
    if cal is not None:
        goal = (
            f"{cal.target.fraction:.0%} of the strong model's quality"
            if isinstance(cal.target, QualityTarget)
            else f"${cal.target.usd_per_month:,.2f} a month at {cal.target.requests_per_month:,.0f} requests"
        )
        lines += ["## Calibration", ""]
        lines.append(
            f"Target: {goal}. Threshold {cal.threshold:.6g} sends {cal.share:.1%} of calls to the strong model: "
            f"quality {cal.quality:.4f} (strong {cal.strong_quality:.4f}, weak {cal.weak_quality:.4f}), "
            f"{_usd(cal.cost_per_request)} per request." + ("" if cal.met else " **No threshold met the target.**")
        )
        lines.append("")
    if plots:
        lines += ["## Plots", ""]
        for fname, title in _plots(report, out):
            lines += [f"![{title}]({fname})", ""]
    for note in report.notes:
        lines.append(f"- {note}")
    path = out / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path
