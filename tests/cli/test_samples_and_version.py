"""What a pip user has: ``--version``, the packaged samples, ``module:attr`` policies found beside
the config, and progress on a terminal or as plain lines."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmroute import Router, samples
from llmroute.cli import main
from llmroute.errors import ConfigError
from llmroute.eval.online import ProgressLine

POLICY_MODULE = '''
from llmroute import Verdict

def only_self(request, candidates):
    return Verdict.filter(candidates, lambda m: None if m.name == "self" else "not self", reason="beside the config")
'''

CONFIG = """
models:
  - {name: other, adapter: {type: litellm, model: openai/x, api_base: "http://127.0.0.1:9/v1"}}
  - {name: self, hosting: self_hosted, adapter: {type: litellm, model: openai/m, api_base: "http://127.0.0.1:9/v1"}}
policies:
  - {type: "POLICY:only_self"}
"""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # the installed console script's situation: neither the config's folder nor cwd on sys.path
    code = "import sys; from llmroute.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_version() -> None:
    from importlib.metadata import version

    out = subprocess.run([sys.executable, "-m", "llmroute.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"llmroute {version('llmroute')}"


def test_the_packaged_example_config_loads_and_routes() -> None:
    router = Router.from_config(samples.path("router.yaml"))
    assert [m.name for m in router.models] == ["smollm2-135m-local", "gpt-4o-mini", "gpt-4o"]
    decision = router.route([{"role": "user", "content": "Write to jane@example.com"}])
    assert decision.model == "smollm2-135m-local" and decision.candidates == ("smollm2-135m-local",)
    with pytest.raises(ConfigError, match=r"no sample 'nope\.yaml'"):
        samples.path("nope.yaml")


def test_eval_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--sample", "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("30 requests, 0 refused; premium model gpt-4o")
    assert "complexity: APGR" in out and (tmp_path / "r" / "report.md").is_file()
    lines = Path(samples.path("eval.jsonl")).read_text().splitlines()
    assert {tuple(json.loads(line)["outcomes"]) for line in lines} == {("smollm2-135m-local", "gpt-4o-mini", "gpt-4o")}
    assert main(["eval"]) == 1 and "--sample" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["config folder", "working directory"])
def test_module_attr_policies_are_found_beside_the_config_or_in_cwd(tmp_path: Path, where: str) -> None:
    conf, work = tmp_path / "conf", tmp_path / "work"
    conf.mkdir()
    work.mkdir()
    module = f"beside_{where.split()[0]}"
    (conf if where == "config folder" else work).joinpath(f"{module}.py").write_text(POLICY_MODULE)
    (conf / "router.yaml").write_text(CONFIG.replace("POLICY", module))
    done = _run(["route", "--config", str(conf / "router.yaml"), "hello"], cwd=work)
    assert done.returncode == 1 and f"--allow-import {module}" in done.stderr  # config code runs only when allowed
    done = _run(["route", "--config", str(conf / "router.yaml"), "--allow-import", module, "hello"], cwd=work)
    assert done.returncode == 0, done.stderr
    assert "model: self" in done.stdout and "not self" in done.stdout


def test_a_failed_import_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "router.yaml").write_text(CONFIG.replace("POLICY", "no_such_module"))
    done = _run(["route", "--config", str(tmp_path / "router.yaml"), "--allow-import", "no_such_module", "hello"], cwd=tmp_path)
    assert done.returncode == 1
    assert "policies[0].type: cannot import 'no_such_module:only_self': No module named 'no_such_module'" in done.stderr
    assert f"looked in {tmp_path}" in done.stderr


def test_progress_on_a_terminal_has_a_bar_and_an_eta() -> None:
    out = io.StringIO()
    progress = ProgressLine("online", out, width=10, tty=True)
    progress(5, 10)
    progress(10, 10)
    text = out.getvalue()
    assert "\r" in text and "online 5/10 [#####.....]" in text and "ETA" in text and text.endswith("\n")


def test_progress_elsewhere_is_plain_lines() -> None:
    out = io.StringIO()
    progress = ProgressLine("online", out, tty=False)
    for done in range(101):
        progress(done, 100)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 11  # one a tenth
    assert lines[5].startswith("online 50/100 (50%)") and "ETA" in lines[5] and "ETA" not in lines[-1]
