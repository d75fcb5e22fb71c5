"""A user-written scoring policy for the evaluation tests: long prompts go to the strong model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmroute import Model, Request, Verdict


class LengthScore:
    """Scores a prompt by its length (characters / scale, at most 1); score >= threshold goes to ``strong``."""

    name = "length"

    def __init__(self, threshold: float = 0.5, strong: str = "strong", weak: str = "weak", scale: float = 100.0) -> None:
        self.threshold = threshold
        self.strong = strong
        self.weak = weak
        self.scale = scale

    def score(self, messages: Sequence[Any]) -> float:
        text = " ".join(str(m.get("content", "")) for m in messages)
        return min(1.0, len(text) / self.scale)

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        s = self.score(request.messages)
        first = self.strong if s >= self.threshold else self.weak
        order = sorted(candidates, key=lambda m: m.name != first)
        return Verdict.keep_all(order, reason=f"score {s:.2f} -> {first}")
