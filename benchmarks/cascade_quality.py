"""Cascade vs prompt-only routing on the RouterBench TEST files (offline, recorded answers and costs).

    python benchmarks/cascade_quality.py [--out /tmp/cascade_report.md]

Cascade: mistral-7b -> mixtral-8x7b -> gpt-4, the offline Agreement check on the two cheap
answers (agree: serve mixtral's; disagree: ask gpt-4). Prompt-only: the shipped complexity
scorer routing between mixtral-8x7b (weak) and gpt-4 (strong), with random and oracle baselines,
all on one quality-vs-cost plot. Nothing is fitted here: the check has no parameters.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from llmroute.cascade import Agreement, Cascade
from llmroute.eval.cascade import cascade_curve, write_cascade_report
from llmroute.eval.curves import oracle_curve, random_curve, score_curve
from llmroute.eval.dataset import Dataset, load_routerbench
from llmroute.eval.replay import model_stats
from llmroute.eval.routerbench import TASKS
from llmroute.policies.complexity import Complexity

STRONG, MID, SMALL = "gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat"
DATA = Path(os.environ.get("LLMROUTE_ROUTERBENCH", Path(__file__).resolve().parents[2] / "shared" / "data" / "routing" / "routerbench_zs"))


def run(name: str, data: Dataset, out: Path) -> dict[str, object]:
    data = data.complete([STRONG, MID, SMALL])
    complexity = Complexity()
    scores = [complexity.score(list(ex.messages)) for ex in data]
    prompt = score_curve(data, scores, STRONG, MID, name="prompt-only (complexity)")
    rnd = random_curve(data, STRONG, MID)
    orc = oracle_curve(data, STRONG, MID)
    casc = cascade_curve(data, [SMALL, MID, STRONG], Cascade(Agreement()), name="cascade (agreement)")
    always = {m: (s.total_cost / s.n, s.quality) for m in (SMALL, MID, STRONG) for s in [model_stats(data, m)]}
    figures = write_cascade_report(
        out,
        title=f"Cascade vs prompt-only routing, RouterBench test: {name} (n={len(data)})",
        cascades=[casc],
        prompt_only=[(prompt.name, prompt.points), ("random", rnd.points), ("oracle", orc.points)],
        always=always,
        weak=MID,
        strong=STRONG,
    )
    figures["apgr_share"] = {"prompt-only": prompt.apgr, "random": rnd.apgr, "oracle": orc.apgr}
    figures["cascade_points"] = [(p.threshold, p.quality, p.cost, p.last_share) for p in casc.points]
    return figures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/cascade_report")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = {task: load_routerbench(DATA / f"{task}_test.csv") for task in TASKS}
    sets["pooled"] = Dataset(tuple(ex for d in sets.values() for ex in d), name="pooled")
    print(f"{'test file':<14} {'n':>4} {'$ at 50%':>10} {'q prompt':>9} {'q cascade':>10} {'area casc':>10} {'area prompt':>12} {'area rnd':>9} {'area orc':>9}")
    for name, data in sets.items():
        f = run(name, data, out / f"cascade_{name}.md")
        c = f["curves"]  # type: ignore[index]
        print(
            f"{name:<14} {len(data.complete([STRONG, MID, SMALL])):>4} {f['cost_at_half_share']:>10.6f} "
            f"{f['prompt_only_quality_at_half_share']:>9.4f} {c['cascade (agreement)']['quality_at_cost'] or float('nan'):>10.4f} "
            f"{c['cascade (agreement)']['area']:>10.3f} {c['prompt-only (complexity)']['area']:>12.3f} "
            f"{c['random']['area']:>9.3f} {c['oracle']['area']:>9.3f}"
        )
        for t, q, cost, share in f["cascade_points"]:  # type: ignore[attr-defined]
            print(f"    threshold {t:.3f}: quality {q:.4f} cost ${cost:.6f} reached gpt-4 {share:.1%}")
    print(f"reports and plots in {out}")


if __name__ == "__main__":
    main()
