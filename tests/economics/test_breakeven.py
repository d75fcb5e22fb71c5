"""Break-even arithmetic: the guide's figures, replica staircases, hybrid tiers, the CLI and plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmroute import ConfigError, Model, Price, Router
from llmroute.adapters import Function
from llmroute.cli import main
from llmroute.economics import catalog
from llmroute.economics.breakeven import (
    HOURS_PER_MONTH,
    SelfHosting,
    Tier,
    Traffic,
    api_cost,
    break_even,
    compare,
    cost_curve,
    hybrid,
)

GPT_4O = Price(2.50, 10.00)  # the guide's cost table
MIX = Traffic(requests=1, input_tokens=1000, output_tokens=250)  # $0.005 a request at GPT-4o prices


def guide_llama_70b(ops: float = 0.0) -> SelfHosting:
    """The guide's row: Llama 3 70B self-hosted at ~$0.15 per 1M tokens on $4K/month of GPUs."""
    return SelfHosting.from_cost_per_million(usd_per_million=0.15, hardware_usd_per_month=4000, ops_usd_per_month=ops)


def test_guide_self_hosted_price_goes_through_price_amortized() -> None:
    setup = guide_llama_70b()
    assert setup.price() == Price.amortized(
        usd_per_hour=4000 / HOURS_PER_MONTH, tokens_per_second=setup.tokens_per_second, utilization=1.0
    )
    assert setup.price().input == pytest.approx(0.15) and setup.price().output == pytest.approx(0.15)
    # $4,000 a month buys 4000 / 0.15 = 26,667M tokens: about 10,150 tokens/s around the clock
    assert setup.tokens_per_second * 3600 * HOURS_PER_MONTH == pytest.approx(4000 / 0.15 * 1e6)


@pytest.mark.parametrize("ops", [0.0, 1000.0, 3000.0])
def test_guide_break_even_is_the_fixed_monthly_cost_in_api_spend(ops: float) -> None:
    point = break_even(MIX, GPT_4O, guide_llama_70b(ops))
    assert point is not None and point.replicas == 1
    assert point.usd == pytest.approx(4000 + ops)  # the API spend at which self-hosting pays
    assert point.requests == pytest.approx((4000 + ops) / 0.005)
    assert point.tokens == pytest.approx(point.requests * 1250)


def test_guide_thresholds_under_2k_api_wins_over_5k_self_hosting_wins_with_1k_ops() -> None:
    setup = guide_llama_70b(ops=1000)
    at_2k = compare(MIX.scaled(2000 / 0.005), GPT_4O, setup)
    assert at_2k.api_usd == pytest.approx(2000) and at_2k.cheaper == "api"
    assert at_2k.self_hosted.total_usd == pytest.approx(5000)
    at_6k = compare(MIX.scaled(6000 / 0.005), GPT_4O, setup)
    assert at_6k.cheaper == "self-hosted"
    assert at_6k.api_per_million == pytest.approx(4.0)  # (1000 x 2.5 + 250 x 10) / 1250
    assert at_6k.self_hosted_per_million == pytest.approx(5000 / (1.2e6 * 1250) * 1e6)


def test_hardware_cost_three_ways() -> None:
    rent = SelfHosting(tokens_per_second=1000, usd_per_gpu_hour=2.5, gpu_count=2, extra_usd_per_month=100)
    assert rent.replica_hardware_usd == pytest.approx(2.5 * 2 * 730 + 100)
    bought = SelfHosting(tokens_per_second=1000, purchase_usd_per_gpu=30000, gpu_count=2, amortize_months=36)
    assert bought.replica_hardware_usd == pytest.approx(60000 / 36)
    flat = SelfHosting(tokens_per_second=1000, hardware_usd_per_month=4000)
    assert flat.replica_hardware_usd == 4000
    with pytest.raises(ConfigError, match="exactly one"):
        SelfHosting(tokens_per_second=1000)
    with pytest.raises(ConfigError, match="exactly one"):
        SelfHosting(tokens_per_second=1000, usd_per_gpu_hour=1, hardware_usd_per_month=5)
    with pytest.raises(ConfigError, match="utilization"):
        SelfHosting(tokens_per_second=1000, usd_per_gpu_hour=1, utilization=1.5)
    with pytest.raises(ConfigError, match="tokens_per_second"):
        SelfHosting(tokens_per_second=0, usd_per_gpu_hour=1)
    with pytest.raises(ConfigError, match="requests"):
        Traffic(-1, 10, 10)


