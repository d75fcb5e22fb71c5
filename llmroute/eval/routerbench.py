"""Load the RouterBench 0-shot CSVs (../shared/data/routing/routerbench_zs) into plain rows.

Quirks handled (see that folder's README): ``prompt`` is a stringified Python list of strings,
``sample_id`` is not unique (rows are keyed on sample_id and prompt), and some models' scores
are blank on a few rows (a row keeps ``None`` there; :func:`pair` drops such rows).
"""

from __future__ import annotations

import ast
import csv
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MODELS", "TASKS", "Row", "load", "pair"]

TASKS = ("arc_challenge", "mbpp", "winograde")
MODELS = (
    "gpt-4-1106-preview",
    "gpt-3.5-turbo-1106",
    "claude-v1",
    "claude-v2",
    "claude-instant-v1",
    "mistralai/mixtral-8x7b-chat",
    "mistralai/mistral-7b-chat",
    "meta/llama-2-70b-chat",
    "meta/code-llama-instruct-34b-chat",
    "zero-one-ai/Yi-34B-Chat",
    "WizardLM/WizardLM-13B-V1.2",
)


@dataclass(frozen=True)
class Row:
    """One prompt with every model's correctness (None when blank) and cost in USD."""

    key: tuple[str, str]  # (sample_id, raw prompt field)
    task: str
    prompt: str  # the prompt's parts joined with blank lines
    parts: tuple[str, ...]
    scores: dict[str, float | None] = field(default_factory=dict)
    costs: dict[str, float | None] = field(default_factory=dict)
    responses: dict[str, str | None] = field(default_factory=dict)  # each model's answer (a cascade's checks read them)


def _float(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    return float(value)


def _parts(raw: str) -> tuple[str, ...]:
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return (raw,)
    if isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        return tuple(value)
    return (str(value),)


def _response(raw: str | None) -> str | None:
    """A recorded answer: the CSV stores a stringified list of strings (one per turn)."""
    if raw is None or raw.strip() == "":
        return None
    return "\n".join(_parts(raw)).strip()


def load(folder: str | os.PathLike[str], task: str, split: str) -> list[Row]:
    """Rows of ``{task}_{split}.csv`` in ``folder`` (split is "train" or "test")."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = Path(folder) / f"{task}_{split}.csv"
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            parts = _parts(rec["prompt"])
            rows.append(
                Row(
                    key=(rec["sample_id"], rec["prompt"]),
                    task=task,
                    prompt="\n\n".join(parts),
                    parts=parts,
                    scores={m: _float(rec.get(m)) for m in MODELS},
                    costs={m: _float(rec.get(f"{m}|total_cost")) for m in MODELS},
                    responses={m: _response(rec.get(f"{m}|model_response")) for m in MODELS},
                )
            )
    return rows


def pair(rows: Sequence[Row], strong: str, weak: str) -> Iterator[Row]:
    """The rows where both models have a score (blank scores are left out, as RouterBench does)."""
    for row in rows:
        if row.scores.get(strong) is not None and row.scores.get(weak) is not None:
            yield row
