"""When self-hosting pays: monthly cost of an API against a self-run deployment, and the volume
at which they cross; also a hybrid split of traffic by complexity tier.

All money is USD per month unless a name says otherwise; prices are USD per 1M tokens
(:class:`llmroute.Price`). Self-hosted capacity comes from *measured* throughput: a replica
serves ``tokens_per_second`` output tokens (all concurrent streams together) for the share
``utilization`` of the hours it is paid for; more traffic than that needs another replica.
The same inputs give the router's cost policy a per-token price: :meth:`SelfHosting.price`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._types import Price
from ..errors import ConfigError

__all__ = [
    "HOURS_PER_MONTH",
    "BreakEven",
    "Comparison",
    "HybridCost",
    "SelfHosting",
    "SelfHostedCost",
    "Tier",
    "TierCost",
    "Traffic",
    "api_cost",
    "compare",
    "cost_curve",
    "hybrid",
]

HOURS_PER_MONTH = 730.0  # 365 * 24 / 12


def _check(value: float, name: str, *, positive: bool = False, upper: float | None = None) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if positive else value >= 0) and (upper is None or value <= upper)
    if not ok:
        rule = "> 0" if positive else ">= 0"
        rule += f" and <= {upper}" if upper is not None else ""
        raise ConfigError(f"must be a finite number {rule}, got {value!r}", path=name)


@dataclass(frozen=True, slots=True)
class Traffic:
    """Monthly volume: requests per month and average tokens per request."""

    requests: float
    input_tokens: float
    output_tokens: float

    def __post_init__(self) -> None:
        _check(self.requests, "traffic.requests")
        _check(self.input_tokens, "traffic.input_tokens")
        _check(self.output_tokens, "traffic.output_tokens")

    @property
    def input_tokens_per_month(self) -> float:
        return self.requests * self.input_tokens

    @property
    def output_tokens_per_month(self) -> float:
        return self.requests * self.output_tokens

    @property
    def tokens_per_month(self) -> float:
        return self.input_tokens_per_month + self.output_tokens_per_month

    def scaled(self, requests: float) -> Traffic:
        """The same mix at another monthly request count."""
        return Traffic(requests, self.input_tokens, self.output_tokens)


def api_cost(traffic: Traffic, price: Price) -> float:
    """Monthly USD of sending ``traffic`` to an API at ``price``."""
    return (traffic.input_tokens_per_month * price.input + traffic.output_tokens_per_month * price.output) / 1e6


@dataclass(frozen=True, slots=True)
class SelfHostedCost:
    """What a self-run deployment costs for one month of traffic."""

    replicas: int
    hardware_usd: float
    ops_usd: float
    load: float  # share of the replicas' usable serving time the traffic fills

    @property
    def total_usd(self) -> float:
        return self.hardware_usd + self.ops_usd


@dataclass(frozen=True)
class SelfHosting:
    """One replica of a self-run model (``gpu_count`` GPUs) and what running it costs.

    Give the hardware cost one way: ``usd_per_gpu_hour`` (cloud rental), ``purchase_usd_per_gpu``
    amortised over ``amortize_months``, or ``hardware_usd_per_month`` for the whole replica.
    ``extra_usd_per_month`` (power, colocation) is per replica; ``ops_usd_per_month`` (staff,
    on-call, monitoring) is paid once however many replicas run. ``prompt_tokens_per_second``
    is prefill throughput; without it prompt tokens take as long as generated ones.
    """

    tokens_per_second: float
    gpu: str = "gpu"
    gpu_count: int = 1
    usd_per_gpu_hour: float | None = None
    purchase_usd_per_gpu: float | None = None
    amortize_months: float = 36.0
    hardware_usd_per_month: float | None = None
    extra_usd_per_month: float = 0.0
    utilization: float = 1.0
    prompt_tokens_per_second: float | None = None
    ops_usd_per_month: float = 0.0
    name: str = "self-hosted"

    def __post_init__(self) -> None:
        ways = [x for x in (self.usd_per_gpu_hour, self.purchase_usd_per_gpu, self.hardware_usd_per_month) if x is not None]
        if len(ways) != 1:
            raise ConfigError(
                "give exactly one of usd_per_gpu_hour, purchase_usd_per_gpu, hardware_usd_per_month",
                path="self_hosting",
            )
        _check(ways[0], "self_hosting.hardware cost")
        _check(self.tokens_per_second, "self_hosting.tokens_per_second", positive=True)
        if self.prompt_tokens_per_second is not None:
            _check(self.prompt_tokens_per_second, "self_hosting.prompt_tokens_per_second", positive=True)
        _check(self.utilization, "self_hosting.utilization", positive=True, upper=1.0)
        _check(self.amortize_months, "self_hosting.amortize_months", positive=True)
        _check(self.extra_usd_per_month, "self_hosting.extra_usd_per_month")
        _check(self.ops_usd_per_month, "self_hosting.ops_usd_per_month")
        if isinstance(self.gpu_count, bool) or not isinstance(self.gpu_count, int) or self.gpu_count < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.gpu_count!r}", path="self_hosting.gpu_count")

    @classmethod
    def from_cost_per_million(
        cls, *, usd_per_million: float, hardware_usd_per_month: float, utilization: float = 1.0, **kw: Any
    ) -> SelfHosting:
        """The throughput a quoted per-token cost implies (as the guide quotes "$0.15 per 1M")."""
        _check(usd_per_million, "self_hosting.usd_per_million", positive=True)
        _check(utilization, "self_hosting.utilization", positive=True, upper=1.0)
        usd_per_hour = hardware_usd_per_month / HOURS_PER_MONTH
        tps = usd_per_hour / (usd_per_million / 1e6 * 3600 * utilization)
        return cls(tokens_per_second=tps, hardware_usd_per_month=hardware_usd_per_month, utilization=utilization, **kw)

    @property
    def replica_hardware_usd(self) -> float:
        """Hardware USD per month of one replica, power and colocation included."""
        if self.hardware_usd_per_month is not None:
            base = self.hardware_usd_per_month
        elif self.usd_per_gpu_hour is not None:
            base = self.usd_per_gpu_hour * self.gpu_count * HOURS_PER_MONTH
        else:
            assert self.purchase_usd_per_gpu is not None
            base = self.purchase_usd_per_gpu * self.gpu_count / self.amortize_months
        return base + self.extra_usd_per_month

    @property
    def capacity_seconds(self) -> float:
        """Serving seconds one replica gives a month."""
        return HOURS_PER_MONTH * 3600 * self.utilization

    def serving_seconds(self, traffic: Traffic) -> float:
        """Seconds of one replica's time the month's traffic takes."""
        prompt_tps = self.prompt_tokens_per_second or self.tokens_per_second
        return traffic.input_tokens_per_month / prompt_tps + traffic.output_tokens_per_month / self.tokens_per_second

    def monthly_cost(self, traffic: Traffic) -> SelfHostedCost:
        """Cost of serving ``traffic``: as many replicas as it needs (at least one), plus ops."""
        seconds = self.serving_seconds(traffic)
        replicas = max(1, math.ceil(seconds / self.capacity_seconds - 1e-9))
        return SelfHostedCost(
            replicas=replicas,
            hardware_usd=replicas * self.replica_hardware_usd,
            ops_usd=self.ops_usd_per_month,
            load=seconds / (replicas * self.capacity_seconds),
        )

    def price(self, *, include_ops: bool = False) -> Price:
        """USD per 1M tokens of one replica at its utilisation: what the cost policy should use.

        Marginal hardware cost by default; ``include_ops`` spreads ops over one replica too.
        """
        usd_per_hour = (self.replica_hardware_usd + (self.ops_usd_per_month if include_ops else 0.0)) / HOURS_PER_MONTH
        output = Price.amortized(usd_per_hour=usd_per_hour, tokens_per_second=self.tokens_per_second, utilization=self.utilization)
        if self.prompt_tokens_per_second is None:
            return output
        prompt = Price.amortized(
            usd_per_hour=usd_per_hour, tokens_per_second=self.prompt_tokens_per_second, utilization=self.utilization
        )
        return Price(input=prompt.input, output=output.output)


@dataclass(frozen=True, slots=True)
class BreakEven:
    """The monthly volume, of the compared mix, at which self-hosting costs what the API does."""

    requests: float
    tokens: float
    usd: float  # either option's monthly cost there: the API spend at which self-hosting pays
    replicas: int


@dataclass(frozen=True)
class Comparison:
    """Both options at one traffic level, and where they cross (None: self-hosting never pays)."""

    traffic: Traffic
    api_price: Price
    api_usd: float
    self_hosted: SelfHostedCost
    break_even: BreakEven | None

    @property
    def api_per_million(self) -> float:
        return self.api_usd / self.traffic.tokens_per_month * 1e6 if self.traffic.tokens_per_month else 0.0

    @property
    def self_hosted_per_million(self) -> float:
        tokens = self.traffic.tokens_per_month
        return self.self_hosted.total_usd / tokens * 1e6 if tokens else math.inf

    @property
    def cheaper(self) -> str:
        return "self-hosted" if self.self_hosted.total_usd < self.api_usd else "api"


def break_even(traffic: Traffic, api: Price, hosting: SelfHosting) -> BreakEven | None:
    """Smallest monthly request count (same per-request mix) where the API costs at least as
    much as self-hosting; self-hosted cost is a staircase of replicas, the API's a line."""
    per_request = api_cost(traffic.scaled(1), api)
    seconds = hosting.serving_seconds(traffic.scaled(1))
    hardware, ops, capacity = hosting.replica_hardware_usd, hosting.ops_usd_per_month, hosting.capacity_seconds
    if per_request <= 0 or seconds <= 0:
        return None
    per_replica_api = per_request * capacity / seconds  # API cost of the traffic one replica serves
    if per_replica_api <= hardware and not (per_replica_api == hardware and ops == 0):
        return None
    margin = per_replica_api - hardware
    last = max(1, math.ceil(ops / margin)) + 1 if margin > 0 else 1
    for n in range(1, last + 1):
        crossing = (n * hardware + ops) / per_request
        if crossing <= n * capacity / seconds:
            requests = max(crossing, (n - 1) * capacity / seconds)
            point = traffic.scaled(requests)
            return BreakEven(requests, point.tokens_per_month, api_cost(point, api), n)
    return None  # pragma: no cover - the loop bound above always reaches a crossing


