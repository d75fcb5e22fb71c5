"""The checks a cascade puts each answer through: ``check(request, answer) -> bool | float | None``.

A check returns a score in [0, 1] (True/False count as 1/0), or None when it has no signal (no
log-probabilities returned, no earlier answer to agree with, a judge that may not be asked):
None counts as 0, so a check without a signal escalates rather than accepts. The same checks
run online (``Router(cascade=...)``) and offline (:mod:`llmroute.eval.cascade`) on recorded
answers, except :class:`Judge`, which calls a model and so runs only online.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from .._types import Message, Model, Request

__all__ = ["Agreement", "Answer", "Check", "Confidence", "Judge", "Valid", "check_name", "normalise"]


@dataclass(frozen=True, slots=True)
class Answer:
    """One step's answer as a check sees it; ``previous`` are the call's earlier answers, oldest first."""

    model: str
    content: str | None
    logprobs: tuple[float, ...] | None = None
    finish_reason: str | None = "stop"
    previous: tuple[Answer, ...] = ()
    tool_calls: tuple[Mapping[str, Any], ...] | None = None  # the step's tool calls, as the reply gave them


Check = Callable[["Request", Answer], "bool | float | None"]


def check_name(check: object) -> str:
    """The name a check shows in a cascade's steps and traces."""
    name = getattr(check, "name", None) or getattr(check, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else type(check).__name__.lower()


class Confidence:
    """The answer's mean token probability: exp(mean log-probability) of its generated tokens.

    Needs an adapter that returns log-probabilities (llama.cpp built with ``logprobs=True``, most
    OpenAI-compatible servers); the cascade asks for them on each step it checks. ``tail``
    scores only the last N tokens (the answer after a preamble), None all of them.
    """

    name = "confidence"
    wants_logprobs = True

    def __init__(self, *, tail: int | None = None) -> None:
        if tail is not None and (not isinstance(tail, int) or tail < 1):
            raise ConfigError(f"must be a whole number >= 1, got {tail!r}", path="cascade.confidence.tail")
        self.tail = tail

    def __call__(self, request: Request, answer: Answer) -> float | None:
        values = answer.logprobs
        if not values:
            return None
        if self.tail is not None:
            values = values[-self.tail:]
        return math.exp(sum(values) / len(values))


_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT = str.maketrans({c: " " for c in string.punctuation})
_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is)?\s*[:\-]?\s*", re.I)


def normalise(text: str) -> list[str]:
    """Words of an answer for comparing: lower case, no punctuation, no articles, no "Answer:"."""
    words = _PREFIX.sub("", text.strip()).lower().translate(_PUNCT).split()
    kept = [w for w in words if w not in _ARTICLES]
    return kept or words


class Agreement:
    """Agreement of this answer with the previous step's: two cheap answers that agree are trusted.

    Short answers (both at most ``short_words`` words once normalised) score 1 when they match
    exactly after :func:`normalise`, else 0; longer ones score the Dice overlap of their word
    counts (0..1). None on a call's first answer: with nothing to agree with, it escalates.
    """

    name = "agreement"

    def __init__(self, *, short_words: int = 8) -> None:
        if not isinstance(short_words, int) or short_words < 1:
            raise ConfigError(f"must be a whole number >= 1, got {short_words!r}", path="cascade.agreement.short_words")
        self.short_words = short_words

    def __call__(self, request: Request, answer: Answer) -> float | None:
        earlier = [a for a in answer.previous if a.content is not None]
        if answer.content is None or not earlier:
            return None
        return self.similarity(earlier[-1].content or "", answer.content)

    def similarity(self, first: str, second: str) -> float:
        a, b = normalise(first), normalise(second)
        if not a and not b:
            return 1.0
        if len(a) <= self.short_words and len(b) <= self.short_words:
            return 1.0 if a == b else 0.0
        overlap = sum((Counter(a) & Counter(b)).values())
        return 2 * overlap / (len(a) + len(b))


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.S)


