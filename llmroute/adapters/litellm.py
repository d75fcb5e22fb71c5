"""LiteLLM adapter: hosted APIs and OpenAI-compatible self-hosted servers.

litellm is imported on first call, never by ``import llmroute``. Before that first import the
adapter switches off litellm's fetch of a remote price map (it would otherwise reach the
internet at import), and every call sets litellm's and the OpenAI SDK's own retries to zero so
llmroute's plan is the only retry loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from .._types import Completion, Request, StreamEvent, Usage
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    MissingDependencyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)

__all__ = ["LiteLLM", "import_litellm"]

DEFAULT_TIMEOUT_S = 60.0  # litellm's own default is 6,000 s
_SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?)?key|token|secret|sig|signature|password)=[^&\s]+")
_litellm: Any = None
# OpenAI-compatible error codes of a content refusal that litellm leaves as a plain 400
_FILTER_CODES = ("content_filter", "content_policy_violation")


def import_litellm() -> Any:
    """Import litellm with its network-at-import switched off (idempotent)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
        try:
            import litellm
        except ImportError as exc:  # pragma: no cover - litellm is a core dependency
            raise MissingDependencyError("the LiteLLM adapter needs litellm: pip install litellm") from exc
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        _litellm = litellm
    return _litellm


def _redact_url(url: str) -> str:
    """A URL fit to show: no userinfo, no secret-looking query values."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    shown = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url
    if parts.query:
        shown += "?" + _SECRET_QUERY.sub(r"\1=***", parts.query)
    return shown


class LiteLLM:
    """Any litellm model string: ``LiteLLM("openai/gpt-4o-mini")``, or an OpenAI-compatible
    server with ``LiteLLM("openai/llama-3-70b", api_base="http://10.0.0.5:8000/v1")``.

    ``params`` are passed on every call (``drop_params=True``, ``extra_headers=...``); a
    request's own parameters win. The key is never shown in reprs or errors.
    """

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | Mapping[str, float] | Any = DEFAULT_TIMEOUT_S,
        **params: Any,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError("LiteLLM needs a model string such as 'openai/gpt-4o-mini'")
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self.timeout = _check_timeout(timeout)
        self.params = params
        self.provider = model.split("/", 1)[0] if "/" in model else "openai"
        parts = urlsplit(api_base) if api_base else None
        self.server_address = parts.hostname if parts else None
        self.server_port = parts.port if parts else None

    def __repr__(self) -> str:
        base = f", api_base={_redact_url(self.api_base)!r}" if self.api_base else ""
        key = ", api_key='***'" if self._api_key else ""
        return f"LiteLLM({self.model!r}{base}{key})"

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    # -- wire format ---------------------------------------------------------------------
    def _kwargs(self, request: Request, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**self.params}
        params = dict(request.params)
        extra_body = params.pop("extra_body", None)
        kwargs.update(params)
        if extra_body:
            kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **extra_body}
        # A request's timeout (or the time its deadline leaves) may shorten the model's, never lengthen it.
        kwargs["timeout"] = _narrow(self.timeout, kwargs.get("timeout"))
        kwargs.update(
            model=self.model,
            messages=[dict(m) for m in request.messages],
            num_retries=0,
            max_retries=0,
        )
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    def _completion(self, raw: Any) -> Completion:
        if not getattr(raw, "choices", None):
            raise ProviderUnavailableError("reply has no choices (malformed)")
        choice = raw.choices[0]
        message = choice.message
        tool_calls = getattr(message, "tool_calls", None)
        usage = getattr(raw, "usage", None)
        return Completion(
            content=message.content,
            usage=Usage(
                int(getattr(usage, "prompt_tokens", 0) or 0),
                int(getattr(usage, "completion_tokens", 0) or 0),
            ),
            finish_reason=choice.finish_reason,
            response_id=getattr(raw, "id", None),
            response_model=getattr(raw, "model", None),
            tool_calls=tuple(_plain(t) for t in tool_calls) if tool_calls else None,
        )

    def _event(self, chunk: Any) -> StreamEvent:
        text = ""
        finish = None
        if chunk.choices:
            choice = chunk.choices[0]
            text = getattr(choice.delta, "content", None) or ""
            finish = choice.finish_reason
        usage = getattr(chunk, "usage", None)
        return StreamEvent(
            text=text,
            finish_reason=finish,
            usage=Usage(int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)) if usage else None,
            response_id=getattr(chunk, "id", None),
            response_model=getattr(chunk, "model", None),
        )

    # -- calls ---------------------------------------------------------------------------
    def complete(self, request: Request) -> Completion:
        litellm = import_litellm()
        try:
            raw = litellm.completion(**self._kwargs(request, stream=False))
            return self._completion(raw)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc) from _cause(exc, self._api_key)

    async def acomplete(self, request: Request) -> Completion:
        litellm = import_litellm()
        try:
            raw = await litellm.acompletion(**self._kwargs(request, stream=False))
            return self._completion(raw)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc) from _cause(exc, self._api_key)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        litellm = import_litellm()
        empty = True
        try:
            for chunk in litellm.completion(**self._kwargs(request, stream=True)):
                event = self._event(chunk)
                empty = empty and _empty(event, chunk)
                yield event
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc) from _cause(exc, self._api_key)
        if empty:
            raise ProviderUnavailableError(_EMPTY_STREAM)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        litellm = import_litellm()
        try:
            response = await litellm.acompletion(**self._kwargs(request, stream=True))
            empty = True
            async for chunk in response:
                event = self._event(chunk)
                empty = empty and _empty(event, chunk)
                yield event
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc) from _cause(exc, self._api_key)
        if empty:
            raise ProviderUnavailableError(_EMPTY_STREAM)

    # -- errors --------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "***")
        text = _SECRET_QUERY.sub(r"\1=***", text)
        return text if len(text) <= 300 else text[:300] + "..."

    def _translate(self, exc: Exception) -> ProviderError:
        """litellm's (and the OpenAI SDK's) exception types mapped onto llmroute's tree."""
        litellm = import_litellm()
        ex = litellm.exceptions
        status = getattr(exc, "status_code", None)
        detail = self._scrub(str(getattr(exc, "message", None) or exc))
        kw: dict[str, Any] = {"status_code": status if isinstance(status, int) else None}
        kind = type(exc).__name__
        if isinstance(exc, ex.ContextWindowExceededError):
            return ContextWindowExceededError(f"context window exceeded: {detail}", **kw)
        if isinstance(exc, ex.ContentPolicyViolationError) or getattr(exc, "code", None) in _FILTER_CODES:
            return ContentFilterError(f"content filtered: {detail}", **kw)
        if isinstance(exc, ex.RateLimitError):
            return RateLimitError(f"rate limited: {detail}", retry_after=_retry_after(exc), **kw)
        if isinstance(exc, ex.Timeout):
            return ProviderTimeoutError(f"timed out: {detail}", **kw)
        if isinstance(exc, (ex.AuthenticationError, ex.PermissionDeniedError)):
            return AuthenticationError(f"authentication failed: {detail}", **kw)
        if isinstance(exc, (ex.APIConnectionError, ex.ServiceUnavailableError, ex.InternalServerError, ex.BadGatewayError)):
            return ProviderUnavailableError(f"unavailable ({kind}): {detail}", **kw)
        if isinstance(exc, (ex.BadRequestError, ex.NotFoundError, ex.UnprocessableEntityError)):
            return BadRequestError(f"request rejected ({kind}): {detail}", **kw)
        if (isinstance(status, int) and status in (408, 429)) or (isinstance(status, int) and status >= 500):
            return ProviderUnavailableError(f"provider error {status}: {detail}", **kw)
        if isinstance(exc, (ex.APIError, ex.APIResponseValidationError, ValueError)):
            # malformed replies and unclassified API errors: another model may well answer
            return ProviderUnavailableError(f"provider error ({kind}): {detail}", **kw)
        return ProviderError(f"provider error ({kind}): {detail}", **kw)


