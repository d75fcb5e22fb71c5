from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai_server import OpenAIServer

from llmroute import Model, Price, Router, policies
from llmroute.adapters import OpenAI

KEY = "sk-loopback-not-a-secret"


def two_models(server: OpenAIServer) -> Router:
    """A cheap self-hosted model without tools and a pricier one with tools and JSON, both served
    by the loopback server; Fit and Cost decide."""
    return Router(
        [
            Model("small", OpenAI("small-served", base_url=server.base_url, api_key=KEY), hosting="self_hosted", price=Price(1, 2)),
            Model("big", OpenAI("big-served", base_url=server.base_url, api_key=KEY),
                  hosting="api", capabilities=frozenset({"tools", "json"}), price=Price(5, 10)),
        ],
        [policies.Fit(), policies.Cost()],
    )


@pytest.fixture
def router(openai_server: OpenAIServer) -> Router:
    return two_models(openai_server)


@pytest.fixture(scope="module")
def local_router() -> Iterator[Router]:
    """The packaged SmolLM2-135M through llama.cpp (skips without the 'local' extra)."""
    pytest.importorskip("llama_cpp")
    from llmroute.adapters.llamacpp import LlamaCpp

    with Router([Model("smollm2", LlamaCpp(), hosting="local")]) as made:
        yield made
