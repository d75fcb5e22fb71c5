"""Cascades in all four call styles: order, checks, escalation, and every rule kept at every step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from helpers import SECRET, SECRET_MSG, privacy_fires, run_mode
from openai_server import OpenAIServer

from llmroute import AllAttemptsFailedError, ConfigError, Model, Price, Request, Router
from llmroute.adapters import Function, OpenAI
from llmroute.cascade import Agreement, Cascade, Confidence, Judge, Valid
from llmroute.errors import PolicyError, ProviderUnavailableError
from llmroute.policies import Cost, Privacy
from llmroute.policies.cost import Budget

MSG = [{"role": "user", "content": "Which planet is largest? Answer in one word."}]
MODES = ("sync", "async", "stream", "astream")


def answering(text: str, seen: list[Request] | None = None) -> Function:
    def fn(request: Request) -> dict[str, Any]:
        if seen is not None:
            seen.append(request)
        return {"content": text, "usage": {"prompt_tokens": 10, "completion_tokens": 2}}

    return Function(fn)


def model(name: str, text: str, price: float, hosting: str = "api", seen: list[Request] | None = None) -> Model:
    return Model(name, answering(text, seen), hosting=hosting, price=Price(price, price))  # type: ignore[arg-type]


def run(router: Router, mode: str, messages: Sequence[Any] = MSG, **kw: Any) -> tuple[str, Any]:
    return run_mode(router, mode, messages, **kw)


def ladder(mid: str = "Jupiter.", big: str = "Jupiter (premium)") -> list[Model]:
    # listed dearest first: the cascade reorders them cheapest first
    return [model("big", big, 10.0), model("small", "jupiter", 0.1, "local"), model("mid", mid, 1.0, "self_hosted")]


def test_candidates_are_tried_cheapest_first_or_in_the_given_order() -> None:
    assert Router(ladder(), cascade=Cascade(Agreement())).route(MSG).candidates == ("small", "mid", "big")
    decision = Router(ladder(), cascade=Cascade(Agreement(), order=["mid", "big"])).route(MSG)
    assert decision.candidates == ("mid", "big") and decision.dropped["small"] == "cascade: not in its order"
    assert Router(ladder(), cascade=Cascade(Agreement())).route(MSG, model="big").candidates == ("big",)


@pytest.mark.parametrize("mode", MODES)
def test_two_cheap_answers_that_agree_are_served_without_the_premium_model(mode: str) -> None:
    text, out = run(Router(ladder(), cascade=Cascade(Agreement())), mode)
    result = out.cascade
    assert text == "Jupiter." and result.served == "mid" and result.accepted and result.stopped is None
    assert [s.model for s in result.steps] == ["small", "mid"]
    assert result.steps[0].checks == {"agreement": None} and not result.steps[0].accepted
    assert result.steps[1].checks == {"agreement": 1.0} and result.steps[1].accepted
    assert [a.model for a in out.attempts] == ["small", "mid"]
    assert result.cost == pytest.approx(sum(a.cost for a in out.attempts)) == out.cost


@pytest.mark.parametrize("mode", MODES)
def test_disagreement_escalates_to_the_last_model_which_is_not_checked(mode: str) -> None:
    text, out = run(Router(ladder(mid="Saturn"), cascade=Cascade(Agreement())), mode)
    result = out.cascade
    assert text == "Jupiter (premium)" and result.served == "big" and not result.accepted
    assert [s.model for s in result.steps] == ["small", "mid", "big"]
    assert result.steps[1].checks == {"agreement": 0.0}
    assert result.steps[2].score is None and result.stopped == "last model of the cascade"
    assert len(out.attempts) == 3 and result.cost == pytest.approx(sum(a.cost for a in out.attempts))


def test_only_the_accepted_answer_streams_and_the_last_step_streams_live(openai_server: OpenAIServer) -> None:
    premium = Model("big", OpenAI("big", base_url=openai_server.base_url, api_key="sk-x"), price=Price(10, 10))
    router = Router([premium, model("small", "one", 0.1, "local"), model("mid", "two", 1.0)], cascade=Cascade(Agreement()))
    chunks = list(router.stream([{"role": "user", "content": "say five words please now"}]))
    # the rejected cheap answers never reach the caller; the premium answer arrives word by word
    assert "".join(c.content for c in chunks) == "echo: say five words please now"
    assert len([c for c in chunks if c.content]) == 6 and chunks[-1].cascade.served == "big"
    accepted = list(Router(ladder(), cascade=Cascade(Agreement())).stream(MSG))
    assert [c.content for c in accepted] == ["Jupiter.", ""]  # buffered: one chunk once it is checked


def test_an_accepted_buffered_answer_with_tool_calls_streams_them() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "planets"}'}}
    cheap = Model("small", Function(lambda r: {"content": None, "tool_calls": [call]}), hosting="local", price=Price(0.1, 0.1))
    router = Router([cheap, model("big", "Jupiter.", 10.0)], cascade=Cascade(lambda request, answer: bool(answer.tool_calls)))
    chunks = list(router.stream(MSG))
    assert chunks[0].choices[0].delta.tool_calls == ({"index": 0, **call},) and chunks[0].content == ""
    assert chunks[-1].cascade.served == "small"


def test_checks_combine_and_a_user_function_is_a_check() -> None:
    def short(request: Request, answer: Any) -> bool:
        return len(answer.content or "") < 20

    router = Router(ladder(), cascade=Cascade([Agreement(), short], combine="min"))
    resp = router.completion(MSG)
    assert resp.cascade.steps[1].checks == {"agreement": 1.0, "short": 1.0}
    mean = Router(ladder(mid="Saturn"), cascade=Cascade([Agreement(), short], combine="mean", threshold=0.5))
    first = mean.completion(MSG).cascade.steps[0]  # no agreement yet (0) and short (1): 0.5 passes
    assert first.accepted and first.score == 0.5 and first.checks == {"agreement": None, "short": 1.0}


def test_valid_json_schema_and_pattern() -> None:
    schema = {"type": "object", "required": ["planet"], "properties": {"planet": {"type": "string"}}}
    models = [model("small", "Jupiter", 0.1, "local"), model("mid", '```json\n{"planet": "Jupiter"}\n```', 1.0)]
    resp = Router([*models, model("big", "{}", 10.0)], cascade=Cascade(Valid(json_schema=schema))).completion(MSG)
    assert [s.score for s in resp.cascade.steps] == [0.0, 1.0] and resp.model == "mid"
    check = Valid(pattern=r"[A-Z][a-z]+")
    resp = Router([*models, model("big", "x", 10.0)], cascade=Cascade(check)).completion(MSG)
    assert resp.model == "small"
    with pytest.raises(ConfigError, match="valid JSON schema"):
        Valid(json_schema={"type": 12})
    with pytest.raises(ConfigError, match="json=True"):
        Valid()


def test_bad_checks_and_settings_fail_clearly() -> None:
    with pytest.raises(ConfigError, match=r"cascade\.threshold"):
        Cascade(Agreement(), threshold=2)
    with pytest.raises(ConfigError, match="fallback=False"):
        Router(ladder(), fallback=False, cascade=Cascade(Agreement()))
    with pytest.raises(ConfigError, match="cascade"):
        Router(ladder(), cascade=object())  # type: ignore[arg-type]

    def broken(request: Request, answer: Any) -> float:
        raise RuntimeError("oops")

    with pytest.raises(PolicyError, match="broken"):
        Router(ladder(), cascade=Cascade(broken)).completion(MSG)
    with pytest.raises(PolicyError, match="expected bool"):
        Router(ladder(), cascade=Cascade(lambda r, a: "yes")).completion(MSG)


def test_max_steps_ends_with_the_best_answer_and_says_so() -> None:
    resp = Router(ladder(mid="Saturn"), cascade=Cascade(Agreement(), max_steps=2)).completion(MSG)
    assert resp.model == "mid" and resp.cascade.stopped == "max_steps 2 reached" and len(resp.attempts) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_sensitive_request_never_escalates_to_a_model_it_may_not_use(mode: str) -> None:
    seen: list[Request] = []
    models = [model("small", "one", 0.1, "local"), model("local-mid", "two", 0.5, "local"), model("big", "leaked", 10.0, seen=seen)]
    text, out = run(Router(models, [privacy_fires], cascade=Cascade(Agreement())), mode, SECRET_MSG)
    result = out.cascade
    assert text == "two" and result.served == "local-mid" and not result.accepted
    assert "big" not in out.decision.candidates and seen == []


@pytest.mark.parametrize("mode", MODES)
def test_privacy_over_http_the_api_server_never_receives_the_value(openai_server: OpenAIServer, mode: str) -> None:
    api = Model("hosted", OpenAI("hosted", base_url=openai_server.base_url, api_key="sk-x"), price=Price(10, 10))
    local = [model("small", f"you said {SECRET}", 0.0, "local"), model("mid", "something else", 0.0, "local")]
    # redact mode: the hosted model may serve a redacted copy, and with context="previous" the
    # rejected local answer (which echoes the value) must not be sent to it either
    router = Router([api, *local], [Privacy(mode="redact")], cascade=Cascade(Agreement(), context="previous"))
    text, out = run(router, mode, SECRET_MSG)
    assert out.cascade.served == "hosted" and out.attempts[-1].redacted
    sent = b"".join(json.dumps(r.body).encode() for r in openai_server.received)
    assert openai_server.requests == 1
    for value in ("4111-1111-1111-1111", "4111111111111111", "bob@example.com"):
        assert value.encode() not in sent
    assert "bob@example.com" in text  # restored for the caller
    # without redaction the hosted model is not asked at all and the call says why
    text, out = run(Router([api, *local], [Privacy()], cascade=Cascade(Agreement())), mode, SECRET_MSG)
    assert openai_server.requests == 1 and out.cascade.served == "mid"


def test_the_previous_answer_is_shown_only_when_asked(openai_server: OpenAIServer) -> None:
    api = Model("hosted", OpenAI("hosted", base_url=openai_server.base_url, api_key="sk-x"), price=Price(10, 10))
    small = model("small", "Saturn", 0.0, "local")
    Router([api, small], cascade=Cascade(Agreement(), context="previous")).completion(MSG)
    Router([api, small], cascade=Cascade(Agreement())).completion(MSG)
    with_context, without = (r.body["messages"] for r in openai_server.received)
    assert [m["role"] for m in with_context] == ["user", "assistant", "user"] and with_context[1]["content"] == "Saturn"
    assert len(without) == 1


def test_a_per_request_cost_cap_counts_every_step() -> None:
    # each step's estimate fits the cap, but small's actual cost (a long answer) plus mid's estimate does not
    long = Function(lambda r: {"content": "a", "usage": {"prompt_tokens": 10, "completion_tokens": 200}})
    models = [Model("small", long, hosting="local", price=Price(100, 100)), model("mid", "b", 150.0), model("big", "c", 1000.0)]
    router = Router(models, [Cost(max_cost=0.03, rank="cheapest")], cascade=Cascade(Agreement()), default_output_tokens=100)
    resp = router.completion(MSG)
    assert [a.model for a in resp.attempts] == ["small"] and resp.model == "small"
    assert "cost" in (resp.cascade.stopped or "") and "mid" in (resp.cascade.stopped or "")


def test_budgets_record_every_step() -> None:
    cost = Cost(budgets=[Budget(10.0)])
    resp = Router(ladder(mid="Saturn"), [cost], cascade=Cascade(Agreement())).completion(MSG)
    assert len(resp.attempts) == 3
    assert sum(cost.spent().values()) == pytest.approx(sum(a.cost or 0 for a in resp.attempts))


@pytest.mark.parametrize("mode", MODES)
def test_a_judge_is_a_booked_step_and_is_never_asked_about_what_it_may_not_see(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.reply = lambda body: "8"
    judge = Judge(Model("judge", OpenAI("judge", base_url=openai_server.base_url, api_key="sk-x"), price=Price(5, 5)))
    router = Router(ladder(), cascade=Cascade(judge, threshold=0.7))
    _, out = run(router, mode)
    assert out.cascade.served == "small" and out.cascade.steps[0].checks == {"judge": 0.8}
    assert [a.model for a in out.attempts] == ["small", "judge"]
    assert out.cascade.cost == pytest.approx(out.attempts[0].cost + out.attempts[1].cost)
    assert "jupiter" in openai_server.received[0].body["messages"][0]["content"]
    # a sensitive request: the hosted judge is not asked, so nothing local is accepted
    models = [model("small", "one", 0.1, "local"), model("local-mid", "two", 0.5, "local")]
    _, out = run(Router(models, [privacy_fires], cascade=Cascade(judge)), mode, SECRET_MSG)
    assert openai_server.requests == 1 and out.cascade.steps[0].checks == {"judge": None}
    assert out.cascade.served == "local-mid"


@pytest.mark.parametrize("kind", ["openai", "litellm"])
def test_confidence_reads_log_probabilities_the_server_returns(openai_server: OpenAIServer, kind: str) -> None:
    from llmroute.adapters import LiteLLM

    openai_server.logprob = -0.1
    adapter = OpenAI("m", base_url=openai_server.base_url, api_key="sk-x") if kind == "openai" else LiteLLM(
        "openai/m", api_base=openai_server.base_url, api_key="sk-x"
    )
    router = Router([Model("cheap", adapter, hosting="self_hosted"), model("big", "x", 10.0)], cascade=Cascade(Confidence(), threshold=0.8))
    resp = router.completion(MSG)
    assert openai_server.received[0].body["logprobs"] is True
    assert resp.cascade.steps[0].checks["confidence"] == pytest.approx(0.904837, rel=1e-4)
    assert resp.model == "cheap"
    openai_server.logprob = None  # a server that returns none: no signal, so the cascade escalates
    assert router.completion(MSG).model == "big"


def test_a_failing_cheap_step_falls_back_and_a_failing_last_step_fails_the_call() -> None:
    def down(request: Request) -> str:
        raise ProviderUnavailableError("down")

    models = [Model("small", Function(down), hosting="local", price=Price(0.1, 0.1)), model("mid", "Jupiter", 1.0), model("big", "x", 10.0)]
    resp = Router(models, cascade=Cascade(Agreement()), retry={"attempts_per_model": 1}).completion(MSG)
    assert [a.model for a in resp.attempts] == ["small", "mid", "big"] and resp.model == "big"
    models = [model("small", "a", 0.1, "local"), Model("big", Function(down), price=Price(10, 10))]
    with pytest.raises(AllAttemptsFailedError):
        Router(models, cascade=Cascade(Agreement()), retry={"attempts_per_model": 1}).completion(MSG)


def test_the_trace_shows_each_step_with_its_check_and_cost() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    Router(ladder(mid="Saturn"), cascade=Cascade(Agreement()), tracer_provider=provider).completion(MSG)
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat small", "chat mid", "chat big", "llmroute.route"]
    route = spans[-1]
    events = [dict(e.attributes or {}) for e in route.events if e.name == "llmroute.cascade.step"]
    assert [e["llmroute.cascade.model"] for e in events] == ["small", "mid", "big"]
    assert events[1]["llmroute.cascade.score"] == 0.0 and events[1]["llmroute.cascade.accepted"] is False
    assert events[1]["llmroute.cascade.checks"] == ("agreement: 0",)
    assert events[1]["llmroute.cascade.cost"] == pytest.approx(1.2e-5)
    assert route.attributes["llmroute.cascade.served"] == "big" and route.attributes["llmroute.cascade.steps"] == 3
    assert all(SECRET not in json.dumps(dict(s.attributes or {})) for s in spans)


@pytest.mark.llama
def test_confidence_on_the_packaged_gguf_model() -> None:
    pytest.importorskip("llama_cpp")
    from llmroute.adapters import LlamaCpp

    local = LlamaCpp(n_ctx=512, logprobs=True, defaults={"max_tokens": 8})
    big = model("big", "premium", 10.0)
    router = Router([big, Model("smol", local, hosting="local")], cascade=Cascade(Confidence(), threshold=0.0))
    try:
        resp = router.completion(MSG)
        score = resp.cascade.steps[0].checks["confidence"]
        assert score is not None and 0.0 < score <= 1.0  # what it answers is never asserted
        assert resp.model == "smol" and resp.cascade.accepted
        without = Router([big, Model("smol", LlamaCpp(n_ctx=512, defaults={"max_tokens": 8}), hosting="local")], cascade=Cascade(Confidence()))
        resp = without.completion(MSG)  # not built for log-probabilities: no signal, so it escalates
        assert resp.cascade.steps[0].checks == {"confidence": None} and resp.model == "big"
        without.close()
    finally:
        router.close()
