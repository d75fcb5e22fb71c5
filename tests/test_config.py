"""Configuration: YAML, JSON and dicts, with errors that name the field and never a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import OpenAIServer

from llmroute import ConfigError, Price, Request, Router, Verdict
from llmroute.adapters import LiteLLM
from llmroute.config import load_config


def echo(request: Request) -> str:
    return "configured"


def local_only(request: Request, candidates: list) -> Verdict:  # type: ignore[type-arg]
    return Verdict.filter(candidates, lambda m: None if m.hosting == "local" else "not local")


YAML = """
models:
  - name: small
    hosting: local
    tier: simple
    price: {usd_per_hour: 1.8, tokens_per_second: 500, utilization: 0.5}
    adapter: {type: function, fn: !!python/name:test_config.echo}
  - name: hosted
    hosting: api
    price: {input: 0.15, output: 0.60}
    context_window: 128000
    capabilities: [tools, json]
    adapter: {type: litellm, model: openai/gpt-4o-mini, api_key_env: LLMROUTE_TEST_KEY}
policies:
  - {type: "test_config:local_only"}
router: {default_output_tokens: 64}
"""


def test_yaml_file_builds_a_router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMROUTE_TEST_KEY", "sk-from-env-XYZ")
    path = tmp_path / "router.yaml"
    path.write_text(YAML.replace("!!python/name:test_config.echo", "null"))
    cfg = load_config(path)
    assert cfg.models[0].price.build().input == pytest.approx(1.8 / (500 * 3600 * 0.5) * 1e6)
    assert cfg.missing_keys() == {}
    monkeypatch.delenv("LLMROUTE_TEST_KEY")
    assert cfg.missing_keys() == {"hosted": "LLMROUTE_TEST_KEY"}


def test_dict_config_routes_and_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMROUTE_TEST_KEY", "sk-from-env-XYZ")
    config = {
        "models": [
            {"name": "small", "hosting": "local", "adapter": {"type": "function", "fn": echo}},
            {"name": "hosted", "adapter": {"type": "litellm", "model": "openai/gpt-4o-mini", "api_key_env": "LLMROUTE_TEST_KEY"}},
        ],
        "policies": [{"type": "test_config:local_only"}],
        "router": {"default_output_tokens": 64},
    }
    router = Router.from_config(config, allow_imports=["test_config"])
    hosted = router.models[1].adapter
    assert isinstance(hosted, LiteLLM) and "sk-from-env-XYZ" not in repr(hosted)
    assert router.route([{"role": "user", "content": "hi"}]).estimated_output_tokens == 64
    assert router.completion([{"role": "user", "content": "hi"}]).content == "configured"


def test_missing_keys_can_be_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMROUTE_TEST_KEY", raising=False)
    cfg = load_config({
        "models": [
            {"name": "small", "hosting": "local", "adapter": {"type": "function", "fn": echo}},
            {"name": "hosted", "adapter": {"type": "litellm", "model": "openai/x", "api_key_env": "LLMROUTE_TEST_KEY"}},
        ]
    })
    with pytest.raises(ConfigError, match=r"models\[1\].adapter.api_key_env: environment variable LLMROUTE_TEST_KEY"):
        cfg.build()
    assert [m.name for m in cfg.build(skip_missing_keys=True).models] == ["small"]


@pytest.mark.parametrize(
    ("config", "text"),
    [
        ({}, r"models: Field required"),
        ({"models": []}, "models: List should have at least 1 item"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}, "price": {"input": -1}}]}, r"models\[0\].price.input: .*greater than or equal to 0 \(got -1\)"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}, "hosting": "cloud"}]}, r"models\[0\].hosting: .*\(got 'cloud'\)"),
        ({"models": [{"name": "a", "adapter": {"type": "nope"}}]}, r"models\[0\].adapter.type: unknown type 'nope'"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}}], "policies": [{"type": "nope"}]}, r"policies\[0\].type"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}}] * 2}, "duplicate model name 'a'"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}, "colour": "red"}]}, r"models\[0\].colour: unknown option"),
        ({"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}, "price": {"input": 1, "usd_per_hour": 2}}]}, "not both"),
    ],
)
def test_invalid_config_names_the_field(config: dict, text: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=text):
        Router.from_config(config)


def test_secrets_are_never_echoed() -> None:
    config = {"models": [{"name": "a", "adapter": {"type": "litellm", "model": 7, "api_key": "sk-LEAKME-123"}}]}
    with pytest.raises(ConfigError) as info:
        Router.from_config(config)
    assert "sk-LEAKME-123" not in str(info.value)
    config = {"models": [{"name": "a", "hosting": "sk-LEAKME-123", "adapter": {"type": "function", "fn": echo}}]}
    with pytest.raises(ConfigError) as info:
        Router.from_config(config)
    assert "hosting" in str(info.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        Router.from_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Router.from_config(bad)
    scalar = tmp_path / "scalar.json"
    scalar.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        Router.from_config(scalar)


def test_retry_and_breaker_settings_errors_name_their_place() -> None:
    base = {"models": [{"name": "a", "adapter": {"type": "function", "fn": echo}}]}
    with pytest.raises(ConfigError, match=r"router\.retry\.attempts_per_model: must be an integer >= 1"):
        Router.from_config(base | {"router": {"retry": {"attempts_per_model": 0}}})
    with pytest.raises(ConfigError, match=r"router\.breaker\.nope: unknown setting"):
        Router.from_config(base | {"router": {"breaker": {"nope": 1}}})
    router = Router.from_config(base | {"router": {"breaker": False, "retry": {"attempts_per_model": 3}}})
    assert router.breakers is None


def test_models_from_the_catalog(openai_server: OpenAIServer) -> None:
    router = Router.from_config({
        "models": [
            {"catalog": "gpt-4o-mini", "tier": "standard", "adapter": {"type": "litellm", "model": "openai/gpt-4o-mini", "api_base": openai_server.base_url, "api_key": "sk-test"}},
            {"catalog": "llama-3-70b", "hosting": "self_hosted", "adapter": {"type": "function", "fn": echo}, "price": {"usd_per_hour": 4.0, "tokens_per_second": 1000}},
            {"name": "mini-default", "catalog": "gpt-4o-mini"},
        ]
    })
    mini, llama, default = router.models
    assert (mini.name, mini.hosting, mini.tier, mini.context_window, mini.license) == ("gpt-4o-mini", "api", "standard", 128_000, "proprietary")
    assert mini.price == Price(0.15, 0.60) and mini.metadata["catalog_id"] == "gpt-4o-mini"
    assert llama.hosting == "self_hosted" and llama.open_weights and llama.price.output == pytest.approx(4.0 / 3600 / 1000 * 1e6)
    assert isinstance(default.adapter, LiteLLM) and default.adapter.model == "openai/gpt-4o-mini"
    resp = router.completion([{"role": "user", "content": "hi"}], model="gpt-4o-mini")
    assert resp.content == "echo: hi" and resp.cost == pytest.approx(Price(0.15, 0.60).cost(resp.usage.prompt_tokens, resp.usage.completion_tokens))


def test_catalog_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"models\[0\]\.catalog: unknown model 'gpt-9'"):
        Router.from_config({"models": [{"catalog": "gpt-9"}]})
    with pytest.raises(ConfigError, match=r"models\[0\]: give an adapter, or a catalog entry"):
        Router.from_config({"models": [{"name": "x"}]})


@pytest.mark.parametrize(
    "entry",
    [
        {"catalog": "gpt-4o-mini", "hosting": "local"},
        {"name": "claude", "hosting": "self_hosted", "adapter": {"type": "litellm", "model": "anthropic/claude-3-5-haiku-latest"}},
        {"name": "bare", "hosting": "local", "adapter": {"type": "litellm", "model": "gpt-4o-mini"}},
        # providers litellm knows that no fixed list here names: any prefix not known to run on
        # the user's own machine counts as hosted (fail closed)
        {"name": "minimax", "hosting": "local", "adapter": {"type": "litellm", "model": "minimax/abab6.5s-chat"}},
        {"name": "anthropic_text", "hosting": "self_hosted", "adapter": {"type": "litellm", "model": "anthropic_text/claude-2"}},
        {"name": "unknown", "hosting": "local", "adapter": {"type": "litellm", "model": "acme-cloud/model-x"}},
        {"name": "native", "hosting": "self_hosted", "adapter": {"type": "openai", "model": "gpt-4o-mini"}},
        {"name": "azure", "hosting": "self_hosted",
         "adapter": {"type": "litellm", "model": "azure/gpt-4o", "api_base": "https://acme.openai.azure.com"}},
    ],
)
def test_a_hosted_route_cannot_be_labelled_private(entry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """The Privacy policy trusts ``hosting``: a label more private than the route is refused when
    the router is built, unless the config says hosting_override (then it warns)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-placeholder")
    with pytest.raises(ConfigError, match="sends requests to a hosted API") as info:
        Router.from_config({"models": [entry]})
    assert "hosting" in str(info.value)
    with pytest.warns(UserWarning, match="hosting_override"):
        router = Router.from_config({"models": [{**entry, "hosting_override": True}]})
    assert router.models[0].hosting == entry["hosting"]


def test_a_server_of_your_own_may_be_labelled_private(openai_server: OpenAIServer) -> None:
    router = Router.from_config({"models": [
        {"name": "vllm", "hosting": "self_hosted", "adapter": {"type": "litellm", "model": "openai/llama", "api_base": openai_server.base_url}},
        {"name": "ollama", "hosting": "local", "adapter": {"type": "litellm", "model": "ollama_chat/llama3"}},
        {"name": "lmstudio", "hosting": "local", "adapter": {"type": "litellm", "model": "lm_studio/qwen2.5-7b"}},
        {"name": "native", "hosting": "self_hosted", "adapter": {"type": "openai", "model": "m", "base_url": openai_server.base_url}},
        {"name": "minimax-own", "hosting": "self_hosted",
         "adapter": {"type": "litellm", "model": "minimax/m", "api_base": openai_server.base_url}},
    ]})
    assert [m.hosting for m in router.models] == ["self_hosted", "local", "local", "self_hosted", "self_hosted"]
