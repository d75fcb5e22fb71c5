"""The ``openai`` client's shape on a Router: ``router.chat.completions.create(...)``.

Code written for ``openai.OpenAI()`` runs by swapping the client for a Router::

    client = router                       # was: client = openai.OpenAI()
    resp = client.chat.completions.create(model="auto", messages=[...])
    resp.choices[0].message.content, resp.usage.total_tokens
    resp.decision, resp.attempts, resp.cost          # what llmroute adds

The objects returned are the ``openai`` package's own ``ChatCompletion`` and
``ChatCompletionChunk`` (subclasses that carry llmroute's decision, attempts and cost in private
attributes), so ``isinstance`` checks, ``model_dump()`` and typed attribute access behave exactly
as they do with the real client; copying the types would drift from the package. ``openai`` is
installed with litellm, a core dependency, and is imported only when this module is first used.

``model="auto"`` routes; any other name pins that model (hard constraints still apply). A
parameter llmroute cannot honour raises :class:`~llmroute.errors.InvalidRequestError` naming it,
before anything is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import PrivateAttr

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from .._types import Attempt, Decision, Response, StreamChunk
    from ..router import Router

__all__ = [
    "AUTO",
    "AsyncChat",
    "AsyncChunkStream",
    "Chat",
    "ChunkStream",
    "RoutedChatCompletion",
    "RoutedChatCompletionChunk",
]

AUTO = "auto"  # the model name that lets the policies choose

# Routing fields llmroute reads besides the OpenAI parameters (pass them directly or in extra_body).
_ROUTING = ("user", "tenant", "tags", "classification", "metadata")
# OpenAI parameters llmroute cannot honour, and what to do instead.
_UNSUPPORTED: dict[str, str] = {
    "audio": "audio output is not routed",
    "prediction": "predicted outputs are provider-specific",
    "store": "stored completions live at OpenAI, not in a router",
    "service_tier": "pass it in extra_body for a model that knows it",
    "web_search_options": "pass it in extra_body for a model that knows it",
    "functions": "use tools=[...]",
    "function_call": "use tool_choice=...",
    "extra_headers": "set headers on the model's adapter",
    "extra_query": "set query parameters on the model's adapter",
}


class _Routed:
    """llmroute's extras on an OpenAI object: kept out of ``model_dump()``."""

    _decision: Any = PrivateAttr(default=None)
    _attempts: Any = PrivateAttr(default=())
    _cost: Any = PrivateAttr(default=None)

    @property
    def decision(self) -> Decision:
        """Which model served the request, the fallbacks, and why."""
        return self._decision  # type: ignore[no-any-return]

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        """Every attempt behind this answer (on a stream: its last chunks)."""
        return self._attempts  # type: ignore[no-any-return]

    @property
    def cost(self) -> float | None:
        """USD of the attempt that answered; None when its price is unknown or not yet known."""
        return self._cost  # type: ignore[no-any-return]


class RoutedChatCompletion(_Routed, ChatCompletion):
    """An ``openai.types.chat.ChatCompletion`` with ``decision``, ``attempts`` and ``cost``."""


class RoutedChatCompletionChunk(_Routed, ChatCompletionChunk):
    """An ``openai.types.chat.ChatCompletionChunk`` with ``decision`` (and, on the last chunks,
    ``attempts`` and ``cost``)."""


def _given(value: Any) -> bool:
    # openai's NOT_GIVEN / omit sentinels and None mean "not set", as the real client treats them.
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


def router_kwargs(model: Any, params: Mapping[str, Any], *, stream: bool) -> tuple[dict[str, Any], bool]:
    """Turn ``create()``'s keyword arguments into the Router's; raise naming what cannot be served.

    Returns the Router's keyword arguments and whether the stream should end with a usage chunk
    (``stream_options={"include_usage": True}``).
    """
    kw = {k: v for k, v in params.items() if _given(v)}
    extra = kw.get("extra_body")
    if isinstance(extra, Mapping) and any(k in extra for k in _ROUTING):
        body = dict(extra)
        for key in _ROUTING:
            if key in body:
                kw.setdefault(key, body.pop(key))
        kw["extra_body"] = body
        if not body:
            del kw["extra_body"]
    for name, instead in _UNSUPPORTED.items():
        if name in kw:
            raise InvalidRequestError(f"{name}: not supported by llmroute's OpenAI-compatible interface; {instead}")
    n = kw.pop("n", 1)
    if n != 1:
        raise InvalidRequestError(
            f"n: llmroute returns one choice per call, got n={n!r}; call create() {n!r} times instead"
        )
    modalities = kw.pop("modalities", ["text"])
    if list(modalities) != ["text"]:
        raise InvalidRequestError(f"modalities: only ['text'] is routed, got {modalities!r}")
    options = kw.pop("stream_options", None)
    if options is not None and not isinstance(options, Mapping):
        raise InvalidRequestError(f"stream_options: must be a mapping, got {type(options).__name__}")
    if options is not None and not stream:
        raise InvalidRequestError("stream_options: only allowed with stream=True")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(f"model: must be {AUTO!r} or a model name, got {model!r}")
    kw["model"] = None if model == AUTO else model
    return kw, bool(options and options.get("include_usage"))


