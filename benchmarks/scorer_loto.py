"""Validate the default complexity scorer leave-one-task-out on the RouterBench TRAIN files.

    python benchmarks/scorer_loto.py             # LOTO tables (train files) + the TEST files
    python benchmarks/scorer_loto.py --quick     # 100 bootstrap resamples instead of 400

Strong model gpt-4-1106-preview; weak mixtral-8x7b-chat and mistral-7b-chat (RouteLLM's APGR,
higher is better). Each held-out task is scored by a scorer that saw no outcome of that task:

- ``default``: the shipped recipe (``default_recipe``): a stated formula, fitted on no outcomes.
- ``previous``: the recipe shipped before it, its cue weights refitted on the other two tasks each
  fold (label: share of the ten non-GPT-4 models that got a prompt wrong), blended with length.
- ``selected``: a selection run inside each fold: of the candidate formulas below, the one with the
  best mean APGR on the other two tasks, then scored on the held-out one. It shows whether
  choosing among the candidates by other tasks carries over.
- ``prompt length`` and ``random`` (mean and 2.5-97.5% over 200 seeds).

Then the TEST files, and an independent check no recipe was chosen on: Arena-Bench-V1 (300 real
Chatbot Arena prompts, fifteen models graded 1-10 by GPT-4; Apache-2.0, see
``data_tools/make_arena_bench.py``), gpt-4-turbo strong, quality = grade / 10.

Intervals: 95% bootstrap over the held-out task's prompts (resampled with replacement).
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

from _timing import sample_us

from llmroute.eval import apgr
from llmroute.eval.routerbench import MODELS, TASKS, Row, load, pair
from llmroute.policies.complexity import FEATURES, Complexity, features
from llmroute.policies.complexity.fitting import TASK_WEIGHT

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "routing" / "routerbench_zs"
TASK_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "task_labelled.jsonl"
ARENA = Path(__file__).with_name("data") / "arena_bench_v1.jsonl"  # built by data_tools/make_arena_bench.py
ARENA_STRONG = "gpt-4-turbo"  # gpt-4-1106-preview, as on RouterBench
ARENA_WEAK = ("Mixtral-8x7B-Instruct-v0.1", "Mistral-7B-Instruct-v0.1")
STRONG = "gpt-4-1106-preview"
WEAK = ("mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat")

Score = Callable[[Row], float]

# candidate formulas for the in-fold selection: feature -> weight on the feature's own scale
# (the features store ln(1+chars)/9 and ln(1+quantities)/3; 4.5 is about the default's notation weight)
CANDIDATES: dict[str, dict[str, float]] = {
    "length": {"log_message_chars": 9.0},
    "length+quantities": {"log_message_chars": 9.0, "quantities": 3.0},
    "length+notation": {"log_message_chars": 9.0, "punct": 4.5},
    "length+quantities+notation": {"log_message_chars": 9.0, "quantities": 3.0, "punct": 4.5},
    "length+quantities+notation+task": {"log_message_chars": 9.0, "quantities": 3.0, "punct": 4.5, "task_prior": TASK_WEIGHT},
    "length+quantities+task": {"log_message_chars": 9.0, "quantities": 3.0, "task_prior": TASK_WEIGHT},
}


class Features:
    """features() once per prompt, shared by every scorer."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], dict[str, float]] = {}

    def __call__(self, row: Row) -> dict[str, float]:
        f = self._cache.get(row.key)
        if f is None:
            f = self._cache[row.key] = features(row.prompt)
        return f


def formula(weights: dict[str, float], feats: Features) -> Score:
    return lambda row: sum(w * feats(row)[k] for k, w in weights.items())


def previous_recipe(train: Sequence[Row], feats: Features) -> Score:
    """The recipe shipped before: 15 cue features fitted (non-negative, l2=100) on ``train``'s
    ten-model difficulty, scaled to the spread of log length, plus length, quantities, task prior."""
    cues = FEATURES[:15]
    labels = [difficulty(r) for r in train]
    kept = [(r, y) for r, y in zip(train, labels, strict=True) if y is not None]
    fitted = Complexity.fit([r.prompt for r, _ in kept], [y for _, y in kept], l2=100.0, feature_names=cues).scorer

    def cue_z(row: Row) -> float:
        f = feats(row)
        return sum(w * (f[k] - mu) / sd for k, mu, sd, w in zip(fitted.names, fitted.mean, fitted.scale, fitted.weights, strict=True))

    length = [9.0 * feats(r)["log_message_chars"] for r, _ in kept]
    cz = [cue_z(r) for r, _ in kept]
    a = (statistics.pstdev(length) / statistics.pstdev(cz)) if statistics.pstdev(cz) else 0.0
    rest = formula({"log_message_chars": 9.0, "quantities": 3.0, "task_prior": TASK_WEIGHT}, feats)
    return lambda row: a * cue_z(row) + rest(row)


