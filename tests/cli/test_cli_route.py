"""`llmroute route`: a dry run of a config from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmroute.cli import main

CONFIG = """
models:
  - name: self
    hosting: self_hosted
    adapter: {type: litellm, model: openai/m, api_base: "http://127.0.0.1:9/v1"}
  - name: hosted
    adapter: {type: litellm, model: openai/gpt-4o-mini, api_key_env: LLMROUTE_CLI_TEST_KEY}
"""


def test_route_prints_the_decision_and_skipped_models(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMROUTE_CLI_TEST_KEY", raising=False)
    path = tmp_path / "router.yaml"
    path.write_text(CONFIG)
    assert main(["route", "--config", str(path), "hello"]) == 0
    out = capsys.readouterr().out
    assert "model: self" in out
    assert "skipped hosted: LLMROUTE_CLI_TEST_KEY is not set" in out
    assert main(["route", "--config", str(path), "--json", "hello"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "self" and data["skipped_for_missing_keys"] == {"hosted": "LLMROUTE_CLI_TEST_KEY"}


def test_route_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "router.yaml"
    path.write_text("models: [{name: a, hosting: cloud, adapter: {type: litellm, model: x}}]")
    assert main(["route", "--config", str(path), "hello"]) == 1
    assert "models[0].hosting" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "route" in capsys.readouterr().out


def test_route_explain_prints_a_table_of_every_model(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMROUTE_CLI_TEST_KEY", "sk-cli-test")
    path = tmp_path / "router.yaml"
    path.write_text(CONFIG + "policies: [{type: privacy}]\n")
    assert main(["route", "--config", str(path), "--explain", "mail bob@example.com today"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:4]}
    assert rows["self"].rstrip().endswith("chosen")
    assert "dropped: privacy: sensitive data (email)" in rows["hosted"]
    assert "constraint privacy: sensitive data (email)" in out and "bob@example.com" not in out.replace("mail bob@example.com today", "")
