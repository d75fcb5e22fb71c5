"""The openai client's shape on a Router: code written for ``openai.OpenAI()`` runs by swapping
the client line, against the real loopback HTTP server."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai_server import OpenAIServer

from llmroute import Model, Price, Router, policies
from llmroute.adapters import OpenAI
from llmroute.errors import InvalidRequestError, NoEligibleModelError

KEY = "sk-loopback-not-a-secret"
MSG = [{"role": "user", "content": "hi there"}]

# Written for the openai package; the test swaps only the first line.
APP = """
client = openai.OpenAI(base_url=BASE_URL, api_key=KEY)
resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}], max_tokens=20)
answer = resp.choices[0].message.content
tokens = resp.usage.total_tokens
stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}], stream=True,
                                        stream_options={"include_usage": True})
parts = []
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
    if chunk.usage:
        streamed_tokens = chunk.usage.total_tokens
dumped = resp.model_dump()
"""


def _router(server: OpenAIServer, **kw: Any) -> Router:
    return Router(
        [
            Model("small", OpenAI("small-served", base_url=server.base_url, api_key=KEY), hosting="self_hosted", price=Price(1, 2)),
            Model("big", OpenAI("big-served", base_url=server.base_url, api_key=KEY, params={"temperature": 0}),
                  hosting="api", capabilities=frozenset({"tools", "json"}), price=Price(5, 10)),
        ],
        [policies.Fit(), policies.Cost()],
        **kw,
    )


def test_a_snippet_for_the_openai_client_runs_by_swapping_the_client(openai_server: OpenAIServer) -> None:
    with_openai: dict[str, Any] = {"openai": openai, "BASE_URL": openai_server.base_url, "KEY": KEY, "MODEL": "small-served"}
    exec(APP, with_openai)
    router = _router(openai_server)
    with_router: dict[str, Any] = {"openai": openai, "router": router, "MODEL": "auto"}
    exec(APP.replace("client = openai.OpenAI(base_url=BASE_URL, api_key=KEY)", "client = router"), with_router)
    for name in ("answer", "tokens", "parts", "streamed_tokens"):
        assert with_router[name] == with_openai[name], name
    assert with_router["answer"] == "echo: hello"
    assert isinstance(with_router["resp"], ChatCompletion)
    # same document, apart from the id, clock and model name
    ignore = ("id", "created", "model", "system_fingerprint", "service_tier")
    a = {k: v for k, v in with_openai["dumped"].items() if k not in ignore}
    b = {k: v for k, v in with_router["dumped"].items() if k not in ignore}
    assert a["choices"] == b["choices"] and a["usage"]["total_tokens"] == b["usage"]["total_tokens"]
    resp = with_router["resp"]
    assert resp.model == "small" and resp.decision.model == "small" and not resp.decision.pinned
    assert resp.attempts[0].ok and resp.cost == pytest.approx(resp.attempts[0].cost)
    assert "decision" not in resp.model_dump()  # llmroute's extras stay out of the OpenAI document


def test_a_model_name_pins(openai_server: OpenAIServer) -> None:
    resp = _router(openai_server).chat.completions.create(model="big", messages=MSG)
    assert resp.decision.pinned and resp.model == "big"
    assert openai_server.received[-1].body["model"] == "big-served"
    with pytest.raises(InvalidRequestError, match="unknown model 'nope'"):
        _router(openai_server).chat.completions.create(model="nope", messages=MSG)


def test_a_pin_does_not_lift_a_hard_constraint(openai_server: OpenAIServer) -> None:
    router = _router(openai_server)
    router = Router(router.models, [policies.Privacy()])
    with pytest.raises(NoEligibleModelError):
        router.chat.completions.create(model="big", messages=[{"role": "user", "content": "mail bob@example.com"}])
    assert openai_server.requests == 0


def test_tools_pass_through_and_fit_drops_the_model_that_cannot_call_them(openai_server: OpenAIServer) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": [call]}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    resp = _router(openai_server).chat.completions.create(model="auto", messages=MSG, tools=tools, tool_choice="auto")
    assert resp.decision.model == "big"  # "small" lacks tools: dropped by Fit before any call
    assert "small" in resp.decision.dropped and "lacks tools" in resp.decision.dropped["small"]
    sent = openai_server.received[0].body
    assert sent["tools"] == tools and sent["tool_choice"] == "auto" and openai_server.requests == 1
    tool_call = resp.choices[0].message.tool_calls[0]
    assert tool_call.function.name == "get_weather" and json.loads(tool_call.function.arguments) == {"city": "Oslo"}
    assert resp.choices[0].finish_reason == "stop" or resp.choices[0].finish_reason == "tool_calls"


def test_a_pinned_model_that_lacks_tools_is_refused_before_any_call(openai_server: OpenAIServer) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    with pytest.raises(NoEligibleModelError, match="lacks tools"):
        _router(openai_server).chat.completions.create(model="small", messages=MSG, tools=tools)
    assert openai_server.requests == 0  # the provider never sees a request it would fail or silently ignore


def test_response_format_passes_through_to_a_json_model(openai_server: OpenAIServer) -> None:
    openai_server.reply = lambda body: '{"ok": true}'
    fmt = {"type": "json_object"}
    resp = _router(openai_server).chat.completions.create(model="auto", messages=MSG, response_format=fmt)
    assert resp.decision.model == "big" and openai_server.received[0].body["response_format"] == fmt
    assert json.loads(resp.choices[0].message.content) == {"ok": True}


async def test_the_async_twin(openai_server: OpenAIServer) -> None:
    router = _router(openai_server)
    resp = await router.achat.completions.create(model="auto", messages=MSG)
    assert isinstance(resp, ChatCompletion) and resp.choices[0].message.content == "echo: hi there"
    stream = await router.achat.completions.create(model="auto", messages=MSG, stream=True)
    chunks = [c async for c in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hi there"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is None  # no include_usage
    assert chunks[-1].attempts and chunks[-1].decision.model == "small"


def test_stream_closes_like_the_openai_stream(openai_server: OpenAIServer) -> None:
    with _router(openai_server).chat.completions.create(model="auto", messages=MSG, stream=True) as stream:
        first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"n": 2}, "n: llmroute returns one choice per call"),
        ({"functions": []}, "functions: not supported"),
        ({"audio": {"voice": "alloy"}}, "audio: not supported"),
        ({"modalities": ["text", "audio"]}, "modalities:"),
        ({"stream_options": {"include_usage": True}}, "stream_options: only allowed with stream=True"),
        ({"logit_bias_typo": 1}, "unknown parameter 'logit_bias_typo'"),
        ({"temperature": 5}, "temperature:"),
    ],
)
def test_unsupported_parameters_are_named_before_any_call(openai_server: OpenAIServer, params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidRequestError, match=named):
        _router(openai_server).chat.completions.create(model="auto", messages=MSG, **params)
    assert openai_server.requests == 0


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
CALLS = [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": "celsius"}'}},
    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Bergen"}'}},
]


def _joined(deltas: list[Any]) -> list[dict[str, Any]]:
    """Tool calls put back together from stream deltas, as an OpenAI client does (by index)."""
    calls: dict[int, dict[str, Any]] = {}
    for d in deltas:
        call = calls.setdefault(d.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        call["id"] = d.id or call["id"]
        if d.function is not None:
            call["function"]["name"] += d.function.name or ""
            call["function"]["arguments"] += d.function.arguments or ""
    return [calls[i] for i in sorted(calls)]


@pytest.mark.parametrize("adapter", ["openai", "litellm"])
def test_tool_calls_stream_as_openai_streams_them(openai_server: OpenAIServer, adapter: str) -> None:
    from llmroute.adapters import LiteLLM

    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": CALLS}
    if adapter == "openai":
        big = OpenAI("big-served", base_url=openai_server.base_url, api_key=KEY)
    else:
        big = LiteLLM("openai/big-served", api_base=openai_server.base_url, api_key=KEY)
    router = Router([Model("small", OpenAI("small-served", base_url=openai_server.base_url, api_key=KEY), hosting="self_hosted"),
                     Model("big", big, capabilities=frozenset({"tools"}))], [policies.Fit()])
    chunks = list(router.chat.completions.create(model="auto", messages=MSG, tools=[WEATHER], stream=True))
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    deltas = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert len(deltas) > len(CALLS)  # the arguments arrived in pieces and were passed on as they came
    assert _joined(deltas) == CALLS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].decision.model == "big" and openai_server.received[0].body["tools"] == [WEATHER]
    # usage the server did not send is counted from the tool calls: never free
    assert chunks[-1].attempts[-1].usage.completion_tokens > 0


async def test_tool_calls_stream_async(openai_server: OpenAIServer) -> None:
    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": CALLS[:1]}
    stream = await _router(openai_server).achat.completions.create(model="auto", messages=MSG, tools=[WEATHER], stream=True)
    deltas = [t async for c in stream if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert _joined(deltas) == CALLS[:1]


def test_not_given_and_routing_fields_in_extra_body(openai_server: OpenAIServer) -> None:
    resp = _router(openai_server).chat.completions.create(
        model="auto", messages=MSG, temperature=openai.NOT_GIVEN, seed=None,
        extra_body={"tenant": "acme", "tags": ["x"], "top_k": 3},
    )
    sent = openai_server.received[0].body
    assert "temperature" not in sent and "seed" not in sent and sent["top_k"] == 3 and "tenant" not in sent
    assert resp.choices[0].message.content == "echo: hi there"
