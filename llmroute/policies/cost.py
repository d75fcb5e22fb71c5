"""Cost: cheapest first among models that meet a quality floor, within per-request and windowed budgets.

A request's cost is estimated before any call: input tokens (the fast estimate, or exact and
offline with tiktoken), output tokens from ``max_tokens`` or an expectation, and each model's
price from the one cost function (:mod:`llmroute.pricing`: the model's own price, else
litellm's price map, else unknown, which ``unknown_price`` decides about). Budgets become hard
Constraints, so fallbacks and pinned models respect them too.

Deciding only reads the budgets. Cost is a :class:`~llmroute.policies.StatefulPolicy`: after
deciding, the router has it ``reserve`` the decision's estimate in every budget window; each
attempt's actual cost is ``record``-ed; ``release`` gives the reservation back when the call
ends. Under concurrency a window therefore overshoots by at most one request's estimate error.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._types import Attempt, Constraint, Decision, Model, Price, Request, Verdict
from ..errors import ConfigError
from ..pricing import price_of
from ..state import InMemoryStore, StateStore, window_key

__all__ = ["Budget", "Cost"]

Window = Literal["minute", "hour", "day", "month"]
Scope = Literal["router", "tenant", "user"]
UnknownPrice = Literal["last", "drop", "free"]


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``limit`` USD per ``window``, for the whole router or for each tenant or user."""

    limit: float
    window: Window = "day"
    per: Scope = "router"

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, (int, float)) or not self.limit >= 0:
            raise ConfigError(f"must be a number >= 0, got {self.limit!r}", path="budget.limit")
        if self.window not in ("minute", "hour", "day", "month"):
            raise ConfigError(f"must be minute, hour, day or month, got {self.window!r}", path="budget.window")
        if self.per not in ("router", "tenant", "user"):
            raise ConfigError(f"must be router, tenant or user, got {self.per!r}", path="budget.per")

    def key(self, request: Request, now: float | None = None) -> tuple[str, float]:
        """The state key for this request's window, and seconds until the window ends."""
        who = "all" if self.per == "router" else (request.tenant if self.per == "tenant" else request.user) or "-"
        return window_key(f"llmroute:spend:{self.per}:{who}", self.window, now)

    def label(self, request: Request) -> str:
        who = "" if self.per == "router" else f" for {self.per} {(request.tenant if self.per == 'tenant' else request.user) or '-'}"
        return f"{self.window}ly budget ${self.limit:g}{who}".replace("dayly", "daily")


