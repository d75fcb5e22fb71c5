"""The LiteLLM adapter over real HTTP to an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from openai_server import OpenAIServer

from llmroute import Model, Price, Router
from llmroute.adapters import LiteLLM
from llmroute.errors import AllAttemptsFailedError, BadRequestError, ProviderUnavailableError

KEY = "sk-test-RECOGNISABLE-0123456789"
MSG = [{"role": "user", "content": "hello there"}]


def router_for(server: OpenAIServer, **kw: object) -> Router:
    adapter = LiteLLM("openai/served-model", api_base=server.base_url, api_key=KEY)
    return Router([Model("self", adapter, hosting="self_hosted", price=Price(1.0, 2.0))], **kw)  # type: ignore[arg-type]


def test_completion_over_http(openai_server: OpenAIServer) -> None:
    resp = router_for(openai_server).completion(MSG, max_tokens=20, temperature=0)
    assert resp.content == "echo: hello there"
    assert resp.model == "self"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens == 3
    assert resp.cost == pytest.approx((resp.usage.prompt_tokens * 1.0 + 3 * 2.0) / 1e6)
    sent = openai_server.received[0]
    assert sent.body["model"] == "served-model"
    assert sent.body["max_tokens"] == 20 and sent.body["temperature"] == 0
    assert sent.headers["authorization"] == f"Bearer {KEY}"


async def test_acompletion_over_http(openai_server: OpenAIServer) -> None:
    resp = await router_for(openai_server).acompletion(MSG)
    assert resp.content == "echo: hello there"
    assert resp.attempts[0].ok


def test_stream_over_http(openai_server: OpenAIServer) -> None:
    openai_server.reply = lambda body: "one two three four"
    chunks = list(router_for(openai_server).stream(MSG))
    assert "".join(c.content for c in chunks) == "one two three four"
    assert len(chunks) >= 5  # four words, then the final chunk
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens == 4
    assert openai_server.received[0].body["stream"] is True


async def test_astream_over_http(openai_server: OpenAIServer) -> None:
    openai_server.reply = lambda body: "alpha beta"
    chunks = [c async for c in router_for(openai_server).astream(MSG)]
    assert "".join(c.content for c in chunks) == "alpha beta"
    assert chunks[-1].usage is not None


def test_key_never_in_repr_or_errors(openai_server: OpenAIServer) -> None:
    adapter = LiteLLM("openai/m", api_base=openai_server.base_url + f"?api_key={KEY}", api_key=KEY)
    assert KEY not in repr(adapter)
    dead = LiteLLM("openai/m", api_base="http://127.0.0.1:9/v1", api_key=KEY, timeout=5)
    router = Router([Model("dead", dead)])
    assert KEY not in repr(router) and KEY not in repr(router.models)
    with pytest.raises(AllAttemptsFailedError) as info:
        router.completion(MSG)
    error = info.value.exceptions[0]
    assert isinstance(error, ProviderUnavailableError)
    for text in (str(info.value), repr(info.value), str(error), repr(error)):
        assert KEY not in text


def test_http_404_is_bad_request_and_stops(openai_server: OpenAIServer) -> None:
    wrong = LiteLLM("openai/m", api_base=openai_server.base_url + "/nowhere", api_key=KEY)
    backup = LiteLLM("openai/m", api_base=openai_server.base_url, api_key=KEY)
    router = Router([Model("wrong", wrong), Model("backup", backup)])
    with pytest.raises(AllAttemptsFailedError) as info:
        router.completion(MSG)
    assert isinstance(info.value.exceptions[0], BadRequestError)
    assert [a.model for a in info.value.attempts] == ["wrong"]  # a rejected request is not re-sent


def test_fallback_to_second_server_after_connection_refused(openai_server: OpenAIServer) -> None:
    dead = LiteLLM("openai/m", api_base="http://127.0.0.1:9/v1", api_key=KEY, timeout=5)
    live = LiteLLM("openai/m", api_base=openai_server.base_url, api_key=KEY)
    router = Router([Model("dead", dead), Model("live", live)])
    resp = router.completion(MSG)
    assert resp.model == "live"
    assert [a.model for a in resp.attempts] == ["dead", "dead", "live"]  # one retry, then the fallback
    assert isinstance(resp.attempts[0].error, ProviderUnavailableError)


NETWORK_GUARD = textwrap.dedent(
    """
    import socket, sys
    outside = []
    real_connect = socket.socket.connect
    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
            outside.append(host)
            raise OSError("network blocked by test")
        return real_connect(self, address)
    socket.socket.connect = connect
    real_getaddrinfo = socket.getaddrinfo
    def getaddrinfo(host, *a, **k):
        if host not in ("127.0.0.1", "::1", "localhost", None):
            outside.append(host)
            raise OSError("dns blocked by test")
        return real_getaddrinfo(host, *a, **k)
    socket.getaddrinfo = getaddrinfo

    import llmroute
    assert "litellm" not in sys.modules and "pydantic" not in sys.modules, "import llmroute must stay light"
    from llmroute import Model, Router
    from llmroute.adapters import LiteLLM
    router = Router([Model("m", LiteLLM("openai/m", api_base=sys.argv[1], api_key="sk-x"))])
    print(router.completion([{"role": "user", "content": "hi"}]).content)
    import litellm
    print("outside:", outside)
    """
)


def test_no_network_beyond_loopback(openai_server: OpenAIServer, tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM")}
    out = subprocess.run(
        [sys.executable, "-c", NETWORK_GUARD, openai_server.base_url],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "echo: hi" in out.stdout
    assert "outside: []" in out.stdout, out.stdout


def test_a_first_call_cannot_outlast_its_deadline_importing_litellm(openai_server: OpenAIServer) -> None:
    """In a fresh process the first LiteLLM call imports litellm (seconds). With a 50 ms timeout
    the call fails in time with a timeout that names the import, the router falls back, and the
    import finishes in the background so that later calls work."""
    code = textwrap.dedent(f"""
        import sys, time
        from llmroute import Model, Router
        from llmroute.adapters import LiteLLM, Function
        from llmroute.reliability import RetryPolicy
        lite = LiteLLM("openai/m", api_base="{openai_server.base_url}", api_key="sk-loopback")
        router = Router([Model("lite", lite, hosting="self_hosted"), Model("spare", Function(lambda r: "spare"))],
                        retry=RetryPolicy(attempts_per_model=1))
        assert "litellm" not in sys.modules
        started = time.perf_counter()
        resp = router.completion([{{"role": "user", "content": "hi"}}], timeout=0.05)
        took = time.perf_counter() - started
        print(resp.model, type(resp.attempts[0].error).__name__, "imported" in str(resp.attempts[0].error), took < 2.0)
        router.warmup()
        print(router.completion([{{"role": "user", "content": "hi"}}], model="lite").content)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = done.stdout.strip().splitlines()
    assert first == "spare ProviderTimeoutError True True"
    assert second == "echo: hi"
