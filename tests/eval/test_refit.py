"""Refit from recorded outcomes: labels, thresholds, a written config the Router loads, clear errors.

The feedback here is recorded through a real Router (loopback HTTP server) and router.feedback,
then refitted through the API and through `llmroute eval --fit`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai_server import OpenAIServer

from llmroute import Router
from llmroute.cli import main
from llmroute.config import load_config
from llmroute.errors import ConfigError
from llmroute.eval.calibrate import QualityTarget
from llmroute.eval.dataset import Dataset, DatasetError, Example, Outcome, load_dataset
from llmroute.eval.feedback import FeedbackLog
from llmroute.eval.refit import labelled, refit
from llmroute.policies.complexity import Complexity

# The weak model fails every request that asks for code, and answers every greeting well.
EASY = [f"Say hello to {name} and wish them a good {day}." for name in ("Ann", "Bo", "Cy", "Di", "Ed", "Flo") for day in ("Monday", "Friday", "weekend")]
HARD = [
    f"Write a Python function `{name}(xs)` that returns the {what} of a list, with a docstring and tests."
    for name in ("f", "g", "h", "k", "m", "n") for what in ("median", "mode", "variance")
]


def config(server: OpenAIServer | None, **policy: Any) -> dict[str, Any]:
    base = server.base_url if server is not None else "http://127.0.0.1:9/v1"
    return {
        "models": [
            {"name": "small", "tier": "simple", "hosting": "local", "adapter": {"type": "openai", "model": "small", "base_url": base}},
            {"name": "large", "tier": "complex", "adapter": {"type": "openai", "model": "large", "base_url": base}},
        ],
        "policies": [{"type": "complexity", **policy}],
    }


def record(server: OpenAIServer, path: Path) -> list[str]:
    """Serve every prompt on the weak model (pinned, as an exploration share would) and rate it."""
    router = load_config(config(server)).build(feedback=FeedbackLog(path))
    ids = []
    for prompt in EASY + HARD:
        response = router.completion([{"role": "user", "content": prompt}], model="small")
        router.feedback(response, 1.0 if prompt in EASY else 0.0)
        ids.append(response.request_id or "")
    return ids


def test_refit_learns_from_router_feedback_and_writes_a_config_the_router_loads(openai_server: OpenAIServer, tmp_path: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    record(openai_server, log)
    (tmp_path / "router.yaml").write_text(yaml.safe_dump(config(openai_server)))
    done = refit(log, tmp_path / "router.yaml", out=tmp_path / "new.yaml")
    assert (done.strong, done.weak) == ("large", "small")
    assert (done.data.weak_only, done.data.both, done.data.skipped) == (36, 0, 0)
    assert done.scorer_path == tmp_path / "new.complexity.json" and done.scorer_path.is_file()
    # the refit separates what the weak model failed from what it did well
    new = Complexity.load(done.scorer_path)
    assert min(new.score(p) for p in HARD) > max(new.score(p) for p in EASY)

    router = Router.from_config(tmp_path / "new.yaml")
    (policy,) = router.policies
    assert isinstance(policy, Complexity) and policy.thresholds == done.policy.thresholds
    decided = {p: router.route([{"role": "user", "content": p}]).model for p in EASY + HARD}
    old = Router.from_config(tmp_path / "router.yaml")
    before = sum(old.route([{"role": "user", "content": p}]).model == "large" for p in EASY + HARD)
    # no target: the same share goes to the strong model as before (the shipped scorer sends the
    # code asks there too), and it is the prompts the weak model failed
    assert before == len(HARD) and done.share == pytest.approx(0.5)
    assert {p for p, m in decided.items() if m == "large"} == set(HARD)
    router.completion([{"role": "user", "content": HARD[0]}])  # and it serves requests
    written = yaml.safe_load((tmp_path / "new.yaml").read_text())
    assert written["policies"][0]["path"] == str(done.scorer_path)
    assert written["models"] == config(openai_server)["models"]


def both_models_dataset() -> Dataset:
    """Both models recorded: the strong one answers everything; the weak one fails the code asks."""
    rows = [
        Example(f"e{i}", ({"role": "user", "content": p},),
                {"large": Outcome(1.0, cost=0.01), "small": Outcome(0.0 if p in HARD else 1.0, cost=0.001)})
        for i, p in enumerate(EASY + HARD)
    ]
    return Dataset(tuple(rows), "both")


def test_a_quality_target_is_calibrated_on_examples_with_both_models(tmp_path: Path) -> None:
    done = refit(both_models_dataset(), config(None), target=QualityTarget(1.0))
    assert done.data.both == 36 and done.data.labels.count(1.0) == len(HARD)  # gain labels
    cal = done.calibration
    assert cal is not None and cal.met and cal.quality == 1.0
    assert cal.share == pytest.approx(0.5)  # exactly the code asks go to the strong model
    assert done.share == pytest.approx(0.5)
    assert done.policy.thresholds[0] == pytest.approx(cal.threshold)
    assert done.config_path is None  # nothing written without out=


def test_labels_follow_the_documented_rules() -> None:
    msgs = ({"role": "user", "content": "x"},)
    data = Dataset((
        Example("w", msgs, {"small": Outcome(0.25)}),
        Example("b", msgs, {"small": Outcome(0.5), "large": Outcome(0.75)}),
        Example("r", msgs, {"small": Outcome(1.0), "large": Outcome(0.0)}),
        Example("s", msgs, {"large": Outcome(1.0)}),
    ))
    got = labelled(data, "large", "small")
    assert got.labels == (0.75, 0.25, 0.0) and (got.weak_only, got.both, got.skipped) == (1, 2, 1)


def test_bad_input_gets_clear_errors(tmp_path: Path) -> None:
    good = both_models_dataset()
    with pytest.raises(ConfigError, match="no complexity policy"):
        refit(good, {"models": config(None)["models"]})
    with pytest.raises(ConfigError, match="at least 10 rated requests answered by the weak model"):
        refit(Dataset(good.examples[:9]), config(None))
    strong_only = Dataset(tuple(Example(ex.id, ex.messages, {"large": ex.outcomes["large"]}) for ex in good))
    with pytest.raises(ConfigError, match="got 0"):
        refit(strong_only, config(None))
    bad = Dataset((*good.examples[:-1], Example("odd", good.examples[-1].messages, {"small": Outcome(3.0)})), "fb.jsonl")
    with pytest.raises(DatasetError, match=r"fb.jsonl: example 'odd': quality of 'small' must be in \[0, 1\] to refit, got 3.0"):
        refit(bad, config(None))
    with pytest.raises(ConfigError, match="weak model 'tiny' is not in the config"):
        refit(good, config(None), weak="tiny")
    weak_only = Dataset(tuple(Example(ex.id, ex.messages, {"small": ex.outcomes["small"]}) for ex in good))
    with pytest.raises(ConfigError, match="a target needs at least 10 examples that recorded both"):
        refit(weak_only, config(None), target=QualityTarget(0.9))


def test_cli_fit_writes_the_config_and_says_what_it_did(openai_server: OpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "feedback.jsonl"
    record(openai_server, log)
    cfg = tmp_path / "router.yaml"
    cfg.write_text(yaml.safe_dump(config(openai_server)))
    code = main(["eval", str(log), "--config", str(cfg), "--fit", "--write-config", str(tmp_path / "new.yaml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "refit on 36 rated requests of feedback.jsonl: 36 rated small only, 0 rated both models, 0 left out" in out
    assert f"wrote {tmp_path / 'new.yaml'} (scorer {tmp_path / 'new.complexity.json'})" in out
    assert json.loads((tmp_path / "new.complexity.json").read_text())["kind"] == "llmroute.complexity.linear/1"
    assert Router.from_config(tmp_path / "new.yaml").route([{"role": "user", "content": HARD[1]}]).model in ("small", "large")
    # compare: the refitted config replays over data with both models (the last step of the loop)
    both = tmp_path / "both.jsonl"
    both.write_text("".join(json.dumps(ex.to_dict()) + "\n" for ex in both_models_dataset()))
    assert main(["eval", str(both), "--config", str(tmp_path / "new.yaml"), "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    assert "complexity: APGR" in capsys.readouterr().out
    assert len(load_dataset(log)) == 36

    assert main(["eval", str(log), "--fit"]) == 1
    assert "--fit and calibration need --config" in capsys.readouterr().err