class Cost:
    """Rank candidates cheapest first, drop those below a quality floor, enforce budgets.

    ``quality_floor`` compares ``Model.scores[quality_key]`` (a request may raise it with
    ``metadata={"min_quality": x}``); unscored models stay unless ``drop_unscored``. ``rank``:
    "within_tier" keeps the incoming order of tiers (e.g. from Complexity) and sorts by price
    inside each, "cheapest" sorts all, "keep" only filters. ``max_cost`` caps one request (USD;
    ``metadata={"max_cost": x}`` per request); ``budgets`` cap spend per window.
    """

    name = "cost"

    def __init__(
        self,
        *,
        quality_floor: float | None = None,
        quality_key: str = "quality",
        drop_unscored: bool = False,
        rank: Literal["within_tier", "cheapest", "keep"] = "within_tier",
        output_tokens: int | None = None,
        count_tokens: Literal["estimate", "tiktoken"] = "estimate",
        unknown_price: UnknownPrice = "last",
        max_cost: float | None = None,
        budgets: Sequence[Budget | Mapping[str, Any]] = (),
        store: StateStore | None = None,
        reservation_ttl_s: float = 120.0,
    ) -> None:
        if rank not in ("within_tier", "cheapest", "keep"):
            raise ConfigError(f"must be within_tier, cheapest or keep, got {rank!r}", path="cost.rank")
        if unknown_price not in ("last", "drop", "free"):
            raise ConfigError(f"must be last, drop or free, got {unknown_price!r}", path="cost.unknown_price")
        if count_tokens not in ("estimate", "tiktoken"):
            raise ConfigError(f"must be estimate or tiktoken, got {count_tokens!r}", path="cost.count_tokens")
        if output_tokens is not None and output_tokens < 1:
            raise ConfigError(f"must be >= 1, got {output_tokens!r}", path="cost.output_tokens")
        if max_cost is not None and not max_cost >= 0:
            raise ConfigError(f"must be >= 0, got {max_cost!r}", path="cost.max_cost")
        self.quality_floor = quality_floor
        self.quality_key = quality_key
        self.drop_unscored = drop_unscored
        self.rank = rank
        self.output_tokens = output_tokens
        self.count_tokens = count_tokens
        self.unknown_price = unknown_price
        self.max_cost = max_cost
        self.budgets = tuple(_budget(b, i) for i, b in enumerate(budgets))
        self.store: StateStore = store if store is not None else InMemoryStore()
        self.reservation_ttl_s = reservation_ttl_s
        self._cache: dict[Model, tuple[Price | None, int | None, float | None]] = {}
        self._held: dict[str, list[tuple[str, float]]] = {}  # request id -> (key, amount) reserved
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Cost(quality_floor={self.quality_floor}, max_cost={self.max_cost}, budgets={len(self.budgets)})"

    # -- prices and estimates ------------------------------------------------------------
    def price(self, model: Model) -> Price | None:
        """The model's price as :func:`llmroute.pricing.price_of` finds it; None when unknown."""
        return price_of(model)

    def input_tokens(self, request: Request) -> int:
        if self.count_tokens == "estimate":
            return request.input_tokens
        from .._text import message_texts
        from ..tokens import count_tokens

        total = 3
        for message in request.messages:
            total += 4 + sum(count_tokens(t) for t in message_texts(message))
        return total

    def estimate(
        self, request: Request, model: Model, input_tokens: int | None = None, output_tokens: int | None = None
    ) -> float | None:
        """Estimated USD for this request on ``model``; None when its price is unknown."""
        price = self.price(model)
        if price is None:
            return 0.0 if self.unknown_price == "free" else None
        out = output_tokens or request.max_tokens or self.output_tokens or request.default_output_tokens
        if model.max_output_tokens:
            out = min(out, model.max_output_tokens)
        return price.cost(request.input_tokens if input_tokens is None else input_tokens, out)

    # -- budgets -------------------------------------------------------------------------
    def remaining(self, request: Request) -> tuple[float, str] | None:
        """The smallest amount left in this request's budget windows (spent and reserved), and which."""
        best: tuple[float, str] | None = None
        for budget in self.budgets:
            key, _ = budget.key(request)
            left = budget.limit - self.store.get(key) - self.store.get(key + ":reserved")
            if best is None or left < best[0]:
                best = (left, budget.label(request))
        return best

    # -- the policy ----------------------------------------------------------------------
    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        tokens = self.input_tokens(request)
        out = request.max_tokens or self.output_tokens or request.default_output_tokens
        meta = request.metadata
        floor = meta.get("min_quality", self.quality_floor) if meta else self.quality_floor
        cap = meta.get("max_cost", self.max_cost) if meta else self.max_cost
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float))):
            cap = self.max_cost
        left = self.remaining(request) if self.budgets else None
        limit, limit_why = cap, "per-request cap"
        if left is not None and (limit is None or left[0] < limit):
            limit, limit_why = max(left[0], 0.0), f"{left[1]}: ${max(left[0], 0.0):.6f} left"

        costs: dict[str, float | None] = {}
        kept: list[Model] = []
        dropped: dict[str, str] = {}
        for model in candidates:  # the hot loop: one pass, per-model facts cached
            price, max_out, quality = self._facts(model)
            if price is None:
                cost = 0.0 if self.unknown_price == "free" else None
            else:
                cost = price.cost(tokens, out if not max_out or max_out > out else max_out)
            costs[model.name] = cost
            why = None
            if floor is not None and (quality is not None or self.drop_unscored):
                if quality is None:
                    why = f"no {self.quality_key!r} score to compare with floor {floor}"
                elif quality < floor:
                    why = f"{self.quality_key} {quality:g} below floor {floor:g}"
            if why is None and cost is None and (self.unknown_price == "drop" or limit is not None):
                why = "price unknown" + (f" ({limit_why})" if limit is not None else "")
            if why is None and limit is not None and cost is not None and cost > limit:
                why = f"estimated ${cost:.6f} over {limit_why}"
            if why is None:
                kept.append(model)
            else:
                dropped[model.name] = why
        kept = self._ordered(kept, costs)
        constraints: tuple[Constraint, ...] = ()
        if limit is not None:
            allowed = frozenset(n for n, c in costs.items() if c is not None and c <= limit)
            name = "budget" if limit_why != "per-request cap" else "cost"
            constraints = (Constraint(name, limit_why, models=allowed, max_cost=limit),)
        if kept:
            cheapest = costs[kept[0].name]
            shown = "price unknown" if cheapest is None else f"${cheapest:.6f}"
            reason = f"{kept[0].name} est. {shown} for {tokens} in tokens"
        else:
            reason = "no candidate within " + (limit_why if limit is not None else "the quality floor")
        if floor is not None:
            reason += f"; quality floor {floor:g}"
        if limit is not None:
            reason += f"; limit ${limit:.6f} ({limit_why})"
        return Verdict(
            keep=tuple(m.name for m in kept),
            dropped=dropped,
            reason=reason,
            constraints=constraints,
            data={"estimates": costs, "limit": limit},
        )

    def _facts(self, model: Model) -> tuple[Price | None, int | None, float | None]:
        """(price or None, max output tokens, quality score) of a model, looked up once."""
        try:
            return self._cache[model]
        except KeyError:
            quality = model.scores.get(self.quality_key)
            facts = (self.price(model), model.max_output_tokens, None if quality is None else float(quality))
            self._cache[model] = facts
            return facts

    def _ordered(self, kept: list[Model], costs: Mapping[str, float | None]) -> list[Model]:
        def price(m: Model) -> float:
            c = costs[m.name]
            return math.inf if c is None else c

        if self.rank == "keep":
            return kept
        if self.rank == "cheapest":
            return sorted(kept, key=price)
        # within_tier: tiers keep the order in which they arrive, price decides inside each
        first: dict[str | None, int] = {}
        keyed = []
        for i, m in enumerate(kept):
            c = costs[m.name]
            keyed.append((first.setdefault(m.tier, len(first)), math.inf if c is None else c, i, m))
        keyed.sort(key=lambda k: k[:3])
        return [k[3] for k in keyed]

    # -- the state hooks (StatefulPolicy): the router calls them around each call ---------
    def reserve(self, request: Request, decision: Decision) -> bool:
        """Hold the decision's estimated cost in every budget window of the request.

        False (nothing held) when a window no longer has room: a concurrent request took it
        since this one decided, and the router decides again. A request with nothing to hold
        (no budgets, a free or unpriced model, already over budget) always succeeds.
        """
        if not self.budgets:
            return True
        # This policy's own estimate too, from its verdict: with ``output_tokens`` or tiktoken
        # counting set it may expect more than the router does, and the hold must cover that.
        mine = [v.data.get("estimates", {}).get(decision.model) for v in decision.verdicts if v.policy == self.name]
        amount = max([decision.estimated_cost or 0.0, *(m for m in mine if isinstance(m, (int, float)))])
        if amount <= 0:
            return True
        held: list[tuple[str, float]] = []
        for budget in self.budgets:
            key = budget.key(request)[0]
            reserved = self.store.incr(key + ":reserved", amount, ttl_s=self.reservation_ttl_s)
            held.append((key + ":reserved", amount))
            if self.store.get(key) + reserved > budget.limit + 1e-12:
                for k, a in held:
                    self.store.incr(k, -a)
                return False
        with self._lock:
            self._held[request.id] = held
        return True

    def record(self, request: Request, attempt: Attempt) -> None:
        """Add one attempt's actual cost to every budget window of the request."""
        if not self.budgets or attempt.cost is None or attempt.cost <= 0:
            return
        for budget in self.budgets:
            key, ttl = budget.key(request)
            self.store.incr(key, attempt.cost, ttl_s=ttl + 60)

    def release(self, request: Request) -> None:
        """Give back what ``request`` reserved; the router calls this once when the call ends."""
        with self._lock:
            held = self._held.pop(request.id, [])
        for key, amount in held:
            self.store.incr(key, -amount)

    def spent(self, request: Request | None = None) -> dict[str, float]:
        """Spend so far in each budget's current window (for this request's tenant/user)."""
        from .._request import build_request

        req = request or build_request([{"role": "user", "content": ""}], params={})
        return {b.label(req): self.store.get(b.key(req)[0]) for b in self.budgets}


def _budget(value: Budget | Mapping[str, Any], index: int) -> Budget:
    if isinstance(value, Budget):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"limit", "window", "per"})
        if unknown:
            raise ConfigError(f"unknown fields {unknown}; known: limit, window, per", path=f"cost.budgets[{index}]")
        return Budget(**value)
    raise ConfigError(f"must be a Budget or a mapping, got {type(value).__name__}", path=f"cost.budgets[{index}]")