def test_replicas_follow_measured_throughput_and_utilization() -> None:
    setup = SelfHosting(tokens_per_second=100, usd_per_gpu_hour=1.0, utilization=0.5, ops_usd_per_month=500)
    capacity_tokens = 100 * 3600 * HOURS_PER_MONTH * 0.5  # one replica's usable tokens a month
    traffic = Traffic(requests=2.5 * capacity_tokens / 1000, input_tokens=800, output_tokens=200)
    cost = setup.monthly_cost(traffic)
    assert cost.replicas == 3
    assert cost.hardware_usd == pytest.approx(3 * 730) and cost.ops_usd == 500
    assert cost.load == pytest.approx(2.5 / 3)


def test_prefill_throughput_makes_prompt_tokens_cheaper() -> None:
    setup = SelfHosting(tokens_per_second=500, prompt_tokens_per_second=5000, usd_per_gpu_hour=2.0)
    price = setup.price()
    assert price.output == pytest.approx(2.0 / (500 * 3600) * 1e6)
    assert price.input == pytest.approx(price.output / 10)
    assert setup.serving_seconds(Traffic(1, 5000, 500)) == pytest.approx(2.0)
    with_ops = SelfHosting(tokens_per_second=500, usd_per_gpu_hour=2.0, ops_usd_per_month=730)
    assert with_ops.price(include_ops=True).output == pytest.approx(3.0 / (500 * 3600) * 1e6)


def test_break_even_across_a_replica_staircase_matches_a_brute_force_scan() -> None:
    # small replicas: the break-even point needs several of them
    setup = SelfHosting(tokens_per_second=200, usd_per_gpu_hour=0.5, ops_usd_per_month=2000)
    api = Price(1.0, 4.0)
    point = break_even(MIX, api, setup)
    assert point is not None and point.replicas == 5  # ops 2000 / (841 - 365 margin a replica), rounded up
    per_request = api_cost(MIX, api)

    def self_cost(r: float) -> float:
        return setup.monthly_cost(MIX.scaled(r)).total_usd

    assert per_request * point.requests >= self_cost(point.requests) - 1e-6
    assert per_request * point.requests * 0.999 < self_cost(point.requests * 0.999)
    grid = [point.requests * i / 2000 for i in range(1, 2000)]
    assert all(per_request * r < self_cost(r) for r in grid)  # no earlier crossing


def test_never_breaks_even_when_the_api_is_cheaper_than_the_hardware_per_token() -> None:
    setup = SelfHosting(tokens_per_second=10, usd_per_gpu_hour=4.0)  # $111 per 1M tokens at full load
    assert break_even(MIX, Price(0.15, 0.6), setup) is None
    assert compare(MIX.scaled(1e6), Price(0.15, 0.6), setup).cheaper == "api"


def test_cost_curve_is_linear_for_the_api_and_flat_within_a_replica() -> None:
    setup = guide_llama_70b(ops=1000)
    curve = cost_curve(MIX, GPT_4O, setup, [0, 1e5, 1e6])
    assert [c[1] for c in curve] == pytest.approx([0, 500, 5000])
    assert [c[2] for c in curve] == pytest.approx([5000, 5000, 5000])


def test_hybrid_by_complexity_tier() -> None:
    setup = guide_llama_70b(ops=1000)
    traffic = MIX.scaled(1e6)
    mix = hybrid(
        traffic,
        [
            Tier("simple", 0.6, setup, output_tokens=100),
            Tier("extraction", 0.1, setup),
            Tier("standard", 0.2, Price(0.15, 0.6)),
            Tier("complex", 0.1, GPT_4O),
        ],
    )
    by_name = {t.name: t for t in mix.tiers}
    assert by_name["standard"].usd == pytest.approx(api_cost(Traffic(2e5, 1000, 250), Price(0.15, 0.6)))
    assert by_name["complex"].usd == pytest.approx(1e5 * 0.005)
    assert by_name["simple"].traffic.output_tokens == 100
    # both self-hosted tiers share one replica: its cost (and the ops) is paid once
    assert mix.deployments["self-hosted"].replicas == 1
    assert by_name["simple"].usd + by_name["extraction"].usd == pytest.approx(5000)
    assert mix.total_usd == pytest.approx(5000 + 60 + 500)  # standard: 2e5 x $0.0003
    # at 4x the volume the self-hosted replica is shared by more traffic: the hybrid beats GPT-4o for all
    tiers = [Tier("simple", 0.7, setup), Tier("complex", 0.3, GPT_4O)]
    assert hybrid(MIX.scaled(4e6), tiers).total_usd == pytest.approx(5000 + 1.2e6 * 0.005)
    assert hybrid(MIX.scaled(4e6), tiers).total_usd < compare(MIX.scaled(4e6), GPT_4O, setup).api_usd


