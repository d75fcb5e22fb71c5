from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from redis_server import REDIS_SERVER, RedisServer


@pytest.fixture(autouse=True)
def _fresh_litellm_clients() -> Iterator[None]:
    """Each test starts with litellm's HTTP client cache empty, as a fresh process would.

    litellm keeps clients process-wide, keyed by api_base and the running loop's token; tests
    start servers on ports the OS hands out again and run loops one after another, and it evicts
    and later closes clients past 200. In full runs (never alone) two tests of test_faults saw
    one request more or one fewer on their server than the router's attempts show: a client
    carried over from an earlier test is the suspect.
    """
    yield
    cache = getattr(sys.modules.get("litellm"), "in_memory_llm_clients_cache", None)
    if cache is not None:
        cache.flush_cache()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


# The RouterBench development data sits beside the repository (../shared/data/routing), not in
# it. Tests that need it skip with a reason where it is absent, except in CI (CI=true), where it
# is always laid beside the clone and a missing folder is an error, not a quiet skip.
ROUTERBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing" / "routerbench_zs"


@pytest.fixture
def routerbench() -> Path:
    path = Path(os.environ.get("LLMROUTE_ROUTERBENCH", ROUTERBENCH))
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"RouterBench data not found at {path}")
        pytest.skip(f"RouterBench data not found at {path} (set LLMROUTE_ROUTERBENCH)")
    return path


# redis-server (Debian's package; .ci/run installs it). Tests that need it skip with a reason
# where it is missing, except in CI (CI=true), where a missing binary is an error.
@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with RedisServer() as server:
        yield server