_TIMEOUT_PARTS = ("connect", "read", "write", "pool")
# litellm ends a body with no SSE events as if it were an empty answer; we asked for usage, so
# a stream with neither text, tool calls nor usage was cut or malformed, not answered.
_EMPTY_STREAM = "stream ended with no content and no usage (a malformed or cut reply)"


def _empty(event: StreamEvent, chunk: Any) -> bool:
    if event.text or event.usage is not None:
        return False
    choices = getattr(chunk, "choices", None) or ()
    return not any(getattr(getattr(c, "delta", None), "tool_calls", None) for c in choices)


def _check_timeout(timeout: Any) -> Any:
    """Seconds, a mapping of connect/read/write/pool seconds, or an httpx.Timeout."""
    if isinstance(timeout, Mapping):
        unknown = set(timeout) - set(_TIMEOUT_PARTS)
        values = list(timeout.values())
        if unknown or not values or not all(_seconds(v) for v in values):
            raise ValueError(f"timeout: a mapping takes positive seconds for {list(_TIMEOUT_PARTS)}")
        return dict(timeout)
    if _seconds(timeout) or all(hasattr(timeout, part) for part in _TIMEOUT_PARTS):
        return timeout
    raise ValueError(f"timeout: must be seconds > 0, a mapping or an httpx.Timeout, got {timeout!r}")


def _seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _narrow(own: Any, asked: Any) -> Any:
    """The model's timeout, each part cut to ``asked`` seconds when that is shorter."""
    if isinstance(own, (int, float)):
        return min(own, asked) if _seconds(asked) else own
    import httpx  # litellm depends on it; only split timeouts need it

    parts = {p: own.get(p, DEFAULT_TIMEOUT_S) for p in _TIMEOUT_PARTS} if isinstance(own, Mapping) else {
        p: getattr(own, p) for p in _TIMEOUT_PARTS
    }
    if _seconds(asked):
        parts = {p: asked if v is None else min(v, asked) for p, v in parts.items()}
    return httpx.Timeout(**parts)


def _cause(exc: Exception, secret: str | None) -> Exception | None:
    """Chain the original error only when it cannot leak the key through its message."""
    if secret and secret in repr(exc.args) + str(exc):
        return None
    return exc


def _retry_after(exc: Exception) -> float | None:
    headers: Any = getattr(exc, "litellm_response_headers", None) or getattr(exc, "headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _plain(obj: Any) -> Mapping[str, Any]:
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else dict(obj)
