"""Offline replay and curves: datasets, real Router decisions over never-called models, RouteLLM numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_helpers import LengthScore

from llmroute import Model, Price, Request, Router, Verdict
from llmroute.eval.curves import oracle_curve, random_curve, score_curve, scores_for, sweep
from llmroute.eval.dataset import (
    Dataset,
    DatasetError,
    Example,
    Outcome,
    load_dataset,
    load_routerbench,
    save_dataset,
)
from llmroute.eval.replay import offline_router, replay

LONG = "Explain, step by step, why the sky looks blue at noon and red at dusk."  # 70 chars


def hand_dataset() -> Dataset:
    rows = [
        ("e1", "hi", (1.0, 0.01), (1.0, 0.001)),
        ("e2", "2+2?", (1.0, 0.01), (0.0, 0.001)),
        ("e3", LONG, (1.0, 0.02), (0.0, 0.002)),
        ("e4", LONG + " Briefly.", (0.0, 0.02), (1.0, 0.002)),
    ]
    return Dataset(tuple(
        Example(i, ({"role": "user", "content": p},), {"strong": Outcome(s[0], s[1]), "weak": Outcome(w[0], w[1])})
        for i, p, s, w in rows
    ), name="hand")


def test_replay_scores_each_choice_by_its_recorded_outcome() -> None:
    data = hand_dataset()
    router = offline_router(data, policies=[LengthScore(threshold=0.5)])
    result = replay(router, data)
    assert [c.model for c in result.choices] == ["weak", "weak", "strong", "strong"]
    assert result.quality == pytest.approx(0.5)  # 1, 0, 1, 0
    assert result.total_cost == pytest.approx(0.042)
    assert result.cost_per_request == pytest.approx(0.0105)
    assert result.share == {"strong": 0.5, "weak": 0.5}
    assert result.premium.model == "strong" and result.premium.quality == pytest.approx(0.75)
    assert result.savings == pytest.approx(1 - 0.042 / 0.06)
    assert result.quality_vs_premium == pytest.approx(0.5 / 0.75)
    assert all(m.adapter.calls == 0 for m in router.models)  # type: ignore[attr-defined]


def test_replay_keeps_a_routers_model_attributes_and_counts_refusals() -> None:
    def local_only_for_secrets(request: Request, candidates: list[Model]) -> Verdict:
        if "secret" not in request.text:
            return Verdict.ranked(candidates, key=lambda m: m.price.output, reason="cheapest first")
        return Verdict.filter(candidates, lambda m: None if m.hosting == "local" else "not local")

    secret = Example("e5", ({"role": "user", "content": "my secret"},), {"strong": Outcome(1.0, 0.01), "weak": Outcome(1.0, 0.001)})
    data = Dataset((*hand_dataset().examples[:3], secret))
    built = Router([Model("strong", adapter=_unused(), price=Price(10, 30)), Model("weak", adapter=_unused(), price=Price(1, 2))],
                   [local_only_for_secrets])
    result = replay(offline_router(data, built), data)
    assert [c.model for c in result.choices] == ["weak", "weak", "weak", None]
    assert result.refused == 1
    assert result.quality == pytest.approx(1 / 3)
    assert "not local" in result.choices[3].reason


def _unused() -> object:
    from llmroute.adapters import Function

    return Function(lambda r: "never")


def test_replay_names_the_example_when_the_chosen_model_has_no_outcome() -> None:
    data = hand_dataset()
    gap = Example("gap", ({"role": "user", "content": "x"},), {"strong": Outcome(1.0)})
    partial = Dataset((*data.examples[:1], gap, *data.examples[1:]))
    router = Router([Model("weak", adapter=_unused()), Model("strong", adapter=_unused())])  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="example 'gap': the router chose 'weak'"):
        replay(offline_router(partial, router), partial)
    assert len(partial.complete(["weak", "strong"])) == 4


def test_jsonl_and_csv_round_trip(tmp_path: Path) -> None:
    data = hand_dataset()
    for name in ("d.jsonl", "d.csv"):
        save_dataset(data, tmp_path / name)
        back = load_dataset(tmp_path / name)
        assert [e.id for e in back] == ["e1", "e2", "e3", "e4"]
        assert back.examples[2].outcomes["strong"] == Outcome(1.0, 0.02)
        assert back.examples[2].messages[0]["content"] == LONG


def test_csv_with_prompt_column_and_blank_cells(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,prompt,big,big|cost,small,small|latency_s\nq1,hello,1,0.5,,\nq2,bye,0,0.5,1,0.2\n")
    data = load_dataset(path)
    assert data.models == ("big", "small")
    assert "small" not in data.examples[0].outcomes  # blank = not recorded
    assert data.examples[1].outcomes["small"] == Outcome(1.0, latency_s=0.2)
    assert len(data.complete(["big", "small"])) == 1


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("a.jsonl", '{"id": "1", "prompt": "x", "outcomes": {"m": 1}}\n{"id": "2", "prompt": "y"\n', r"a.jsonl:2: not valid JSON"),
        ("a.jsonl", '{"id": "1", "prompt": "x", "outcomes": {"m": {"cost": 1}}}\n', r"a.jsonl:1: outcomes\['m'\].quality is missing"),
        ("a.jsonl", '{"id": "1", "prompt": "x", "outcomes": {"m": "good"}}\n', r"a.jsonl:1: outcomes\['m'\] must be a number, got 'good'"),
        ("a.jsonl", '\n{"id": "1", "outcomes": {"m": 1}}\n', r"a.jsonl:2: needs a non-empty 'prompt' or 'messages'"),
        ("a.jsonl", '{"id": "1", "prompt": "x", "outcome": {}}\n', r"a.jsonl:1: unknown field\(s\) \['outcome'\]"),
        ("a.jsonl", '{"id": "1", "prompt": "x"}\n{"id": "1", "prompt": "y"}\n', r"a.jsonl:2: duplicate id '1' \(first on line 1\)"),
        ("a.csv", "id,prompt,m\n1,x,1\n2,y,high\n", r"a.csv:3: outcomes\['m'\].quality must be a number, got 'high'"),
        ("a.csv", "id,prompt,m,m|price\n1,x,1,2\n", r"a.csv:1: column 'm\|price': unknown field 'price'"),
        ("a.csv", "id,prompt,m,m|cost\n1,x,1,-2\n", r"a.csv:2: outcomes\['m'\].cost must be >= 0"),
        ("a.txt", "x", r"a.txt: unknown dataset format"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, name: str, text: str, error: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DatasetError, match=error):
        load_dataset(path)


def test_routerbench_conversion_matches_the_data_readme(routerbench: Path) -> None:
    data = load_routerbench(routerbench / "arc_challenge_test.csv")
    assert len(data) == 445 and len(data.models) == 11
    assert len({e.id for e in data}) == len(data)
    # The README quotes: gpt-4 0.957 at $5.07e-3 a call, mixtral 0.863 at $3.0e-4.
    assert data.mean_quality("gpt-4-1106-preview") == pytest.approx(0.957, abs=0.001)
    assert data.mean_quality("mistralai/mixtral-8x7b-chat") == pytest.approx(0.863, abs=0.001)
    gpt4 = [e.outcomes["gpt-4-1106-preview"].cost or 0 for e in data if "gpt-4-1106-preview" in e.outcomes]
    assert sum(gpt4) / len(gpt4) == pytest.approx(5.07e-3, rel=0.02)
    with pytest.raises(DatasetError, match=r"named \{task\}_\{split\}\.csv"):
        load_routerbench(routerbench / "LICENSE")


def curve_dataset() -> Dataset:
    # strong = [1, 1, 1, 0], weak = [0, 0, 1, 1]: q(S) = 0.75, q(W) = 0.5
    pairs = [(1.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    return Dataset(tuple(
        Example(str(i), ({"role": "user", "content": f"p{i}"},), {"S": Outcome(s, 0.01), "W": Outcome(w, 0.001)})
        for i, (s, w) in enumerate(pairs)
    ))


def test_oracle_and_inverted_router_apgr_by_hand() -> None:
    data = curve_dataset()
    oracle = oracle_curve(data, "S", "W")
    # Curve (share, quality): (0, .5) (.25, .75) (.5, 1) (.75, 1) (1, .75); area .84375 -> APGR (.84375-.5)/.25
    assert [(p.share, p.quality) for p in oracle.points] == [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0), (0.75, 1.0), (1.0, 0.75)]
    assert oracle.apgr == pytest.approx(1.375)
    assert oracle.cpt50 == pytest.approx(0.125)  # target .625 on the segment (0, .5)-(.25, .75)
    assert [p.cost for p in oracle.points] == pytest.approx([0.001, 0.00325, 0.0055, 0.00775, 0.01])
    inverted = score_curve(data, [-1.0, -1.0, 0.0, 1.0], "S", "W", name="inverted")
    # (0, .5) (.25, .25) (.5, .25) (1, .75): area .40625 -> APGR -.375
    assert inverted.apgr == pytest.approx(-0.375)


def test_random_baseline_is_about_half_on_routerbench(routerbench: Path) -> None:
    data = load_routerbench(routerbench / "arc_challenge_test.csv").complete(["gpt-4-1106-preview", "mistralai/mistral-7b-chat"])
    values = [random_curve(data, "gpt-4-1106-preview", "mistralai/mistral-7b-chat", seed=s).apgr for s in range(5)]
    assert 0.4 < sum(values) / len(values) < 0.6
    oracle = oracle_curve(data, "gpt-4-1106-preview", "mistralai/mistral-7b-chat")
    # A share a of prompts only S gets right and b only W gets right: the oracle's curve climbs
    # over [0, a], stays flat, then falls over the last b, so APGR ~ (a - a*a/2 - b*b/2) / (a - b).
    a = sum(e.outcomes["gpt-4-1106-preview"].quality > e.outcomes["mistralai/mistral-7b-chat"].quality for e in data) / len(data)
    b = sum(e.outcomes["gpt-4-1106-preview"].quality < e.outcomes["mistralai/mistral-7b-chat"].quality for e in data) / len(data)
    assert oracle.apgr == pytest.approx((a - a * a / 2 - b * b / 2) / (a - b), abs=0.01)


def test_score_curve_and_sweep_agree_on_a_real_router() -> None:
    data = hand_dataset()
    policy = LengthScore()
    scores = scores_for(data, policy)
    assert scores == [0.02, 0.04, 0.70, 0.79]
    curve = score_curve(data, scores, "strong", "weak")
    points = sweep(lambda t: offline_router(data, policies=[LengthScore(threshold=t)]), [0.7, 0.05], data, "strong")
    assert [(p.share, p.quality) for p in points] == [(0.5, 0.5), (0.5, 0.5)]
    at_half = next(p for p in curve.points if p.share == 0.5)
    assert at_half.quality == pytest.approx(points[0].quality)


def test_example_params_reach_the_router(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"id": "a", "prompt": "hi", "params": {"model": "weak"}, "outcomes": {"strong": 1, "weak": 0}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = load_dataset(path)
    result = replay(offline_router(data), data)  # no policy: first model, unless pinned
    assert result.choices[0].model == "weak"
