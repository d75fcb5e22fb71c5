"""Build benchmarks/data/arena_bench_v1.jsonl: per-prompt outcomes on 300 real chat prompts.

Source: Arena-Bench-V1, the first version of LMSYS's Arena-Hard (GitHub lmarena/arena-hard-auto,
commit ac4ad9a93a452cb256e83fe6d89957676c64f19b, 2023-12-12, Apache License 2.0; the licence text
is copied beside the output). 300 hard prompts taken from Chatbot Arena; fifteen models'
answers, each graded 1-10 by GPT-4 against a reference answer (``data/arena-bench-v1/
model_judgment/*.jsonl``, field ``score``). Not GSM8K, MMLU or MT-Bench, and not RouteLLM's files.

One line per prompt: ``{"id", "prompt", "scores": {model: 1..10}}`` (a model whose grade is
missing is left out for that prompt). Run with a checkout of that repository::

    python benchmarks/data_tools/make_arena_bench.py PATH/TO/arena-hard-auto
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COMMIT = "ac4ad9a93a452cb256e83fe6d89957676c64f19b"
FOLDER = "data/arena-bench-v1"
OUT = Path(__file__).resolve().parents[1] / "data" / "arena_bench_v1.jsonl"


def show(repo: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{COMMIT}:{path}"], check=True, capture_output=True, text=True).stdout


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    repo = Path(argv[0])
    names = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "--name-only", COMMIT, f"{FOLDER}/model_judgment/"], check=True, capture_output=True, text=True
    ).stdout.split()
    grades: dict[str, dict[str, int]] = {}
    for name in names:
        model = Path(name).stem
        for line in show(repo, name).splitlines():
            row = json.loads(line)
            if isinstance(row.get("score"), int):
                grades.setdefault(row["question_id"], {})[model] = row["score"]
    lines = []
    for line in show(repo, f"{FOLDER}/question.jsonl").splitlines():
        q = json.loads(line)
        (prompt,) = q["turns"]  # every prompt is one turn
        lines.append(json.dumps({"id": q["question_id"], "prompt": prompt, "scores": dict(sorted(grades.get(q["question_id"], {}).items()))}, ensure_ascii=False))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT.parent / "arena_bench_v1.LICENSE").write_text(show(repo, "LICENSE"), encoding="utf-8")
    print(f"wrote {len(lines)} prompts, {len(names)} models to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