def test_hybrid_rejects_bad_tiers() -> None:
    with pytest.raises(ConfigError, match="add up to 1"):
        hybrid(MIX, [Tier("a", 0.5, GPT_4O)])
    with pytest.raises(ConfigError, match="unique"):
        hybrid(MIX, [Tier("a", 0.5, GPT_4O), Tier("a", 0.5, GPT_4O)])
    other = SelfHosting(tokens_per_second=1, usd_per_gpu_hour=1)
    with pytest.raises(ConfigError, match="both named"):
        hybrid(MIX, [Tier("a", 0.5, guide_llama_70b()), Tier("b", 0.5, other)])


def test_cost_policy_sees_the_amortised_price() -> None:
    """The self-hosted price reaches the router's cost estimate (Decision.estimated_cost)."""
    setup = SelfHosting(tokens_per_second=1000, usd_per_gpu_hour=3.6, utilization=0.5)
    local = catalog.get("llama-3-8b").to_model(adapter=Function(lambda r: "ok"), price=setup.price())
    assert isinstance(local, Model)
    with Router([local]) as router:
        decision = router.route([{"role": "user", "content": "x" * 400}], max_tokens=100)
    expected = setup.price().cost(decision.estimated_input_tokens, decision.estimated_output_tokens)
    assert decision.estimated_cost == pytest.approx(expected) and expected > 0
    assert setup.price().output == pytest.approx(3.6 / (1000 * 3600 * 0.5) * 1e6)  # $2 per 1M


# -- CLI -------------------------------------------------------------------------------------
GUIDE_ARGS = [
    "breakeven", "--requests", "500000", "--input-tokens", "1000", "--output-tokens", "250", "--api", "gpt-4o",
    "--name", "llama-3-70b", "--hardware-month", "4000", "--cost-per-million", "0.15", "--ops", "1000",
]


def test_cli_breakeven_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(GUIDE_ARGS) == 0
    out = capsys.readouterr().out
    assert "2,500.00" in out and "5,000.00" in out  # API and self-hosted per month
    assert "break-even: 1,000,000 requests/month" in out and "$5,000/month" in out
    assert "cheaper now: api" in out


def test_cli_breakeven_json_with_hybrid(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*GUIDE_ARGS, "--tier", "simple=0.6:self", "--tier", "standard=0.3:gpt-4o-mini", "--tier", "complex=0.1:2.5/10", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["break_even"]["usd"] == pytest.approx(5000)
    assert data["self_hosted"]["marginal_price"]["output"] == pytest.approx(0.15)
    tiers = {t["name"]: t for t in data["hybrid"]["tiers"]}
    mini = catalog.get("gpt-4o-mini").price
    assert mini is not None
    assert tiers["standard"]["usd"] == pytest.approx(api_cost(Traffic(150000, 1000, 250), mini.price))
    assert tiers["complex"]["usd"] == pytest.approx(50000 * 0.005)
    assert data["hybrid"]["usd"] == pytest.approx(5000 + tiers["standard"]["usd"] + 250)


def test_cli_breakeven_errors(capsys: pytest.CaptureFixture[str]) -> None:
    bad_tier = [*GUIDE_ARGS, "--tier", "simple=0.6:self"]
    assert main(bad_tier) == 2
    assert "add up to 1" in capsys.readouterr().err
    unknown = [a if a != "gpt-4o" else "gpt-9" for a in GUIDE_ARGS]
    assert main(unknown) == 2
    assert "unknown model 'gpt-9'" in capsys.readouterr().err


def test_cli_breakeven_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "cost.png"
    assert main([*GUIDE_ARGS, "--tier", "simple=0.7:self", "--tier", "rest=0.3:gpt-4o", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert f"plot saved to {out}" in capsys.readouterr().out
