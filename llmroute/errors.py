"""The llmroute error tree: catch errors by what they mean, never by provider.

::

    LLMRouteError
    ├── ConfigError (ValueError)            a Router or config that cannot work; names the field
    ├── InvalidRequestError (ValueError)    bad messages, parameters or pinned model; nothing was sent
    ├── MissingDependencyError (ImportError) an optional extra is not installed; says what to install
    ├── PolicyError                         a policy raised or returned something malformed
    ├── NoEligibleModelError                every candidate was dropped; carries each reason
    │   └── CircuitOpenError                every allowed model's circuit breaker is open; fails fast
    ├── ProviderError                       raised at an adapter's edge (``raise ... from exc``)
    │   ├── RateLimitError                  429; ``retry_after`` in seconds when the provider said
    │   ├── ProviderTimeoutError            connect, read or total timeout
    │   ├── ProviderUnavailableError        5xx, connection refused or reset, malformed reply
    │   ├── OverloadedError                 a local model's queue is full
    │   ├── ContextWindowExceededError      the prompt does not fit this model
    │   ├── ContentFilterError              the provider refused the content
    │   ├── AuthenticationError             bad or missing credentials
    │   └── BadRequestError                 the provider rejected the request itself
    ├── StateUnavailableError               the shared state store (Redis) cannot be reached; a budget could not be checked
    ├── StreamInterruptedError              a stream failed after content was delivered
    └── AllAttemptsFailedError (ExceptionGroup)  every attempt failed; one sub-exception each

Messages never carry secrets or message content: adapters scrub keys before raising.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import ExceptionGroup

if TYPE_CHECKING:
    from ._types import Attempt, Decision, Verdict

__all__ = [
    "AllAttemptsFailedError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ConfigError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "InvalidRequestError",
    "LLMRouteError",
    "MissingDependencyError",
    "NoEligibleModelError",
    "OverloadedError",
    "PolicyError",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "StateUnavailableError",
    "StreamInterruptedError",
]


class LLMRouteError(Exception):
    """Base of every error llmroute raises on purpose."""


class ConfigError(LLMRouteError, ValueError):
    """The router or its configuration cannot work; raised when it is built."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class InvalidRequestError(LLMRouteError, ValueError):
    """The request itself is malformed; raised before any model is called."""


class MissingDependencyError(LLMRouteError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""


class PolicyError(LLMRouteError):
    """A policy raised, or returned a verdict that does not fit its candidates."""


class NoEligibleModelError(LLMRouteError):
    """No model may serve the request. ``reasons`` maps each model to why it was dropped."""

    def __init__(
        self,
        message: str,
        *,
        reasons: Mapping[str, str] | None = None,
        verdicts: Sequence[Verdict] = (),
        detectors: Sequence[str] = (),
    ) -> None:
        self.reasons: dict[str, str] = dict(reasons or {})
        self.verdicts = tuple(verdicts)
        self.detectors = tuple(detectors)
        if self.reasons:
            detail = "; ".join(f"{name}: {why}" for name, why in self.reasons.items())
            message = f"{message} ({detail})"
        super().__init__(message)


class CircuitOpenError(NoEligibleModelError):
    """Every model the policies allow has an open circuit breaker, so none was called.

    ``reasons`` says, per model, when its next probe is due.
    """


class ProviderError(LLMRouteError):
    """A model backend failed. ``retryable`` says whether the same model may be tried again."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status_code: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.status_code = status_code
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        base = super().__str__()
        return f"[{self.model}] {base}" if self.model else base


class RateLimitError(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError):
    retryable = True


class ProviderUnavailableError(ProviderError):
    retryable = True


class OverloadedError(ProviderError):
    retryable = True


class ContextWindowExceededError(ProviderError):
    pass


class ContentFilterError(ProviderError):
    pass


class AuthenticationError(ProviderError):
    pass


class BadRequestError(ProviderError):
    pass


class StateUnavailableError(LLMRouteError):
    """The state store (e.g. Redis) did not answer in time or refused the connection.

    Budgets fail closed on it by default: a request that cannot be checked against its budget
    is refused before anything is sent (``Cost(on_unavailable="allow")`` lets it through).
    Breakers and latency samples fall back to local memory instead. ``setting`` names the
    store setting involved (e.g. ``state.url``); the message never carries a password.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class StreamInterruptedError(LLMRouteError):
    """A stream broke after content reached the caller; ``partial`` holds the text so far.
    ``cancelled`` is True when the caller closed or dropped the stream (not a failure)."""

    def __init__(self, message: str, *, partial: str, model: str, cancelled: bool = False) -> None:
        super().__init__(message)
        self.partial = partial
        self.model = model
        self.cancelled = cancelled


class AllAttemptsFailedError(ExceptionGroup, LLMRouteError):  # type: ignore[misc]
    """Every attempt failed. ``exceptions`` holds one error per attempt, ``attempts`` the log,
    ``decision`` the routing Decision they followed."""

    attempts: tuple[Attempt, ...]
    decision: Decision | None

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[Exception],
        attempts: Sequence[Attempt] = (),
        decision: Decision | None = None,
    ) -> AllAttemptsFailedError:
        self = super().__new__(cls, message, list(exceptions))
        self.attempts = tuple(attempts)
        self.decision = decision
        return self

    def __init__(
        self,
        message: str,
        exceptions: Sequence[Exception],
        attempts: Sequence[Attempt] = (),
        decision: Decision | None = None,
    ) -> None:
        super().__init__(message, list(exceptions))

    def derive(self, excs: Sequence[Exception]) -> AllAttemptsFailedError:
        return AllAttemptsFailedError(self.message, excs, self.attempts, self.decision)
