"""Every Python snippet in README.md and docs/ runs, and every output marked as generated is what
the code prints today.

A page's ``python`` blocks run in order in one namespace, in a scratch folder, with the loopback
OpenAI server standing in for hosted APIs (``OPENAI_API_KEY`` is a placeholder and litellm's and
the OpenAI adapter's base URL point at 127.0.0.1). A block that starts with
``# not run: <reason>`` is shown only (its reason says why: a placeholder name, a real key).
An output block preceded by ``<!-- output: python -->`` must equal what the python block before it
printed; run ``LLMROUTE_UPDATE_DOCS=1 pytest tests/test_docs.py`` to rewrite such outputs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
OUTPUT_MARK = "<!-- output: python -->\n"
SKIP = "# not run:"


def blocks(page: Path) -> list[tuple[str, str, int, int]]:
    """(language, code, start, end) of each fenced block."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


@pytest.fixture(autouse=True)
def otel_globals_restored() -> Iterator[None]:
    """docs/tracing.md installs a global tracer provider with a console exporter: shut it down and
    clear it, so later tests do not export through it (its stdout is a capture closed at exit)."""
    yield
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None or trace._TRACER_PROVIDER is None:
        return
    trace._TRACER_PROVIDER.shutdown()
    # The API has no public reset; these three are what opentelemetry-test-utils resets.
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()


@pytest.fixture
def stand_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Pages run from a folder laid out like a checkout: ../shared/data/routing is the development
    # data beside the repository (see conftest.ROUTERBENCH), linked in when it exists.
    work = tmp_path / "main"
    work.mkdir()
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    with OpenAIServer() as server:
        monkeypatch.chdir(work)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-placeholder-for-docs")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
        yield server


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_snippets_run_and_outputs_are_current(
    page: Path, stand_ins: OpenAIServer, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = page.read_text(encoding="utf-8")
    if "../shared/data/routing" in text:
        request.getfixturevalue("routerbench")  # skips (or fails in CI) without the data
    if "LLMROUTE_REDIS_URL" in text:  # the page's store is a real redis-server the test starts
        monkeypatch.setenv("LLMROUTE_REDIS_URL", request.getfixturevalue("redis_server").url)
    found = blocks(page)
    scope: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    stale: list[tuple[int, int, str]] = []
    for i, (lang, code, _start, _end) in enumerate(found):
        if lang != "python" or code.lstrip().startswith(SKIP):
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(code, f"{page.name} block {i}", "exec"), scope)
            except Exception as exc:
                pytest.fail(f"{page.name} python block {i} raised {type(exc).__name__}: {exc}")
        if i + 1 < len(found) and text[found[i][3]:found[i + 1][2]] == "\n" + OUTPUT_MARK:
            shown = found[i + 1][1]
            if shown != printed.getvalue():
                stale.append((found[i + 1][2], found[i + 1][3], f"```{found[i + 1][0]}\n{printed.getvalue()}```\n"))
    if stale and os.environ.get("LLMROUTE_UPDATE_DOCS"):
        for start, end, new in reversed(stale):
            text = text[:start] + new + text[end:]
        page.write_text(text, encoding="utf-8")
    assert not stale, f"{page.name}: {len(stale)} shown output(s) differ from what the code prints (LLMROUTE_UPDATE_DOCS=1 rewrites them)"


def _rewrite_or_fail(page: Path, old: str, new: str, what: str) -> None:
    if old == new:
        return
    if os.environ.get("LLMROUTE_UPDATE_DOCS"):
        page.write_text(page.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        return
    pytest.fail(f"{page.name}: {what} differs from what the code gives today (LLMROUTE_UPDATE_DOCS=1 rewrites it)")


def test_the_demo_excerpt_shows_todays_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/local-models.md quotes a `llmroute demo` run: its decision lines (not the model's words,
    which vary by CPU build) are what the default configuration decides today."""
    from llmroute import Router
    from llmroute.adapters import Function
    from llmroute.cli.demo import PROMPTS, _load

    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):  # the excerpt is a run with no keys
        monkeypatch.delenv(var, raising=False)
    config = _load(None)
    models = [m.build(f"models[{i}]", adapter=Function(lambda r: "")) for i, m in enumerate(config.models) if not m.key_missing()]
    router = Router(models, [p.build(f"policies[{i}]") for i, p in enumerate(config.policies)],
                    **config.router.model_dump(exclude={"state"}))
    page = ROOT / "docs" / "local-models.md"
    text = page.read_text(encoding="utf-8")
    checked = 0
    for prompt in PROMPTS:
        head = f"] {prompt.name}: {prompt.text}\n  decision:\n"
        if head not in text:
            continue
        start = text.index(head) + len(head)
        end = text.index("  answered by:", start)
        decision = router.route([{"role": "user", "content": prompt.text}], temperature=0, max_tokens=prompt.max_tokens)
        now = "".join(f"    {line}\n" for line in decision.explain().splitlines())
        _rewrite_or_fail(page, text[start:end], now, f"the demo's decision for {prompt.name!r}")
        checked += 1
    assert checked, "local-models.md quotes no demo prompt"


def test_the_routerbench_run_in_evaluation_md_is_current(routerbench: Path, tmp_path: Path) -> None:
    """docs/evaluation.md quotes `llmroute eval` on RouterBench's ARC test split: the figures it
    shows are what that command prints today."""
    import subprocess
    import sys

    page = ROOT / "docs" / "evaluation.md"
    text = page.read_text(encoding="utf-8")
    command = "$ llmroute eval arc_challenge_test.csv --format routerbench --config router.yaml --target-quality 0.95\n"
    start = text.index(command) + len(command)
    end = text.index("```", start)
    config = tmp_path / "router.yaml"
    config.write_text(EVAL_CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "llmroute.cli", "eval", str(routerbench / "arc_challenge_test.csv"), "--format", "routerbench",
         "--config", str(config), "--target-quality", "0.95", "--out", str(tmp_path / "eval-report"), "--no-plots"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    now = done.stdout.replace(str(tmp_path) + "/", "")
    _rewrite_or_fail(page, text[start:end], now, "the RouterBench run")


# The config that the RouterBench excerpt in docs/evaluation.md runs (shown on that page).
EVAL_CONFIG = """\
models:
  - {name: mistralai/mixtral-8x7b-chat, tier: standard, adapter: {type: litellm, model: together_ai/mixtral-8x7b}}
  - {name: gpt-4-1106-preview, tier: complex, adapter: {type: litellm, model: openai/gpt-4-1106-preview}}
policies:
  - {type: complexity}
"""


def test_every_page_is_in_the_site_nav() -> None:
    """mkdocs build --strict (in .ci/run) refuses a page left out of the nav; say so here first."""
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def pages(entries: Any) -> set[str]:
        found: set[str] = set()
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                found |= pages(value) if isinstance(value, list) else {value}
        return found

    on_disk = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [p for p in on_disk if p not in pages(nav)] == []