def compare(traffic: Traffic, api: Price, hosting: SelfHosting) -> Comparison:
    """Monthly cost of each option for ``traffic``, and the break-even volume."""
    return Comparison(traffic, api, api_cost(traffic, api), hosting.monthly_cost(traffic), break_even(traffic, api, hosting))


def cost_curve(
    traffic: Traffic, api: Price, hosting: SelfHosting, requests: Sequence[float]
) -> list[tuple[float, float, float]]:
    """(requests, API USD, self-hosted USD) at each monthly request count: data for a plot."""
    return [(r, api_cost(traffic.scaled(r), api), hosting.monthly_cost(traffic.scaled(r)).total_usd) for r in requests]


# -- hybrid: route each complexity tier to its own option ----------------------------------
@dataclass(frozen=True)
class Tier:
    """A share of the traffic and where it goes; token counts default to the traffic's."""

    name: str
    share: float
    option: Price | SelfHosting
    input_tokens: float | None = None
    output_tokens: float | None = None
    label: str | None = None  # how tables name the option; default: its name or prices

    def __post_init__(self) -> None:
        _check(self.share, f"tiers[{self.name!r}].share", upper=1.0)
        if not isinstance(self.option, (Price, SelfHosting)):
            raise ConfigError(f"must be a Price or a SelfHosting, got {self.option!r}", path=f"tiers[{self.name!r}].option")

    def traffic(self, total: Traffic) -> Traffic:
        return Traffic(
            total.requests * self.share,
            total.input_tokens if self.input_tokens is None else self.input_tokens,
            total.output_tokens if self.output_tokens is None else self.output_tokens,
        )


