"""Adapters: how the router talks to a backend. Heavy libraries load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .base import Adapter, SyncAdapter
from .litellm import LiteLLM
from .testing import Function

if TYPE_CHECKING:
    from .llamacpp import LlamaCpp
    from .openai import OpenAI

__all__ = ["Adapter", "Function", "LiteLLM", "LlamaCpp", "OpenAI", "SyncAdapter"]


# These modules are light, but loading them on first use keeps llama_cpp's and openai's own
# imports lazy too.
__getattr__ = lazy_attributes(__name__, {"LlamaCpp": ".llamacpp", "OpenAI": ".openai"}, globals())
