"""A cascade's thin loops, one per call style, over the router's plan and its one bookkeeper.

Each step is taken from the router's plan (``call.next()``: constraints, budgets, circuits,
retries and the deadline are re-checked there), sent, and booked (``call.succeeded`` /
``call.failed``: spans, budgets and other stateful policies see it). A step that may still
escalate is asked without streaming and checked; the last one that may be asked is not checked
(nothing could follow it) and, in the stream styles, streams live through the router's loop.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._plan import Step
from .._types import (
    Attempt,
    Choice,
    ChunkChoice,
    Completion,
    Delta,
    Request,
    Response,
    ResponseMessage,
    StreamChunk,
)
from ..errors import LLMRouteError
from ..router import _bounded, _new_id, _sleep
from .checks import Answer, Judge
from .plan import CascadeResult, CascadeStep, Walk

if TYPE_CHECKING:
    from ..router import Router, _Call
    from .plan import Cascade, Verdict

__all__ = ["acomplete", "astream", "complete", "stream"]


# -- shared by every style ----------------------------------------------------------------
def _start(cascade: Cascade, call: _Call) -> Walk:
    scans: tuple[Any, ...] = ()
    if cascade.context == "previous" and "llmroute.policies.privacy" in sys.modules:
        from ..policies.privacy import Privacy

        scans = tuple(p.scan for p in call._router.policies if isinstance(p, Privacy))
    walk = Walk(cascade, call.plan, scans)
    call.shape = walk.request_for
    return walk


def _book(call: _Call, walk: Walk, step: Step, result: Completion) -> tuple[Answer, Attempt]:
    content = call.plan.restore(step.model, result.content)
    attempt = call.succeeded(result.usage, content, result.finish_reason, result.response_id, result.response_model)
    return walk.answer(step.model.name, content, result.logprobs, result.finish_reason, result.tool_calls), attempt


def _judge_step(call: _Call, judge: Judge, request: Request, answer: Answer) -> tuple[Step, Request]:
    plan = call.plan
    step = Step(judge.model, 0.0, plan.remaining_s(), False, len(plan.attempts), True)
    begun = call.begin(step)
    params = {**judge.params, "max_tokens": judge.max_tokens}
    if "timeout" in begun.params:
        params["timeout"] = begun.params["timeout"]
    return step, replace(begun, messages=judge.messages(request, answer), params=params)


def _rejected(walk: Walk, scores: dict[str, float | None]) -> bool:
    return walk.cascade.combine == "min" and any((v or 0.0) < walk.cascade.threshold for v in scores.values())


def _checked(call: _Call, walk: Walk, attempt: Attempt, answer: Answer, verdict: Verdict) -> CascadeStep:
    done = walk.booked(attempt, answer, verdict)
    call.trace.cascade_step(done)
    return done


def _finish(call: _Call, walk: Walk, served: CascadeStep, stopped: str | None) -> CascadeResult:
    result = walk.result(served, stopped)
    if served.score is None:  # the unchecked last step; checked ones were traced when checked
        call.trace.cascade_step(served)
    call.trace.cascade_end(result)
    call.serve(served.content)
    return result


def _respond(call: _Call, walk: Walk, served: CascadeStep, completion: Completion, stopped: str | None) -> Response:
    result = _finish(call, walk, served, stopped)
    return Response(
        id=completion.response_id or _new_id(),
        model=served.model,
        choices=(Choice(ResponseMessage(served.content, tool_calls=completion.tool_calls), finish_reason=completion.finish_reason),),
        usage=completion.usage,
        decision=call.plan.decision,
        attempts=tuple(call.plan.attempts),
        cost=result.cost,
        cascade=result,
        request_id=call.request.id,
    )


def _ended(call: _Call, walk: Walk, completions: dict[int, Completion]) -> tuple[CascadeStep, Completion, str]:
    """The plan has no step left after a rejected answer: serve the best one, saying why; or
    raise when the last thing that happened was a failure (the escalation itself failed)."""
    attempts = call.plan.attempts
    best = walk.best()
    if best is None or (not attempts[-1].ok and attempts[-1].index > best.attempt):
        raise call.exhausted()
    skipped = call.plan.skipped
    why = "; ".join(f"{n}: {w}" for n, w in skipped.items()) if skipped else "no model left in the cascade"
    return best, completions[best.attempt], "no model left may be asked: " + why


def _chunks(call: _Call, walk: Walk, served: CascadeStep, completion: Completion, stopped: str | None) -> Iterator[StreamChunk]:
    """A buffered answer as a stream: its text in one chunk, then the closing chunk."""
    result = _finish(call, walk, served, stopped)
    chunk_id, decision = _new_id(), call.plan.decision
    if served.content or completion.tool_calls:  # tool calls go whole, each with its index, as one delta
        calls = tuple({"index": i, **c} for i, c in enumerate(completion.tool_calls or ())) or None
        delta = Delta(served.content or None if calls else served.content, "assistant", calls)
        yield StreamChunk(chunk_id, served.model, (ChunkChoice(delta),), decision, request_id=call.request.id)
    yield StreamChunk(
        chunk_id,
        served.model,
        (ChunkChoice(Delta(), finish_reason=completion.finish_reason or "stop"),),
        decision,
        usage=completion.usage,
        cost=result.cost,
        attempts=tuple(call.plan.attempts),
        cascade=result,
        request_id=call.request.id,
    )


def _tag(call: _Call, walk: Walk, chunk: StreamChunk, text: str, stopped: str) -> StreamChunk:
    """The live stream's closing chunk, with the cascade's result on it."""
    attempt = call.plan.attempts[-1]
    served = walk.booked(attempt, walk.answer(attempt.model, text, None, chunk.choices[0].finish_reason if chunk.choices else None), None, stopped)
    result = _finish(call, walk, served, stopped)
    return replace(chunk, cost=result.cost, cascade=result)


def _scores(walk: Walk, request: Request, answer: Answer) -> Iterator[tuple[str, object, dict[str, float | None]]]:
    """The checks still to run, with the scores so far (shared by both verdict loops)."""
    scores: dict[str, float | None] = {}
    for name, check in walk.cascade.ordered:
        if _rejected(walk, scores):
            return
        yield name, check, scores


# -- sync ---------------------------------------------------------------------------------
def _verdict(call: _Call, walk: Walk, answer: Answer) -> Verdict:
    scores: dict[str, float | None] = {}
    for name, check, scores in _scores(walk, call.request, answer):
        if isinstance(check, Judge):
            scores[name] = _judge(call, walk, check, call.request, answer)
        else:
            scores[name] = walk.cascade.score(check, call.request, answer)
    return walk.cascade.verdict(scores)


def _judge(call: _Call, walk: Walk, judge: Judge, request: Request, answer: Answer) -> float | None:
    if walk.judge_blocked(judge) is not None:
        return None
    _, judged = _judge_step(call, judge, request, answer)
    try:
        result = judge.model.adapter.complete(judged)
    except LLMRouteError as exc:
        call.failed(exc)
        return None
    call.succeeded(result.usage, result.content, result.finish_reason, result.response_id, result.response_model)
    return judge.parse(result.content)


def _ask(call: _Call, step: Step) -> Completion | None:
    """One attempt, booked as failed when it fails (None)."""
    if step.delay_s:
        time.sleep(step.delay_s)
    try:
        return step.model.adapter.complete(call.begin(step))
    except LLMRouteError as exc:
        call.failed(exc)
        return None


def _buffered(call: _Call, walk: Walk, step: Step, completions: dict[int, Completion]) -> tuple[CascadeStep, Completion] | None:
    """Ask one step that may still escalate, book and check it; None when it failed."""
    if (result := _ask(call, step)) is None:
        return None
    answer, attempt = _book(call, walk, step, result)
    completions[attempt.index] = result
    return _checked(call, walk, attempt, answer, _verdict(call, walk, answer)), result


def complete(cascade: Cascade, call: _Call) -> Response:
    walk, completions = _start(cascade, call), dict[int, Completion]()
    while (step := call.next()) is not None:
        final = walk.take(step)
        if final is None:
            done = _buffered(call, walk, step, completions)
            if done is not None and done[0].accepted:
                return _respond(call, walk, *done, None)
            continue
        if (result := _ask(call, step)) is None:
            continue
        answer, attempt = _book(call, walk, step, result)
        return _respond(call, walk, walk.booked(attempt, answer, None, final), result, final)
    return _respond(call, walk, *_ended(call, walk, completions))


def stream(cascade: Cascade, router: Router, call: _Call) -> Generator[StreamChunk, None, None]:
    with call:
        walk, completions = _start(cascade, call), dict[int, Completion]()
        while (step := call.next()) is not None:
            final = walk.take(step)
            if final is None:
                done = _buffered(call, walk, step, completions)
                if done is not None and done[0].accepted:
                    yield from _chunks(call, walk, *done, None)
                    return
                continue
            parts: list[str] = []
            live = router._stream(call, step)  # the last step streams live
            try:
                for chunk in live:
                    if chunk.attempts:
                        chunk = _tag(call, walk, chunk, "".join(parts), final)
                    parts.append(chunk.content)
                    yield chunk
            finally:
                live.close()
            return
        yield from _chunks(call, walk, *_ended(call, walk, completions))


# -- async --------------------------------------------------------------------------------
async def _averdict(call: _Call, walk: Walk, answer: Answer) -> Verdict:
    scores: dict[str, float | None] = {}
    for name, check, scores in _scores(walk, call.request, answer):
        if isinstance(check, Judge):
            scores[name] = await _ajudge(call, walk, check, call.request, answer)
        else:
            scores[name] = walk.cascade.score(check, call.request, answer)
    return walk.cascade.verdict(scores)


async def _ajudge(call: _Call, walk: Walk, judge: Judge, request: Request, answer: Answer) -> float | None:
    if walk.judge_blocked(judge) is not None:
        return None
    step, judged = _judge_step(call, judge, request, answer)
    try:
        result = await _bounded(judge.model.adapter.acomplete(judged), step.timeout_s)
    except LLMRouteError as exc:
        call.failed(exc)
        return None
    call.succeeded(result.usage, result.content, result.finish_reason, result.response_id, result.response_model)
    return judge.parse(result.content)


async def _aask(call: _Call, step: Step) -> Completion | None:
    if step.delay_s:
        await _sleep(step.delay_s)
    try:
        return await _bounded(step.model.adapter.acomplete(call.begin(step)), step.timeout_s)
    except LLMRouteError as exc:
        call.failed(exc)
        return None


async def _abuffered(call: _Call, walk: Walk, step: Step, completions: dict[int, Completion]) -> tuple[CascadeStep, Completion] | None:
    if (result := await _aask(call, step)) is None:
        return None
    answer, attempt = _book(call, walk, step, result)
    completions[attempt.index] = result
    return _checked(call, walk, attempt, answer, await _averdict(call, walk, answer)), result


async def acomplete(cascade: Cascade, call: _Call) -> Response:
    walk, completions = _start(cascade, call), dict[int, Completion]()
    while (step := call.next()) is not None:
        final = walk.take(step)
        if final is None:
            done = await _abuffered(call, walk, step, completions)
            if done is not None and done[0].accepted:
                return _respond(call, walk, *done, None)
            continue
        if (result := await _aask(call, step)) is None:
            continue
        answer, attempt = _book(call, walk, step, result)
        return _respond(call, walk, walk.booked(attempt, answer, None, final), result, final)
    return _respond(call, walk, *_ended(call, walk, completions))


async def astream(cascade: Cascade, router: Router, call: _Call) -> AsyncGenerator[StreamChunk, None]:
    with call:
        walk, completions = _start(cascade, call), dict[int, Completion]()
        while (step := call.next()) is not None:
            final = walk.take(step)
            if final is None:
                done = await _abuffered(call, walk, step, completions)
                if done is not None and done[0].accepted:
                    for chunk in _chunks(call, walk, *done, None):
                        yield chunk
                    return
                continue
            parts: list[str] = []
            live = router._astream(call, step)
            try:
                async for chunk in live:
                    if chunk.attempts:
                        chunk = _tag(call, walk, chunk, "".join(parts), final)
                    parts.append(chunk.content)
                    yield chunk
            finally:
                await live.aclose()
            return
        for chunk in _chunks(call, walk, *_ended(call, walk, completions)):
            yield chunk