def difficulty(row: Row) -> float | None:
    vals = [v for m, v in row.scores.items() if m != STRONG and v is not None]
    return 1.0 - sum(vals) / len(vals) if vals else None


def paired(rows: Sequence[Row], weak: str, strong: str = STRONG) -> tuple[list[Row], list[float], list[float]]:
    rs = list(pair(rows, strong, weak))
    return rs, [r.scores[strong] or 0.0 for r in rs], [r.scores[weak] or 0.0 for r in rs]


def score_apgr(rows: Sequence[Row], weak: str, score: Score, strong: str = STRONG) -> float:
    rs, qs, qw = paired(rows, weak, strong)
    return apgr([score(r) for r in rs], qs, qw)


def with_interval(rows: Sequence[Row], weak: str, score: Score, resamples: int, seed: int = 0, strong: str = STRONG) -> tuple[float, float, float]:
    """APGR and its 95% bootstrap interval over prompts."""
    rs, qs, qw = paired(rows, weak, strong)
    s = [score(r) for r in rs]
    point = apgr(s, qs, qw)
    rng = random.Random(seed)
    n = len(rs)
    draws = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        sw, ss, ws = [s[i] for i in idx], [qs[i] for i in idx], [qw[i] for i in idx]
        if sum(ss) != sum(ws):  # a resample with no gap between the models has no APGR
            draws.append(apgr(sw, ss, ws))
    draws.sort()
    return point, draws[int(0.025 * len(draws))], draws[int(0.975 * len(draws)) - 1]


def random_band(rows: Sequence[Row], weak: str, seeds: int = 200, strong: str = STRONG) -> tuple[float, float, float]:
    rs, qs, qw = paired(rows, weak, strong)
    values = []
    for seed in range(seeds):
        rng = random.Random(seed)
        values.append(apgr([rng.random() for _ in rs], qs, qw))
    values.sort()
    return statistics.mean(values), values[int(0.025 * seeds)], values[int(0.975 * seeds) - 1]


def cell(v: tuple[float, float, float] | float) -> str:
    return f"{v:.3f}" if isinstance(v, float) else f"{v[0]:.3f} [{v[1]:.2f}, {v[2]:.2f}]"


def table(title: str, columns: list[str], lines: dict[str, list[tuple[float, float, float] | float]], averaged: int | None = None) -> None:
    """A markdown table; ``mean`` is over the first ``averaged`` columns (default: all)."""
    print(f"\n{title}\n")
    print("| scorer | " + " | ".join(columns) + " | mean |")
    print("|---|" + "---|" * len(columns) + "---:|")
    for name, values in lines.items():
        mean = statistics.mean(v if isinstance(v, float) else v[0] for v in values[:averaged])
        print(f"| {name} | " + " | ".join(cell(v) for v in values) + f" | {mean:.3f} |")


