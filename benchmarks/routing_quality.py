"""Routing quality of the default complexity scorer on RouterBench (RouteLLM's APGR and CPT(50%)).

    python benchmarks/routing_quality.py            # report on the TEST files
    python benchmarks/routing_quality.py --fit      # rebuild the default scorer (percentiles over everyday prompts)

Strong model gpt-4-1106-preview; weak mixtral-8x7b-chat and mistral-7b-chat. Baselines: random
scores (mean of 200 seeds, expected ~0.5) and prompt length (longer -> strong).
The default is a stated formula (``default_recipe``); its validation, leave-one-task-out on the
TRAIN files, is ``benchmarks/scorer_loto.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from llmroute.eval import apgr, cpt
from llmroute.eval.routerbench import MODELS, TASKS, Row, load, pair
from llmroute.policies.complexity import _DEFAULT_FILE, Complexity
from llmroute.policies.complexity.fitting import default_recipe

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "routing" / "routerbench_zs"
TASK_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "task_labelled.jsonl"
STRONG = "gpt-4-1106-preview"
WEAK = ("mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat")


def fit() -> Complexity:
    """The default recipe over the everyday prompts: nothing here reads RouterBench outcomes."""
    everyday = [json.loads(line)["prompt"] for line in TASK_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    info = {
        "recipe": "ln(1+chars) + ln(1+quantities) + b*notation + 1.63*task_prior (llmroute.policies.complexity.fitting.default_recipe)",
        "fitted_on": "nothing: a stated formula; no outcome labels",
        "percentiles_over": f"{len(everyday)} prompts of tests/data/task_labelled.jsonl (9 task categories)",
        "validated_by": "benchmarks/scorer_loto.py (leave-one-task-out on the RouterBench train files)",
        "date": time.strftime("%Y-%m-%d"),
    }
    return Complexity(default_recipe(everyday, info))


def random_scores(seed: int) -> Callable[[Row], float]:
    rng = random.Random(seed)
    return lambda row: rng.random()


def evaluate(rows: Sequence[Row], weak: str, score: Callable[[Row], float]) -> tuple[float, float]:
    rs = list(pair(rows, STRONG, weak))
    s = [score(r) for r in rs]
    qs = [r.scores[STRONG] or 0.0 for r in rs]
    qw = [r.scores[weak] or 0.0 for r in rs]
    return apgr(s, qs, qw), cpt(s, qs, qw, 50)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--fit", action="store_true", help=f"refit and write {_DEFAULT_FILE.name}")
    args = parser.parse_args(argv)
    if args.fit:
        policy = fit()
        policy.save(_DEFAULT_FILE)
        print(f"wrote {_DEFAULT_FILE}: thresholds {policy.thresholds}")
    policy = Complexity.load(_DEFAULT_FILE)
    test = {t: load(args.data, t, "test") for t in TASKS}
    test["pooled"] = [r for t in TASKS for r in test[t]]
    cache: dict[tuple[str, str], float] = {}

    def scorer(row: Row) -> float:
        if row.key not in cache:
            cache[row.key] = policy.score(row.prompt)
        return cache[row.key]

    print(f"strong model {STRONG}; TEST files; APGR (higher is better) / CPT(50%) (lower is better)")
    print(f"{'weak model':30} {'file':14} {'n':>5} {'complexity':>17} {'prompt length':>17} {'random (200 seeds)':>19}")
    for weak in WEAK:
        for name, rows in test.items():
            n = len(list(pair(rows, STRONG, weak)))
            ours = evaluate(rows, weak, scorer)
            length = evaluate(rows, weak, lambda r: float(len(r.prompt)))
            rand = [evaluate(rows, weak, random_scores(seed)) for seed in range(200)]
            ra = statistics.mean(a for a, _ in rand)
            rc = statistics.mean(c for _, c in rand)
            print(
                f"{weak.split('/')[-1]:30} {name:14} {n:5d} {ours[0]:8.3f} / {ours[1]:5.3f} "
                f"{length[0]:8.3f} / {length[1]:5.3f} {ra:9.3f} / {rc:5.3f}"
            )
    assert set(MODELS) >= {STRONG, *WEAK}
    return 0


if __name__ == "__main__":
    sys.exit(main())