class Valid:
    """1 when the answer parses as the caller asked, else 0: JSON (optionally against a JSON
    schema, with the ``jsonschema`` package) and/or a regular expression the stripped answer
    must match in full. A fenced code block around JSON is allowed."""

    name = "valid"

    def __init__(
        self, *, json_schema: Mapping[str, Any] | None = None, json: bool = False, pattern: str | None = None
    ) -> None:
        if json_schema is None and not json and pattern is None:
            raise ConfigError("give json=True, json_schema= or pattern=", path="cascade.valid")
        self.json = json or json_schema is not None
        self._validator: Any = None
        if json_schema is not None:
            try:
                import jsonschema
            except ImportError:
                raise MissingDependencyError("checking a JSON schema needs jsonschema: pip install 'llmroute[cascade]'") from None
            try:
                cls = jsonschema.validators.validator_for(json_schema)
                cls.check_schema(json_schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"not a valid JSON schema: {exc.message}", path="cascade.valid.json_schema") from None
            self._validator = cls(json_schema)
        try:
            self.pattern = None if pattern is None else re.compile(pattern, re.S)
        except re.error as exc:
            raise ConfigError(f"not a valid regular expression: {exc}", path="cascade.valid.pattern") from None

    def __call__(self, request: Request, answer: Answer) -> float:
        text = (answer.content or "").strip()
        if self.pattern is not None and self.pattern.fullmatch(text) is None:
            return 0.0
        if self.json:
            fenced = _FENCE.match(text)
            try:
                value = json.loads(fenced.group(1) if fenced else text)
            except ValueError:
                return 0.0
            if self._validator is not None and not self._validator.is_valid(value):
                return 0.0
        return 1.0


JUDGE_PROMPT = (
    "You are grading an answer to a user's request. Reply with one number from 0 to 10 and nothing else: "
    "10 means correct and complete, 0 means wrong or useless.\n\n"
    "## Request\n{request}\n\n## Answer\n{answer}\n\n## Grade (0-10)"
)
_NUMBER = re.compile(r"\b(10|[0-9](?:\.[0-9]+)?)\b")


@dataclass(frozen=True)
class Judge:
    """A judge model grades the answer (0-10 -> 0..1; "yes"/"no" -> 1/0; anything else: None).

    The cascade asks it as a step of its own: booked, priced, counted in budgets and traced
    like any attempt. It is asked only when it may see the request as it is: a judge that the
    request's constraints rule out, or that would need a redacted copy, is not asked (None).
    ``prompt`` has ``{request}`` and ``{answer}`` slots.
    """

    model: Model
    prompt: str = JUDGE_PROMPT
    max_tokens: int = 8
    params: Mapping[str, Any] = field(default_factory=lambda: {"temperature": 0})
    name: str = "judge"
    kind: Literal["judge"] = "judge"

    def __post_init__(self) -> None:
        from .._types import Model

        if not isinstance(self.model, Model):
            raise ConfigError(f"must be a llmroute.Model, got {type(self.model).__name__}", path="cascade.judge.model")
        if "{request}" not in self.prompt or "{answer}" not in self.prompt:
            raise ConfigError("needs {request} and {answer} in it", path="cascade.judge.prompt")

    def messages(self, request: Request, answer: Answer) -> tuple[Message, ...]:
        text = self.prompt.replace("{request}", request.text).replace("{answer}", answer.content or "")
        return ({"role": "user", "content": text},)

    def parse(self, text: str | None) -> float | None:
        """The grade in a judge's reply."""
        if not text:
            return None
        found = _NUMBER.search(text)
        if found is not None:
            return min(float(found.group(1)), 10.0) / 10.0
        word = text.strip().lower()
        if word.startswith("yes"):
            return 1.0
        if word.startswith("no"):
            return 0.0
        return None


def as_checks(accept: object) -> tuple[object, ...]:
    """``accept`` as a tuple of checks: one callable, or several."""
    checks: Sequence[object] = accept if isinstance(accept, (list, tuple)) else (accept,)
    if not checks:
        raise ConfigError("give at least one check", path="cascade.accept")
    for i, check in enumerate(checks):
        if not callable(check) and not isinstance(check, Judge):
            raise ConfigError(f"must be callable (request, answer) -> bool | float, got {type(check).__name__}", path=f"cascade.accept[{i}]")
    return tuple(checks)
