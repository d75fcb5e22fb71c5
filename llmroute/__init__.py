"""llmroute: route each LLM request to the right model, in-process.

Public API only; heavy dependencies (litellm, llama_cpp, pydantic) load on first use.
"""

from __future__ import annotations

from . import _moved
from ._types import (
    Attempt,
    Completion,
    Constraint,
    Decision,
    Model,
    Price,
    Request,
    Response,
    StreamChunk,
    StreamEvent,
    Usage,
    Verdict,
)
from .errors import (
    AllAttemptsFailedError,
    ConfigError,
    InvalidRequestError,
    LLMRouteError,
    NoEligibleModelError,
    PolicyError,
    ProviderError,
)
from .router import Router

__version__ = "0.1.0"

_moved.install()  # old paths of moved modules (llmroute.catalog, ...) keep importing, with a warning

__all__ = [
    "AllAttemptsFailedError",
    "Attempt",
    "Completion",
    "ConfigError",
    "Constraint",
    "Decision",
    "InvalidRequestError",
    "LLMRouteError",
    "Model",
    "NoEligibleModelError",
    "PolicyError",
    "Price",
    "ProviderError",
    "Request",
    "Response",
    "Router",
    "StreamChunk",
    "StreamEvent",
    "Usage",
    "Verdict",
    "__version__",
]
