"""Router.warmup / awarmup: what the first call would do (imports, clients, model loads) done up
front, without sending anything, and never on the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from openai_server import OpenAIServer

from llmroute import ConfigError, Model, Router
from llmroute.adapters import Function, LiteLLM, OpenAI

KEY = "sk-loopback-not-a-secret"


class Recording(Function):
    """A Function adapter whose warm-up records the thread it ran on, or fails."""

    def __init__(self, fail: str | None = None) -> None:
        super().__init__(lambda r: "ok")
        self.fail = fail
        self.threads: list[int] = []

    def warmup(self) -> None:
        self.threads.append(threading.get_ident())
        if self.fail:
            raise ConfigError(self.fail, path="model_path")

    async def awarmup(self) -> None:
        await asyncio.to_thread(self.warmup)


def test_warmup_builds_clients_without_sending_anything(openai_server: OpenAIServer) -> None:
    native = OpenAI("m", base_url=openai_server.base_url, api_key=KEY)
    through_litellm = LiteLLM("openai/m", api_base=openai_server.base_url, api_key=KEY)
    router = Router([Model("native", native, hosting="self_hosted"), Model("lite", through_litellm, hosting="self_hosted")])
    assert native._client is None
    took = router.warmup()
    assert set(took) == {"native", "lite"} and all(s >= 0 for s in took.values())
    assert native._client is not None
    from llmroute.adapters import litellm as litellm_adapter

    assert litellm_adapter._litellm is not None  # imported now, not on the first call
    assert openai_server.requests == 0
    assert router.completion([{"role": "user", "content": "hi"}]).content  # and the clients work


def test_a_shared_adapter_is_warmed_once_and_every_model_is_tried() -> None:
    shared, broken, other = Recording(), Recording(fail="cannot load /models/x.gguf"), Recording(fail="second failure")
    router = Router([Model("a", shared), Model("b", shared), Model("c", broken), Model("d", other)])
    with pytest.raises(ConfigError, match="cannot load") as info:
        router.warmup()
    assert len(shared.threads) == 1 and len(broken.threads) == 1 and len(other.threads) == 1
    assert any("'d'" in note and "second failure" in note for note in getattr(info.value, "__notes__", []))
    assert Router([Model("a", shared), Model("b", shared)]).warmup().keys() == {"a"}


def test_awarmup_runs_off_the_event_loop() -> None:
    adapters = [Recording(), Recording()]
    router = Router([Model("a", adapters[0]), Model("b", adapters[1])])

    async def run() -> tuple[int, dict[str, float]]:
        return threading.get_ident(), await router.awarmup()

    loop_thread, took = asyncio.run(run())
    assert took.keys() == {"a", "b"}
    assert all(t != loop_thread for a in adapters for t in a.threads)


def test_awarmup_offloads_an_adapter_that_only_has_warmup() -> None:
    class SyncOnly(Recording):
        awarmup = None  # type: ignore[assignment]  # a user's adapter written before awarmup existed

    adapter = SyncOnly()

    async def run() -> int:
        await Router([Model("s", adapter)]).awarmup()
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert adapter.threads and adapter.threads[0] != loop_thread


@pytest.mark.llama
def test_warmup_loads_every_idle_llama_cpp_instance() -> None:
    pytest.importorskip("llama_cpp")
    from llmroute.adapters.llamacpp import LlamaCpp

    with Router([Model("local", LlamaCpp(pool_size=2, n_threads=1, load="lazy"), hosting="local")]) as router:
        adapter = router.models[0].adapter
        assert adapter.loaded == 0  # type: ignore[attr-defined]
        asyncio.run(router.awarmup())
        assert adapter.loaded == 2  # type: ignore[attr-defined]
        router.warmup()  # idempotent
        assert adapter.loaded == 2  # type: ignore[attr-defined]
