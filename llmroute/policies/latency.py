"""Latency: keep latency-critical requests on models fast enough for them, local ones first.

A request is latency-critical when it carries a target (``metadata={"latency_budget_ms": 100}``)
or a realtime tag. A model's expected latency is a moving percentile of its observed call times
(the router reports each attempt through :meth:`Latency.record`), else ``Model.metadata["latency_ms"]``,
else a default for its hosting. Samples live in a StateStore, so many processes can share them
(the router's ``state_store`` when the policy has none of its own; a remote store that is down is
replaced by local memory until it returns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from .._types import Attempt, Decision, Model, Request, Verdict
from .._validate import number, subset
from ..state import InMemoryStore, LocalFallback, StateStore, is_remote

__all__ = ["Latency"]

DEFAULT_MS: Mapping[str, float] = {"local": 50.0, "self_hosted": 300.0, "api": 800.0}
_NETWORK = {"local": 0, "self_hosted": 1, "api": 2}


class Latency:
    """Drop models whose expected latency exceeds the request's target; prefer no network hop.

    ``percentile`` of the last ``window`` observed calls (once ``min_samples`` exist) is a
    model's expected latency. Requests tagged ``realtime_tag`` get ``realtime_ms`` as target.
    When no model meets the target the fastest one stays, or with ``strict`` the request fails.
    """

    name = "latency"

    def __init__(
        self,
        *,
        realtime_tag: str = "realtime",
        realtime_ms: float = 100.0,
        defaults_ms: Mapping[str, float] = DEFAULT_MS,
        percentile: float = 0.9,
        window: int = 100,
        min_samples: int = 5,
        strict: bool = False,
        store: StateStore | None = None,
    ) -> None:
        number(percentile, "latency.percentile", minimum=0, exclusive_minimum=True, maximum=1)
        number(window, "latency.window", minimum=1, integer=True)
        number(min_samples, "latency.min_samples", minimum=1, integer=True)
        subset(defaults_ms, sorted(_NETWORK), "latency.defaults_ms", what="hosting")
        self.realtime_tag = realtime_tag
        self.realtime_ms = float(realtime_ms)
        self.defaults_ms = {**DEFAULT_MS, **defaults_ms}  # given kinds override the defaults
        self.percentile = percentile
        self.window = window
        self.min_samples = min_samples
        self.strict = strict
        self.store: StateStore = InMemoryStore()
        self._own_store = store is not None
        if store is not None:
            self.bind_store(store)
            self._own_store = True

    def bind_store(self, store: StateStore) -> None:
        """Keep samples in ``store`` (the router's ``state_store``) unless built with a store of its own."""
        if not self._own_store:
            self.store = cast("StateStore", LocalFallback(store, what="latency samples")) if is_remote(store) else store

    def __repr__(self) -> str:
        return f"Latency(p{self.percentile * 100:g}, realtime_ms={self.realtime_ms:g})"

    def _key(self, model_name: str) -> str:
        return f"latency:{model_name}"

    def expected_ms(self, model: Model) -> tuple[float, str]:
        """The latency to expect from ``model`` and where the figure comes from."""
        samples = self.store.values(self._key(model.name))
        if len(samples) >= self.min_samples:
            data = sorted(samples)
            index = min(len(data) - 1, max(0, round(self.percentile * len(data) + 0.5) - 1))
            return data[index], f"p{self.percentile * 100:g} of {len(data)} calls"
        declared = model.metadata.get("latency_ms")
        if isinstance(declared, (int, float)) and not isinstance(declared, bool):
            return float(declared), "declared"
        return self.defaults_ms[model.hosting], f"{model.hosting} default"

    def target_ms(self, request: Request) -> float | None:
        for key in ("latency_budget_ms", "latency_target_ms"):
            value = request.metadata.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
        return self.realtime_ms if self.realtime_tag in request.tags else None

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        target = self.target_ms(request)
        if target is None:
            return Verdict.keep_all(candidates, "no latency target")
        expected = {m.name: self.expected_ms(m) for m in candidates}

        def why_not(model: Model) -> str | None:
            ms, source = expected[model.name]
            return None if ms <= target else f"expected {ms:.0f} ms ({source}) > target {target:.0f} ms"

        verdict = Verdict.filter(candidates, why_not)
        kept = [m for m in candidates if m.name in verdict.keep]
        dropped = dict(verdict.dropped)
        if not kept and not self.strict and candidates:
            fastest = min(candidates, key=lambda m: expected[m.name][0])
            kept = [fastest]
            dropped.pop(fastest.name, None)
        kept.sort(key=lambda m: _NETWORK[m.hosting])  # stable: earlier policies' order holds within a hosting
        return Verdict(
            keep=tuple(m.name for m in kept),
            dropped=dropped,
            reason=f"target {target:.0f} ms: {len(kept)} of {len(candidates)} models fast enough, no-network first",
            data={"target_ms": target, "expected_ms": {n: ms for n, (ms, _) in expected.items()}},
        )

    def observe(self, model: Model, elapsed_s: float) -> None:
        """Add one call's latency to ``model``'s moving window."""
        self.store.push(self._key(model.name), elapsed_s * 1000.0, keep=self.window)

    # -- the state hooks (StatefulPolicy) -----------------------------------------------------
    def reserve(self, request: Request, decision: Decision) -> bool:
        return True  # nothing to hold

    def record(self, request: Request, attempt: Attempt) -> None:
        """Add an answered attempt's latency to its model's window (failures say nothing of speed)."""
        if attempt.ok:
            self.store.push(self._key(attempt.model), attempt.elapsed_s * 1000.0, keep=self.window)

    def release(self, request: Request) -> None:
        return None
