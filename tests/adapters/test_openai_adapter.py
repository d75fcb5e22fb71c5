"""The OpenAI adapter over real HTTP to an OpenAI-compatible server on 127.0.0.1.

The fault matrix (every fault x sync/async/stream/astream) runs for this adapter in
test_faults.py; this file covers what is its own: the wire format, usage, tool calls, keys,
timeouts, warm-up, lazy imports and the ``openai`` config type.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from openai_server import Fault, OpenAIServer

from llmroute import Model, Price, Request, Router
from llmroute.adapters import OpenAI
from llmroute.adapters._errors import Secrets, retry_after
from llmroute.config import load_router
from llmroute.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)

KEY = "sk-openai-RECOGNISABLE-9876543210"
MSG = [{"role": "user", "content": "hello there"}]


def adapter_for(server: OpenAIServer, **kw: Any) -> OpenAI:
    return OpenAI("served-model", base_url=server.base_url, api_key=KEY, **kw)


def request(messages: Any = MSG, **params: Any) -> Request:
    return Request(messages=tuple(messages), params=params)


def run(mode: str, adapter: OpenAI, req: Request) -> tuple[str, Any]:
    """One call in ``mode``; the text and the Completion or the stream's events."""
    if mode == "sync":
        done = adapter.complete(req)
        return done.content or "", done
    if mode == "async":
        done = asyncio.run(adapter.acomplete(req))
        return done.content or "", done
    if mode == "stream":
        events = list(adapter.stream(req))
        return "".join(e.text for e in events), events

    async def collect() -> list[Any]:
        return [e async for e in adapter.astream(req)]

    events = asyncio.run(collect())
    return "".join(e.text for e in events), events


MODES = ("sync", "async", "stream", "astream")


@pytest.fixture
def adapter(openai_server: OpenAIServer) -> Iterator[OpenAI]:
    made = adapter_for(openai_server)
    yield made
    made.close()


def test_completion_over_http(openai_server: OpenAIServer) -> None:
    router = Router([Model("self", adapter_for(openai_server), hosting="self_hosted", price=Price(1.0, 2.0))])
    resp = router.completion(MSG, max_tokens=20, temperature=0, seed=7, stop=["\n"])
    assert resp.content == "echo: hello there"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens == 3
    assert resp.cost == pytest.approx((resp.usage.prompt_tokens * 1.0 + 3 * 2.0) / 1e6)
    sent = openai_server.received[0]
    assert sent.body["model"] == "served-model" and sent.body["messages"] == MSG
    assert (sent.body["max_tokens"], sent.body["temperature"], sent.body["seed"], sent.body["stop"]) == (20, 0, 7, ["\n"])
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    router.close()


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_answers_with_usage(adapter: OpenAI, openai_server: OpenAIServer, mode: str) -> None:
    openai_server.reply = lambda body: "one two three four"
    text, result = run(mode, adapter, request())
    assert text == "one two three four"
    if mode in ("stream", "astream"):
        assert len(result) >= 5 and result[-1].usage is not None and result[-1].usage.completion_tokens == 4
        assert any(e.finish_reason == "stop" for e in result)
        body = openai_server.received[0].body
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    else:
        assert result.usage.completion_tokens == 4 and result.response_id == "chatcmpl-test123"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_server_that_ignores_stream_options_still_streams(adapter: OpenAI, openai_server: OpenAIServer, mode: str) -> None:
    openai_server.ignore_stream_options = True
    text, events = run(mode, adapter, request())
    assert text == "echo: hello there"
    assert all(e.usage is None for e in events)


def test_params_headers_and_server_specific_fields_pass_through(openai_server: OpenAIServer) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    made = OpenAI(
        "m", base_url=openai_server.base_url, api_key=KEY, headers={"X-Tenant": "acme"},
        params={"temperature": 0.5, "extra_body": {"top_k": 5}},
    )
    made.complete(request(
        tools=tools, tool_choice="auto", response_format={"type": "json_object"}, temperature=0.1,
        min_p=0.05, extra_body={"repetition_penalty": 1.1}, max_retries=3,
    ))
    sent = openai_server.received[0]
    assert sent.headers["x-tenant"] == "acme"
    assert sent.body["tools"] == tools and sent.body["tool_choice"] == "auto"
    assert sent.body["response_format"] == {"type": "json_object"}
    assert sent.body["temperature"] == 0.1  # the request's own parameter wins
    assert (sent.body["top_k"], sent.body["min_p"], sent.body["repetition_penalty"]) == (5, 0.05, 1.1)
    assert "max_retries" not in sent.body  # llmroute's business, not the server's


