"""LangChain: ``RouterChatModel(router=router)`` is a chat model whose every call is routed.

It works wherever a LangChain chat model does (``invoke``, ``ainvoke``, ``stream``, ``astream``,
``batch``, chains with ``|``, ``bind_tools``, ``with_structured_output``). The routing decision
is in each answer's ``response_metadata["llmroute"]`` (``model``, ``decision``, ``attempts``,
``cost``). ``model="auto"`` routes; a model name pins it. Needs
``pip install 'llmroute[langchain]'`` (langchain-core).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import require

require("langchain_core", "langchain")

from langchain_core.callbacks import (  # noqa: E402
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import LanguageModelInput  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import (  # noqa: E402
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    UsageMetadata,
    convert_to_openai_messages,
)
from langchain_core.messages.tool import tool_call_chunk  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult  # noqa: E402
from langchain_core.runnables import Runnable  # noqa: E402
from langchain_core.tools import BaseTool  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402

from ..errors import ConfigError, InvalidRequestError  # noqa: E402

if TYPE_CHECKING:
    from .._types import Response, StreamChunk, Usage
    from ..router import Router

__all__ = ["RouterChatModel"]

_MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name")


class RouterChatModel(BaseChatModel):
    """A LangChain chat model backed by a llmroute Router.

    ``model_kwargs`` are call parameters for every call (``max_tokens``, ``temperature``...);
    ``routing`` are llmroute's routing fields for every call (``tenant``, ``tags``,
    ``classification``, ``user``, ``metadata``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    router: Any  # a llmroute Router (Any: pydantic does not validate it)
    model: str = "auto"
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    routing: dict[str, Any] = Field(default_factory=dict)

    def __init__(self, **kw: Any) -> None:
        from ..router import Router

        if not isinstance(kw.get("router"), Router):
            raise ConfigError(f"must be a llmroute.Router, got {type(kw.get('router')).__name__}", path="router")
        super().__init__(**kw)

    @property
    def _llm_type(self) -> str:
        return "llmroute"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "models": [m.name for m in self.router.models]}

    # -- building a call ---------------------------------------------------------------------
    def _kwargs(self, stop: list[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        kw = {**self.model_kwargs, **self.routing, **kwargs}
        if stop:
            kw["stop"] = stop
        if self.model != "auto":
            kw.setdefault("model", self.model)
        return kw

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        resp = self._router().completion(openai_messages(messages), **self._kwargs(stop, kwargs))
        return _result(resp)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        resp = await self._router().acompletion(openai_messages(messages), **self._kwargs(stop, kwargs))
        return _result(resp)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        kw = self._kwargs(stop, kwargs)
        for chunk in self._router().stream(openai_messages(messages), **kw):
            out = _chunk(chunk)
            if run_manager is not None and out.text:
                run_manager.on_llm_new_token(out.text, chunk=out)
            yield out

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kw = self._kwargs(stop, kwargs)
        async for chunk in self._router().astream(openai_messages(messages), **kw):
            out = _chunk(chunk)
            if run_manager is not None and out.text:
                await run_manager.on_llm_new_token(out.text, chunk=out)
            yield out

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` on every call (a model without the ``tools`` capability is dropped by
        the Fit policy)."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            if tool_choice == "any":
                tool_choice = "required"
            elif isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required"):
                tool_choice = {"type": "function", "function": {"name": tool_choice}}
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=formatted, **kwargs)

    def _router(self) -> Router:
        return self.router  # type: ignore[no-any-return]  # checked in __init__


def openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI chat messages; a message that cannot be converted is named."""
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, BaseMessage):
            raise InvalidRequestError(f"messages[{i}]: must be a LangChain message, got {type(message).__name__}")
        try:
            converted = convert_to_openai_messages(message)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise InvalidRequestError(
                f"messages[{i}] ({type(message).__name__}): cannot be converted to an OpenAI message: {exc}"
            ) from None
        if not isinstance(converted, dict):
            raise InvalidRequestError(f"messages[{i}] ({type(message).__name__}): converts to no single message")
        out.append({k: v for k, v in converted.items() if k in _MESSAGE_FIELDS})
    return out


def _details(decision: Any, attempts: Any = (), cost: float | None = None) -> dict[str, Any]:
    return {"model": decision.model, "decision": decision, "attempts": attempts, "cost": cost}


def _usage(usage: Usage) -> UsageMetadata:
    out: UsageMetadata = {  # type: ignore[typeddict-item]  # the token details are optional at runtime
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    return out


def _result(resp: Response) -> ChatResult:
    message = resp.choices[0].message
    tool_calls = []
    for call in message.tool_calls or ():
        function = call.get("function") or {}
        try:
            args = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            args = {"__raw__": function.get("arguments")}  # a model's broken JSON, kept for the caller
        tool_calls.append({"name": function.get("name", ""), "args": args, "id": call.get("id"), "type": "tool_call"})
    ai = AIMessage(
        content=message.content or "",
        tool_calls=tool_calls,
        usage_metadata=_usage(resp.usage),
        response_metadata={
            "model_name": resp.model,
            "finish_reason": resp.choices[0].finish_reason,
            "llmroute": _details(resp.decision, resp.attempts, resp.cost),
        },
        id=resp.id,
    )
    return ChatResult(generations=[ChatGeneration(message=ai)], llm_output={"model_name": resp.model})


def _chunk(chunk: StreamChunk) -> ChatGenerationChunk:
    metadata: dict[str, Any] = {}
    if chunk.choices and chunk.choices[0].finish_reason is not None:  # the last chunk: what it all was
        metadata = {
            "model_name": chunk.model,
            "finish_reason": chunk.choices[0].finish_reason,
            "llmroute": _details(chunk.decision, chunk.attempts, chunk.cost),
        }
    usage = _usage(chunk.usage) if chunk.usage is not None else None
    calls = [  # LangChain joins the pieces of one call by index, as OpenAI streams them
        tool_call_chunk(
            name=(c.get("function") or {}).get("name"),
            args=(c.get("function") or {}).get("arguments"),
            id=c.get("id"),
            index=c.get("index"),
        )
        for c in (chunk.choices[0].delta.tool_calls or () if chunk.choices else ())
    ]
    message = AIMessageChunk(
        content=chunk.content, response_metadata=metadata, usage_metadata=usage, id=chunk.id, tool_call_chunks=calls
    )
    return ChatGenerationChunk(message=message)
