"""Learning curve of ``refit``: how many rated requests before a refitted scorer beats the shipped default.

    python benchmarks/learning_curve.py                 # full run: 5 seeds, writes learning_curve.png
    python benchmarks/learning_curve.py --seeds 2 --sizes 50,400

Stand-in "production feedback": random samples of the RouterBench TRAIN files (all three tasks
pooled, as traffic would mix them), rated in one of two ways -

- ``weak``: only the weak model's outcome is recorded (label 1 - quality), as when it served them;
- ``both``: both models' outcomes are recorded (label = gain of strong over weak), as with shadow
  traffic or ``llmroute eval --online``.

Each sample is turned into labels and fitted exactly as ``llmroute.eval.refit`` does
(:func:`labelled`, :func:`fit_scorer`), then scored by APGR (RouteLLM) on the pooled TEST files
(947 prompts) with gpt-4-1106-preview as the strong model, for each weak model. Reference lines:
the shipped default scorer, prompt length, random (0.5).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from llmroute.eval import apgr
from llmroute.eval.dataset import Dataset, Example, from_routerbench
from llmroute.eval.refit import fit_scorer, labelled
from llmroute.eval.routerbench import TASKS, Row, load, pair
from llmroute.policies.complexity import Complexity

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "routing" / "routerbench_zs"
PLOT = Path(__file__).with_name("learning_curve.png")
STRONG = "gpt-4-1106-preview"
WEAK = ("mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat")
SIZES = (25, 50, 100, 200, 400, 800, 1600)
MODES = ("weak", "both")


def test_apgr(rows: Sequence[Row], weak: str, score: Callable[[str], float]) -> float:
    rs = list(pair(rows, STRONG, weak))
    return apgr([score(r.prompt) for r in rs], [r.scores[STRONG] or 0.0 for r in rs], [r.scores[weak] or 0.0 for r in rs])


def feedback(train: Dataset, weak: str, mode: str) -> list[Example]:
    """The train examples as feedback records: the weak model's outcome only, or both models'."""
    if mode == "both":
        return list(train.complete([STRONG, weak]))
    return [Example(ex.id, ex.messages, {weak: ex.outcomes[weak]}) for ex in train if weak in ex.outcomes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated sample sizes (all rows is always added)")
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    train_rows = [r for t in TASKS for r in load(args.data, t, "train")]
    test_rows = [r for t in TASKS for r in load(args.data, t, "test")]
    train = from_routerbench(train_rows, [STRONG, *WEAK], name="train")
    default = Complexity()
    results: dict[tuple[str, str], dict[int, list[float]]] = {}
    reference: dict[str, dict[str, float]] = {}
    for weak in WEAK:
        reference[weak] = {
            "shipped default": test_apgr(test_rows, weak, default.score),
            "prompt length": test_apgr(test_rows, weak, lambda p: float(len(p))),
        }
        for mode in MODES:
            pool = feedback(train, weak, mode)
            curve: dict[int, list[float]] = {}
            for n in [*(s for s in sizes if s < len(pool)), len(pool)]:
                runs = []
                for seed in range(args.seeds if n < len(pool) else 1):
                    sample = random.Random(seed).sample(pool, n)
                    policy = fit_scorer(labelled(Dataset(tuple(sample)), STRONG, weak))
                    runs.append(test_apgr(test_rows, weak, policy.score))
                curve[n] = runs
                print(f"{weak.split('/')[-1]:18} {mode:5} n={n:5d}: APGR {statistics.mean(runs):.3f}"
                      + (f" (sd {statistics.stdev(runs):.3f}, min {min(runs):.3f}, max {max(runs):.3f})" if len(runs) > 1 else ""),
                      file=sys.stderr)
            results[(weak, mode)] = curve
    elapsed = time.perf_counter() - started

    print(f"\nAPGR on the pooled RouterBench TEST files (947 prompts; strong {STRONG}); mean over {args.seeds} seeds "
          f"[min, max]; {elapsed:.0f} s\n")
    for weak in WEAK:
        short = weak.split("/")[-1]
        ref = reference[weak]
        print(f"**{short}**: shipped default {ref['shipped default']:.3f}, prompt length {ref['prompt length']:.3f}, random 0.500\n")
        ns = sorted({n for mode in MODES for n in results[(weak, mode)]})
        print("| rated requests | " + " | ".join(str(n) for n in ns) + " |")
        print("|---|" + "---:|" * len(ns))
        for mode in MODES:
            curve = results[(weak, mode)]
            cells = [cell(curve[n]) if n in curve else "" for n in ns]
            print(f"| {mode} | " + " | ".join(cells) + " |")
        for mode in MODES:
            curve = results[(weak, mode)]
            beats = [n for n in sorted(curve) if statistics.mean(curve[n]) > ref["shipped default"]]
            print(f"\n{mode}: mean refit above the shipped default at n = {beats or 'never'}")
        print()
    plot(results, reference, args.plot, args.seeds)
    print(f"plot: {args.plot}")
    return 0


def cell(runs: Sequence[float]) -> str:
    if len(runs) == 1:
        return f"{runs[0]:.3f}"
    return f"{statistics.mean(runs):.3f} [{min(runs):.2f}, {max(runs):.2f}]"


def plot(results: dict[tuple[str, str], dict[int, list[float]]], reference: dict[str, dict[str, float]], path: Path, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(WEAK), figsize=(11, 4.2), sharey=True)
    colours = {"weak": "tab:blue", "both": "tab:orange"}
    labels = {"weak": "refit, weak model rated (1 - quality)", "both": "refit, both models rated (gain)"}
    for ax, weak in zip(axes, WEAK, strict=True):
        for mode in MODES:
            curve = results[(weak, mode)]
            ns = sorted(curve)
            means = [statistics.mean(curve[n]) for n in ns]
            ax.plot(ns, means, marker="o", color=colours[mode], label=labels[mode])
            ax.fill_between(ns, [min(curve[n]) for n in ns], [max(curve[n]) for n in ns], color=colours[mode], alpha=0.15)
        ref = reference[weak]
        ax.axhline(ref["shipped default"], color="black", linestyle="-", linewidth=1, label=f"shipped default {ref['shipped default']:.3f}")
        ax.axhline(ref["prompt length"], color="grey", linestyle="--", linewidth=1, label=f"prompt length {ref['prompt length']:.3f}")
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="random 0.500")
        ax.set_xscale("log")
        ax.set_xlabel("rated requests (RouterBench train sample)")
        ax.set_title(f"weak: {weak.split('/')[-1]}, strong: gpt-4")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("APGR, pooled RouterBench test files")
    fig.suptitle(f"Refit learning curve (mean and min-max of {seeds} seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
