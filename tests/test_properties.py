"""Property-based tests over everything that comes from outside: messages, request options,
configs, dataset rows, CLI arguments.

The property: every failure is an llmroute error (naming the field where there is one), never a
raw exception from deep inside, never a hang (each example is bounded by hypothesis's deadline
and the test timeout), never a secret in the message. Example counts are bounded so CI stays
quick (``LLMROUTE_PROPERTY_EXAMPLES`` raises them for a longer local run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmroute import ConfigError, Model, Router
from llmroute.errors import LLMRouteError

EXAMPLES = int(os.environ.get("LLMROUTE_PROPERTY_EXAMPLES", "150"))
BOUNDED = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SECRET = "sk-live-SECRETabcdef0123456789"

# -- values from outside ----------------------------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
    st.binary(max_size=10), st.just(SECRET), st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4), st.tuples(inner)),
    max_leaves=12,
)
roles = st.one_of(st.sampled_from(["system", "user", "assistant", "tool", "developer"]), junk)
parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(st.text(max_size=40), junk)}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": st.text(max_size=20)})}),
    st.builds(lambda d: MappingProxyType(d), st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)})),
    junk,
)
content = st.one_of(st.text(max_size=200), st.lists(parts, max_size=3), junk, st.just("x" * 100_000), st.just(f"my key is {SECRET}"))
tool_call = st.fixed_dictionaries({"id": st.text(max_size=5), "type": st.just("function"),
                                   "function": st.fixed_dictionaries({"name": st.text(max_size=8), "arguments": st.text(max_size=20)})})
message = st.one_of(
    st.fixed_dictionaries({"role": roles, "content": content}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none(), "tool_calls": st.lists(tool_call, max_size=2)}),
    st.dictionaries(st.text(max_size=8), junk, max_size=3),
    junk,
)
messages = st.one_of(st.lists(message, max_size=4), junk)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [{"type": "text", "text": value}]
    return value


def _no_secret(exc: BaseException) -> None:
    assert SECRET not in str(exc), f"{type(exc).__name__} echoed a secret"


@pytest.fixture(scope="module")
def router() -> Router:
    from helpers import ok

    return Router([Model("local", ok(), hosting="local"), Model("api", ok(), hosting="api")], instrument=False)


@BOUNDED
@given(messages=messages, options=st.dictionaries(
    st.sampled_from(["max_tokens", "temperature", "stop", "tags", "user", "metadata", "classification", "model", "extra_body",
                     "timeout", "tools", "top_p", "seed", "n", "stream", "colour"]), junk, max_size=3))
def test_any_request_either_routes_or_raises_an_llmroute_error(router: Router, messages: Any, options: dict[str, Any]) -> None:
    try:
        router.route(messages, **options)
    except LLMRouteError as exc:
        _no_secret(exc)
        assert ":" in str(exc) or "'" in str(exc), str(exc)  # names the field


@pytest.mark.parametrize("depth", [50, 5_000])
def test_deeply_nested_content_is_an_error_not_a_crash(router: Router, depth: int) -> None:
    try:
        router.route([{"role": "user", "content": _deep(depth)}])
    except LLMRouteError as exc:
        assert "messages[0].content" in str(exc)


# -- configs ------------------------------------------------------------------------------------------
adapter = st.one_of(
    st.fixed_dictionaries({"type": st.just("openai"), "model": st.text(min_size=1, max_size=8), "base_url": st.just("http://127.0.0.1:9/v1")},
                          optional={"api_key_env": st.one_of(st.just(SECRET), st.text(max_size=30)), "timeout_s": junk, "bse_url": junk}),
    st.fixed_dictionaries({"type": st.sampled_from(["litellm", "function", "nope", "os:system", "llmroute.adapters.testing:Function"])},
                          optional={"model": junk, "fn": junk, "api_bse": junk}),
    junk,
)
model_cfg = st.one_of(
    st.fixed_dictionaries({"name": st.one_of(st.text(max_size=6), junk), "adapter": adapter},
                          optional={"hosting": junk, "price": junk, "tier": junk, "tierr": junk, "context_window": junk, "catalog": junk}),
    junk,
)
policy_cfg = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["privacy", "cost", "complexity", "fit", "latency", "task", "x:y", "os:system"])},
                          optional={"budget": junk, "threshold": junk, "mode": st.one_of(st.just(SECRET), junk), "patterns": junk, "detectors": junk}),
    junk,
)
config = st.one_of(
    st.fixed_dictionaries({"models": st.one_of(st.lists(model_cfg, max_size=3), junk)},
                          optional={"policies": st.one_of(st.lists(policy_cfg, max_size=2), junk), "router": junk, "extra": junk}),
    junk,
)


@BOUNDED
@given(cfg=config)
def test_any_config_builds_or_raises_a_config_error_without_secrets(cfg: Any) -> None:
    try:
        Router.from_config(cfg) if isinstance(cfg, dict) else Router.from_config({"models": cfg})
    except ConfigError as exc:
        _no_secret(exc)
    except LLMRouteError as exc:  # e.g. a missing optional dependency: still ours, still no secret
        _no_secret(exc)


@settings(max_examples=max(20, EXAMPLES // 5), deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)), suffix=st.sampled_from([".yaml", ".json", ".yml"]))
def test_any_config_file_reads_or_raises_a_config_error(tmp_path_factory: pytest.TempPathFactory, raw: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("cfg") / f"router{suffix}"
    path.write_bytes(raw)
    with pytest.raises(LLMRouteError):  # none of these is a whole valid config
        Router.from_config(path)


# -- dataset rows -----------------------------------------------------------------------------------
row = st.one_of(
    st.fixed_dictionaries({"prompt": st.one_of(st.text(max_size=20), junk), "outcomes": junk}, optional={"id": junk, "messages": junk}),
    st.dictionaries(st.text(max_size=8), junk, max_size=4),
    junk,
)


@settings(max_examples=max(30, EXAMPLES // 3), deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=4))
def test_any_dataset_row_loads_or_raises_an_error_naming_the_line(tmp_path_factory: pytest.TempPathFactory, rows: list[Any]) -> None:
    from llmroute.eval.dataset import load_dataset

    path: Path = tmp_path_factory.mktemp("ds") / "data.jsonl"
    path.write_text("\n".join(json.dumps(r, default=str) for r in rows))
    try:
        load_dataset(path)
    except LLMRouteError as exc:
        _no_secret(exc)


# -- CLI arguments ----------------------------------------------------------------------------------
arg = st.one_of(st.sampled_from(["--json", "--explain", "--license", "--config", "--model", "--max-tokens", "-1", "x", "nonsense",
                                 "--open-weights", "--provider", "--max-input-price", "abc"]), st.text(max_size=8))


@settings(max_examples=max(30, EXAMPLES // 3), deadline=5000)
@given(command=st.sampled_from(["models", "route", "size", "breakeven"]), args=st.lists(arg, max_size=5))
def test_any_cli_arguments_exit_with_a_code_not_a_traceback(command: str, args: list[str]) -> None:
    import contextlib
    import io

    from llmroute.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([command, *args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    assert isinstance(code, int)
    assert "Traceback" not in err.getvalue()
