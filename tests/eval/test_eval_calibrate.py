"""Threshold calibration: exact sweeps on hand-computed cases, and the written config routes as calibrated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmroute.config import load_config
from llmroute.errors import ConfigError
from llmroute.eval.calibrate import (
    BudgetTarget,
    QualityTarget,
    calibrate,
    calibrate_dataset,
    set_policy_param,
    write_config,
)
from llmroute.eval.curves import scores_for
from llmroute.eval.dataset import Dataset, Example, Outcome
from llmroute.eval.replay import offline_router, replay

# Four prompts, scores high to low. strong = [1, 1, 1, 0], weak = [0, 1, 0, 1];
# a call costs 10 on strong and 1 on weak. Thresholds (share, quality, cost per request):
#   none (0, .5, 1)   .9 (.25, .75, 3.25)   .8 (.5, .75, 5.5)   .2 (.75, 1.0, 7.75)   .1 (1, .75, 10)
SCORES = [0.9, 0.8, 0.2, 0.1]
STRONG = [1.0, 1.0, 1.0, 0.0]
WEAK = [0.0, 1.0, 0.0, 1.0]
COSTS = {"strong_cost": [10.0] * 4, "weak_cost": [1.0] * 4}


def test_quality_target_takes_the_cheapest_threshold_that_reaches_it() -> None:
    cal = calibrate(SCORES, STRONG, WEAK, QualityTarget(0.95), **COSTS)  # goal .7125
    assert (cal.threshold, cal.share, cal.quality, cal.cost_per_request, cal.met) == (0.9, 0.25, 0.75, 3.25, True)
    assert cal.strong_quality == 0.75 and cal.weak_quality == 0.5
    beyond = calibrate(SCORES, STRONG, WEAK, QualityTarget(1.3), **COSTS)  # goal .975: only .2 reaches it
    assert (beyond.threshold, beyond.share, beyond.quality, beyond.met) == (0.2, 0.75, 1.0, True)
    never = calibrate(SCORES, STRONG, WEAK, QualityTarget(1.5), **COSTS)
    assert never.met is False and never.quality == 1.0


def test_budget_target_takes_the_best_quality_within_it() -> None:
    cal = calibrate(SCORES, STRONG, WEAK, BudgetTarget(usd_per_month=5000, requests_per_month=1000), **COSTS)
    assert (cal.threshold, cal.quality, cal.cost_per_request, cal.met) == (0.9, 0.75, 3.25, True)
    assert cal.monthly_cost(1000) == 3250
    rich = calibrate(SCORES, STRONG, WEAK, BudgetTarget(8000, 1000), **COSTS)
    assert (rich.threshold, rich.quality) == (0.2, 1.0)
    poor = calibrate(SCORES, STRONG, WEAK, BudgetTarget(500, 1000), **COSTS)
    assert poor.met is False and poor.share == 0.0 and poor.threshold > max(SCORES)


def test_tied_scores_move_together() -> None:
    cal = calibrate([0.5, 0.5, 0.1], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], QualityTarget(0.5))
    assert cal.share == pytest.approx(2 / 3) and cal.threshold == 0.5


def test_bad_targets_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"target\.fraction"):
        QualityTarget(0)
    with pytest.raises(ConfigError, match=r"target\.requests_per_month"):
        BudgetTarget(10, 0)
    with pytest.raises(ConfigError, match="needs recorded costs"):
        calibrate(SCORES, STRONG, WEAK, BudgetTarget(10, 10))


def _dataset() -> Dataset:
    prompts = ["ok", "short one", "x" * 60 + " a long and hard question", "y" * 90 + " the longest question of all"]
    return Dataset(tuple(
        Example(f"q{i}", ({"role": "user", "content": p},), {"strong": Outcome(s, 0.01), "weak": Outcome(w, 0.001)})
        for i, (p, s, w) in enumerate(zip(prompts, [1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0], strict=True))
    ))


def test_written_config_routes_as_calibrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMROUTE_ALLOW_IMPORTS", "eval_helpers")  # the config names eval_helpers:LengthScore
    data = _dataset()
    config = {
        "models": [
            {"name": "strong", "price": {"input": 10, "output": 30}, "adapter": {"type": "litellm", "model": "openai/s", "api_key_env": "LLMROUTE_UNSET_KEY"}},
            {"name": "weak", "hosting": "local", "adapter": {"type": "litellm", "model": "openai/w"}},
        ],
        "policies": [{"type": "eval_helpers:LengthScore", "threshold": 0.99}],
    }
    scores = scores_for(data, offline_router(data, config).policies[0])
    cal = calibrate_dataset(data, scores, "strong", "weak", QualityTarget(1.0))
    assert cal.met and cal.quality == 1.0 and cal.share == 0.75  # q1, q2, q3 must go to strong
    path = tmp_path / "router.yaml"
    write_config(set_policy_param(config, "eval_helpers:LengthScore", "threshold", cal.threshold), path)
    written = yaml.safe_load(path.read_text())
    assert written["policies"][0]["threshold"] == cal.threshold
    assert config["policies"][0]["threshold"] == 0.99  # the input is left alone
    load_config(path)
    # The offline router built from the written file reproduces the calibrated numbers.
    result = replay(offline_router(data, path), data)
    assert result.quality == cal.quality
    assert result.share["strong"] == cal.share
    assert result.cost_per_request == pytest.approx(cal.cost_per_request)


def test_set_policy_param_needs_that_policy() -> None:
    with pytest.raises(ConfigError, match="no policy of type 'complexity'"):
        set_policy_param({"models": [], "policies": [{"type": "cost"}]}, "complexity", "threshold", 0.3)




@pytest.mark.parametrize(("weak_tier", "end"), [("simple", 0), ("standard", 1)])
def test_complexity_thresholds_calibrated_on_train_replay_as_calibrated(routerbench: Path, tmp_path: Path, weak_tier: str, end: int) -> None:
    from llmroute.eval.calibrate import policy_setting
    from llmroute.eval.dataset import load_routerbench

    strong, weak = "gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat"
    train = load_routerbench(routerbench / "arc_challenge_train.csv").complete([strong, weak])
    config = {
        "models": [
            {"name": strong, "tier": "complex", "adapter": {"type": "litellm", "model": "openai/gpt-4"}},
            {"name": weak, "tier": weak_tier, "adapter": {"type": "litellm", "model": "openai/mixtral"}},
        ],
        "policies": [{"type": "llmroute.policies.complexity:Complexity"}],
    }
    router = offline_router(train, config)
    policy = router.policies[0]
    cal = calibrate_dataset(train, scores_for(train, policy), strong, weak, QualityTarget(0.95))
    assert cal.met and 0 < cal.share < 1
    param, value = policy_setting(policy, {m.name: m for m in router.models}, strong, weak, cal.threshold)
    assert param == "thresholds" and value[end] == cal.threshold
    path = tmp_path / "tuned.yaml"
    write_config(set_policy_param(config, "llmroute.policies.complexity:Complexity", param, value), path)
    result = replay(offline_router(train, path), train)
    assert result.quality == pytest.approx(cal.quality)
    assert result.share[strong] == pytest.approx(cal.share)
    assert result.quality >= 0.95 * result.premium.quality
