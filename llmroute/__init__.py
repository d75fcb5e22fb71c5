"""llmroute: route each LLM request to the right model, in-process.

Public API only; heavy dependencies (litellm, llama_cpp, pydantic) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _moved
from ._lazy import lazy_attributes
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
    StateUnavailableError,
)
from .reliability import BreakerPolicy, RetryPolicy
from .router import Router

if TYPE_CHECKING:
    from .cascade import Cascade
    from .observability.audit import AuditRecord, JsonlAuditLog
    from .pricing import cost_of, price_of
    from .state import InMemoryStore, RedisStore, StateStore

__version__ = "0.1.0"

_moved.install()  # old paths of moved modules (llmroute.catalog, ...) keep importing, with a warning

# Names that would import more than the core: loaded on first use.
__getattr__ = lazy_attributes(
    __name__,
    {
        "AuditRecord": ".observability.audit",
        "Cascade": ".cascade",
        "InMemoryStore": ".state",
        "JsonlAuditLog": ".observability.audit",
        "RedisStore": ".state",
        "StateStore": ".state",
        "cost_of": ".pricing",
        "price_of": ".pricing",
    },
    globals(),
)

__all__ = [
    "AllAttemptsFailedError",
    "Attempt",
    "AuditRecord",
    "BreakerPolicy",
    "Cascade",
    "Completion",
    "ConfigError",
    "Constraint",
    "Decision",
    "InMemoryStore",
    "InvalidRequestError",
    "JsonlAuditLog",
    "LLMRouteError",
    "Model",
    "NoEligibleModelError",
    "PolicyError",
    "Price",
    "ProviderError",
    "RedisStore",
    "Request",
    "Response",
    "RetryPolicy",
    "Router",
    "StateStore",
    "StateUnavailableError",
    "StreamChunk",
    "StreamEvent",
    "Usage",
    "Verdict",
    "__version__",
    "cost_of",
    "price_of",
]
