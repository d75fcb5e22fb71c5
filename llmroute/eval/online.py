"""Online mode: run a dataset's prompts through a router's real models and record the outcomes.

Each model is pinned in turn (``model=name``), so every prompt gets an answer from every model
asked for. Outcomes go to a JSONL file one example at a time; a rerun skips the ids already
there, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from ..errors import ConfigError, LLMRouteError
from ..router import Router
from .dataset import Dataset, Example, Outcome, append_example, read_ids

__all__ = ["Grader", "ProgressLine", "contains_expected", "run_online"]

Grader = Callable[[Example, str], float]


class ProgressLine:
    """Progress on stderr. On a terminal, one redrawn line with a bar and the time left:
    ``label  12/40 [#####.....] 3.1s, ETA 7.2s`` (at most 10 redraws a second). Elsewhere (a log,
    a pipe, CI) plain lines instead, one per tenth of the work: ``label 12/40 (30%) 3.1s, ETA 7.2s``.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 24, tty: bool | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self._last = 0.0
        self._tenth = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        eta = f", ETA {elapsed / done * (total - done):.1f}s" if 0 < done < total else ""
        if not self.tty:
            tenth = 10 * done // total if total else 10
            if tenth == self._tenth:
                return
            self._tenth = tenth
            share = f" ({done / total:.0%})" if total else ""
            self.stream.write(f"{self.label} {done}/{total}{share} {elapsed:.1f}s{eta}\n")
            self.stream.flush()
            return
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} {done}/{total} [{bar}] {elapsed:.1f}s{eta}\x1b[K{end}")
        self.stream.flush()


def contains_expected(example: Example, answer: str) -> float:
    """1.0 when the example's ``metadata["expected"]`` appears in the answer (case-insensitive), else 0.0."""
    expected = example.metadata.get("expected")
    if expected is None:
        raise ConfigError(f"example {example.id!r} has no metadata.expected; pass a grader", path="grader")
    return 1.0 if str(expected).strip().lower() in answer.lower() else 0.0


def run_online(
    router: Router,
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    models: Sequence[str] | None = None,
    grader: Grader = contains_expected,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Ask each of ``models`` (default: all the router's) every prompt not yet in ``out``; returns how many examples it ran.

    A failed call is recorded with quality 0 and its error type, so a rerun does not retry it.
    """
    names = list(models) if models is not None else [m.name for m in router.models]
    known = {m.name for m in router.models}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; the router has {sorted(known)}", path="models")
    if not str(out).lower().endswith((".jsonl", ".ndjson")):
        raise ConfigError(f"online outcomes are appended to a .jsonl file, got {str(out)!r}", path="out")
    done = read_ids(out)
    todo = [ex for ex in dataset if ex.id not in done]
    for i, ex in enumerate(todo, 1):
        outcomes: dict[str, Outcome] = {}
        for name in names:
            outcomes[name] = _ask(router, ex, name, grader)
        append_example(out, Example(ex.id, ex.messages, outcomes, ex.params, ex.metadata))
        if progress is not None:
            progress(i, len(todo))
    return len(todo)


def _ask(router: Router, ex: Example, name: str, grader: Grader) -> Outcome:
    started = time.perf_counter()
    try:
        response = router.completion(list(ex.messages), model=name, **dict(ex.params))
    except LLMRouteError as exc:
        # The error's type and message only: llmroute errors never carry content or secrets.
        return Outcome(quality=0.0, latency_s=time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - started
    answer = response.content or ""
    return Outcome(
        quality=float(grader(ex, answer)),
        cost=response.cost,
        input_tokens=response.usage.prompt_tokens,
        output_tokens=response.usage.completion_tokens,
        latency_s=elapsed,
        response=answer,
    )
