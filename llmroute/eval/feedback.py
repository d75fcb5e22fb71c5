"""Learning from production: rate answered requests later, recorded in the evaluation dataset format.

    router = Router(models, policies, feedback=FeedbackLog("feedback.jsonl"))
    response = router.completion(messages)
    ...                                           # the user clicks thumbs-up, a test passes, ...
    router.feedback(response, 1.0)                # or router.feedback(response.request_id, 1.0)

Each rating becomes one :class:`~llmroute.eval.dataset.Example` (id = the request id, the
request's messages, one outcome for the model that answered) appended to the sink, so the file
loads with ``load_dataset`` and feeds ``llmroute eval --fit`` (:func:`llmroute.eval.refit.refit`).

To rate a request later the router keeps what it needs of each answered request in memory (its
messages and routing parameters) until it is rated or ``keep`` newer ones push it out. It does
so only when feedback is switched on. A request where the privacy policy fired is never kept:
its messages are dropped when it is answered, and rating it records nothing (``feedback``
returns None) - the dataset format needs the text, and that text must not be written.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Attempt, Decision, Message, Request, Response, StreamChunk
from .._validate import number_problem
from ..errors import ConfigError, InvalidRequestError
from ..observability.facts import privacy_fired
from .dataset import Dataset, Example, Outcome, append_example, load_dataset

__all__ = ["Feedback", "FeedbackError", "FeedbackLog", "FeedbackSink"]

_log = logging.getLogger("llmroute")

FeedbackSink = Callable[[Example], object]
"""Where ratings go: any callable taking an Example (a :class:`FeedbackLog`, a queue's put, ...)."""

# The request parameters that change a routing decision, kept so a replay decides as production did.
_ROUTING_PARAMS = ("max_tokens", "max_completion_tokens", "response_format", "tools")


class FeedbackError(InvalidRequestError):
    """A rating that cannot be recorded (unknown request id, quality out of range); nothing was written."""


class FeedbackLog:
    """A JSONL feedback sink: one :class:`Example` a line, appended and flushed as it comes.

    Lines from several threads never interleave. ``load()`` reads the file back as a Dataset.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise ConfigError(f"a feedback log is a .jsonl file, got {self.path.name!r}", path="feedback")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FeedbackLog({str(self.path)!r})"

    def __call__(self, example: Example) -> None:
        with self._lock:
            append_example(self.path, example)

    def load(self) -> Dataset:
        return load_dataset(self.path)


@dataclass(frozen=True, slots=True)
class _Answered:
    """What the router kept of one answered request until it is rated."""

    messages: tuple[Message, ...] | None  # None: the privacy policy fired, nothing kept
    params: Mapping[str, Any]
    attempt: Attempt
    chosen: str
    scores: Mapping[str, float]
    at: float


class Feedback:
    """The router's memory of answered requests, and where their ratings go.

    ``sink`` receives each rated request (default: none, so every ``router.feedback`` call names
    one). ``keep`` bounds how many unrated requests are remembered; the oldest go first.
    """

    def __init__(self, sink: FeedbackSink | None = None, *, keep: int = 10_000) -> None:
        problem = number_problem(keep, minimum=0, exclusive_minimum=True, integer=True)
        if problem:
            raise ConfigError(f"{problem}, got {keep!r}", path="feedback.keep")
        if sink is not None and not callable(sink):
            raise ConfigError(f"a sink is a FeedbackLog or a callable taking an Example, got {type(sink).__name__}", path="feedback.sink")
        self.sink = sink
        self.keep = keep
        self._answered: OrderedDict[str, _Answered] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Feedback(sink={self.sink!r}, keep={self.keep}, waiting={len(self._answered)})"

    @classmethod
    def coerce(cls, value: Feedback | FeedbackSink | str | os.PathLike[str] | bool) -> Feedback:
        """What ``Router(feedback=...)`` accepts: a Feedback, a sink, a .jsonl path, or True (no default sink)."""
        if isinstance(value, Feedback):
            return value
        if value is True:
            return cls()
        if isinstance(value, (str, os.PathLike)):
            return cls(FeedbackLog(value))
        if callable(value):
            return cls(value)
        raise ConfigError(f"must be a Feedback, a FeedbackLog, a callable, a .jsonl path or True, got {type(value).__name__}", path="feedback")

    def remember(self, request: Request, decision: Decision, attempt: Attempt) -> None:
        """Keep an answered request until it is rated (its messages only if no privacy rule fired)."""
        private = privacy_fired(decision.constraints)
        scores = {
            v.policy: float(v.data["score"]) for v in decision.verdicts if isinstance(v.data.get("score"), (int, float))
        }
        params: dict[str, Any] = {k: request.params[k] for k in _ROUTING_PARAMS if k in request.params}
        if request.classification is not None:
            params["classification"] = request.classification
        kept = _Answered(None if private else request.messages, params, attempt, decision.model, scores, time.time())
        with self._lock:
            self._answered[request.id] = kept
            while len(self._answered) > self.keep:
                self._answered.popitem(last=False)

    def record(
        self,
        response: Response | StreamChunk | str,
        quality: float,
        *,
        metadata: Mapping[str, Any] | None = None,
        sink: FeedbackSink | None = None,
    ) -> Example | None:
        """Write the rating of one answered request to ``sink`` (default: this Feedback's sink).

        Returns the Example written, or None for a request where the privacy policy fired
        (nothing is written). Raises :class:`FeedbackError` before writing anything when the
        quality is not in [0, 1], the id is unknown (never answered here, already rated, or
        pushed out by ``keep`` newer requests), or there is no sink.
        """
        problem = number_problem(quality, minimum=0, maximum=1)
        if problem:
            raise FeedbackError(f"feedback quality {problem}, got {quality!r}")
        request_id = response if isinstance(response, str) else getattr(response, "request_id", None)
        if not isinstance(request_id, str):
            raise FeedbackError(
                f"feedback needs a Response, the last StreamChunk or a request id, got {type(response).__name__}"
                + (" without a request_id" if request_id is None and not isinstance(response, str) else "")
            )
        target = sink if sink is not None else self.sink
        if target is None:
            raise FeedbackError("no feedback sink: pass sink=FeedbackLog(path), or build the Router with feedback=FeedbackLog(path)")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise FeedbackError(f"feedback metadata must be a mapping, got {type(metadata).__name__}")
        with self._lock:
            kept = self._answered.pop(request_id, None)
        if kept is None:
            raise FeedbackError(
                f"no answered request {request_id!r} waiting for feedback: unknown to this router, already rated, "
                f"or one of more than {self.keep} newer requests pushed it out"
            )
        if kept.messages is None:
            _log.info("feedback for %s not recorded: the privacy policy fired on that request", request_id)
            return None
        example = _example(request_id, kept, float(quality), metadata or {})
        target(example)
        return example


def _example(request_id: str, kept: _Answered, quality: float, extra: Mapping[str, Any]) -> Example:
    attempt = kept.attempt
    usage = attempt.usage
    outcome = Outcome(
        quality=quality,
        cost=attempt.cost,
        input_tokens=usage.prompt_tokens if usage is not None else None,
        output_tokens=usage.completion_tokens if usage is not None else None,
        latency_s=round(attempt.elapsed_s, 6),
    )
    metadata: dict[str, Any] = {
        "source": "feedback",
        "answered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(kept.at)),
        "chosen": kept.chosen,
    }
    if attempt.fallback or attempt.retry:
        metadata["fallback"] = attempt.fallback
    if kept.scores:
        metadata["scores"] = dict(kept.scores)
    metadata.update(extra)
    assert kept.messages is not None
    return Example(id=request_id, messages=kept.messages, outcomes={attempt.model: outcome}, params=dict(kept.params), metadata=metadata)