def arena(default: Score, previous: Score, resamples: int) -> None:
    """The independent check: Arena-Bench-V1 (300 real chat prompts, GPT-4 grades 1-10 / 10 as quality)."""
    lines = [json.loads(line) for line in ARENA.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [
        Row(key=(x["id"], x["prompt"]), task="arena-bench-v1", prompt=x["prompt"], parts=(x["prompt"],), scores={m: g / 10 for m, g in x["scores"].items()})
        for x in lines
    ]
    columns = [f"arena / {w}" for w in ARENA_WEAK]
    others = sorted({m for x in lines for m in x["scores"]} - {ARENA_STRONG, "gpt-4-0314"})
    result: dict[str, list[tuple[float, float, float] | float]] = {}
    for name, score in (("default", default), ("previous (fitted on all train files)", previous), ("prompt length", lambda r: float(len(r.prompt)))):
        result[name] = [with_interval(rows, w, score, resamples, strong=ARENA_STRONG) for w in ARENA_WEAK]
        result[name].append(statistics.mean(score_apgr(rows, w, score, strong=ARENA_STRONG) for w in others))
    result["random"] = [random_band(rows, w, strong=ARENA_STRONG) for w in ARENA_WEAK]
    result["random"].append(statistics.mean(random_band(rows, w, 50, strong=ARENA_STRONG)[0] for w in others))
    table(
        f"Independent check, never tuned on: Arena-Bench-V1 ({len(rows)} prompts; strong {ARENA_STRONG}; "
        f"last column: mean over all {len(others)} graded non-GPT-4 models as the weak one)",
        [*columns, "mean over all"],
        result,
        averaged=2,
    )


def cost(policy: Complexity) -> None:
    """Scoring cost: median per call over the everyday prompts, and at ~2,000 tokens; then the
    features the default reads against all of them, interleaved prompt by prompt."""
    everyday = [json.loads(line)["prompt"] for line in TASK_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    messages = [[{"role": "user", "content": p}] for p in everyday]
    medians = sorted(sample_us(lambda m=m: policy.score(m), 200)[0] for m in messages)  # type: ignore[misc]
    long = [{"role": "user", "content": (" ".join(everyday) * 2)[:8000]}]
    print(f"\nscoring cost (Complexity().score): everyday prompts ({statistics.median(map(len, everyday)):.0f} chars median) "
          f"median {statistics.median(medians):.1f} us, p90 over prompts {medians[int(0.9 * len(medians))]:.1f} us; "
          f"8,000 chars (~2,000 tokens) {sample_us(lambda: policy.score(long), 2000)[0]:.1f} us")
    reads, full = [], []
    for m in messages:
        reads.append(sample_us(lambda m=m: features(m, policy.scorer.names), 100)[0])  # type: ignore[misc]
        full.append(sample_us(lambda m=m: features(m), 100)[0])  # type: ignore[misc]
    print(f"features(), interleaved per prompt: the default's {len(policy.scorer.names)} {statistics.median(reads):.1f} us, "
          f"all {len(FEATURES)} {statistics.median(full):.1f} us (medians over prompts)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--quick", action="store_true", help="100 bootstrap resamples (default 400)")
    args = parser.parse_args(argv)
    resamples = 100 if args.quick else 400
    start = time.perf_counter()
    feats = Features()
    shipped = Complexity()
    default: Score = lambda row: shipped.score(row.prompt)  # noqa: E731
    train = {t: load(args.data, t, "train") for t in TASKS}
    test = {t: load(args.data, t, "test") for t in TASKS}
    columns = [f"{t[:4]} / {w.split('/')[-1].removesuffix('-chat')}" for t in TASKS for w in WEAK]
    print(f"strong {STRONG}; APGR with 95% bootstrap intervals ({resamples} resamples); {sys.version.split()[0]}")
    print(f"default scorer: {shipped.scorer.info.get('recipe')}")

    lines: dict[str, list[tuple[float, float, float] | float]] = {k: [] for k in ("default", "previous (refit per fold)", "selected in fold", "prompt length", "random")}
    picks: list[str] = []
    for held in TASKS:
        others = [r for t in TASKS if t != held for r in train[t]]
        previous = previous_recipe(others, feats)
        # the in-fold selection: best mean APGR over the other tasks and both weak models
        fold = {
            name: statistics.mean(score_apgr(train[t], w, formula(ws, feats)) for t in TASKS if t != held for w in WEAK)
            for name, ws in CANDIDATES.items()
        }
        pick = max(fold, key=lambda k: fold[k])
        picks.append(f"{held}: {pick} ({fold[pick]:.3f} on the other two)")
        for weak in WEAK:
            rows = train[held]
            lines["default"].append(with_interval(rows, weak, default, resamples))
            lines["previous (refit per fold)"].append(with_interval(rows, weak, previous, resamples))
            lines["selected in fold"].append(with_interval(rows, weak, formula(CANDIDATES[pick], feats), resamples))
            lines["prompt length"].append(with_interval(rows, weak, lambda r: float(len(r.prompt)), resamples))
            lines["random"].append(random_band(rows, weak))
    table("Leave-one-task-out on the TRAIN files (each column: the held-out task)", columns, lines)
    print("\nin-fold selection picked: " + "; ".join(picks))

    every_pair: dict[str, list[tuple[float, float, float] | float]] = {}
    weaks = [m for m in MODELS if m != STRONG]
    for name, score in (("default", default), ("prompt length", lambda r: float(len(r.prompt)))):
        every_pair[name] = [statistics.mean(score_apgr(train[t], w, score) for w in weaks) for t in TASKS]
    every_pair["random"] = [statistics.mean(random_band(train[t], w, 50)[0] for w in weaks) for t in TASKS]
    table("TRAIN files, mean APGR over all ten non-GPT-4 models as the weak one", [t for t in TASKS], every_pair)

    pooled_train = [r for t in TASKS for r in train[t]]
    previous_all = previous_recipe(pooled_train, feats)
    test["pooled"] = [r for t in TASKS for r in test[t]]
    test_columns = [f"{t[:4]} / {w.split('/')[-1].removesuffix('-chat')}" for t in test for w in WEAK]
    test_lines: dict[str, list[tuple[float, float, float] | float]] = {k: [] for k in ("default", "previous (fitted on all train files)", "prompt length", "random")}
    for rows in test.values():
        for weak in WEAK:
            test_lines["default"].append(with_interval(rows, weak, default, resamples))
            test_lines["previous (fitted on all train files)"].append(with_interval(rows, weak, previous_all, resamples))
            test_lines["prompt length"].append(with_interval(rows, weak, lambda r: float(len(r.prompt)), resamples))
            test_lines["random"].append(random_band(rows, weak))
    table("TEST files (looked at once the recipe was fixed; 'mean' over the six per-file columns)", test_columns, test_lines, averaged=6)
    arena(default, previous_all, resamples)
    cost(shipped)
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
