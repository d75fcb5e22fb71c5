"""Fit: context window and capabilities."""

from __future__ import annotations

import pytest

from llmroute import Model, NoEligibleModelError, Router
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError
from llmroute.policies import Fit

fn = Function(lambda r: "ok")
MODELS = [
    Model("tiny", fn, hosting="local", context_window=2048),
    Model("vision", fn, context_window=128_000, capabilities=frozenset({"vision", "tools", "json"})),
    Model("tools", fn, context_window=32_000, capabilities=frozenset({"tools"})),
    Model("unknown-window", fn),
]


def test_context_window_must_hold_prompt_plus_output() -> None:
    router = Router(MODELS, [Fit()])
    short = [{"role": "user", "content": "hi"}]
    assert router.route(short).candidates == ("tiny", "vision", "tools", "unknown-window")
    long = [{"role": "user", "content": "word " * 2000}]  # ~2,500 tokens
    decision = router.route(long, max_tokens=500)
    assert "tiny" not in decision.candidates and "window 2048" in decision.dropped["tiny"]
    assert "unknown-window" in decision.candidates  # unknown windows are kept
    huge = [{"role": "user", "content": "x" * 600_000}]
    assert router.route(huge).candidates == ("unknown-window",)
    with pytest.raises(NoEligibleModelError, match="window"):
        Router(MODELS[:3], [Fit()]).route(huge)


def test_capabilities_tools_vision_json() -> None:
    router = Router(MODELS, [Fit()])
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert router.route([{"role": "user", "content": "call f"}], tools=tools).candidates == ("vision", "tools")
    image = [{"role": "user", "content": [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": "data:,"}}]}]
    decision = router.route(image)
    assert decision.candidates == ("vision",) and decision.dropped["tools"] == "fit: lacks vision"
    assert router.route([{"role": "user", "content": "json"}], response_format={"type": "json_object"}).model == "vision"


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="margin"):
        Fit(margin=1.5)
