"""Evaluation datasets: prompts with what each model scored (and cost) on them, in JSONL or CSV.

JSONL, one object a line::

    {"id": "q1", "prompt": "What is 2+2?",            # or "messages": [{"role": ..., "content": ...}]
     "outcomes": {"small": {"quality": 0.0, "cost": 0.0001, "input_tokens": 12,
                            "output_tokens": 3, "latency_s": 0.2, "response": "5"},
                  "large": 1.0},                       # a bare number is the quality
     "params": {"max_tokens": 64}, "metadata": {"task": "math"}}

CSV, one row a prompt: ``id``, ``prompt`` (or ``messages`` holding JSON), then per model a
column named by the model holding its quality, and optional ``<model>|cost``,
``<model>|input_tokens``, ``<model>|output_tokens``, ``<model>|latency_s``, ``<model>|response``,
``<model>|error``. A blank quality cell means "not recorded" for that model.

Quality is a number, higher is better (correctness is 0 or 1). Cost is USD for that one call.
Bad rows raise :class:`DatasetError` naming the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._types import Message
from ..errors import ConfigError

__all__ = [
    "Dataset",
    "DatasetError",
    "Example",
    "Outcome",
    "append_example",
    "from_routerbench",
    "load_dataset",
    "load_routerbench",
    "read_ids",
    "save_dataset",
]

_FIELDS = ("cost", "input_tokens", "output_tokens", "latency_s", "response", "error")


class DatasetError(ConfigError):
    """A dataset file or row that cannot be read; the message starts with ``file:line``."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = f"{file}:{line}" if file and line else file
        super().__init__(message, path=where)
        self.file = file
        self.line = line


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one model did on one prompt: its quality, and what the call cost when known."""

    quality: float
    cost: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    response: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quality": self.quality}
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class Example:
    """One prompt and every recorded model outcome on it."""

    id: str
    messages: tuple[Message, ...]
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "messages": [dict(m) for m in self.messages]}
        out["outcomes"] = {name: o.to_dict() for name, o in self.outcomes.items()}
        if self.params:
            out["params"] = dict(self.params)
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


@dataclass(frozen=True)
class Dataset:
    """Examples in file order; ``models`` lists every model with an outcome, first seen first."""

    examples: tuple[Example, ...]
    name: str = "dataset"

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    @property
    def models(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for ex in self.examples:
            for name in ex.outcomes:
                seen.setdefault(name)
        return tuple(seen)

    def complete(self, models: Iterable[str]) -> Dataset:
        """Only the examples that have an outcome for every one of ``models``."""
        wanted = tuple(models)
        kept = tuple(ex for ex in self.examples if all(m in ex.outcomes for m in wanted))
        return Dataset(kept, self.name)

    def head(self, n: int) -> Dataset:
        return Dataset(self.examples[:n], self.name)

    def mean_quality(self, model: str) -> float:
        values = [ex.outcomes[model].quality for ex in self.examples if model in ex.outcomes]
        if not values:
            raise DatasetError(f"no outcome recorded for model {model!r}", file=self.name)
        return sum(values) / len(values)


# -- reading -------------------------------------------------------------------------------

def _number(value: Any, what: str, *, integer: bool = False) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if integer and (value < 0 or value != int(value)):
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    return float(value)


def _outcome(raw: Any, model: str) -> Outcome:
    if not isinstance(raw, Mapping):
        return Outcome(quality=_number(raw, f"outcomes[{model!r}]"))
    unknown = set(raw) - {"quality", *_FIELDS}
    if unknown:
        raise ValueError(f"outcomes[{model!r}]: unknown field(s) {sorted(unknown)}; known: quality, {', '.join(_FIELDS)}")
    if raw.get("quality") is None:
        raise ValueError(f"outcomes[{model!r}].quality is missing")
    kw: dict[str, Any] = {"quality": _number(raw["quality"], f"outcomes[{model!r}].quality")}
    for name in ("cost", "latency_s"):
        if raw.get(name) is not None:
            kw[name] = _number(raw[name], f"outcomes[{model!r}].{name}")
            if kw[name] < 0:
                raise ValueError(f"outcomes[{model!r}].{name} must be >= 0, got {raw[name]!r}")
    for name in ("input_tokens", "output_tokens"):
        if raw.get(name) is not None:
            kw[name] = int(_number(raw[name], f"outcomes[{model!r}].{name}", integer=True))
    for name in ("response", "error"):
        if raw.get(name) is not None:
            kw[name] = str(raw[name])
    return Outcome(**kw)


def _messages(rec: Mapping[str, Any]) -> tuple[Message, ...]:
    if "messages" in rec and rec["messages"] not in (None, ""):
        msgs = rec["messages"]
        if isinstance(msgs, str):
            try:
                msgs = json.loads(msgs)
            except json.JSONDecodeError as exc:
                raise ValueError(f"messages is not valid JSON ({exc.msg})") from None
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, Mapping) and "role" in m for m in msgs):
            raise ValueError("messages must be a non-empty list of {role, content} objects")
        return tuple(dict(m) for m in msgs)
    prompt = rec.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("needs a non-empty 'prompt' or 'messages'")
    return ({"role": "user", "content": prompt},)


def _example(rec: Mapping[str, Any], outcomes: Mapping[str, Any], index: int) -> Example:
    raw_id = rec.get("id")
    ex_id = str(raw_id) if raw_id not in (None, "") else str(index)
    params = rec.get("params") or {}
    metadata = rec.get("metadata") or {}
    if isinstance(params, str):
        params = json.loads(params)
    if not isinstance(params, Mapping) or not isinstance(metadata, Mapping):
        raise ValueError("params and metadata must be objects")
    return Example(
        id=ex_id,
        messages=_messages(rec),
        outcomes={name: _outcome(raw, name) for name, raw in outcomes.items()},
        params=dict(params),
        metadata=dict(metadata),
    )


def _read_jsonl(path: Path) -> Iterator[tuple[int, Example]]:
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not valid JSON ({exc.msg} at column {exc.colno})", file=str(path), line=lineno) from None
            try:
                if not isinstance(rec, Mapping):
                    raise ValueError(f"each line must be a JSON object, got {type(rec).__name__}")
                unknown = set(rec) - {"id", "prompt", "messages", "outcomes", "params", "metadata"}
                if unknown:
                    raise ValueError(f"unknown field(s) {sorted(unknown)}")
                outcomes = rec.get("outcomes") or {}
                if not isinstance(outcomes, Mapping):
                    raise ValueError("outcomes must be an object {model: quality or {quality, cost, ...}}")
                yield lineno, _example(rec, outcomes, lineno)
            except ValueError as exc:
                raise DatasetError(str(exc), file=str(path), line=lineno) from None


def _read_csv(path: Path) -> Iterator[tuple[int, Example]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if "prompt" not in header and "messages" not in header:
            raise DatasetError("the header needs a 'prompt' or 'messages' column", file=str(path), line=1)
        base = {"id", "prompt", "messages", "params"}
        models = [c for c in header if "|" not in c and c not in base]
        for c in header:
            if "|" in c:
                model, _, what = c.rpartition("|")
                if what not in _FIELDS:
                    raise DatasetError(f"column {c!r}: unknown field {what!r}; known: {', '.join(_FIELDS)}", file=str(path), line=1)
                if model not in models:
                    raise DatasetError(f"column {c!r} has no quality column {model!r}", file=str(path), line=1)
        for rec in reader:
            lineno = reader.line_num
            try:
                outcomes: dict[str, Any] = {}
                for m in models:
                    if (rec.get(m) or "").strip() == "":
                        continue  # not recorded for this model
                    cell: dict[str, Any] = {"quality": rec[m]}
                    for what in _FIELDS:
                        value = rec.get(f"{m}|{what}")
                        if value not in (None, ""):
                            cell[what] = value
                    outcomes[m] = cell
                yield lineno, _example(rec, outcomes, lineno)
            except (ValueError, json.JSONDecodeError) as exc:
                raise DatasetError(str(exc), file=str(path), line=lineno) from None


def _reader(path: Path) -> Iterator[tuple[int, Example]]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise DatasetError("unknown dataset format; use a .jsonl or .csv file", file=str(path))


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Read a JSONL or CSV dataset; ids must be unique."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError("no such file", file=str(p))
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for lineno, ex in _reader(p):
        if ex.id in seen:
            raise DatasetError(f"duplicate id {ex.id!r} (first on line {seen[ex.id]})", file=str(p), line=lineno)
        seen[ex.id] = lineno
        examples.append(ex)
    return Dataset(tuple(examples), name=p.name)


def read_ids(path: str | os.PathLike[str]) -> set[str]:
    """The ids already in a JSONL file (empty when it does not exist): what a resumed run skips."""
    p = Path(path)
    if not p.exists():
        return set()
    return {ex.id for _, ex in _read_jsonl(p)}


# -- writing -------------------------------------------------------------------------------

def append_example(path: str | os.PathLike[str], example: Example) -> None:
    """Append one example to a JSONL file and flush it, so an interrupted run loses nothing."""
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(json.dumps(example.to_dict(), ensure_ascii=False) + "\n")
        f.flush()


def save_dataset(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Write a dataset as JSONL or CSV (by suffix)."""
    p = Path(path)
    if p.suffix.lower() in (".jsonl", ".ndjson"):
        with p.open("w", encoding="utf-8") as f:
            for ex in dataset.examples:
                f.write(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n")
        return
    if p.suffix.lower() != ".csv":
        raise DatasetError("unknown dataset format; use a .jsonl or .csv file", file=str(p))
    models = dataset.models
    used = [w for w in _FIELDS if any(getattr(o, w) is not None for ex in dataset for o in ex.outcomes.values())]
    header = ["id", "messages", "params"] + [c for m in models for c in [m, *(f"{m}|{w}" for w in used)]]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header)
    writer.writeheader()
    for ex in dataset.examples:
        row: dict[str, Any] = {"id": ex.id, "messages": json.dumps([dict(m) for m in ex.messages], ensure_ascii=False)}
        row["params"] = json.dumps(dict(ex.params)) if ex.params else ""
        for m, o in ex.outcomes.items():
            row[m] = o.quality
            for w in used:
                value = getattr(o, w)
                row[f"{m}|{w}"] = "" if value is None else value
        writer.writerow(row)
    p.write_text(buf.getvalue(), encoding="utf-8")


