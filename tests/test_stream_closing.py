"""Streams the caller drops or closes early: the provider stream is closed in the caller's
context, never by the garbage collector inside someone else's lock (issue 17).

Each test drives real adapters (LiteLLM and the native OpenAI adapter against the loopback
server, llama.cpp with the packaged model) through many streams, a share of them abandoned
in the ways an application abandons them: ``del`` after the first chunk, dropped inside a
reference cycle (the collector's case that deadlocked httpcore's pool), ``close()``, ``with``,
``aclose()``, ``async with``. No test may hang: the pytest timeout bounds each one.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from openai_server import Fault, OpenAIServer

from llmroute import Model, Router
from llmroute.errors import AllAttemptsFailedError, ProviderTimeoutError
from llmroute.guards.streams import AsyncChunkStream, ChunkStream

MSG = [{"role": "user", "content": "hi"}]
REPLY = "one two three four five six seven eight"
# streams per test: LiteLLM costs ~50 ms a stream on a 2-core VM; benchmarks/soak.py runs thousands
ROUNDS = {"litellm": 400, "openai": 1000}


def _client_connections(srv: OpenAIServer) -> int:
    """This process's open TCP connections to ``srv`` (ESTABLISHED, seen from the client side)."""
    port = f"{srv._httpd.server_address[1]:04X}"
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if r[2].endswith(":" + port) and r[3] == "01")


def _wait_for(check: Callable[[], bool], limit_s: float = 30.0) -> bool:
    """Poll until ``check()`` (the closer thread works in the background); False at the limit."""
    end = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > end:
            return False
        gc.collect()
        time.sleep(0.02)
    return True


def _adapter(kind: str, base_url: str) -> Any:
    if kind == "litellm":
        from llmroute.adapters.litellm import LiteLLM

        return LiteLLM("openai/m", api_base=base_url, api_key="sk-test")
    from llmroute.adapters.openai import OpenAI

    return OpenAI("m", base_url=base_url)


def _router(adapter: Any, records: list[Any], **kw: Any) -> Router:
    adapter.warmup()
    return Router([Model("m", adapter, hosting="self_hosted")], audit=records.append, breaker=False, **kw)


def _sync_round(router: Router, i: int) -> None:
    """One stream, abandoned in one of five ways."""
    way = i % 5
    stream = router.stream(MSG, max_tokens=8)
    if way == 0:  # read all
        assert sum(1 for _ in stream) > 0
        return
    next(stream)
    if way == 1:  # dropped: the last reference goes
        del stream
    elif way == 2:  # dropped inside a reference cycle: only the collector finds it
        holder: dict[str, Any] = {"stream": stream}
        holder["self"] = holder
        del stream, holder
    elif way == 3:
        stream.close()
    else:  # closed, then a second one in a with-block
        stream.close()
        with router.stream(MSG, max_tokens=8) as inner:
            next(inner)


@pytest.mark.parametrize("kind", ["litellm", "openai"])
def test_abandoned_sync_streams_over_http_never_deadlock(kind: str) -> None:
    records: list[Any] = []
    with OpenAIServer(reply=lambda body: REPLY) as srv:
        router = _router(_adapter(kind, srv.base_url), records)
        calls = 0
        for i in range(ROUNDS[kind]):
            _sync_round(router, i)
            calls += 2 if i % 5 == 4 else 1
        # every call ended once, however it was left: the cycle's ones once the collector ran
        assert _wait_for(lambda: len(records) == calls), f"{len(records)} of {calls} calls settled"
        assert _wait_for(lambda: _client_connections(srv) == 0), "connections left open"
        router.close()


@pytest.mark.parametrize("kind", ["litellm", "openai"])
async def test_abandoned_async_streams_over_http_never_deadlock(kind: str) -> None:
    records: list[Any] = []
    with OpenAIServer(reply=lambda body: REPLY) as srv:
        adapter = _adapter(kind, srv.base_url)
        await adapter.awarmup()
        router = Router([Model("m", adapter, hosting="self_hosted")], audit=records.append, breaker=False)
        calls = 0
        for i in range(ROUNDS[kind]):
            way = i % 5
            stream = router.astream(MSG, max_tokens=8)
            calls += 1
            if way == 0:
                assert [c async for c in stream]
                continue
            await stream.__anext__()
            if way == 1:
                del stream
            elif way == 2:
                holder: dict[str, Any] = {"stream": stream}
                holder["self"] = holder
                del stream, holder
            elif way == 3:
                await stream.aclose()
            else:
                await stream.aclose()
                async with router.astream(MSG, max_tokens=8) as inner:
                    await inner.__anext__()
                calls += 1
            await asyncio.sleep(0)  # let asyncio's finaliser hook run the dropped ones' aclose()

        async def settled() -> bool:
            for _ in range(1500):
                gc.collect()
                await asyncio.sleep(0.02)
                if len(records) == calls and _client_connections(srv) == 0:
                    return True
            return False

        assert await settled(), f"{len(records)} of {calls} calls settled; {_client_connections(srv)} connections open"
        close = getattr(adapter, "aclose", None)
        if close is not None:
            await close()


def test_close_closes_the_provider_stream_before_it_returns(openai_server: OpenAIServer) -> None:
    """After close() the server sees the connection gone: nothing is left to the collector."""
    from llmroute.adapters.openai import OpenAI

    openai_server.chunk_delay_s = 0.05
    records: list[Any] = []
    router = _router(OpenAI("m", base_url=openai_server.base_url), records)
    list(router.stream(MSG))  # the client's first use opens what it keeps
    gc.disable()  # nothing may depend on a collection
    try:
        stream = router.stream(MSG)
        assert isinstance(stream, ChunkStream)
        next(stream)
        assert _client_connections(openai_server) == 1  # open while streaming
        stream.close()
        assert _client_connections(openai_server) == 0 and len(records) == 2
        stream.close()  # twice is harmless
        assert len(records) == 2
    finally:
        gc.enable()


