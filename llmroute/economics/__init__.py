"""Planning before routing: which models exist, what self-hosting costs, what GPU a model needs.

- :mod:`.catalog`: well-known models with license, size, architecture and prices (``catalog.yaml``)
- :mod:`.breakeven`: monthly cost of an API against a self-run deployment, and where they cross
- :mod:`.sizing`: GPU memory for weights and KV cache, which GPUs hold a model, a decode ceiling

The router never needs these modules, so ``import llmroute`` does not load them, and neither does
this package: each name below imports its module on first use. What a call costs at routing time
is :mod:`llmroute.pricing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .breakeven import SelfHosting, Tier, Traffic
    from .catalog import Architecture, Catalog, Entry
    from .sizing import GPU, ModelShape, read_gguf, size

__getattr__ = lazy_attributes(
    __name__,
    {
        "Architecture": ".catalog",
        "Catalog": ".catalog",
        "Entry": ".catalog",
        "GPU": ".sizing",
        "ModelShape": ".sizing",
        "SelfHosting": ".breakeven",
        "Tier": ".breakeven",
        "Traffic": ".breakeven",
        "read_gguf": ".sizing",
        "size": ".sizing",
    },
    globals(),
)

__all__ = [
    "Architecture",
    "Catalog",
    "Entry",
    "GPU",
    "ModelShape",
    "SelfHosting",
    "Tier",
    "Traffic",
    "read_gguf",
    "size",
]
