"""The pure part of a cascade: the order of its steps, the verdict on each answer, how it ended.

No I/O here: :mod:`.run` executes it in the router's four call styles. The router's own plan
(:class:`llmroute._plan.AttemptPlan`) still books every step and re-checks every hard
constraint (privacy, budgets counting what earlier steps spent, context windows, open circuits)
before each escalation; this module only decides *whether* to escalate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, NoEligibleModelError
from .checks import Answer, Judge, as_checks, check_name

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Generator

    from .._plan import AttemptPlan, PlanSettings, Step
    from .._types import Attempt, Decision, Model, Request, Response, StreamChunk
    from ..router import Router, _Call

__all__ = ["Cascade", "CascadeResult", "CascadeStep", "Verdict"]

_ESCALATE_NOTE = (
    "The answer above was checked and not accepted. Answer the original request again, correcting it where it is wrong."
)


@dataclass(frozen=True, slots=True)
class CascadeStep:
    """One answered step: its model, answer, each check's score, the combined score and verdict.

    ``score`` is None for a step that was not checked (the last one: nothing to escalate to).
    ``attempt`` indexes ``Response.attempts``; ``cost`` is that attempt's USD (a judge's cost is
    its own attempt's, in ``Response.attempts`` and in :attr:`CascadeResult.cost`).
    """

    model: str
    content: str | None
    score: float | None
    accepted: bool
    checks: Mapping[str, float | None] = field(default_factory=dict)
    cost: float | None = None
    attempt: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """A cascade's steps, the one that served, whether a check accepted it, and why it stopped
    short of an accepted answer (``stopped``: the last step, or the models left and why they
    may not be asked — privacy, budget, open circuits, ``max_steps``)."""

    steps: tuple[CascadeStep, ...]
    served: str
    accepted: bool
    stopped: str | None = None
    cost: float | None = None  # USD of every attempt of the call, judges included; None if any is unknown


@dataclass(frozen=True, slots=True)
class Verdict:
    score: float
    checks: Mapping[str, float | None]
    accepted: bool


class Cascade:
    """Ask the cheapest allowed model first, check its answer, escalate only when the check fails.

    ``accept``: one check or several (``(request, answer) -> bool | float | None``; built-ins in
    :mod:`llmroute.cascade.checks`), combined by ``combine`` ("min": every check must pass;
    "mean") and compared with ``threshold``. ``order``: "cheapest" (the decision's candidates
    by estimated cost, the decision's rank breaking ties) or a list of model names (candidates
    not in it are left out). ``context``: "previous" shows the next model the rejected answer
    (only a model that sees the request unredacted), "none" asks it afresh. ``max_steps``
    bounds the answered steps (judges not counted).
    """

    def __init__(
        self,
        accept: object,
        *,
        threshold: float = 0.5,
        combine: Literal["min", "mean"] = "min",
        order: Literal["cheapest"] | Sequence[str] = "cheapest",
        context: Literal["none", "previous"] = "none",
        max_steps: int | None = None,
    ) -> None:
        self.checks = as_checks(accept)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ConfigError(f"must be a number in [0, 1], got {threshold!r}", path="cascade.threshold")
        if combine not in ("min", "mean"):
            raise ConfigError(f"must be 'min' or 'mean', got {combine!r}", path="cascade.combine")
        if context not in ("none", "previous"):
            raise ConfigError(f"must be 'none' or 'previous', got {context!r}", path="cascade.context")
        if order != "cheapest":
            if isinstance(order, str) or not order or not all(isinstance(n, str) for n in order):
                raise ConfigError(f"must be 'cheapest' or a list of model names, got {order!r}", path="cascade.order")
            if len(set(order)) != len(order):
                raise ConfigError("names a model twice", path="cascade.order")
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ConfigError(f"must be a whole number >= 1, got {max_steps!r}", path="cascade.max_steps")
        self.threshold = float(threshold)
        self.combine = combine
        self.order_by = order if order == "cheapest" else tuple(order)
        self.context = context
        self.max_steps = max_steps
        names: list[str] = []
        for c in self.checks:
            name = check_name(c)
            names.append(name if name not in names else f"{name}#{len(names) + 1}")
        self.names = tuple(names)
        # cheap checks first: with "min", one that fails spares a judge's call
        self.ordered = tuple(sorted(zip(self.names, self.checks, strict=True), key=lambda nc: isinstance(nc[1], Judge)))
        self.judges = tuple(c for c in self.checks if isinstance(c, Judge))
        self.wants_logprobs = any(getattr(c, "wants_logprobs", False) for c in self.checks)

    def __repr__(self) -> str:
        return f"Cascade(accept={list(self.names)}, threshold={self.threshold}, order={self.order_by!r})"

    # -- the order of the steps (pure; the router's decide() calls it) ----------------------
    def order(self, request: Request, decision: Decision, by_name: Mapping[str, Model], settings: PlanSettings) -> Decision:
        """The decision with its candidates in cascade order (a pinned model stays alone)."""
        if decision.pinned:
            return decision
        from .._plan import _estimate_output, estimated_cost

        names = decision.candidates
        dropped = dict(decision.dropped)
        if self.order_by == "cheapest":
            costs = {n: estimated_cost(request, by_name[n], settings) for n in names}
            ranked = sorted(names, key=lambda n: (math.inf if costs[n] is None else costs[n], names.index(n)))
        else:
            ranked = [n for n in self.order_by if n in names]
            dropped.update({n: "cascade: not in its order" for n in names if n not in self.order_by})
            if not ranked:
                raise NoEligibleModelError("no model in the cascade's order may serve this request", reasons=dropped)
        if tuple(ranked) == names:
            return decision
        first = by_name[ranked[0]]
        return replace(
            decision,
            model=first.name,
            candidates=tuple(ranked),
            dropped=dropped,
            estimated_output_tokens=_estimate_output(request, first, settings),
            estimated_cost=estimated_cost(request, first, settings),
        )

    # -- the verdict on one answer ------------------------------------------------------
    def verdict(self, scores: Mapping[str, float | None]) -> Verdict:
        values = [0.0 if v is None else v for v in scores.values()]
        score = min(values) if self.combine == "min" else sum(values) / len(values)
        return Verdict(score, scores, score >= self.threshold)

    def score(self, check: object, request: Request, answer: Answer) -> float | None:
        """One check's score in [0, 1], or None; a check that raises fails the call clearly."""
        from ..errors import PolicyError

        try:
            raw = check(request, answer)  # type: ignore[operator]
        except Exception as exc:
            raise PolicyError(f"cascade check {check_name(check)!r} raised {type(exc).__name__}: {exc}") from exc
        if raw is None:
            return None
        if isinstance(raw, bool):
            return 1.0 if raw else 0.0
        if not isinstance(raw, (int, float)) or math.isnan(raw):
            raise PolicyError(f"cascade check {check_name(check)!r} returned {raw!r}; expected bool, a number or None")
        return min(max(float(raw), 0.0), 1.0)

    # -- running it: the loops live in .run ---------------------------------------------
    def complete(self, call: _Call) -> Response:
        from .run import complete

        return complete(self, call)

    async def acomplete(self, call: _Call) -> Response:
        from .run import acomplete

        return await acomplete(self, call)

    def stream(self, router: Router, call: _Call) -> Generator[StreamChunk, None, None]:
        from .run import stream

        return stream(self, router, call)

    def astream(self, router: Router, call: _Call) -> AsyncGenerator[StreamChunk, None]:
        from .run import astream

        return astream(self, router, call)


