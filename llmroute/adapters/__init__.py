"""Adapters: how the router talks to a backend. Heavy libraries load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Adapter, SyncAdapter
from .litellm import LiteLLM
from .testing import Function

if TYPE_CHECKING:
    from .llamacpp import LlamaCpp

__all__ = ["Adapter", "Function", "LiteLLM", "LlamaCpp", "SyncAdapter"]


def __getattr__(name: str) -> Any:
    if name == "LlamaCpp":  # its module is light, but keep llama_cpp's own import lazy too
        from .llamacpp import LlamaCpp

        return LlamaCpp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
