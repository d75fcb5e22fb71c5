"""The pure part of routing: the Decision, and the attempt plan the router's loops execute.

Nothing here does I/O, so the sync and async loops share every rule. The plan is also the one
bookkeeper of a call: ``succeeded``/``failed`` book an attempt's outcome (breakers included)
and return the :class:`~llmroute.Attempt`, with its usage and cost, that traces, audit and
stateful policies are then given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from ._types import Attempt, Constraint, Decision, Model, Redacted, Request, Usage, Verdict
from .errors import (
    AllAttemptsFailedError,
    BadRequestError,
    CircuitOpenError,
    ContentFilterError,
    ContextWindowExceededError,
    LLMRouteError,
    NoEligibleModelError,
    PolicyError,
    ProviderError,
)
from .policies.base import Policy
from .pricing import cost_of
from .reliability import CircuitBreakers, RetryPolicy

__all__ = ["AttemptPlan", "PlanSettings", "Step", "decide"]


@dataclass(frozen=True, slots=True)
class PlanSettings:
    default_output_tokens: int = 256
    fallback: bool = True
    max_attempts: int | None = None
    fallback_on_content_filter: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _estimate_output(request: Request, model: Model, settings: PlanSettings) -> int:
    wanted = request.output_tokens
    return min(wanted, model.max_output_tokens) if model.max_output_tokens else wanted


def estimated_cost(request: Request, model: Model, settings: PlanSettings) -> float | None:
    """USD this request is expected to cost on ``model``; None when its price is unknown."""
    return cost_of(model, request.input_tokens, _estimate_output(request, model, settings))


def _detectors(constraints: Sequence[Constraint]) -> tuple[str, ...]:
    found: list[str] = []
    for c in constraints:
        for name in c.data.get("detectors", ()):
            if name not in found:
                found.append(name)
    return tuple(found)


def _checked(verdict: object, name: str, names: AbstractSet[str]) -> Verdict:
    """The policy's verdict with its name set; candidates (``names``) it neither kept nor
    dropped count as dropped."""
    if not isinstance(verdict, Verdict):
        raise PolicyError(f"policy {name!r} returned {type(verdict).__name__}, expected Verdict")
    keep = tuple(verdict.keep)
    kept = set(keep)
    if len(kept) != len(keep) or not kept <= names:
        stray = sorted(kept - names) or ["a duplicate"]
        raise PolicyError(f"policy {name!r} kept {stray}, which were not candidates")
    dropped = verdict.dropped
    if not dropped.keys() <= names:
        raise PolicyError(f"policy {name!r} dropped {sorted(set(dropped) - names)}, which were not candidates")
    if len(kept) + len(dropped) != len(names) or kept & dropped.keys():
        dropped = {n: why for n, why in dropped.items() if n not in kept}
        for n in names - kept - dropped.keys():
            dropped[n] = "dropped without a reason"
    if verdict.policy and dropped is verdict.dropped and keep == verdict.keep:
        return verdict
    # Built directly: dataclasses.replace costs several microseconds on this hot path.
    return Verdict(keep, dropped, verdict.reason, verdict.constraints, verdict.data, verdict.policy or name)


def decide(
    request: Request,
    models: Sequence[Model],
    by_name: Mapping[str, Model],
    policies: Sequence[tuple[str, Policy]],
    settings: PlanSettings,
) -> Decision:
    """Run the policies in order, then the hard constraints; rank what is left."""
    pinned = request.model
    if pinned is not None and pinned not in by_name:
        close = [n for n in by_name if n.lower() == pinned.lower()]
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {sorted(by_name)}"
        from .errors import InvalidRequestError

        raise InvalidRequestError(f"model: unknown model {pinned!r}{hint}")

    candidates: tuple[Model, ...] = tuple(models)
    # the candidates' names: every model's at first (by_name's keys), then what each policy kept
    names: AbstractSet[str] = by_name.keys() if len(by_name) == len(candidates) else {m.name for m in candidates}
    verdicts: list[Verdict] = []
    constraints: list[Constraint] = []
    dropped: dict[str, str] = {}
    for name, policy in policies:
        try:
            raw = policy(request, candidates)
        except LLMRouteError:
            raise
        except Exception as exc:
            raise PolicyError(f"policy {name!r} raised {type(exc).__name__}: {exc}") from exc
        verdict = _checked(raw, name, names)
        verdicts.append(verdict)
        constraints.extend(verdict.constraints)
        for model_name, why in verdict.dropped.items():
            dropped[model_name] = f"{name}: {why}"
        candidates = tuple(map(by_name.__getitem__, verdict.keep))
        names = set(verdict.keep)
        if not candidates and pinned is None:
            break

    if pinned is not None:
        # A pin overrides preferences, never hard constraints.
        candidates = (by_name[pinned],)
        dropped = {}

    ranked: list[Model] = []
    if not constraints:
        ranked = list(candidates)
    priced = any(c.max_cost is not None for c in constraints)  # else no constraint reads the cost
    for model in candidates if constraints else ():
        cost = estimated_cost(request, model, settings) if priced else None
        violation = None
        for c in constraints:
            violation = c.violation(model, cost)
            if violation is not None:
                break
        if violation is None:
            ranked.append(model)
        else:
            dropped[model.name] = violation

    if not ranked:
        what = f"pinned model {pinned!r} may not serve this request" if pinned else "no model may serve this request"
        raise NoEligibleModelError(
            what, reasons=dropped, verdicts=verdicts, detectors=_detectors(constraints)
        )
    chosen = ranked[0]
    return Decision(
        model=chosen.name,
        candidates=tuple(m.name for m in ranked),
        verdicts=tuple(verdicts),
        constraints=tuple(constraints),
        estimated_input_tokens=request.input_tokens,
        estimated_output_tokens=_estimate_output(request, chosen, settings),
        estimated_cost=estimated_cost(request, chosen, settings),
        pinned=pinned is not None,
        dropped=dropped,
    )


@dataclass(frozen=True, slots=True)
class Step:
    """The next attempt: which model, after how long a pause, within how many seconds (None: no
    request deadline), its index among the call's attempts, whether it retries the model just
    tried, and whether it falls back from the chosen model."""

    model: Model
    delay_s: float = 0.0
    timeout_s: float | None = None
    retry: bool = False
    index: int = 0
    fallback: bool = False


class AttemptPlan:
    """Walks a Decision's ranked candidates; re-checks every constraint before each attempt.

    A transient failure retries the same model (``RetryPolicy``: bounded tries, backoff, honoured
    Retry-After) before falling back to the next candidate; a model whose circuit is open is
    skipped with the reason recorded; a request deadline bounds the whole walk. Bounded (each
    candidate visited once, each at most ``attempts_per_model`` times) and acyclic by construction.
    Raises CircuitOpenError when it is built and every candidate's circuit is open.
    """

    def __init__(
        self,
        request: Request,
        decision: Decision,
        by_name: Mapping[str, Model],
        settings: PlanSettings,
        *,
        breakers: CircuitBreakers | None = None,
        clock: Callable[[], float] = time.monotonic,
        hold: Callable[[Model], str | None] | None = None,
    ) -> None:
        self.request = request
        self.settings = settings
        self.retry = settings.retry
        self._breakers = breakers
        self._hold = hold  # stateful policies' per-attempt holds (budgets growing for a fallback)
        self._clock = clock
        self._deadline = None if self.retry.deadline_s is None else clock() + self.retry.deadline_s
        self._queue = [by_name[n] for n in decision.candidates]
        self._index = 0
        self._stopped = False
        self._min_context: int | None = None
        self._current: Model | None = None
        self._tries = 0  # tries of the current model
        self._retry_in: float | None = None  # wait before retrying the current model, when allowed
        self._deadline_hit = False
        self.attempts: list[Attempt] = []
        self.skipped: dict[str, str] = {}
        # redacted copies of the messages, by the constraints that call for them, made once
        self._redactions: dict[tuple[int, ...], tuple[Redacted, ...] | str] = {}
        self._redacting = any(c.redact is not None for c in decision.constraints)
        self.decision = self._without_open(decision, by_name) if breakers is not None else decision

    def _without_open(self, decision: Decision, by_name: Mapping[str, Model]) -> Decision:
        """The Decision with open-circuit models moved to ``dropped``, the reason a person reads."""
        assert self._breakers is not None
        blocked = self._breakers.blocked_many(decision.candidates)
        if not blocked:
            return decision
        if len(blocked) == len(decision.candidates):
            raise CircuitOpenError(
                "every model that may serve this request has an open circuit; not calling any", reasons=blocked
            )
        self._queue = [m for m in self._queue if m.name not in blocked]
        chosen = self._queue[0]
        return replace(
            decision,
            model=chosen.name,
            candidates=tuple(m.name for m in self._queue),
            dropped={**decision.dropped, **blocked},
            estimated_output_tokens=_estimate_output(self.request, chosen, self.settings),
            estimated_cost=estimated_cost(self.request, chosen, self.settings),
        )

    def remaining_s(self) -> float | None:
        """Seconds left before the request's deadline; None when it has none."""
        return None if self._deadline is None else self._deadline - self._clock()

    def next(self) -> Step | None:
        """The next attempt, or None when the plan is spent."""
        limit = self.settings.max_attempts
        if self._stopped or (limit is not None and len(self.attempts) >= limit):
            return None
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            self._deadline_hit = True
            return None
        model, delay, self._retry_in = self._current, self._retry_in, None
        if model is not None and delay is not None:
            if remaining is not None and delay >= remaining:
                self._deadline_hit = True  # no time left to wait for this model; try the next
            elif (why := self._violation(model) or self._held(model) or self._claim(model)) is None:
                self._tries += 1
                timeout = None if remaining is None else remaining - delay
                return self._step(model, delay, timeout, retry=True)
            else:
                self.skipped[model.name] = why
        if self.attempts and not self.settings.fallback:
            return None
        while self._index < len(self._queue):
            model = self._queue[self._index]
            self._index += 1
            why = self._violation(model) or self._held(model) or self._claim(model)
            if why is None:
                self._current, self._tries = model, 1
                return self._step(model, 0.0, remaining, retry=False)
            self.skipped[model.name] = why
        return None

    def _step(self, model: Model, delay: float, timeout: float | None, *, retry: bool) -> Step:
        fallback = model.name != self.decision.model
        return Step(model, delay, timeout, retry, len(self.attempts), fallback)

    def request_for(self, step: Step) -> Request:
        """The request to send for ``step``: redacted where a constraint says so; with a deadline,
        its ``timeout`` is the time left."""
        request = self.request
        chain = self._redacted(step.model)
        if chain:
            assert not isinstance(chain, str)  # next() never yields a model that cannot be redacted
            request = replace(request, messages=tuple(chain[-1].messages))
        if step.timeout_s is None:
            return request
        own = request.params.get("timeout")
        timeout = step.timeout_s if not isinstance(own, (int, float)) else min(own, step.timeout_s)
        return replace(request, params={**request.params, "timeout": max(timeout, 0.001)})

    def restore(self, model: Model, text: str | None, before: str = "") -> str | None:
        """A reply from ``model`` with any redaction placeholders turned back into the values
        (in plain text only: see ``Redaction.restore``); ``before`` is the reply so far, when
        ``text`` is a piece of a stream."""
        chain = self._redacted(model)
        for redaction in reversed(chain if isinstance(chain, tuple) else ()):
            text = redaction.restore(text, before)
        return text

    def restorer(self, model: Model) -> Callable[[str | None, str], str | None] | None:
        """``restore`` for ``model``, or None when it sees the request as it is."""
        if not self._redacted(model):
            return None

        def restore(text: str | None, before: str = "") -> str | None:
            return self.restore(model, text, before)

        return restore

    def _redacted(self, model: Model) -> tuple[Redacted, ...] | str:
        """The redactions ``model`` must see the request through, in order; or why it cannot."""
        if not self._redacting:  # the common case: no constraint redacts
            return ()
        needed = tuple(i for i, c in enumerate(self.decision.constraints) if c.redacts(model))
        if not needed:
            return ()
        found = self._redactions.get(needed)
        if found is None:
            chain: list[Redacted] = []
            messages = self.request.messages
            for i in needed:
                constraint = self.decision.constraints[i]
                assert constraint.redact is not None
                try:
                    chain.append(constraint.redact(messages))
                except Exception as exc:  # fail closed: no redacted copy, no model outside the hosting
                    found = f"{constraint.name}: {constraint.reason}; could not redact ({type(exc).__name__})"
                    break
                messages = tuple(chain[-1].messages)
            else:
                found = tuple(chain)
            self._redactions[needed] = found
        return found

    def _held(self, model: Model) -> str | None:
        return None if self._hold is None else self._hold(model)

    def _claim(self, model: Model) -> str | None:
        return None if self._breakers is None else self._breakers.acquire(model.name)

    def ahead(self) -> list[tuple[Model, str | None]]:
        """The candidates not tried yet, each with why it may not serve now (None: it may).
        Claims nothing: a cascade reads it to know whether a step can still escalate."""
        return [(model, self.why_not(model)) for model in self._queue[self._index:]]

    def why_not(self, model: Model) -> str | None:
        """Why ``model`` may not be called now (a constraint, an open circuit), or None."""
        return self._violation(model) or (self._breakers.blocked(model.name) if self._breakers else None)

    def _violation(self, model: Model) -> str | None:
        constraints = self.decision.constraints
        priced = any(c.max_cost is not None for c in constraints)
        cost = estimated_cost(self.request, model, self.settings) if priced else None
        if cost is not None and self.attempts:  # a cost cap holds for the whole call: every step counts
            cost += sum(a.cost or 0.0 for a in self.attempts)
        for c in constraints:
            why = c.violation(model, cost)
            if why:
                return why
        if self._min_context is not None and (model.context_window or 0) <= self._min_context:
            return f"context window {model.context_window} not larger than one that overflowed ({self._min_context})"
        chain = self._redacted(model)
        return chain if isinstance(chain, str) else None

    # -- the bookkeeping: every attempt's outcome is booked here, once ----------------------
    def succeeded(self, step: Step, elapsed_s: float, usage: Usage) -> Attempt:
        """Book ``step`` as answered; the returned Attempt carries its usage and cost."""
        attempt = self._book(step, None, elapsed_s, usage)
        if self._breakers is not None:
            self._breakers.record(step.model.name, None)
        return attempt

    def failed(self, step: Step, error: LLMRouteError, elapsed_s: float, usage: Usage | None = None) -> Attempt:
        """Book ``step`` as failed (``usage``: what a broken stream had generated) and decide what
        comes next: retry the model, fall back, or stop."""
        model = step.model
        if isinstance(error, ProviderError) and error.model is None:
            error.model = model.name
        attempt = self._book(step, error, elapsed_s, usage)
        if self._breakers is not None:
            self._breakers.record(model.name, error)
        if isinstance(error, BadRequestError) or not isinstance(error, ProviderError):
            self._stopped = True
        elif isinstance(error, ContentFilterError) and not self.settings.fallback_on_content_filter:
            self._stopped = True
        elif isinstance(error, ContextWindowExceededError) and model.context_window:
            self._min_context = max(self._min_context or 0, model.context_window)
        elif model is self._current:
            self._retry_in = self.retry.delay(self._tries, error)
        return attempt

    def _book(self, step: Step, error: LLMRouteError | None, elapsed_s: float, usage: Usage | None) -> Attempt:
        model = step.model
        cost = None if usage is None else cost_of(model, usage.prompt_tokens, usage.completion_tokens)
        attempt = Attempt(
            model.name, error, elapsed_s, usage, bool(self._redacted(model)), cost, step.index, step.retry, step.fallback
        )
        self.attempts.append(attempt)
        return attempt

    def exhausted(self) -> LLMRouteError:
        """The error to raise when no step is left."""
        errors = [a.error for a in self.attempts if a.error is not None]
        if not errors:
            if self.skipped and all(why.startswith("circuit") for why in self.skipped.values()):
                return CircuitOpenError("every allowed model has an open circuit; not calling any", reasons=self.skipped)
            return NoEligibleModelError(
                "no model may serve this request", reasons=self.skipped, detectors=_detectors(self.decision.constraints)
            )
        names = ", ".join(a.model for a in self.attempts)
        why = f"; deadline of {self.retry.deadline_s:g} s reached" if self._deadline_hit else ""
        return AllAttemptsFailedError(f"all {len(errors)} attempts failed ({names}){why}", errors, self.attempts, self.decision)