@dataclass(frozen=True, slots=True)
class TierCost:
    name: str
    option: str
    traffic: Traffic
    usd: float  # self-hosted deployments shared by tiers are split by serving time


@dataclass(frozen=True)
class HybridCost:
    tiers: tuple[TierCost, ...]
    deployments: dict[str, SelfHostedCost] = field(default_factory=dict)

    @property
    def total_usd(self) -> float:
        return sum(t.usd for t in self.tiers)


def hybrid(traffic: Traffic, tiers: Sequence[Tier]) -> HybridCost:
    """Monthly cost when each tier goes to its own option. Tiers naming the same SelfHosting
    share its replicas (their serving time adds up) and its ops cost is paid once."""
    if not tiers:
        raise ConfigError("need at least one tier", path="tiers")
    total_share = sum(t.share for t in tiers)
    if abs(total_share - 1.0) > 1e-6:
        raise ConfigError(f"shares must add up to 1, got {total_share:g}", path="tiers")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ConfigError(f"tier names must be unique, got {names}", path="tiers")
    groups: dict[str, tuple[SelfHosting, list[Tier]]] = {}
    for t in tiers:
        if isinstance(t.option, SelfHosting):
            key = t.option.name
            if key in groups and groups[key][0] != t.option:
                raise ConfigError(f"two different self-hosting setups are both named {key!r}", path="tiers")
            groups.setdefault(key, (t.option, []))[1].append(t)
    deployments: dict[str, SelfHostedCost] = {}
    shares: dict[str, float] = {}
    for key, (setup, members) in groups.items():
        seconds = {t.name: setup.serving_seconds(t.traffic(traffic)) for t in members}
        total_seconds = sum(seconds.values())
        replicas = max(1, math.ceil(total_seconds / setup.capacity_seconds - 1e-9))
        cost = SelfHostedCost(
            replicas, replicas * setup.replica_hardware_usd, setup.ops_usd_per_month,
            total_seconds / (replicas * setup.capacity_seconds),
        )
        deployments[key] = cost
        for name, s in seconds.items():
            shares[name] = cost.total_usd * (s / total_seconds if total_seconds else 1 / len(members))
    rows = []
    for t in tiers:
        part = t.traffic(traffic)
        if isinstance(t.option, SelfHosting):
            rows.append(TierCost(t.name, t.label or t.option.name, part, shares[t.name]))
        else:
            label = t.label or f"api ${t.option.input:g}/${t.option.output:g}"
            rows.append(TierCost(t.name, label, part, api_cost(part, t.option)))
    return HybridCost(tuple(rows), deployments)
