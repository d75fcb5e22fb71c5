"""Adapters: how the router talks to a backend. Heavy libraries load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .base import Adapter, SyncAdapter
from .litellm import LiteLLM
from .testing import Function

if TYPE_CHECKING:
    from .llamacpp import LlamaCpp

__all__ = ["Adapter", "Function", "LiteLLM", "LlamaCpp", "SyncAdapter"]


# LlamaCpp's module is light, but loading it on first use keeps llama_cpp's own import lazy too.
__getattr__ = lazy_attributes(__name__, {"LlamaCpp": ".llamacpp"}, globals())
