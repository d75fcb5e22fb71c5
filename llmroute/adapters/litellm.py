"""LiteLLM adapter: hosted APIs and OpenAI-compatible self-hosted servers.

litellm is imported on first call, never by ``import llmroute``. Before that first import the
adapter switches off litellm's fetch of a remote price map (it would otherwise reach the
internet at import), and every call sets litellm's and the OpenAI SDK's own retries to zero so
llmroute's plan is the only retry loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._types import Request
from ..errors import MissingDependencyError, ProviderTimeoutError
from ._chat import ChatAdapter
from ._errors import Secrets, redact_url
from ._hosting import litellm_hosted

__all__ = ["LiteLLM", "import_litellm"]

DEFAULT_TIMEOUT_S = 60.0  # litellm's own default is 6,000 s
_litellm: Any = None


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


_importer: threading.Event | None = None
_import_failed: list[BaseException] = []
_importer_lock = threading.Lock()


def litellm_within(timeout: Any) -> Any:
    """litellm, imported within ``timeout`` seconds (a first call's deadline) or not at all.

    The import takes seconds. It runs in a background thread; when the time is up first, the
    call fails with ProviderTimeoutError (retryable: the router moves on to a fallback) and the
    import goes on, so the next call finds litellm ready. Without a timeout it is waited for.
    """
    global _importer
    if _litellm is not None:
        return _litellm
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        return import_litellm()
    with _importer_lock:
        if _importer is None:
            done = threading.Event()

            def run() -> None:
                try:
                    import_litellm()
                except BaseException as exc:  # reported to the calls that wait for it
                    _import_failed.append(exc)
                finally:
                    done.set()

            threading.Thread(target=run, name="llmroute-import-litellm", daemon=True).start()
            _importer = done
        done = _importer
    if not done.wait(max(float(timeout), 0.0)):
        raise ProviderTimeoutError(
            "request deadline reached while litellm was being imported (seconds, once per process); "
            "the import goes on in the background. Call router.warmup() at start-up to import it first"
        )
    if _import_failed:
        raise _import_failed[0]
    return _litellm


class LiteLLM(ChatAdapter):
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
        headers = params.get("extra_headers")
        self._secrets = Secrets(api_key, headers.items() if isinstance(headers, Mapping) else ())

    def __repr__(self) -> str:
        base = f", api_base={redact_url(self.api_base)!r}" if self.api_base else ""
        key = ", api_key='***'" if self._api_key else ""
        return f"LiteLLM({self.model!r}{base}{key})"

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

    @property
    def implied_hosting(self) -> str | None:
        """"api" when litellm sends this model to a hosted provider; None for the user's own server."""
        return "api" if litellm_hosted(self.model, self.api_base) else None

    # -- calls ---------------------------------------------------------------------------
    def _load(self) -> None:
        import_litellm()

    def _send(self, request: Request, stream: bool) -> Any:
        return litellm_within(request.params.get("timeout")).completion(**self._kwargs(request, stream))

    async def _asend(self, request: Request, stream: bool) -> Any:
        litellm = _litellm
        if litellm is None:  # the first call: import litellm (seconds) off the event loop
            import asyncio

            litellm = await asyncio.to_thread(import_litellm)
        return await litellm.acompletion(**self._kwargs(request, stream))


_TIMEOUT_PARTS = ("connect", "read", "write", "pool")


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