# -- RouterBench, the worked example -------------------------------------------------------

def from_routerbench(rows: Sequence[Any], models: Sequence[str] | None = None, *, name: str = "routerbench") -> Dataset:
    """Convert :func:`llmroute.eval.routerbench.load` rows; blank scores stay unrecorded.

    RouterBench's ``sample_id`` is not unique, so an id is the task, the sample id and a short
    hash of the prompt.
    """
    examples: list[Example] = []
    seen: set[str] = set()
    for row in rows:
        sample_id, raw_prompt = row.key
        digest = hashlib.sha1(raw_prompt.encode("utf-8")).hexdigest()[:8]
        ex_id = f"{row.task}/{sample_id}/{digest}"
        if ex_id in seen:  # the same prompt twice under one id: one row is enough
            continue
        seen.add(ex_id)
        outcomes = {
            m: Outcome(quality=float(q), cost=row.costs.get(m), response=getattr(row, "responses", {}).get(m))
            for m, q in row.scores.items()
            if q is not None and (models is None or m in models)
        }
        examples.append(
            Example(
                id=ex_id,
                messages=({"role": "user", "content": row.prompt},),
                outcomes=outcomes,
                metadata={"task": row.task},
            )
        )
    return Dataset(tuple(examples), name=name)


def load_routerbench(path: str | os.PathLike[str], models: Sequence[str] | None = None) -> Dataset:
    """Read one RouterBench 0-shot CSV (named ``{task}_{split}.csv``) as a Dataset."""
    from . import routerbench

    p = Path(path)
    task, _, split = p.stem.rpartition("_")
    if task not in routerbench.TASKS or split not in ("train", "test"):
        raise DatasetError(
            f"a RouterBench file is named {{task}}_{{split}}.csv with task in {routerbench.TASKS}", file=str(p)
        )
    if not p.is_file():
        raise DatasetError("no such file", file=str(p))
    try:
        rows = routerbench.load(p.parent, task, split)
    except (KeyError, ValueError) as exc:
        raise DatasetError(f"not a RouterBench CSV ({type(exc).__name__}: {exc})", file=str(p)) from None
    return from_routerbench(rows, models, name=p.name)
