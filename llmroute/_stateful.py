"""The router's side of state: one store for every stateful policy, per-attempt holds, counted
usage when a provider gives none, and keeping a remote store's I/O off the event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._types import Model, Request, Usage
from .errors import ConfigError, LLMRouteError, PolicyError
from .state import is_remote
from .tokens import estimate_tokens

if TYPE_CHECKING:
    from .policies.base import StatefulPolicy
    from .reliability import CircuitBreakers
    from .state import StateStore

_log = logging.getLogger("llmroute")
_T = TypeVar("_T")


def bind_store(policies: Sequence[tuple[str, StatefulPolicy]], store: StateStore | None) -> None:
    """Hand the router's ``state_store`` to every stateful policy that takes one (``bind_store``)."""
    if store is None:
        return
    for name, policy in policies:
        bind = getattr(policy, "bind_store", None)
        if callable(bind):
            try:
                bind(store)
            except ConfigError:
                raise
            except Exception as exc:
                raise ConfigError(f"bind_store() raised {type(exc).__name__}: {exc}", path=f"policies.{name}") from None


def uses_remote(policies: Sequence[tuple[str, StatefulPolicy]], breakers: CircuitBreakers | None) -> bool:
    """Whether any state this router touches lives over the network."""
    stores = [getattr(p, "store", None) for _, p in policies] + [breakers.store if breakers is not None else None]
    return any(is_remote(s) for s in stores)


def attempt_hold(policies: Sequence[tuple[str, StatefulPolicy]], request: Request) -> Callable[[Model], str | None] | None:
    """The plan's per-attempt gate: each policy's optional ``reserve_attempt``; why a model is skipped."""
    hooks = [(name, hook) for name, p in policies if callable(hook := getattr(p, "reserve_attempt", None))]
    if not hooks:
        return None

    def gate(model: Model) -> str | None:
        for name, hook in hooks:
            try:
                ok = hook(request, model)
            except LLMRouteError:
                raise
            except Exception as exc:
                raise PolicyError(f"policy {name!r} reserve_attempt() raised {type(exc).__name__}: {exc}") from exc
            if not ok:
                return f"{name}: no room left for this attempt"
        return None

    return gate


def counted_usage(usage: Usage | None, request: Request, output: str | None, tool_calls: Any = None) -> Usage:
    """``usage`` with what the provider left out counted: input from the request, output from
    the text (and tool calls) received. A reply without usage is never free."""
    prompt = usage.prompt_tokens if usage is not None else 0
    completion = usage.completion_tokens if usage is not None else 0
    if prompt and completion:
        return usage  # type: ignore[return-value]
    if not completion:
        text = output or ""
        if tool_calls:
            text += json.dumps(tool_calls, default=str)
        completion = estimate_tokens(text)
    return Usage(prompt or request.input_tokens, completion)


async def in_thread(offload: bool, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)``, in a worker thread when it may wait on a remote store (never on the loop)."""
    if not offload:
        return fn(*args)
    import asyncio

    return await asyncio.to_thread(fn, *args)
