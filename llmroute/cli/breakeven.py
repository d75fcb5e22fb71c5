"""``llmroute breakeven``: monthly cost of an API against self-hosting, and where they cross."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LLMRouteError, MissingDependencyError

if TYPE_CHECKING:
    from .._types import Price
    from ..economics.breakeven import Comparison, HybridCost, SelfHosting, Tier, Traffic
    from ..economics.catalog import Catalog

DAYS_PER_MONTH = 365 / 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    t = parser.add_argument_group("traffic")
    volume = t.add_mutually_exclusive_group(required=True)
    volume.add_argument("--requests", type=float, help="requests per month")
    volume.add_argument("--requests-per-day", type=float, help="requests per day (x 365/12)")
    t.add_argument("--input-tokens", type=float, required=True, help="average prompt tokens per request")
    t.add_argument("--output-tokens", type=float, required=True, help="average generated tokens per request")
    a = parser.add_argument_group("API")
    api = a.add_mutually_exclusive_group(required=True)
    api.add_argument("--api", metavar="MODEL", help="catalog id whose price to use, e.g. gpt-4o")
    api.add_argument("--api-price", nargs=2, type=float, metavar=("IN", "OUT"), help="USD per 1M input / output tokens")
    s = parser.add_argument_group("self-hosting (one replica)")
    s.add_argument("--name", default="self-hosted", help="label, e.g. 'llama-3-70b on 2x H100'")
    s.add_argument("--gpu", default="gpu", help="GPU type (label)")
    s.add_argument("--gpus", type=int, default=1, help="GPUs per replica")
    hw = s.add_mutually_exclusive_group(required=True)
    hw.add_argument("--gpu-hour", type=float, metavar="USD", help="rental price per GPU-hour")
    hw.add_argument("--purchase", type=float, metavar="USD", help="purchase price per GPU (see --months)")
    hw.add_argument("--hardware-month", type=float, metavar="USD", help="hardware per month for the whole replica")
    s.add_argument("--months", type=float, default=36.0, help="months a purchase is amortised over (36)")
    s.add_argument("--extra-month", type=float, default=0.0, metavar="USD", help="power/colocation per replica per month")
    s.add_argument("--utilization", type=float, default=1.0, help="share of paid hours spent serving (0-1]")
    speed = s.add_mutually_exclusive_group(required=True)
    speed.add_argument("--tokens-per-second", type=float, help="measured output tokens/s of one replica, all streams")
    speed.add_argument("--cost-per-million", type=float, metavar="USD", help="quoted hardware cost per 1M tokens instead")
    s.add_argument("--prompt-tokens-per-second", type=float, help="measured prefill tokens/s (default: as output)")
    s.add_argument("--ops", type=float, default=0.0, metavar="USD", help="staff / ops overhead per month (paid once)")
    parser.add_argument(
        "--tier", action="append", metavar="NAME=SHARE:TARGET",
        help="hybrid tier: TARGET is 'self', a catalog id, or IN/OUT prices, e.g. simple=0.6:self (repeatable)",
    )
    parser.add_argument("--catalog", metavar="FILE", help="YAML/JSON that adds or overrides catalog entries")
    parser.add_argument("--plot", metavar="PNG", help="save cost against monthly volume (needs matplotlib)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _api_price(args: argparse.Namespace, cat: Catalog | None) -> tuple[str, Price]:
    from .._types import Price

    if args.api_price:
        price = Price(input=args.api_price[0], output=args.api_price[1])
        return f"api ${price.input:g}/${price.output:g}", price
    assert cat is not None
    return _catalog_price(cat, args.api, "--api")


def _catalog_price(cat: Catalog, key: str, where: str) -> tuple[str, Price]:
    entry = cat.get(key)
    if entry.price is None:
        raise ConfigError(f"the catalog has no price for {key!r}; give prices instead", path=where)
    return f"{entry.id} (${entry.price.price.input:g}/${entry.price.price.output:g})", entry.price.price


def _setup(args: argparse.Namespace) -> SelfHosting:
    from ..economics.breakeven import SelfHosting

    common: dict[str, Any] = {
        "gpu": args.gpu, "gpu_count": args.gpus, "extra_usd_per_month": args.extra_month,
        "prompt_tokens_per_second": args.prompt_tokens_per_second, "ops_usd_per_month": args.ops, "name": args.name,
    }
    if args.cost_per_million is not None:
        if args.hardware_month is None:
            raise ConfigError("--cost-per-million goes with --hardware-month", path="--cost-per-million")
        return SelfHosting.from_cost_per_million(
            usd_per_million=args.cost_per_million, hardware_usd_per_month=args.hardware_month,
            utilization=args.utilization, **common,
        )
    return SelfHosting(
        tokens_per_second=args.tokens_per_second, usd_per_gpu_hour=args.gpu_hour, purchase_usd_per_gpu=args.purchase,
        amortize_months=args.months, hardware_usd_per_month=args.hardware_month, utilization=args.utilization, **common,
    )


def _tiers(specs: list[str], setup: SelfHosting, cat: Catalog | None) -> list[Tier]:
    from .._types import Price
    from ..economics.breakeven import Tier
    from ..economics.catalog import load

    tiers = []
    for spec in specs:
        name, eq, rest = spec.partition("=")
        share_text, colon, target = rest.partition(":")
        if not (eq and colon and name and target):
            raise ConfigError(f"expected NAME=SHARE:TARGET, got {spec!r}", path="--tier")
        try:
            share = float(share_text)
        except ValueError:
            raise ConfigError(f"share must be a number, got {share_text!r}", path="--tier") from None
        option: Price | SelfHosting
        label: str | None = None
        if target == "self":
            option = setup
        elif "/" in target and all(p.replace(".", "", 1).isdigit() for p in target.split("/", 1)):
            cin, cout = target.split("/", 1)
            option = Price(input=float(cin), output=float(cout))
        else:
            label, option = _catalog_price(cat or load(), target, "--tier")
        tiers.append(Tier(name, share, option, label=label))
    return tiers


def run(args: argparse.Namespace) -> int:
    from ..economics import breakeven, catalog
    from ..economics.breakeven import Traffic

    try:
        cat = catalog.load(args.catalog) if (args.api or args.catalog) else None
        requests = args.requests if args.requests is not None else args.requests_per_day * DAYS_PER_MONTH
        traffic = Traffic(requests, args.input_tokens, args.output_tokens)
        api_label, api_price = _api_price(args, cat)
        setup = _setup(args)
        result = breakeven.compare(traffic, api_price, setup)
        mix = breakeven.hybrid(traffic, _tiers(args.tier, setup, cat)) if args.tier else None
        if args.plot:
            _plot(args.plot, traffic, api_label, api_price, setup, result, args.tier, cat)
    except LLMRouteError as exc:
        print(f"llmroute breakeven: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_as_dict(result, setup, mix, api_label), indent=2))
    else:
        _print(result, setup, mix, api_label)
    if args.plot:
        print(f"plot saved to {args.plot}")
    return 0


def _as_dict(result: Comparison, setup: SelfHosting, mix: HybridCost | None, api_label: str) -> dict[str, Any]:
    sh = result.self_hosted
    price = setup.price()
    be = result.break_even
    return {
        "traffic": {"requests": result.traffic.requests, "tokens": result.traffic.tokens_per_month},
        "api": {"label": api_label, "usd": result.api_usd, "usd_per_million": result.api_per_million},
        "self_hosted": {
            "label": setup.name, "usd": sh.total_usd, "hardware_usd": sh.hardware_usd, "ops_usd": sh.ops_usd,
            "replicas": sh.replicas, "load": sh.load, "usd_per_million": result.self_hosted_per_million,
            "marginal_price": {"input": price.input, "output": price.output},
        },
        "cheaper": result.cheaper,
        "break_even": None if be is None else {"requests": be.requests, "tokens": be.tokens, "usd": be.usd, "replicas": be.replicas},
        "hybrid": None if mix is None else {
            "usd": mix.total_usd,
            "tiers": [{"name": t.name, "option": t.option, "requests": t.traffic.requests, "usd": t.usd} for t in mix.tiers],
        },
    }


def _print(result: Comparison, setup: SelfHosting, mix: HybridCost | None, api_label: str) -> None:
    t = result.traffic
    sh = result.self_hosted
    print(f"traffic: {t.requests:,.0f} requests/month x ({t.input_tokens:g} in + {t.output_tokens:g} out tokens)"
          f" = {t.tokens_per_month / 1e6:,.1f}M tokens/month")
    rows = [
        ("option", "USD/month", "USD/1M tokens", ""),
        (api_label, f"{result.api_usd:,.2f}", f"{result.api_per_million:,.3f}", ""),
        (setup.name, f"{sh.total_usd:,.2f}", f"{result.self_hosted_per_million:,.3f}",
         f"{sh.replicas} replica(s) x {setup.gpu_count} {setup.gpu}, load {sh.load:.1%};"
         f" hardware {sh.hardware_usd:,.0f} + ops {sh.ops_usd:,.0f}"),
    ]
    if mix is not None:
        rows.append(("hybrid", f"{mix.total_usd:,.2f}", f"{mix.total_usd / t.tokens_per_month * 1e6:,.3f}" if t.tokens_per_month else "-", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip())
    price = setup.price()
    print(f"self-hosted marginal price at {setup.utilization:.0%} utilisation: ${price.input:.4f} in / ${price.output:.4f} out"
          " per 1M tokens (hardware only; llmroute.economics.breakeven.SelfHosting.price())")
    be = result.break_even
    if be is None:
        print("break-even: never - at this mix the API costs less than the hardware a replica needs")
    else:
        print(f"break-even: {be.requests:,.0f} requests/month ({be.tokens / 1e6:,.1f}M tokens), "
              f"where the API costs ${be.usd:,.0f}/month ({be.replicas} replica(s)); cheaper now: {result.cheaper}")
    if mix is not None:
        print("hybrid tiers:")
        for tier in mix.tiers:
            print(f"  {tier.name:<12} {tier.traffic.requests:>14,.0f} req  {tier.option:<32} {tier.usd:>12,.2f}")


def _plot(
    path: str, traffic: Traffic, api_label: str, api_price: Price, setup: SelfHosting,
    result: Comparison, tier_specs: list[str] | None, cat: Catalog | None,
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError("--plot needs matplotlib: pip install 'llmroute[economics]'") from exc
    from ..economics import breakeven

    top = max(traffic.requests, result.break_even.requests if result.break_even else 0.0) * 2 or 1.0
    xs = [top * i / 200 for i in range(201)]
    curve = breakeven.cost_curve(traffic, api_price, setup, xs)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(xs, [c[1] for c in curve], label=api_label.replace("$", r"\$"))  # "$" starts mathtext
    ax.plot(xs, [c[2] for c in curve], label=setup.name.replace("$", r"\$"))
    if tier_specs:
        tiers = _tiers(tier_specs, setup, cat)
        ax.plot(xs, [breakeven.hybrid(traffic.scaled(x), tiers).total_usd for x in xs], label="hybrid")
    if result.break_even:
        ax.axvline(result.break_even.requests, color="grey", linestyle=":", label="break-even")
    ax.axvline(traffic.requests, color="black", linestyle="--", linewidth=0.8, label="your traffic")
    ax.set_xlabel(f"requests per month ({traffic.input_tokens:g} in + {traffic.output_tokens:g} out tokens each)")
    ax.set_ylabel("USD per month")
    ax.set_title("API vs self-hosting: monthly cost")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
