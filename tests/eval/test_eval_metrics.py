"""RouteLLM's metrics on small hand-computed cases, and the RouterBench loader on the real files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from llmroute.eval import apgr, cpt, quality_curve, quantile
from llmroute.eval.routerbench import load, pair

# Four prompts: the weak model fails prompts 0 and 1, the strong one answers all. q(W)=0.5, q(S)=1.
STRONG = [1.0, 1.0, 1.0, 1.0]
WEAK = [0.0, 0.0, 1.0, 1.0]


def test_quantile_matches_numpy_linear() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([4, 1, 3, 2], 0.25) == pytest.approx(1.75)
    assert quantile([7], 0.9) == 7


def test_perfect_router() -> None:
    scores = [1.0, 0.9, 0.1, 0.0]  # the two prompts the weak model fails score highest
    curve = quality_curve(scores, STRONG, WEAK, bins=4)
    assert [(p.share, p.quality) for p in curve] == [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0), (0.75, 1.0), (1.0, 1.0)]
    # area = 0.25*(0.5+0.75)/2 + 0.25*(0.75+1)/2 + 0.5*1 = 0.15625 + 0.21875 + 0.5 = 0.875
    assert apgr(scores, STRONG, WEAK, bins=4) == pytest.approx((0.875 - 0.5) / 0.5)
    # 50% of the gap = quality 0.75, reached at share 0.25
    assert cpt(scores, STRONG, WEAK, 50, bins=4) == pytest.approx(0.25)
    # 75% of the gap = quality 0.875: halfway between shares 0.25 (0.75) and 0.5 (1.0)
    assert cpt(scores, STRONG, WEAK, 75, bins=4) == pytest.approx(0.375)


def test_inverted_router() -> None:
    scores = [0.0, 0.1, 0.9, 1.0]  # sends the prompts the weak model gets right first
    # curve: (0,0.5) (0.25,0.5) (0.5,0.5) (0.75,0.75) (1,1): area = 0.5*0.5 + 0.25*0.625 + 0.25*0.875 = 0.625
    assert apgr(scores, STRONG, WEAK, bins=4) == pytest.approx(0.25)
    assert cpt(scores, STRONG, WEAK, 50, bins=4) == pytest.approx(0.75)


def test_random_router_averages_one_half() -> None:
    rng = random.Random(1)
    n = 2000
    strong = [float(rng.random() < 0.9) for _ in range(n)]
    weak = [float(rng.random() < 0.6) for _ in range(n)]
    runs = [apgr([rng.random() for _ in range(n)], strong, weak) for _ in range(30)]
    assert sum(runs) / len(runs) == pytest.approx(0.5, abs=0.02)


def test_ties_and_bad_input() -> None:
    same = [0.5] * 4  # one threshold sends everything to S: the curve is the straight line
    assert apgr(same, STRONG, WEAK) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lengths differ"):
        apgr([1.0], STRONG, WEAK)
    with pytest.raises(ValueError, match="gap is zero"):
        apgr([1, 2], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="percent"):
        cpt([1, 2, 3, 4], STRONG, WEAK, 150)


def test_cost_curve_points() -> None:
    curve = quality_curve([1.0, 0.0], [1.0, 1.0], [0.0, 1.0], bins=1, strong_cost=[2.0, 2.0], weak_cost=[0.0, 0.0])
    assert [(p.share, p.cost) for p in curve] == [(0.0, 0.0), (0.5, 1.0), (1.0, 2.0)]


def test_routerbench_loader_handles_the_quirks(routerbench: Path) -> None:
    rows = load(routerbench, "arc_challenge", "test")
    assert len(rows) == 445
    assert len({r.key for r in rows}) == 445 and len({r.key[0] for r in rows}) < 445  # sample_id repeats
    assert all(r.parts and r.prompt for r in rows)
    kept = list(pair(rows, "gpt-4-1106-preview", "mistralai/mistral-7b-chat"))
    assert len(kept) == 439  # six rows have blank scores
    q = sum(r.scores["gpt-4-1106-preview"] or 0 for r in kept) / len(kept)
    assert q == pytest.approx(0.957, abs=0.001)  # as the folder's README states
    with pytest.raises(ValueError, match="task"):
        load(routerbench, "mmlu", "test")
