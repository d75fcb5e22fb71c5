"""Cost: cheapest first among models that meet a quality floor, within per-request and windowed budgets.

A request's cost is estimated before any call: input tokens (the fast estimate, or exact and
offline with tiktoken), output tokens from ``max_tokens`` or an expectation, and each model's
price from the one cost function (:mod:`llmroute.pricing`: the model's own price, else
litellm's price map, else unknown, which ``unknown_price`` decides about). Budgets become hard
Constraints, so fallbacks and pinned models respect them too.

Budgets apply to the whole router, or per tenant, user, model or provider, each with a default
limit and overrides (``Budget(100, per="tenant", overrides={"acme": 500})``). Deciding only
reads them. Cost is a :class:`~llmroute.policies.StatefulPolicy`: after deciding, the router has
it ``reserve`` a *hold* in every budget window of the chosen model: the most the call can cost
(output bounded by ``max_tokens``, else the model's ``max_output_tokens``, else what its context
window leaves; only with none of those, the expectation). Before a fallback to another model,
``reserve_attempt`` grows the hold to that model's bound, in its windows, or skips it. Each
attempt's actual cost is ``record``-ed (settled: spend grows, the hold shrinks by as much);
``release`` gives back what is left. Holds expire by themselves (``reservation_ttl_s``), so a
crashed process cannot block a budget. Under any concurrency, across processes sharing a
:class:`~llmroute.state.RedisStore` too, a window overshoots only by what a reply costs beyond
its bound (an input-token estimate's error, or a provider ignoring ``max_tokens``).

A store that cannot be reached fails budgets closed (:class:`~llmroute.errors.StateUnavailableError`)
unless ``on_unavailable="allow"``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._types import Attempt, Constraint, Decision, Model, Price, Request, Verdict
from ..errors import ConfigError, StateUnavailableError
from ..pricing import price_of
from ..state import InMemoryStore, StateStore, window_key

__all__ = ["Budget", "Cost", "provider_of"]

_log = logging.getLogger("llmroute")

Window = Literal["minute", "hour", "day", "month"]
Scope = Literal["router", "tenant", "user", "model", "provider"]
UnknownPrice = Literal["last", "drop", "free"]
_SCOPES = ("router", "tenant", "user", "model", "provider")
_KEEP_S = 60.0  # a window's ledger outlives the window by this much (late settles land in it)


def provider_of(model: Model) -> str:
    """Who bills ``model``: ``metadata["provider"]``, else its adapter's ``provider``, else its hosting."""
    named = model.metadata.get("provider") or getattr(model.adapter, "provider", None)
    return named if isinstance(named, str) and named else model.hosting


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` USD per ``window``, for the whole router or for each tenant, user,
    model or provider; ``overrides`` give some of them their own limit (``{"acme": 500}``)."""

    limit: float
    window: Window = "day"
    per: Scope = "router"
    overrides: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _limit(self.limit, "budget.limit")
        if self.window not in ("minute", "hour", "day", "month"):
            raise ConfigError(f"must be minute, hour, day or month, got {self.window!r}", path="budget.window")
        if self.per not in _SCOPES:
            raise ConfigError(f"must be one of {', '.join(_SCOPES)}, got {self.per!r}", path="budget.per")
        if not isinstance(self.overrides, Mapping):
            raise ConfigError(f"must be a mapping of name to limit, got {type(self.overrides).__name__}", path="budget.overrides")
        if self.overrides and self.per == "router":
            raise ConfigError("overrides need per: tenant, user, model or provider", path="budget.overrides")
        for who, limit in self.overrides.items():
            _limit(limit, f"budget.overrides.{who}")

    def who(self, request: Request, model: Model | None = None) -> str:
        """Whose window this request's spend on ``model`` goes to ("-" when the request names none)."""
        if self.per == "router":
            return "all"
        if self.per == "tenant":
            return request.tenant or "-"
        if self.per == "user":
            return request.user or "-"
        if model is None:
            raise ValueError(f"a per-{self.per} budget needs the model")
        return model.name if self.per == "model" else provider_of(model)

    def limit_for(self, who: str) -> float:
        return float(self.overrides.get(who, self.limit))

    def key(self, request: Request, now: float | None = None, model: Model | None = None) -> tuple[str, float]:
        """The state key for this request's window, and seconds until the window ends."""
        return window_key(f"spend:{self.per}:{self.who(request, model)}", self.window, now)

    def label(self, request: Request, model: Model | None = None) -> str:
        who = "" if self.per == "router" else f" for {self.per} {self.who(request, model)}"
        limit = self.limit_for(self.who(request, model))
        return f"{self.window}ly budget ${limit:g}{who}".replace("dayly", "daily")


def _limit(value: object, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"must be a number >= 0, got {value!r}", path=path)


class _Hold:
    """What one call holds: its input-token count, and the amount held in each ledger (mirrors
    the store, settles included, so growing a hold that already covers a model costs no store step)."""

    __slots__ = ("by_key", "tokens")

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.by_key: dict[str, float] = {}


class Cost:
    """Rank candidates cheapest first, drop those below a quality floor, enforce budgets.

    ``quality_floor`` compares ``Model.scores[quality_key]`` (a request may raise it with
    ``metadata={"min_quality": x}``); unscored models stay unless ``drop_unscored``. ``rank``:
    "within_tier" keeps the incoming order of tiers (e.g. from Complexity) and sorts by price
    inside each, "cheapest" sorts all, "keep" only filters. ``max_cost`` caps one request (USD;
    ``metadata={"max_cost": x}`` per request); ``budgets`` cap spend per window. ``store`` keeps
    the budgets' ledgers; without one, the router's ``state_store`` (see :meth:`bind_store`), else
    this process's memory. ``on_unavailable``: "deny" (default) refuses a request whose budget
    cannot be checked; "allow" lets it through unchecked and says so once in the log.
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
        on_unavailable: Literal["deny", "allow"] = "deny",
        clock: Callable[[], float] = time.time,
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
        if on_unavailable not in ("deny", "allow"):
            raise ConfigError(f"must be deny or allow, got {on_unavailable!r}", path="cost.on_unavailable")
        if isinstance(reservation_ttl_s, bool) or not isinstance(reservation_ttl_s, (int, float)) or not reservation_ttl_s > 0:
            raise ConfigError(f"must be a number > 0, got {reservation_ttl_s!r}", path="cost.reservation_ttl_s")
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
        self._own_store = store is not None
        self.reservation_ttl_s = float(reservation_ttl_s)
        self.on_unavailable = on_unavailable
        self._clock = clock
        self._cache: dict[Model, tuple[Price | None, int | None, float | None]] = {}
        self._by_name: dict[str, Model] = {}  # the models this policy has seen, for the hooks
        self._held: dict[str, _Hold] = {}  # request id -> what that call holds
        self._lock = threading.Lock()
        self._warned = False

    def bind_store(self, store: StateStore) -> None:
        """Keep budgets in ``store`` (the router's ``state_store``) unless built with a store of its own."""
        if not self._own_store:
            self.store = store

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
    def hold_amount(self, request: Request, model: Model, input_tokens: int | None = None) -> float | None:
        """The most this request can cost on ``model``: what a budget holds for it. None: price unknown."""
        price, _max_out, _ = self._facts(model)
        if price is None:
            return 0.0 if self.unknown_price == "free" else None
        tokens = self.input_tokens(request) if input_tokens is None else input_tokens
        return price.cost(tokens, self._bound(request, model, tokens))

    def _bound(self, request: Request, model: Model, tokens: int) -> int:
        """Output tokens a reply can reach: max_tokens, the model's max output, what its context
        leaves; the expectation only when none is known."""
        room = model.context_window - tokens if model.context_window and model.context_window > tokens else None
        caps = [c for c in (request.max_tokens, model.max_output_tokens, room) if c]
        expected = request.max_tokens or self.output_tokens or request.default_output_tokens
        return min(caps) if caps else expected

    def _windows(self, request: Request, model: Model | None, now: float) -> list[tuple[Budget, str, float, float]]:
        """(budget, ledger key, limit, seconds to keep it) of every budget this request's spend on
        ``model`` counts against; model- and provider-scoped budgets only with a model."""
        out = []
        for budget in self.budgets:
            if model is None and budget.per in ("model", "provider"):
                continue
            who = budget.who(request, model)
            key, left = window_key(f"spend:{budget.per}:{who}", budget.window, now)
            out.append((budget, key, budget.limit_for(who), left + _KEEP_S))
        return out

    def _read(self, keys: list[str]) -> list[tuple[float, float]] | None:
        """Ledgers of ``keys`` in one store step; None when unavailable and allowed through."""
        try:
            return self.store.ledgers(keys)
        except StateUnavailableError as exc:
            self._unavailable(exc, "checking budgets")
            return None

    def _unavailable(self, exc: StateUnavailableError, doing: str) -> None:
        if self.on_unavailable == "deny":
            raise StateUnavailableError(f"budget not checked, request refused: {exc}", setting=exc.setting) from None
        if not self._warned:
            self._warned = True
            _log.warning("llmroute: %s failed (%s); budgets are not enforced while the store is unavailable (on_unavailable=allow)", doing, exc)

    def remaining(self, request: Request, model: Model | None = None) -> tuple[float, str] | None:
        """The smallest amount left in this request's budget windows (spent and held), and which."""
        windows = self._windows(request, model, self._clock())
        ledgers = self._read([k for _, k, _, _ in windows]) if windows else None
        if not ledgers:
            return None
        return min(((limit - spent - held, b.label(request, model)) for (b, _, limit, _), (spent, held) in zip(windows, ledgers, strict=True)), key=lambda x: x[0])

    # -- the policy ----------------------------------------------------------------------
    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        tokens = self.input_tokens(request)
        out = request.max_tokens or self.output_tokens or request.default_output_tokens
        meta = request.metadata
        floor = meta.get("min_quality", self.quality_floor) if meta else self.quality_floor
        cap = meta.get("max_cost", self.max_cost) if meta else self.max_cost
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float))):
            cap = self.max_cost
        lefts = self._lefts(request, candidates) if self.budgets else None

        costs: dict[str, float | None] = {}
        holds: dict[str, float | None] = {}
        kept: list[Model] = []
        dropped: dict[str, str] = {}
        in_budget: set[str] = set()
        unknown_cost = 0.0 if self.unknown_price == "free" else None
        unknown_drops = self.unknown_price == "drop" or cap is not None or lefts is not None
        facts = self._facts
        for model in candidates:  # the hot loop: one pass, per-model facts cached
            price, max_out, quality = facts(model)
            if price is None:
                cost = unknown_cost
            else:
                cost = price.cost(tokens, out if not max_out or max_out > out else max_out)
            costs[model.name] = cost
            why = None
            if floor is not None and (quality is not None or self.drop_unscored):
                if quality is None:
                    why = f"no {self.quality_key!r} score to compare with floor {floor}"
                elif quality < floor:
                    why = f"{self.quality_key} {quality:g} below floor {floor:g}"
            if why is None and cost is None and unknown_drops:
                why = "price unknown" + (" (per-request cap)" if cap is not None else " (budget)" if lefts is not None else "")
            if why is None and cap is not None and cost is not None and cost > cap:
                why = f"estimated ${cost:.6f} over per-request cap"
            if lefts is not None:
                hold = holds[model.name] = self.hold_amount(request, model, tokens)
                left, label = lefts[model.name]
                if hold is not None and hold <= max(left, 0.0) + 1e-12:
                    in_budget.add(model.name)
                elif why is None and hold is not None:
                    why = f"up to ${hold:.6f} over {label}: ${max(left, 0.0):.6f} left"
            if why is None:
                kept.append(model)
            else:
                dropped[model.name] = why
        kept = self._ordered(kept, costs)
        constraints: list[Constraint] = []
        if cap is not None:
            allowed = frozenset(n for n, c in costs.items() if c is not None and c <= cap)
            constraints.append(Constraint("cost", "per-request cap", models=allowed, max_cost=cap))
        tightest = min(lefts.values(), key=lambda x: x[0]) if lefts else None
        if tightest is not None:
            budget_why = f"{tightest[1]}: ${max(tightest[0], 0.0):.6f} left"
            constraints.append(Constraint("budget", budget_why, models=frozenset(in_budget)))
        if kept:
            cheapest = costs[kept[0].name]
            shown = "price unknown" if cheapest is None else f"${cheapest:.6f}"
            reason = f"{kept[0].name} est. {shown} for {tokens} in tokens"
        else:
            reason = "no candidate within " + ("the budget" if tightest else "the per-request cap" if cap is not None else "the quality floor")
        if floor is not None:
            reason += f"; quality floor {floor:g}"
        if cap is not None:
            reason += f"; limit ${cap:.6f} (per-request cap)"
        if tightest is not None:
            reason += f"; {tightest[1]}: ${max(tightest[0], 0.0):.6f} left"
        return Verdict(
            keep=tuple([m.name for m in kept]),
            dropped=dropped,
            reason=reason,
            constraints=tuple(constraints),
            data={"estimates": costs, "limit": cap if tightest is None else max(tightest[0], 0.0), "holds": holds},
        )

    def _lefts(self, request: Request, candidates: Sequence[Model]) -> dict[str, tuple[float, str]] | None:
        """What is left, and of which budget, for each candidate: all its windows read in one step."""
        now = self._clock()
        per_model = {m.name: self._windows(request, m, now) for m in candidates}
        keys = sorted({k for windows in per_model.values() for _, k, _, _ in windows})
        ledgers = self._read(keys)
        if ledgers is None:
            return None
        found = dict(zip(keys, ledgers, strict=True))
        out: dict[str, tuple[float, str]] = {}
        for model in candidates:
            best: tuple[float, str] = (math.inf, "")
            for budget, key, limit, _ in per_model[model.name]:
                spent, held = found[key]
                if limit - spent - held < best[0]:
                    best = (limit - spent - held, budget.label(request, model))
            out[model.name] = best
        return out

    def _facts(self, model: Model) -> tuple[Price | None, int | None, float | None]:
        """(price or None, max output tokens, quality score) of a model, looked up once."""
        try:
            return self._cache[model]
        except KeyError:
            quality = model.scores.get(self.quality_key)
            facts = (self.price(model), model.max_output_tokens, None if quality is None else float(quality))
            self._cache[model] = facts
            self._by_name[model.name] = model
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
        keyed.sort()  # i is unique: the models themselves are never compared
        return [k[3] for k in keyed]

    # -- the state hooks (StatefulPolicy): the router calls them around each call ---------
    def reserve(self, request: Request, decision: Decision) -> bool:
        """Hold the most the chosen model can cost in each of its budget windows, atomically.

        False (nothing held) when a window no longer has room: a concurrent request took it
        since this one decided, and the router decides again. A request with nothing to hold
        (no budgets, a free or unpriced model) always succeeds.
        """
        if not self.budgets:
            return True
        model = self._by_name.get(decision.model)
        return True if model is None else self._grow(request, model)

    def reserve_attempt(self, request: Request, model: Model) -> bool:
        """Before an attempt on ``model`` (a fallback, say): grow the hold to cover it, in its windows.

        No store step when the hold already covers it. False: no room, the plan skips the model.
        """
        return True if not self.budgets else self._grow(request, model)

    def _grow(self, request: Request, model: Model) -> bool:
        with self._lock:
            held = self._held.get(request.id)
            if held is None:
                held = self._held[request.id] = _Hold(self.input_tokens(request))
        amount = self.hold_amount(request, model, held.tokens)
        if not amount or amount <= 0:
            return True
        windows = [w for w in self._windows(request, model, self._clock()) if held.by_key.get(w[1], 0.0) < amount]
        if not windows:
            return True
        try:
            full = self.store.hold(
                [k for _, k, _, _ in windows],
                [limit for _, _, limit, _ in windows],
                request.id,
                amount,
                ttl_s=self.reservation_ttl_s,
                keep_s=[keep for _, _, _, keep in windows],
            )
        except StateUnavailableError as exc:
            self._unavailable(exc, "holding a budget")
            return True
        if full:
            return False
        for _, key, _, _ in windows:
            held.by_key[key] = amount
        return True

    def record(self, request: Request, attempt: Attempt) -> None:
        """Settle one attempt's actual cost in every budget window of its model."""
        if not self.budgets or attempt.cost is None or attempt.cost <= 0:
            return
        model = self._by_name.get(attempt.model)
        windows = self._windows(request, model, self._clock())
        try:
            self.store.settle([k for _, k, _, _ in windows], request.id, attempt.cost, keep_s=[w[3] for w in windows])
        except StateUnavailableError as exc:
            _log.warning("llmroute: could not record $%.6f spent on %s: %s", attempt.cost, attempt.model, exc)
            return
        held = self._held.get(request.id)
        if held is not None:
            for _, key, _, _ in windows:
                if key in held.by_key:
                    held.by_key[key] = max(0.0, held.by_key[key] - attempt.cost)

    def release(self, request: Request) -> None:
        """Give back what ``request`` still holds; the router calls this once when the call ends."""
        with self._lock:
            held = self._held.pop(request.id, None)
        if held is None or not held.by_key:
            return
        try:
            self.store.unhold(list(held.by_key), request.id)
        except StateUnavailableError as exc:  # the holds expire by themselves
            _log.warning("llmroute: could not release a budget hold (it expires in %g s): %s", self.reservation_ttl_s, exc)

    def spent(self, request: Request | None = None, model: Model | None = None) -> dict[str, float]:
        """Spend so far in each budget's current window (for this request's tenant/user, and
        ``model``'s model and provider budgets when given)."""
        from .._request import build_request

        req = request or build_request([{"role": "user", "content": ""}], params={})
        windows = self._windows(req, model, self._clock())
        ledgers = self.store.ledgers([k for _, k, _, _ in windows])
        return {b.label(req, model): spent for (b, _, _, _), (spent, _) in zip(windows, ledgers, strict=True)}


def _budget(value: Budget | Mapping[str, Any], index: int) -> Budget:
    if isinstance(value, Budget):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"limit", "window", "per", "overrides"})
        if unknown:
            raise ConfigError(f"unknown fields {unknown}; known: limit, window, per, overrides", path=f"cost.budgets[{index}]")
        try:
            return Budget(**value)
        except ConfigError as exc:
            raise ConfigError(str(exc).removeprefix(f"{exc.path}: "), path=f"cost.budgets[{index}].{(exc.path or '').removeprefix('budget.')}") from None
    raise ConfigError(f"must be a Budget or a mapping, got {type(value).__name__}", path=f"cost.budgets[{index}]")
