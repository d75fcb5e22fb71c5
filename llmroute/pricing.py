"""What a call costs: the one cost function that decisions, responses, traces and budgets share.

A model's price is its own ``Model.price``. A hosted-API model left unpriced (``Price()``, and
no ``metadata={"free": True}``) is looked up in litellm's bundled price map, read from the
installed package's JSON without importing litellm; failing that its price is *unknown*.
Unknown is ``None`` all the way out (``Decision.estimated_cost``, ``Response.cost``,
``Attempt.cost``), never a silent $0.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from ._types import Model, Price

__all__ = ["LITELLM_MAP_FILE", "cost_of", "litellm_price_map", "price_of"]

LITELLM_MAP_FILE = "model_prices_and_context_window_backup.json"

# Looked up once per Model object; weak, so a dropped Router's models do not linger here.
_resolved: weakref.WeakKeyDictionary[Model, Price | None] = weakref.WeakKeyDictionary()


def price_of(model: Model) -> Price | None:
    """``model``'s price per 1M tokens; None when it is a hosted model with no known price."""
    price = model.price
    if price.input or price.output or model.hosting != "api" or model.metadata.get("free"):
        return price
    try:
        return _resolved[model]
    except KeyError:
        found = _resolved[model] = _from_price_map(model)
        return found


def cost_of(model: Model, input_tokens: int, output_tokens: int) -> float | None:
    """USD for one call to ``model`` with these token counts; None when its price is unknown."""
    price = price_of(model)
    return None if price is None else price.cost(input_tokens, output_tokens)


@lru_cache(maxsize=1)
def litellm_price_map() -> tuple[Mapping[str, tuple[float, float]], str]:
    """USD per token (input, output) by key from litellm's bundled price map, and a label naming
    litellm's version; empty when litellm is absent. Only the two prices are kept in memory."""
    import importlib.util
    import json  # here, not at import: most routers never read the map

    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}, "litellm (not installed)"
    path = Path(next(iter(spec.submodule_search_locations))) / LITELLM_MAP_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, "litellm (price map unreadable)"
    from importlib.metadata import PackageNotFoundError, version

    try:
        label = f"litellm {version('litellm')}"
    except PackageNotFoundError:  # pragma: no cover - a source checkout of litellm
        label = "litellm"
    prices: dict[str, tuple[float, float]] = {}
    for key, row in data.items():
        if isinstance(row, Mapping):
            cin, cout = row.get("input_cost_per_token"), row.get("output_cost_per_token")
            if isinstance(cin, (int, float)) and isinstance(cout, (int, float)):
                prices[key] = (float(cin), float(cout))
    return prices, label


def _from_price_map(model: Model) -> Price | None:
    """The price-map entry for the model's litellm name (with or without its provider prefix)."""
    name = model.metadata.get("litellm_model") or getattr(model.adapter, "model", None) or model.name
    if not isinstance(name, str):
        return None
    table, _ = litellm_price_map()
    keys = (name, name.split("/", 1)[1]) if "/" in name else (name,)
    for key in keys:
        found = table.get(key)
        if found is not None:
            return Price(input=found[0] * 1_000_000, output=found[1] * 1_000_000)
    return None