class Walk:
    """One call's cascade state: the answers so far and their verdicts; pure bookkeeping."""

    def __init__(self, cascade: Cascade, plan: AttemptPlan, scans: tuple[Callable[[Any], Any], ...] = ()) -> None:
        self.cascade = cascade
        self.plan = plan
        # the router's privacy scans: a previous answer is passed on only when they find nothing in
        # it (the decision was made on the request, not on what a model wrote)
        self.scans = scans
        self.answers: list[Answer] = []
        self.steps: list[CascadeStep] = []
        self.checking = True  # whether the step in flight will be checked (not the last one)

    def take(self, step: Step) -> str | None:
        """The plan handed out ``step``: why it is the last one that may be asked, or None."""
        final = self.final()
        self.checking = final is None
        return final

    def final(self) -> str | None:
        """Why the step just taken from the plan is the last one (nothing may follow it), or None."""
        limit = self.cascade.max_steps
        if limit is not None and len(self.steps) + 1 >= limit:
            return f"max_steps {limit} reached"
        ahead = self.plan.ahead()
        if any(why is None for _, why in ahead):
            return None
        if not ahead:
            return "last model of the cascade"
        return "no model left may be asked: " + "; ".join(f"{m.name}: {why}" for m, why in ahead)

    def request_for(self, step: Step, request: Request) -> Request:
        """The request for ``step``: log-probabilities asked where a check reads them; with
        ``context="previous"``, the rejected answer and a note appended (never to a redacted copy)."""
        params: dict[str, Any] | None = None
        if self.checking and self.cascade.wants_logprobs and getattr(step.model.adapter, "logprobs", True) is not False:
            params = {**request.params, "logprobs": True}
        messages = request.messages
        last = self.answers[-1] if self.answers else None
        if (
            self.cascade.context == "previous"
            and last is not None
            and last.content
            and self.plan.restorer(step.model) is None
            and not self._sensitive(last.content)
        ):
            messages = (*messages, {"role": "assistant", "content": last.content}, {"role": "user", "content": _ESCALATE_NOTE})
        if params is None and messages is request.messages:
            return request
        return replace(request, messages=messages, params=request.params if params is None else params)

    def _sensitive(self, text: str) -> bool:
        message = [{"role": "assistant", "content": text}]
        try:
            return any(scan(message) for scan in self.scans)
        except Exception:  # a scan that fails cannot clear the text: fail closed
            return True

    def answer(
        self,
        model: str,
        content: str | None,
        logprobs: tuple[float, ...] | None,
        finish_reason: str | None,
        tool_calls: tuple[Mapping[str, Any], ...] | None = None,
    ) -> Answer:
        answer = Answer(model, content, logprobs, finish_reason, tuple(self.answers), tool_calls)
        self.answers.append(answer)
        return answer

    def judge_blocked(self, judge: Judge) -> str | None:
        """Why ``judge`` may not be asked about this request (privacy, budget, circuits), or None."""
        return self.plan.why_not(judge.model) or (
            "would need a redacted copy" if self.plan.restorer(judge.model) is not None else None
        )

    def booked(self, attempt: Attempt, answer: Answer, verdict: Verdict | None, note: str = "") -> CascadeStep:
        step = CascadeStep(
            answer.model,
            answer.content,
            None if verdict is None else verdict.score,
            verdict is not None and verdict.accepted,
            {} if verdict is None else dict(verdict.checks),
            attempt.cost,
            attempt.index,
            note,
        )
        self.steps.append(step)
        return step

    def best(self) -> CascadeStep | None:
        """The answer to serve when no step was accepted and none may follow: the best scored,
        the later one on a tie (a later model of the ladder)."""
        scored = [s for s in self.steps if s.content is not None]
        return max(reversed(scored), key=lambda s: -1.0 if s.score is None else s.score, default=None)

    def result(self, served: CascadeStep, stopped: str | None) -> CascadeResult:
        costs = [a.cost for a in self.plan.attempts if a.ok]
        total = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
        return CascadeResult(tuple(self.steps), served.model, served.accepted, stopped, total)
