"""Offline cascade replay: recorded answers through the same checks, every step's cost counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmroute import ConfigError, Model
from llmroute.adapters import Function
from llmroute.cascade import Agreement, Cascade, Judge, Valid
from llmroute.eval.cascade import (
    cascade_curve,
    cost_area,
    frontier,
    quality_at_cost,
    replay_cascade,
    write_cascade_report,
)
from llmroute.eval.dataset import Dataset, Example, Outcome, load_routerbench


def example(i: int, small: str, mid: str, q: tuple[float, float, float]) -> Example:
    return Example(
        f"e{i}",
        ({"role": "user", "content": f"question {i}"},),
        {
            "small": Outcome(q[0], cost=1.0, response=small),
            "mid": Outcome(q[1], cost=2.0, response=mid),
            "big": Outcome(q[2], cost=10.0, response="B"),
        },
    )


DATA = Dataset((example(0, "A", "a.", (1, 1, 1)), example(1, "A", "C", (0, 0, 1)), example(2, "{}", "{}", (0, 1, 1))), name="toy")


def test_agreement_replay_serves_the_mid_answer_when_the_two_agree_and_counts_every_step() -> None:
    r = replay_cascade(DATA, ["small", "mid", "big"], Agreement())
    assert r.served == ("mid", "big", "mid")
    assert r.cost == (3.0, 13.0, 3.0) and r.quality == (1, 1, 1)
    assert r.share("big") == pytest.approx(1 / 3)
    valid = replay_cascade(DATA, ["small", "mid", "big"], Valid(json=True))
    assert valid.served == ("big", "big", "small")


def test_curve_frontier_and_area() -> None:
    curve = cascade_curve(DATA, ["small", "mid", "big"], Cascade(Agreement()))
    assert curve.points[0].cost == 1.0 and curve.points[-1].last_share == 1.0  # accept all; accept none
    assert frontier([(1, 0.5), (2, 0.4), (3, 0.9)]) == [(1, 0.5), (3, 0.9)]
    assert quality_at_cost([(1, 0.5), (3, 0.9)], 2) == pytest.approx(0.7)
    assert quality_at_cost([(1, 0.5)], 0.5) is None
    # a straight line from weak to strong is random routing's area: 0.5
    assert cost_area([], (1.0, 0.0), (3.0, 1.0)) == pytest.approx(0.5)
    assert cost_area([(1.0, 1.0)], (1.0, 0.0), (3.0, 1.0)) == pytest.approx(1.0)


def test_bad_ladders_and_online_only_checks_are_refused() -> None:
    with pytest.raises(ConfigError, match="two models"):
        replay_cascade(DATA, ["small"], Agreement())
    with pytest.raises(ConfigError, match="no outcomes"):
        replay_cascade(DATA, ["small", "nope"], Agreement())
    judge = Judge(Model("j", Function(lambda r: "9")))
    with pytest.raises(ConfigError, match="offline"):
        replay_cascade(DATA, ["small", "big"], judge)


def test_on_routerbench_the_report_and_plot_are_written(routerbench: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from llmroute.eval.curves import random_curve
    from llmroute.eval.replay import model_stats

    strong, mid, small = "gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat"
    data = load_routerbench(routerbench / "winograde_test.csv").complete([strong, mid, small])
    assert all(ex.outcomes[mid].response for ex in data)  # recorded answers are loaded
    curve = cascade_curve(data, [small, mid, strong], Agreement())
    always = {m: (s.total_cost / s.n, s.quality) for m in (small, mid, strong) for s in [model_stats(data, m)]}
    figures = write_cascade_report(
        tmp_path / "r.md", title="t", cascades=[curve], prompt_only=[("random", random_curve(data, strong, mid).points)],
        always=always, weak=mid, strong=strong,
    )
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert set(figures["curves"]) == {"cascade", "random"}
    assert "APGR-equivalent" in (tmp_path / "r.md").read_text()
