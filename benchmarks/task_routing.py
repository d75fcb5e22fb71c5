"""Task classification accuracy on tests/data/task_labelled.jsonl: per category and confusion matrix.

    python benchmarks/task_routing.py            # the held-out half (split == "test")
    python benchmarks/task_routing.py --split dev

The set (324 prompts, 9 categories, 8 languages) was written before the classifier; its split
was fixed by a hash of each prompt. The cue lexicons were tuned looking only at the dev half.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from llmroute.policies.task import CATEGORIES, TaskClassifier

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "task_labelled.jsonl"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "dev", "all"), default="test")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if args.split == "all" or r["split"] == args.split]
    clf = TaskClassifier()
    confusion: Counter[tuple[str, str]] = Counter()
    start = time.perf_counter()
    for r in rows:
        confusion[r["category"], clf.classify(r["prompt"]).category] += 1
    per_us = (time.perf_counter() - start) / len(rows) * 1e6
    right = sum(confusion[c, c] for c in CATEGORIES)
    print(f"split {args.split}: {len(rows)} prompts, accuracy {right / len(rows):.1%}, {per_us:.0f} us per prompt")
    print(f"{'true/predicted':16}" + "".join(f"{c[:6]:>7}" for c in CATEGORIES) + "  accuracy")
    for c in CATEGORIES:
        n = sum(confusion[c, p] for p in CATEGORIES)
        print(f"{c:16}" + "".join(f"{confusion[c, p]:7d}" for p in CATEGORIES) + f"  {confusion[c, c] / n:7.1%} of {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