async def test_aclose_and_async_with_close_the_provider_stream(openai_server: OpenAIServer) -> None:
    from llmroute.adapters.openai import OpenAI

    openai_server.chunk_delay_s = 0.05
    records: list[Any] = []
    adapter = OpenAI("m", base_url=openai_server.base_url)
    await adapter.awarmup()
    router = Router([Model("m", adapter, hosting="self_hosted")], audit=records.append)
    stream = router.astream(MSG)
    assert isinstance(stream, AsyncChunkStream)
    await stream.__anext__()
    assert _client_connections(openai_server) == 1
    await stream.aclose()
    assert _client_connections(openai_server) == 0 and len(records) == 1
    async with router.astream(MSG) as s:
        await s.__anext__()
        assert _client_connections(openai_server) == 1
    assert _client_connections(openai_server) == 0 and len(records) == 2
    await adapter.aclose()


def test_a_stream_never_iterated_still_settles_its_call(openai_server: OpenAIServer) -> None:
    from llmroute.adapters.openai import OpenAI

    records: list[Any] = []
    router = _router(OpenAI("m", base_url=openai_server.base_url), records)
    stream = router.stream(MSG)
    del stream
    assert len(records) == 1 and openai_server.requests == 0


@pytest.mark.llama
def test_abandoned_llamacpp_streams_give_their_slot_back() -> None:
    """A dropped local stream holds a llama.cpp slot until it is closed: with one slot, the next
    call would wait for ever if a dropped stream were left to the collector."""
    pytest.importorskip("llama_cpp")
    from llmroute.adapters.llamacpp import LlamaCpp

    records: list[Any] = []
    router = Router([Model("local", LlamaCpp(pool_size=1, max_queue=4, timeout=60), hosting="local")], audit=records.append)
    calls = 0
    for i in range(150):
        _sync_round(router, i)
        calls += 2 if i % 5 == 4 else 1
    assert _wait_for(lambda: len(records) == calls)

    async def dropped_async() -> int:
        n = 0
        for i in range(60):
            stream = router.astream(MSG, max_tokens=4)
            n += 1
            await stream.__anext__()
            if i % 2:
                await stream.aclose()
            else:
                del stream
                await asyncio.sleep(0)
        return n

    calls += asyncio.run(dropped_async())
    assert _wait_for(lambda: len(records) == calls)
    assert list(router.stream(MSG, max_tokens=2))  # the slot is free
    router.close()


# -- deadlines hold while a server sends only keep-alive comments ------------------------------------


@pytest.mark.parametrize("kind", ["litellm", "openai"])
def test_sync_stream_deadline_holds_through_keepalive_comments(kind: str) -> None:
    with OpenAIServer() as srv:
        srv.always = Fault("keepalive", hang_s=60)
        router = _router(_adapter(kind, srv.base_url), [], retry={"deadline_s": 0.5, "attempts_per_model": 1})
        started = time.monotonic()
        with pytest.raises(AllAttemptsFailedError) as info:
            list(router.stream(MSG))
        # the server would have kept it open for 60 s: a stream that ended well before was cut
        assert time.monotonic() - started < 30
        assert isinstance(info.value.exceptions[0], ProviderTimeoutError)
        router.close()


@pytest.mark.parametrize("kind", ["litellm", "openai"])
async def test_async_stream_deadline_holds_through_keepalive_comments(kind: str) -> None:
    with OpenAIServer() as srv:
        srv.always = Fault("keepalive", hang_s=60)
        adapter = _adapter(kind, srv.base_url)
        await adapter.awarmup()
        router = Router([Model("m", adapter, hosting="self_hosted")], retry={"deadline_s": 0.5, "attempts_per_model": 1})
        started = time.monotonic()
        with pytest.raises(AllAttemptsFailedError) as info:
            async for _ in router.astream(MSG):
                pass
        assert time.monotonic() - started < 30
        assert isinstance(info.value.exceptions[0], ProviderTimeoutError)


async def test_hundred_concurrent_astreams_against_a_hanging_server_end_by_their_deadline() -> None:
    from llmroute.adapters.litellm import LiteLLM

    with OpenAIServer() as srv:
        srv.always = Fault("hang", hang_s=60)
        adapter = LiteLLM("openai/m", api_base=srv.base_url, api_key="sk-test")
        await adapter.awarmup()
        router = Router([Model("m", adapter, hosting="self_hosted")], retry={"deadline_s": 1.0, "attempts_per_model": 1}, breaker=False)

        async def one() -> BaseException | None:
            try:
                async for _ in router.astream(MSG):
                    pass
            except AllAttemptsFailedError as exc:
                return exc.exceptions[0]
            return None

        started = time.monotonic()
        errors = await asyncio.gather(*(one() for _ in range(100)))
        assert all(isinstance(e, ProviderTimeoutError) for e in errors)
        assert time.monotonic() - started < 30  # the server hangs for 60 s


def test_no_thread_left_behind_by_closed_streams(openai_server: OpenAIServer) -> None:
    from llmroute.adapters.openai import OpenAI

    router = _router(OpenAI("m", base_url=openai_server.base_url), [], retry={"deadline_s": 30})
    def ours() -> int:  # the loopback server's per-connection handler threads aside
        return sum(1 for t in threading.enumerate() if "process_request" not in t.name)

    list(router.stream(MSG))
    before = ours()
    for _ in range(50):
        with router.stream(MSG) as s:
            next(s)
    assert ours() <= before
