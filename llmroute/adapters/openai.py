"""OpenAI adapter: OpenAI itself and any OpenAI-compatible server (vLLM, llama.cpp's server,
TGI, Ollama, LM Studio...) through the official ``openai`` SDK.

The SDK is imported on first use (or by ``warmup()``), never by ``import llmroute``; it costs
about a second where litellm costs five. One sync and one async client per adapter are built
once and reused, so connections are pooled. The SDK's own retries are off: llmroute's plan is
the only retry loop. Errors are mapped and scrubbed exactly as the LiteLLM adapter's are.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._types import Request
from ..errors import ConfigError, MissingDependencyError
from ._chat import ChatAdapter
from ._errors import Secrets, redact_url
from ._hosting import hosted_url

__all__ = ["OpenAI"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0  # the SDK's own default read timeout is 600 s
DEFAULT_CONNECT_TIMEOUT_S = 5.0
# Sent when a self-hosted server needs no key: the SDK insists on one, and the caller's
# OPENAI_API_KEY must never go to a server that is not OpenAI's.
NO_KEY = "EMPTY"
# Request parameters that steer llmroute or litellm, never the server
_NOT_SENT = frozenset({"num_retries", "max_retries", "drop_params", "stream", "stream_options"})
# call parameters sent as request options (by the SDK's option names), not as body fields;
# ``timeout`` and ``extra_body`` are options too, each handled on its own
_OPTIONS = {"extra_headers": "headers", "extra_query": "params"}
_SEPARATE = frozenset({"timeout", "extra_body"})
_PATH = "/chat/completions"


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name}: must be seconds > 0, got {value!r}")
    return float(value)


class OpenAI(ChatAdapter):
    """``OpenAI("gpt-4o-mini")`` (key from OPENAI_API_KEY), or an OpenAI-compatible server:
    ``OpenAI("llama-3-70b", base_url="http://10.0.0.5:8000/v1")``.

    ``api_key_env`` names the variable the key is read from (default OPENAI_API_KEY for
    OpenAI itself; a self-hosted server gets no key unless given one). ``headers`` go with
    every request; ``params`` are call parameters for every request (a request's own win).
    ``timeout_s`` bounds each read, ``connect_timeout_s`` the connect; a request's ``timeout``
    (the router sets it to the time its deadline leaves) may shorten both, never lengthen them.
    ``provider`` names the backend in traces (default "openai" for api.openai.com, else
    "openai_compatible"). The key is never shown in reprs or errors.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        api_key_env: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        params: Mapping[str, Any] | None = None,
        provider: str | None = None,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError("OpenAI needs a model name such as 'gpt-4o-mini'")
        if base_url is not None and (not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https")):
            raise ValueError("base_url: must be an http(s) URL such as 'http://10.0.0.5:8000/v1'")
        self.model = model
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        parts = urlsplit(self.base_url)
        self.server_address = parts.hostname
        self.server_port = parts.port
        official = parts.hostname == "api.openai.com"
        self.provider = provider or ("openai" if official else "openai_compatible")
        # OpenAI's own API reads OPENAI_API_KEY by default; another server only what it is told
        self.api_key_env = api_key_env or ("OPENAI_API_KEY" if official and api_key is None else None)
        self._api_key = api_key if api_key is not None else (os.environ.get(self.api_key_env) if self.api_key_env else None)
        self.headers = dict(headers or {})
        self.timeout_s = _positive("timeout_s", timeout_s)
        self.connect_timeout_s = _positive("connect_timeout_s", connect_timeout_s)
        self.params = dict(params or {})
        extra_headers = dict(self.params.get("extra_headers") or {})
        self._secrets = Secrets(self._api_key, [*self.headers.items(), *extra_headers.items()])
        self._lock = threading.Lock()
        self._sdk: Any = None
        self._client: Any = None
        # one async client per live event loop: its pooled connections belong to that loop
        self._aclients: dict[Any, Any] = {}
        self._timeout: Any = None
        self._types: tuple[Any, Any, Any] = (None, None, None)  # the reply, stream and async stream classes
        self._options: dict[str, Any] = {}  # request options every call carries
        self._closing: Any = None  # an async close scheduled on a running loop

    def __repr__(self) -> str:
        key = ", api_key='***'" if self._api_key else ""
        return f"OpenAI({self.model!r}, base_url={redact_url(self.base_url)!r}{key})"

    def check(self) -> None:
        """Called when the Router is built: the SDK is installed and the named key is set."""
        import importlib.util

        if importlib.util.find_spec("openai") is None:
            raise MissingDependencyError("the OpenAI adapter needs the openai package: pip install openai")
        if self.api_key_env and not self._api_key:
            raise ConfigError(f"environment variable {self.api_key_env} is not set (the API key of {self.model!r})")

    @property
    def implied_hosting(self) -> str | None:
        """"api" for a hosted provider's URL; None for a server of the user's own (any label)."""
        return "api" if hosted_url(self.base_url) else None

    # -- clients ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self._client is not None:
            return
        with self._lock:
            if self._client is not None:
                return
            try:
                import openai
            except ImportError as exc:  # pragma: no cover - openai comes with litellm
                raise MissingDependencyError("the OpenAI adapter needs the openai package: pip install openai") from exc
            from openai.types.chat import ChatCompletion, ChatCompletionChunk

            self._sdk = openai
            self._timeout = openai.Timeout(self.timeout_s, connect=self.connect_timeout_s)
            self._types = (ChatCompletion, openai.Stream[ChatCompletionChunk], openai.AsyncStream[ChatCompletionChunk])
            # as create() asks: the API key only. Left to its defaults the SDK may also send an
            # admin key from OPENAI_ADMIN_KEY where no API key is set (the adapter always sets one)
            if "security" in getattr(openai.RequestOptions, "__annotations__", {}):
                self._options = {"security": {"bearer_auth": True}}
            self._client = openai.OpenAI(**self._client_kwargs())

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key or NO_KEY,
            "base_url": self.base_url,
            "default_headers": self.headers or None,
            "timeout": self._timeout,
            "max_retries": 0,
        }

    def _async_client(self) -> Any:
        """The async client of the running loop. Connections belong to one loop, so each loop
        (each ``asyncio.run``, each thread running its own loop) gets its own client; clients of
        loops that have closed are dropped when the next one is made."""
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            with self._lock:
                client = self._aclients.get(loop)
                if client is None:
                    live = {lp: c for lp, c in self._aclients.items() if not lp.is_closed()}
                    client = live[loop] = self._sdk.AsyncOpenAI(**self._client_kwargs(), http_client=_http_client(self._sdk))
                    self._aclients = live
        return client

    def close(self) -> None:
        """Close every client. An async one is closed on its own loop, or scheduled there when
        that loop is running; a loop already closed took its connections with it."""
        import asyncio

        client, aclients = self._client, self._aclients
        self._client, self._aclients = None, {}
        if client is not None:
            client.close()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, aclient in aclients.items():
            if loop.is_closed():
                continue
            if loop is running:
                self._closing = running.create_task(aclient.close())  # keep a reference until done
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(aclient.close(), loop)
            else:
                loop.run_until_complete(aclient.close())

    async def aclose(self) -> None:
        """Close every client from async code (this loop's is awaited)."""
        import asyncio

        aclient = self._aclients.pop(asyncio.get_running_loop(), None)
        if aclient is not None:
            await aclient.close()
        self.close()

    # -- wire format -----------------------------------------------------------------------
    # The body is built here and posted with the client's documented ``post`` rather than
    # through ``chat.completions.create``, whose typed ``transform`` walk over every field is
    # about a quarter of the SDK's CPU per request (0.7-0.8 ms of ~3.3 ms at 64 in flight on
    # the concurrency benchmark's host) and changes nothing in a plain-JSON body: the same
    # bytes go out (tests/adapters/test_openai_adapter.py compares them with create()'s).
    def _call(self, request: Request, stream: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """The JSON body and the SDK's request options (timeout, extra headers, query, and
        ``extra_body``, which the SDK merges over the body as ``create`` does)."""
        params = {**self.params, **request.params}
        body: dict[str, Any] = {"model": self.model, "messages": [_json(m) for m in request.messages]}
        options: dict[str, Any] = {**self._options, "timeout": self._narrow(params.get("timeout"))}
        for name, value in params.items():
            if name in _OPTIONS:
                if value:
                    options[_OPTIONS[name]] = dict(value)
            elif name not in _NOT_SENT and name not in _SEPARATE:
                body[name] = _json(value)  # a server's own parameter (top_k, min_p...) is sent as is
        extra_body = {**(self.params.get("extra_body") or {}), **(request.params.get("extra_body") or {})}
        if extra_body:
            options["extra_json"] = _json(extra_body)
        if stream:
            body["stream"] = True
            # usage in the last chunk; servers that ignore this still stream the text
            body["stream_options"] = {"include_usage": True}
        return body, options

    def _narrow(self, asked: Any) -> Any:
        """The adapter's timeouts, each cut to ``asked`` seconds when that is shorter."""
        if isinstance(asked, bool) or not isinstance(asked, (int, float)) or asked <= 0:
            return self._timeout
        if asked >= self.timeout_s and asked >= self.connect_timeout_s:
            return self._timeout
        return self._sdk.Timeout(min(self.timeout_s, asked), connect=min(self.connect_timeout_s, asked))

    # -- calls -----------------------------------------------------------------------------
    def _send(self, request: Request, stream: bool) -> Any:
        self._load()
        body, options = self._call(request, stream)
        reply, stream_cls, _ = self._types
        return self._client.post(_PATH, body=body, options=options, cast_to=reply, stream=stream, stream_cls=stream_cls)

    async def _asend(self, request: Request, stream: bool) -> Any:
        if self._client is None:  # the first call: import the SDK (about a second) off the event loop
            import asyncio

            await asyncio.to_thread(self._load)
        body, options = self._call(request, stream)
        reply, _, stream_cls = self._types
        client = self._async_client()
        return await client.post(_PATH, body=body, options=options, cast_to=reply, stream=stream, stream_cls=stream_cls)


def _http_client(sdk: Any) -> Any:
    """The HTTP client of an async SDK client: the SDK's own defaults, without its wrapper's
    finaliser. That finaliser schedules a close on whatever loop is running when the client is
    collected; for a client of a loop that has ended (dropped when the next ``asyncio.run``
    makes its own) that close fails and prints "Event loop is closed" to stderr. Nothing can
    close the ended loop's connections any more: their sockets close when they are collected."""
    make = getattr(sdk, "DefaultAsyncHttpxClient", None)
    return make() if make is not None else None


def _json(value: Any) -> Any:
    """``value`` as plain JSON data: a pydantic object (an SDK message or tool call passed back
    in) becomes its dict, as ``create``'s transform would make it; anything else unreadable is
    left for the encoder to refuse (a BadRequestError before anything is sent)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True, by_alias=True)
    return value