def chat_completion(resp: Response) -> RoutedChatCompletion:
    """The llmroute Response as the ``openai`` package's ChatCompletion."""
    out = RoutedChatCompletion.model_validate(resp.to_dict())
    out._decision, out._attempts, out._cost = resp.decision, resp.attempts, resp.cost
    return out


def chat_chunks(chunk: StreamChunk, created: int, include_usage: bool) -> Iterator[RoutedChatCompletionChunk]:
    """One llmroute StreamChunk as the ``openai`` package's chunk(s).

    The last llmroute chunk carries usage; OpenAI sends usage in a chunk of its own with no
    choices, and only when ``stream_options.include_usage`` asked for it.
    """
    base = {"id": chunk.id, "object": "chat.completion.chunk", "created": created, "model": chunk.model}
    choices = [
        {
            "index": c.index,
            "delta": {
                k: v
                for k, v in (("role", c.delta.role), ("content", c.delta.content), ("tool_calls", c.delta.tool_calls))
                if v is not None
            },
            "finish_reason": c.finish_reason,
        }
        for c in chunk.choices
    ]
    out = RoutedChatCompletionChunk.model_validate({**base, "choices": choices})
    out._decision, out._attempts, out._cost = chunk.decision, chunk.attempts, chunk.cost
    yield out
    if chunk.usage is not None and include_usage:
        usage = {
            "prompt_tokens": chunk.usage.prompt_tokens,
            "completion_tokens": chunk.usage.completion_tokens,
            "total_tokens": chunk.usage.total_tokens,
        }
        last = RoutedChatCompletionChunk.model_validate({**base, "choices": [], "usage": usage})
        last._decision, last._attempts, last._cost = chunk.decision, chunk.attempts, chunk.cost
        yield last


class ChunkStream:
    """What ``create(stream=True)`` returns: iterate it (or use it as a context manager), as the
    ``openai`` client's ``Stream``."""

    def __init__(self, chunks: Iterator[StreamChunk], created: int, include_usage: bool) -> None:
        self._source = chunks
        self._chunks = (c for chunk in chunks for c in chat_chunks(chunk, created, include_usage))

    def __iter__(self) -> Iterator[RoutedChatCompletionChunk]:
        return self._chunks

    def __next__(self) -> RoutedChatCompletionChunk:
        return next(self._chunks)

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


class AsyncChunkStream:
    """What ``await create(stream=True)`` returns on ``router.achat``: ``async for`` over it."""

    def __init__(self, chunks: AsyncIterator[StreamChunk], created: int, include_usage: bool) -> None:
        self._source = chunks
        self._created = created
        self._include_usage = include_usage
        self._pending: list[RoutedChatCompletionChunk] = []

    def __aiter__(self) -> AsyncChunkStream:
        return self

    async def __anext__(self) -> RoutedChatCompletionChunk:
        while not self._pending:
            chunk = await self._source.__anext__()
            self._pending.extend(chat_chunks(chunk, self._created, self._include_usage))
        return self._pending.pop(0)

    async def __aenter__(self) -> AsyncChunkStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


def _created() -> int:
    import time

    return int(time.time())


class Completions:
    """``router.chat.completions``: ``create(model=..., messages=..., stream=..., **params)``."""

    def __init__(self, router: Router) -> None:
        self._router = router

    def create(
        self, *, messages: Any, model: str = AUTO, stream: bool = False, **params: Any
    ) -> RoutedChatCompletion | ChunkStream:
        """Route and call, as ``openai.OpenAI().chat.completions.create``; bad input raises first."""
        kw, include_usage = router_kwargs(model, params, stream=stream)
        if stream:
            return ChunkStream(self._router.stream(messages, **kw), _created(), include_usage)
        return chat_completion(self._router.completion(messages, **kw))


class AsyncCompletions:
    """``router.achat.completions``: the async twin of :class:`Completions`."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def create(
        self, *, messages: Any, model: str = AUTO, stream: bool = False, **params: Any
    ) -> RoutedChatCompletion | AsyncChunkStream:
        """Route and call, as ``openai.AsyncOpenAI().chat.completions.create``."""
        kw, include_usage = router_kwargs(model, params, stream=stream)
        if stream:
            return AsyncChunkStream(self._router.astream(messages, **kw), _created(), include_usage)
        return chat_completion(await self._router.acompletion(messages, **kw))


class Chat:
    """``router.chat``: holds ``completions``."""

    def __init__(self, router: Router) -> None:
        self.completions = Completions(router)


class AsyncChat:
    """``router.achat``: holds the async ``completions``."""

    def __init__(self, router: Router) -> None:
        self.completions = AsyncCompletions(router)
