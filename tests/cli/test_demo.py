"""``llmroute demo``: the default configuration, the real local model, no network, no keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from llmroute import cli
from llmroute.cli.demo import PROMPTS, default_config_text

pytestmark = pytest.mark.llama

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
HOSTED = {"gpt-4o-mini": "OPENAI_API_KEY", "gpt-4o": "OPENAI_API_KEY", "claude-3-5-sonnet": "ANTHROPIC_API_KEY"}

# Any attempt to open a connection fails the run: the demo must work with no network at all.
NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise SystemExit("the demo tried to use the network")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from llmroute.cli import main
sys.exit(main(sys.argv[1:]))
"""


def no_keys_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in KEYS}


def test_demo_offline_without_keys_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "demo", "--json"],
        env=no_keys_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["skipped_for_missing_keys"] == HOSTED
    assert out["models"] == ["smollm2-135m-local"]
    results = {r["prompt"]: r for r in out["results"]}
    assert list(results) == [p.name for p in PROMPTS]
    for r in results.values():
        assert r["error"] is None
        assert r["model"] == "smollm2-135m-local"
        assert r["answer"]
        assert r["usage"]["prompt_tokens"] > 0 and r["usage"]["completion_tokens"] > 0
        assert r["cost_usd"] > 0  # local inference is priced, not free
        assert r["latency_s"] > 0
        assert r["decision"]["model"] == "smollm2-135m-local"
        assert "model: smollm2-135m-local" in r["decision"]["explain"]
    private = results["personal data"]["decision"]
    assert any(r.startswith("privacy:") and "email" in r for r in private["reasons"])
    assert [c["name"] for c in private["constraints"]] == ["privacy"]
    public = results["capital of France"]["decision"]
    assert public["constraints"] == []


def test_demo_text_names_skipped_models_and_shows_each_decision(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert (
        "skipped, no API key: gpt-4o-mini (set OPENAI_API_KEY), gpt-4o (set OPENAI_API_KEY), "
        "claude-3-5-sonnet (set ANTHROPIC_API_KEY)"
    ) in out
    assert out.count("answered by: smollm2-135m-local") == len(PROMPTS)
    assert out.count("  decision:") == len(PROMPTS)
    assert "privacy: sensitive data" in out
    assert "complexity:" in out and "cost:" in out
    assert "tokens " in out and "cost $" in out and "latency " in out
    assert f"{len(PROMPTS)} answered" in out


def test_hosted_models_join_when_their_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from llmroute.config import load_config

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    data = yaml.safe_load(default_config_text())
    for model in data["models"]:
        if model["adapter"]["type"] == "llamacpp":
            model["adapter"]["load"] = "lazy"
    config = load_config(data)
    assert config.missing_keys() == {"claude-3-5-sonnet": "ANTHROPIC_API_KEY"}
    router = config.build(skip_missing_keys=True)
    assert [m.name for m in router.models] == ["smollm2-135m-local", "gpt-4o-mini", "gpt-4o"]
    # Personal data never goes to a hosted model, key or no key (a dry run: nothing is called).
    private = router.route([{"role": "user", "content": PROMPTS[1].text}], max_tokens=8)
    assert private.candidates == ("smollm2-135m-local",)
    assert "sk-test-not-a-real-key" not in repr(router)
    router.close()


def test_demo_with_a_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "local.yaml"
    config.write_text(
        "models:\n"
        "  - name: tiny\n"
        "    hosting: local\n"
        "    price: {usd_per_hour: 0.02, tokens_per_second: 40}\n"
        "    adapter: {type: llamacpp, n_ctx: 1024}\n"
    )
    assert cli.main(["demo", "--config", str(config), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skipped_for_missing_keys"] == {}
    assert {r["model"] for r in out["results"]} == {"tiny"}
    assert all(r["decision"]["reasons"] == [] for r in out["results"])  # no policies configured


def test_demo_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing_model = tmp_path / "gone.gguf"
    config = tmp_path / "bad.yaml"
    config.write_text(
        "models:\n"
        "  - name: tiny\n"
        "    hosting: local\n"
        f"    adapter: {{type: llamacpp, model_path: '{missing_model}'}}\n"
    )
    assert cli.main(["demo", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert str(missing_model) in err and "does not exist" in err