@pytest.mark.parametrize("stream", [False, True])
def test_the_body_is_what_the_sdks_create_sends(openai_server: OpenAIServer, stream: bool) -> None:
    """The adapter posts a body it built itself (the SDK's transform pass costs ~0.8 ms a call):
    every field must match what ``chat.completions.create`` sends for the same call, including
    SDK objects passed back in a conversation and fields only a server knows."""
    import openai
    from openai.types.chat import ChatCompletionMessageToolCall

    call = ChatCompletionMessageToolCall(id="call_1", type="function", function={"name": "lookup", "arguments": '{"q": 1}'})
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "http://10.0.0.5/a.png", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"r\": 2}"},
    ]
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}}}]
    params: dict[str, Any] = dict(
        tools=tools, tool_choice="auto", response_format={"type": "json_object"}, temperature=0.1, top_p=0.9,
        stop=["\n\n"], seed=7, logit_bias={"50256": -100}, max_tokens=12, logprobs=True, top_logprobs=2,
        parallel_tool_calls=False, extra_headers={"X-Trace": "t-1"}, extra_query={"api-version": "2"},
    )
    extra = {"min_p": 0.05, "repetition_penalty": 1.1}
    made = adapter_for(openai_server, params={"extra_body": {"top_k": 5}})
    req = Request(messages=tuple(messages), params={**params, "min_p": 0.05, "extra_body": {"repetition_penalty": 1.1}})
    if stream:
        list(made.stream(req))
    else:
        made.complete(req)
    sdk = openai.OpenAI(base_url=openai_server.base_url, api_key=KEY, max_retries=0)
    more: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    reply = sdk.chat.completions.create(model="served-model", messages=messages, extra_body={"top_k": 5, **extra}, **params, **more)  # type: ignore[call-overload]
    if stream:
        list(reply)
    sdk.close()
    made.close()
    ours, theirs = openai_server.received
    assert ours.body == theirs.body
    assert json.loads(ours.raw) == json.loads(theirs.raw) and ours.path == theirs.path  # the query string too
    assert ours.body["messages"][2]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": 1}'}
    assert (ours.body["top_k"], ours.body["min_p"], ours.body["repetition_penalty"]) == (5, 0.05, 1.1)
    assert ours.headers["x-trace"] == theirs.headers["x-trace"] == "t-1"
    assert ours.headers["authorization"] == theirs.headers["authorization"] == f"Bearer {KEY}"


def test_tool_calls_come_back(openai_server: OpenAIServer) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": [call]}
    resp = Router([Model("m", adapter_for(openai_server))]).completion(MSG)
    assert resp.choices[0].finish_reason == "tool_calls"
    [got] = resp.choices[0].message.tool_calls or ()
    assert got["id"] == "call_1" and got["function"]["name"] == "lookup" and json.loads(got["function"]["arguments"]) == {"q": "x"}


