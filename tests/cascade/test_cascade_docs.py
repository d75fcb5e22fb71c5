"""docs/cascades.md's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cascades.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_the_router_example_prints_what_the_doc_says(capsys: pytest.CaptureFixture[str]) -> None:
    exec(BLOCKS[0], {})
    expected = [line.removeprefix("# ") for line in BLOCKS[0].splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines()[0] == expected[0]


def test_the_offline_example_runs_on_routerbench(routerbench: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scope: dict[str, Any] = {}
    exec(BLOCKS[1].replace("../shared/data/routing/routerbench_zs", str(routerbench)), scope)
    assert "reached gpt-4" in capsys.readouterr().out and 0 < scope["r"].share(scope["ladder"][-1]) < 1
