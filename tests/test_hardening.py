"""Issue 17: a newcomer's and an attacker's trial. Each test failed before its fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from openai_server import OpenAIServer

from llmroute import ConfigError, InvalidRequestError, Model, Router
from llmroute.adapters.testing import Function
from llmroute.cli import main
from llmroute.config import load_router
from llmroute.errors import BadRequestError, LLMRouteError

PASTED = "sk-proj-abcdef0123456789ABCDEFghijkl"


def _http(base_url: str = "http://127.0.0.1:9/v1") -> dict[str, Any]:
    return {"type": "openai", "model": "m", "base_url": base_url}


def _cfg(**extra: Any) -> dict[str, Any]:
    return {"models": [{"name": "a", "hosting": "self_hosted", "adapter": _http()}], **extra}


# -- config errors name the option; unknown options anywhere are errors ----------------------------
@pytest.mark.parametrize(
    ("config", "path", "suggestion"),
    [
        (_cfg(policies=[{"type": "cost", "budget": [{"limit_usd": 1}]}]), "policies[0].budget", "budgets"),
        (_cfg(policies=[{"type": "complexity", "threshold": 0.3}]), "policies[0].threshold", "thresholds"),
        ({"models": [{"name": "a", "adapter": {"type": "litellm", "model": "openai/m", "api_bse": "http://127.0.0.1:9/v1"}}]},
         "models[0].adapter.api_bse", "api_base"),
        ({"models": [{"name": "a", "adapter": {**_http(), "timeout": 3}}]}, "models[0].adapter.timeout", "timeout_s"),
        (_cfg(router={"fallbak": True}), "router.fallbak", "fallback"),
        ({"models": [{"name": "a", "tierr": "x", "adapter": _http()}]}, "models[0].tierr", "tier"),
        (_cfg(policies=[{"type": "privacy", "detector": ["email"]}]), "policies[0].detector", "detectors"),
    ],
)
def test_unknown_options_are_errors_that_name_them_and_suggest(config: dict[str, Any], path: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_router(config)
    assert info.value.path == path
    assert f"did you mean {suggestion!r}" in str(info.value)
    assert "withheld" not in str(info.value)


def test_a_secret_in_a_failing_option_is_scrubbed_but_the_option_is_named() -> None:
    with pytest.raises(ConfigError) as info:  # a valid option with a bad value, holding a key-shaped string
        load_router(_cfg(policies=[{"type": "privacy", "mode": PASTED}]))
    assert PASTED not in str(info.value) and "privacy" in str(info.value)


def test_a_key_pasted_into_api_key_env_is_refused_and_never_echoed(tmp_path: Path) -> None:
    config = {"models": [{"name": "a", "adapter": {**_http(), "api_key_env": PASTED}}]}
    with pytest.raises(ConfigError) as info:
        load_router(config)
    assert info.value.path == "models[0].adapter.api_key_env" and PASTED not in str(info.value)
    path = tmp_path / "router.json"
    path.write_text(json.dumps(config))
    for flags in (["--explain"], ["--explain", "--json"]):
        out = subprocess.run(
            [sys.executable, "-m", "llmroute.cli", "route", "hi", "--config", str(path), *flags],
            capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 1 and "api_key_env" in out.stderr
        assert PASTED not in out.stdout + out.stderr


def test_a_binary_config_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_bytes(b"\xff\xfe\x00models: \x89PNG")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_router(path)


# -- config is code ---------------------------------------------------------------------------------
def test_module_attr_types_need_an_explicit_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _cfg(policies=[{"type": "os:system", "command": "touch /tmp/llmroute-pwned"}])
    with pytest.raises(ConfigError, match="allow it explicitly") as info:
        load_router(config)
    assert info.value.path == "policies[0].type"
    monkeypatch.setenv("LLMROUTE_ALLOW_IMPORTS", "helpers")
    router = load_router(_cfg(policies=[{"type": "helpers:privacy_fires"}]))
    assert len(router.policies) == 1
    monkeypatch.delenv("LLMROUTE_ALLOW_IMPORTS")
    assert len(load_router(_cfg(policies=[{"type": "helpers:privacy_fires"}]), allow_imports=["helpers"]).policies) == 1


def test_a_catastrophic_regex_is_refused() -> None:
    with pytest.raises(ConfigError, match="repeat inside a repeat") as info:
        load_router(_cfg(policies=[{"type": "privacy", "patterns": {"ids": r"(\w+\s?)+$"}}]))
    assert info.value.path == "privacy.patterns.ids"
    load_router(_cfg(policies=[{"type": "privacy", "patterns": {"ids": r"EMP-\d{6}"}}]))


def test_route_explain_finds_policies_next_to_the_config_and_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "mypolicies_i17.py").write_text(
        "from llmroute import Verdict\n"
        "def keep(request, candidates):\n    return Verdict.keep_all(candidates, reason='kept by mine')\n"
    )
    path = tmp_path / "router.json"
    path.write_text(json.dumps(_cfg(policies=[{"type": "mypolicies_i17:keep"}])))
    cmd = [sys.executable, "-m", "llmroute.cli", "route", "hi", "--config", str(path), "--explain"]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
    assert refused.returncode == 1 and "--allow-import mypolicies_i17" in refused.stderr
    allowed = subprocess.run([*cmd, "--allow-import", "mypolicies_i17"], capture_output=True, text=True, timeout=120, cwd="/")
    assert allowed.returncode == 0 and "kept by mine" in allowed.stdout
    path.write_text(json.dumps(_cfg(policies=[{"type": "not_there_i17:keep"}])))
    missing = subprocess.run([*cmd, "--allow-import", "not_there_i17"], capture_output=True, text=True, timeout=120, cwd="/")
    assert missing.returncode == 1 and "PYTHONPATH" in missing.stderr


# -- CLI edges --------------------------------------------------------------------------------------
def test_json_piped_into_head_prints_no_traceback() -> None:
    out = subprocess.run(
        f"{sys.executable} -m llmroute.cli models --json | head -c 10", shell=True, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def test_unknown_license_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--license", "nonsense"]) == 2
    assert "unknown license 'nonsense'" in capsys.readouterr().err
    assert main(["models", "--license", "apache2"]) == 2
    assert "did you mean 'apache-2.0'" in capsys.readouterr().err


def test_eval_without_costs_says_so_instead_of_zero_savings() -> None:
    from llmroute.eval.report import cost_phrase

    free = SimpleNamespace(premium=SimpleNamespace(total_cost=0.0), savings=0.0)
    assert "no costs" in cost_phrase(free)  # type: ignore[arg-type]
    paid = SimpleNamespace(premium=SimpleNamespace(total_cost=2.0), savings=0.25)
    assert cost_phrase(paid) == "at 25.0% lower cost"  # type: ignore[arg-type]


# -- requests: raw exceptions become errors naming the field ---------------------------------------
def _router() -> Router:
    from helpers import ok

    return Router([Model("a", ok())], instrument=False)


@pytest.mark.parametrize(
    ("messages", "kw", "field"),
    [
        ([{"role": ["user"], "content": "hi"}], {}, "messages[0].role"),
        ([{"role": {"r": 1}, "content": "hi"}], {}, "messages[0].role"),
        ([{"role": "user", "content": "hi"}], {"tags": [["a"]]}, "tags[0]"),
        ([{"role": "user", "content": "hi"}], {"tags": 5}, "tags"),
        ([{"role": "user", "content": "hi"}], {"stream": True}, "router.stream()"),
    ],
)
def test_bad_request_shapes_are_invalid_request_errors(messages: Any, kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _router().completion(messages, **kw)
    assert field in str(info.value)


# -- verified from earlier work: a client's bad input never opens the shared breaker ----------------
@pytest.mark.parametrize(
    "bad",
    [
        {"messages": [{"role": "user", "content": "lone \ud800 surrogate"}]},
        {"messages": [{"role": "user", "content": [MappingProxyType({"type": "text", "text": "proxy"})]}]},
        {"messages": [{"role": "user", "content": "hi"}], "extra_body": {"x": object()}},
    ],
    ids=["surrogate", "mappingproxy", "extra_body"],
)
def test_five_bad_requests_leave_the_circuit_closed_for_the_next_user(openai_server: OpenAIServer, bad: dict[str, Any]) -> None:
    from llmroute.adapters.openai import OpenAI

    router = Router([Model("m", OpenAI("m", base_url=openai_server.base_url), hosting="self_hosted")], breaker={"failure_threshold": 5})
    messages = bad.pop("messages")
    for _ in range(5):  # each fails on the client side as the caller's error (or is sent as plain JSON)
        try:
            router.completion(messages, **bad)
        except LLMRouteError as exc:
            assert isinstance(exc, (BadRequestError, InvalidRequestError)) or all(
                isinstance(e, BadRequestError) for e in getattr(exc, "exceptions", ())
            ), repr(exc)
    assert router.breakers is not None and router.breakers.state("m") == "closed"
    assert router.completion([{"role": "user", "content": "hello"}]).content == "echo: hello"


def test_digit_shaped_personal_data_does_not_push_a_prompt_to_the_premium_tier() -> None:
    from llmroute.policies import Complexity

    scorer = Complexity()
    _, high = scorer.scorer.thresholds
    for text in ("My SSN is 536-22-8745", "My card is 4111 1111 1111 1111, call me on +44 20 7946 0958"):
        assert scorer.score(text) < high, text


@pytest.mark.parametrize(
    ("messages", "kw", "where"),
    [
        ([{"role": "user", "content": "hi"}], {"classification": "sk-live-SECRETabcdef0123456789"}, "classification"),
        ([{"role": "user", "content": "hi"}], {"classification": "sk-ab12"}, "classification"),
        ([{"role": "sk-ab12", "content": "hi"}], {}, "messages[0].role"),
    ],
)
def test_a_wrong_enum_value_is_not_echoed(messages: list[dict[str, Any]], kw: dict[str, Any], where: str) -> None:
    """A key pasted into the wrong field (found by tests/test_properties.py): the error names the
    field, not the value; a short plain word ("Public") is still shown to help."""
    router = Router([Model("m", Function(lambda r: "ok"), hosting="local")])
    value = kw.get("classification") or messages[0]["role"]
    with pytest.raises(InvalidRequestError) as info:
        router.route(messages, **kw)
    assert where in str(info.value) and value not in str(info.value)
    with pytest.raises(InvalidRequestError, match="'Public'"):
        router.route([{"role": "user", "content": "hi"}], classification="Public")