@pytest.mark.parametrize("mode", MODES)
def test_a_hanging_server_times_out(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.always = Fault("hang", hang_s=10)
    with pytest.raises(ProviderTimeoutError):
        run(mode, adapter_for(openai_server, timeout_s=0.3), request())


@pytest.mark.parametrize("mode", ["sync", "astream"])
def test_a_request_timeout_narrows_the_adapters(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.always = Fault("hang", hang_s=10)
    with pytest.raises(ProviderTimeoutError):  # 30 s would outlast the test's own timeout
        run(mode, adapter_for(openai_server, timeout_s=30), request(timeout=0.3))


@pytest.mark.parametrize("mode", MODES)
def test_401_echoing_the_key_leaks_it_nowhere(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.always = Fault("401")
    with pytest.raises(AuthenticationError) as info:
        run(mode, adapter_for(openai_server), request())
    error = info.value
    assert error.status_code == 401 and "***" in str(error)
    for thing in (error, error.__context__, error.__cause__):
        assert KEY not in str(thing) and KEY not in repr(thing)
    assert error.__context__ is None and error.__cause__ is None  # the SDK's error holds the key
    router = Router([Model("m", adapter_for(openai_server))])
    with pytest.raises(Exception) as group:
        router.completion(MSG)
    assert KEY not in str(group.value) and KEY not in repr(group.value) and KEY not in repr(group.value.exceptions)


def test_an_error_without_the_key_keeps_its_cause(openai_server: OpenAIServer) -> None:
    openai_server.always = Fault("503")
    with pytest.raises(ProviderUnavailableError) as info:
        adapter_for(openai_server).complete(request())
    assert info.value.__cause__ is not None and info.value.__suppress_context__


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_retry_after_is_read(openai_server: OpenAIServer, mode: str) -> None:
    openai_server.always = Fault("429", retry_after=7)
    with pytest.raises(RateLimitError) as info:
        run(mode, adapter_for(openai_server), request())
    assert info.value.retry_after == 7.0


def test_retry_after_forms() -> None:
    class Exc(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    assert retry_after(Exc({"retry-after": "2.5"})) == 2.5
    assert retry_after(Exc({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after(Exc({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # a date long past
    assert retry_after(Exc({"retry-after": "soon"})) is None
    assert retry_after(Exc({})) is None


def test_scrubbing_covers_bearer_echoes_query_secrets_and_secret_headers() -> None:
    secrets = Secrets(KEY, [("X-Api-Key", "hdr-secret-value"), ("X-Tenant", "acme")])
    text = secrets.scrub(f"got Bearer {KEY} and Bearer other-token-123 at /v1?api_key=abc&x=1 with hdr-secret-value for acme")
    assert KEY not in text and "other-token-123" not in text and "abc" not in text and "hdr-secret-value" not in text
    assert "acme" in text and "x=1" in text
    assert KEY not in repr(secrets)


@pytest.mark.parametrize("mode", MODES)
def test_a_request_that_cannot_be_encoded_is_the_callers_error(adapter: OpenAI, openai_server: OpenAIServer, mode: str) -> None:
    for bad in (request([{"role": "user", "content": "lone \ud800 surrogate"}]), request(extra_body={"x": object()})):
        with pytest.raises(ProviderError) as info:
            run(mode, adapter, bad)
        assert isinstance(info.value, BadRequestError), repr(info.value)
    assert openai_server.requests == 0


def test_repr_provider_and_address() -> None:
    hosted = OpenAI("gpt-4o-mini", api_key=KEY)
    assert KEY not in repr(hosted) and "api_key='***'" in repr(hosted)
    assert (hosted.provider, hosted.server_address, hosted.server_port) == ("openai", "api.openai.com", None)
    own = OpenAI("llama", base_url="http://10.0.0.5:8000/v1?key=abc")
    assert (own.provider, own.server_address, own.server_port) == ("openai_compatible", "10.0.0.5", 8000)
    assert "abc" not in repr(own)
    assert OpenAI("m", base_url="http://h/v1", provider="vllm").provider == "vllm"
    with pytest.raises(ValueError, match="timeout_s"):
        OpenAI("m", timeout_s=0)
    with pytest.raises(ValueError, match="base_url"):
        OpenAI("m", base_url="10.0.0.5:8000")


def test_keys_come_from_where_they_are_named(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-users-openai-key")
    monkeypatch.setenv("MY_SERVER_KEY", KEY)
    # a self-hosted server never gets the caller's OpenAI key unless told to
    OpenAI("m", base_url=openai_server.base_url).complete(request())
    assert openai_server.received[-1].headers["authorization"] == "Bearer EMPTY"
    OpenAI("m", base_url=openai_server.base_url, api_key_env="MY_SERVER_KEY").complete(request())
    assert openai_server.received[-1].headers["authorization"] == f"Bearer {KEY}"
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        OpenAI("gpt-4o-mini").check()


@pytest.mark.parametrize("mode", MODES)
def test_an_admin_key_in_the_environment_never_goes_out(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """The SDK reads OPENAI_ADMIN_KEY and, for requests that allow it, sends it when no other
    key is set; the adapter posts with the SDK's default options, so it must always hold a key."""
    admin = "sk-admin-MUST-NOT-LEAK-31337"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", admin)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    made = OpenAI("m", base_url=openai_server.base_url)  # a self-hosted server given no key
    run(mode, made, request())
    made.close()
    [sent] = openai_server.received
    assert sent.headers["authorization"] == "Bearer EMPTY"
    assert admin not in repr(sent.headers) and admin.encode() not in sent.raw


def test_clients_are_reused_across_calls_and_event_loops(adapter: OpenAI) -> None:
    adapter.complete(request())
    client = adapter._client
    adapter.complete(request())
    assert adapter._client is client
    for _ in range(2):  # each asyncio.run is a new loop: the async client follows it
        assert asyncio.run(adapter.acomplete(request())).content == "echo: hello there"

    async def twice() -> bool:
        await adapter.acomplete(request())
        first = adapter._async_client()
        await adapter.acomplete(request())
        return adapter._async_client() is first

    assert asyncio.run(twice())
    assert len(adapter._aclients) == 1  # the clients of closed loops were dropped


def test_loops_in_several_threads_each_keep_their_own_client(adapter: OpenAI) -> None:
    """Threads that each run an event loop at the same time (a worker per thread) must not take
    each other's client away: each loop keeps one client for all its calls."""
    import threading

    seen: dict[int, set[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        async def run() -> None:
            start.wait()
            for _ in range(5):
                assert (await adapter.acomplete(request())).content == "echo: hello there"
                seen.setdefault(n, set()).add(id(adapter._async_client()))
                await asyncio.sleep(0)

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all(len(ids) == 1 for ids in seen.values()) and len(set().union(*seen.values())) == 4


def test_close_closes_both_clients_and_calls_reopen(adapter: OpenAI) -> None:
    async def use_then_close() -> None:
        await adapter.acomplete(request())
        await adapter.aclose()

    asyncio.run(use_then_close())
    adapter.complete(request())
    asyncio.run(adapter.acomplete(request()))
    adapter.close()  # its loop is closed: nothing to await, nothing raised
    adapter.close()
    assert adapter.complete(request()).content == "echo: hello there"


def test_warmup_is_idempotent(adapter: OpenAI) -> None:
    adapter.warmup()
    client = adapter._client
    adapter.warmup()
    asyncio.run(adapter.awarmup())
    assert client is not None and adapter._client is client


LAZY = textwrap.dedent(
    """
    import asyncio, sys, threading
    import llmroute, llmroute.adapters
    from llmroute import Model, Router
    from llmroute.adapters import OpenAI
    import llmroute.adapters.litellm as lite
    adapter = OpenAI("m", base_url=sys.argv[1], api_key="sk-x")
    Router([Model("m", adapter)])
    assert "openai" not in sys.modules, "building an OpenAI adapter and a Router must not import openai"

    threads = []
    load = OpenAI._load
    def spy(self):
        threads.append(threading.current_thread() is threading.main_thread())
        return load(self)
    OpenAI._load = spy
    real = lite.import_litellm
    def spy_litellm():
        threads.append(threading.current_thread() is threading.main_thread())
        return real()
    lite.import_litellm = spy_litellm

    async def main():
        router = Router([Model("m", adapter)])
        print((await router.acompletion([{"role": "user", "content": "hi"}])).content)
        other = Router([Model("m", lite.LiteLLM("openai/m", api_base=sys.argv[1], api_key="sk-x"))])
        print((await other.acompletion([{"role": "user", "content": "hi"}])).content)
    asyncio.run(main())
    print("imported on the loop's thread:", threads[0], threads[-1])
    """
)


def test_openai_loads_lazily_and_off_the_event_loop(openai_server: OpenAIServer) -> None:
    out = subprocess.run([sys.executable, "-c", LAZY, openai_server.base_url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("echo: hi") == 2
    assert "imported on the loop's thread: False False" in out.stdout, out.stdout


QUIET = textwrap.dedent("""
    import asyncio, gc, sys
    from llmroute import Model, Router
    from llmroute.adapters import OpenAI
    router = Router([Model("m", OpenAI("m", base_url=sys.argv[1]), hosting="self_hosted")])
    async def one():
        return (await router.acompletion([{"role": "user", "content": "hi"}])).content
    for _ in range(3):  # each run is a new loop; the clients of the ended ones are dropped
        print(asyncio.run(one()))
        gc.collect()
    print(router.completion([{"role": "user", "content": "hi"}]).content)
""")


def test_clients_of_ended_loops_go_quietly(openai_server: OpenAIServer) -> None:
    """A batch script calling asyncio.run per batch must not get "Event loop is closed"
    tracebacks from the SDK's finaliser on stderr."""
    out = subprocess.run([sys.executable, "-c", QUIET, openai_server.base_url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("echo: hi") == 4
    assert "Event loop is closed" not in out.stderr and "never retrieved" not in out.stderr, out.stderr[-2000:]


def test_config_type_openai(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_KEY", KEY)
    config = {"models": [{
        "name": "self", "hosting": "self_hosted",
        "adapter": {
            "type": "openai", "model": "served-model", "base_url": openai_server.base_url, "api_key_env": "SERVER_KEY",
            "headers": {"X-Tenant": "acme"}, "timeout_s": 20, "connect_timeout_s": 2, "params": {"max_tokens": 9},
        },
    }]}
    router = load_router(config)
    assert router.completion(MSG).content == "echo: hello there"
    sent = openai_server.received[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}" and sent.headers["x-tenant"] == "acme"
    assert sent.body["max_tokens"] == 9

    bad = {"models": [{"name": "self", "adapter": {"type": "openai", "model": "m", "base_url": "http://h/v1", "api_base": "x"}}]}
    with pytest.raises(ConfigError, match=r"unknown option.*api_base.*did you mean .base_url") as info:
        load_router(bad)
    assert "models[0].adapter" in str(info.value)

    literal = {"models": [{"name": "self", "adapter": {"type": "openai", "model": "m", "api_key": KEY}}]}
    with pytest.raises(ConfigError, match="api_key_env") as info:
        load_router(literal)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
