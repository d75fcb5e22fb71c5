"""docs/evaluation.md's learning-from-production example runs as written and the refit wins there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from llmroute import Router

DOC = (Path(__file__).resolve().parents[2] / "docs" / "evaluation.md").read_text()


def test_the_loop_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    section = DOC.split("## 7. Learning from production", 1)[1]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {}
    exec(code, scope)
    printed = capsys.readouterr().out
    shown = re.findall(r"```\n(246 rated.*?)```", section, re.S)[0]
    assert printed == shown  # the output the docs print is the output it gives
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert Router.from_config(tmp_path / "router.refit.yaml").route([{"role": "user", "content": "Translate into French: hi"}]).model == "large"
