"""What the HTTP adapters share: backend errors mapped onto llmroute's tree, with no secret shown.

The LiteLLM and OpenAI adapters both meet the OpenAI SDK's exception types (litellm's subclass
them), raw transport errors from a stream cut mid-body, and errors raised before anything was
sent. One mapping here keeps both adapters' retry and fallback behaviour identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)

__all__ = ["Secrets", "chained", "redact_url", "retry_after", "translate"]

_SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?)?key|token|secret|sig|signature|password)=[^&\s]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
# OpenAI-compatible error codes of a content refusal or an over-long prompt that arrive as a plain 400
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_CONTEXT_TEXT = ("maximum context length", "context length exceeded", "exceeds the available context size")
# Header names whose values are credentials, for servers that take the key in their own header
_SECRET_HEADERS = ("authorization", "key", "token", "secret", "password")
_MAX_DETAIL = 300


def redact_url(url: str) -> str:
    """A URL fit to show: no userinfo, no secret-looking query values."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    shown = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url
    if parts.query:
        shown += "?" + _SECRET_QUERY.sub(r"\1=***", parts.query)
    return shown


class Secrets:
    """The credentials one adapter sends; ``scrub`` removes them (and anything key-shaped) from text."""

    __slots__ = ("_values",)

    def __init__(self, api_key: str | None, headers: Iterable[tuple[str, str]] = ()) -> None:
        values = [api_key] if api_key else []
        values += [v for k, v in headers if v and any(w in k.lower() for w in _SECRET_HEADERS)]
        # the longest first, so a key that contains another is replaced whole
        self._values = tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Secrets({len(self._values)} hidden)"

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        text = _BEARER.sub(r"\1 ***", _SECRET_QUERY.sub(r"\1=***", text))
        return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."

    def held_by(self, exc: BaseException) -> bool:
        """Whether ``exc`` carries a credential anywhere a reader of ``__cause__`` would look."""
        if not self._values:
            return False
        seen = repr(exc.args) + str(exc) + repr(getattr(exc, "body", None)) + str(getattr(exc, "message", ""))
        return any(v in seen for v in self._values)


def chained(error: ProviderError, cause: BaseException, secrets: Secrets) -> ProviderError:
    """``error`` caused by ``cause``, unless the cause holds a secret: then no chain at all.

    Callers raise the result outside their ``except`` block, so ``__context__`` is empty too
    (``raise ... from None`` only hides the context; it still holds the original error).
    """
    error.__cause__ = None if secrets.held_by(cause) else cause
    error.__suppress_context__ = True
    return error


def retry_after(exc: BaseException) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date) or retry-after-ms, when the reply said."""
    headers: Any = getattr(exc, "litellm_response_headers", None) or getattr(exc, "headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(float(millis) / 1000, 0.0)
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            import time

            return max(parsedate_to_datetime(str(value)).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, AttributeError):
        return None


def _names(exc: BaseException) -> frozenset[str]:
    return frozenset(c.__name__ for c in type(exc).__mro__)


def _code(exc: BaseException) -> str:
    """The OpenAI-style error code (or type) from the exception or its JSON body."""
    code = getattr(exc, "code", None)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = code or inner.get("code") or inner.get("type")
    return str(code) if code else ""


def _client_side(exc: BaseException) -> bool:
    """The request could not even be encoded: the caller's mistake, no provider was asked."""
    if isinstance(exc, UnicodeEncodeError):
        return True
    text = str(exc)
    return isinstance(exc, TypeError) and ("JSON serializable" in text or "serialize" in text)


def translate(exc: BaseException, secrets: Secrets) -> ProviderError:
    """A backend exception (OpenAI SDK, litellm, httpx) as the llmroute error the plan acts on."""
    names = _names(exc)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    detail = secrets.scrub(str(getattr(exc, "message", None) or exc))
    kind = type(exc).__name__
    kw: dict[str, Any] = {"status_code": status}
    code = _code(exc)
    if _client_side(exc):
        return BadRequestError(f"request could not be encoded ({kind}): {detail}", **kw)
    if "ContextWindowExceededError" in names or code in _CONTEXT_CODES or (
        status == 400 and any(t in detail.lower() for t in _CONTEXT_TEXT)
    ):
        return ContextWindowExceededError(f"context window exceeded: {detail}", **kw)
    if "ContentPolicyViolationError" in names or code in _FILTER_CODES:
        return ContentFilterError(f"content filtered: {detail}", **kw)
    if "RateLimitError" in names or status == 429:
        return RateLimitError(f"rate limited: {detail}", retry_after=retry_after(exc), **kw)
    # APITimeoutError (OpenAI SDK), Timeout (litellm), TimeoutException (httpx, read mid-stream)
    if names & {"APITimeoutError", "Timeout", "TimeoutException", "TimeoutError"}:
        return ProviderTimeoutError(f"timed out: {detail}", **kw)
    if names & {"AuthenticationError", "PermissionDeniedError"} or status in (401, 403):
        return AuthenticationError(f"authentication failed: {detail}", **kw)
    if status is not None and (status in (408, 409) or status >= 500):
        return ProviderUnavailableError(f"unavailable ({kind}, {status}): {detail}", **kw)
    if names & {"APIConnectionError", "ServiceUnavailableError", "InternalServerError", "BadGatewayError", "TransportError"}:
        return ProviderUnavailableError(f"unavailable ({kind}): {detail}", **kw)
    if status is not None and 400 <= status < 500:
        return BadRequestError(f"request rejected ({kind}, {status}): {detail}", **kw)
    if names & {"APIError", "APIResponseValidationError", "ValueError", "ConnectionError"}:
        # malformed replies and unclassified API errors: another model may well answer
        return ProviderUnavailableError(f"provider error ({kind}): {detail}", **kw)
    return ProviderError(f"provider error ({kind}): {detail}", **kw)
