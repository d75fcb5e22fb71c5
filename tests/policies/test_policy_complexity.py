"""Complexity: scoring, tiers, ordering through a real Router, fit/save/load."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from llmroute import Model, Router
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError
from llmroute.policies import Complexity
from llmroute.policies.complexity import FEATURES, features, fit_logistic
from llmroute.policies.complexity.features import VOCABULARY
from llmroute.policies.complexity.fitting import DEFAULT_FEATURES, default_recipe

HARD = (
    "Write a Python function that parses a CSV file with quoted fields and escaped quotes, streaming rows "
    "from files over 2 GB in under 512 MB of memory; then explain step by step how to test it on 3 edge cases."
)
MIDDLE = "Write a Python function that parses a CSV file with quoted fields, then explain step by step how to test it."


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def tiered() -> list[Model]:
    fn = Function(lambda r: "ok")
    return [
        Model("premium", fn, tier="complex"),
        Model("mid", fn, tier="standard"),
        Model("small", fn, tier="simple", hosting="local"),
        Model("untiered", fn),
    ]


def test_default_scorer_is_bounded_and_orders_obvious_cases() -> None:
    policy = Complexity()
    easy, middle, hard = (policy.score(user(text)) for text in ("hi", MIDDLE, HARD))
    assert 0.0 <= easy < middle < hard <= 1.0
    assert [policy.tier(s) for s in (easy, middle, hard)] == ["simple", "standard", "complex"]
    assert set(features("x")) == set(FEATURES)


def test_router_prefers_the_tier_then_neighbours_and_keeps_everyone() -> None:
    router = Router(tiered(), [Complexity()])
    decision = router.route(user(HARD))
    assert decision.candidates == ("premium", "mid", "small", "untiered")
    assert "complex" in decision.explain()
    decision = router.route(user("hi"), metadata={"tier": "standard"})
    assert decision.candidates[0] == "mid" and decision.candidates[1] == "premium"  # stronger neighbour first
    assert router.route(user("hi")).model == "small"
    assert router.completion(user("hi")).model == "small"


def test_thresholds_move_the_tier_and_strict_drops_others() -> None:
    text = user("Summarise the plot of Hamlet.")
    score = Complexity().score(text)
    everything_complex = Router(tiered(), [Complexity(thresholds=(0.0, 0.0))])
    assert everything_complex.route(text).model == "premium"
    everything_simple = Router(tiered(), [Complexity(thresholds=(1.0, 1.0))])
    assert everything_simple.route(text).model == "small"
    strict = Router(tiered(), [Complexity(thresholds=(1.0, 1.0), strict=True)])
    decision = strict.route(text)
    assert decision.candidates == ("small",) and "tier" in decision.dropped["premium"]
    assert 0 <= score <= 1
    with pytest.raises(ConfigError, match="thresholds"):
        Complexity(thresholds=(0.7, 0.2))
    with pytest.raises(ConfigError, match="tiers"):
        Complexity(tiers=("a", "b"))


def test_fit_learns_a_planted_signal_and_save_load_round_trips(tmp_path: Path) -> None:
    rng = random.Random(3)
    prompts: list[str] = []
    labels: list[float] = []
    for _ in range(200):
        hard = rng.random() < 0.5
        words = ["integral", "derivative", "prove", "theorem"] if hard else ["hello", "thanks", "weather", "lunch"]
        prompts.append(" ".join(rng.choice(words) for _ in range(rng.randint(5, 15))))
        labels.append(1.0 if hard else 0.0)
    policy = Complexity.fit(prompts, labels, l2=0.1)
    hard, easy = "prove theorem integral derivative prove", "hello thanks lunch weather"
    assert policy.scorer.probability(hard) > 0.8 > 0.2 > policy.scorer.probability(easy)
    assert policy.score(hard) > 0.5 > policy.score(easy)  # scores are percentiles of the fitted prompts
    assert policy.thresholds == (1 / 3, 2 / 3)
    raw = Complexity.fit(prompts, labels, l2=0.1, percentile=False)
    assert raw.score(hard) == pytest.approx(raw.scorer.probability(hard))
    assert all(w >= 0 for w in policy.scorer.weights)  # nonnegative by default
    path = tmp_path / "scorer.json"
    policy.save(path)
    again = Complexity.load(path)
    assert again.score("prove integral") == pytest.approx(policy.score("prove integral"))
    assert again.thresholds == policy.thresholds
    assert Complexity(path=path).score("hello") == pytest.approx(policy.score("hello"))


def test_bad_scorer_files_and_fit_inputs_raise_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "something-else"}))
    with pytest.raises(ConfigError, match="not a complexity scorer"):
        Complexity.load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        Complexity.load(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="labels"):
        Complexity.fit(["a"] * 20, [2.0] * 20)
    with pytest.raises(ConfigError, match="at least 10"):
        Complexity.fit(["a"], [1.0])


def test_fit_logistic_matches_a_known_solution() -> None:
    # one feature, labels follow sigmoid(2x - 1) exactly: the unregularised fit recovers it
    import math

    xs = [i / 10 - 2 for i in range(41)]
    ys = [1 / (1 + math.exp(-(2 * x - 1))) for x in xs]
    (w,), b = fit_logistic([[x] for x in xs], ys, l2=0.0)
    assert w == pytest.approx(2.0, abs=1e-6) and b == pytest.approx(-1.0, abs=1e-6)


def test_shipped_default_file_is_what_the_recipe_builds() -> None:
    """The shipped JSON is reproducible: the stated formula over the everyday prompts (nothing else)."""
    root = Path(__file__).parents[2]
    data = json.loads((root / "llmroute" / "policies" / "complexity" / "complexity_default.json").read_text())
    everyday = [json.loads(line)["prompt"] for line in (root / "tests" / "data" / "task_labelled.jsonl").read_text().splitlines() if line.strip()]
    rebuilt = default_recipe(everyday, {}).to_dict()
    assert data["features"] == list(DEFAULT_FEATURES)
    for key in ("mean", "weights", "quantiles", "thresholds", "bias"):
        assert data[key] == pytest.approx(rebuilt[key], rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize(
    ("text", "quantities", "notation"),
    [
        ("Reply to Jane Doe (jane.doe@example.com, +1 415 555 0134) about Friday.", False, False),
        ("My card is 4111 1111 1111 1111, call me on +44 (20) 7946-0958 or see https://example.com/a?b=1", False, False),
        ("Order INV-2291-7781 and account DE89370400440532013000, ticket #A77812.", False, False),
        ("Solve for x: 3x^2 - 5x + 2 = 0 (give both roots).", True, True),
        ("A tank holds 40 litres and leaks 3 litres per hour; after 5 hours, how full is it (in %)?", True, True),
    ],
)
def test_contact_details_and_identifiers_are_neither_maths_nor_notation(text: str, quantities: bool, notation: bool) -> None:
    f = features(text)
    assert (f["quantities"] > 0) is quantities and (f["digits"] > 0) is quantities
    assert (f["punct"] > 0) is notation


def test_reading_fewer_features_gives_the_same_values() -> None:
    """The default reads no vocabulary feature, so features() skips those: what it does compute
    must equal the full computation, prompt by prompt (everyday, privacy and empty texts)."""
    root = Path(__file__).parents[2] / "tests" / "data"
    texts = [json.loads(line)["prompt"] for line in (root / "task_labelled.jsonl").read_text().splitlines() if line.strip()]
    texts += [json.loads(line)["text"] for line in (root / "privacy_labelled.jsonl").read_text().splitlines() if line.strip()][:300]
    texts += ["", "   ", "hi", "see https://x.org/a?b=1 (now)", "x\n\n" + "Solve 3x^2 - 5x + 2 = 0 for x, step by step."]
    cheap = tuple(n for n in FEATURES if n not in VOCABULARY)
    for text in texts:
        full = features(user(text))
        for names in (DEFAULT_FEATURES, cheap, ("task_prior",)):
            part = features(user(text), names)
            assert set(names) <= set(part) and all(part[n] == full[n] for n in names), (text, names)
    assert set(features(user("a b c"), ("code",))) == set(FEATURES)
    assert not VOCABULARY & set(DEFAULT_FEATURES) and VOCABULARY < set(FEATURES)
