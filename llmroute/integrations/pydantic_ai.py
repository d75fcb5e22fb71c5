"""pydantic-ai: ``Agent(model=RouterModel(router))`` routes every model request of an agent.

``RouterModel`` is pydantic-ai's own ``OpenAIChatModel`` whose client answers in-process from the
Router (``integrations._http``): pydantic-ai's message, tool and structured-output mapping is
used as is, and llmroute routes, falls back and traces each request. ``model="auto"`` routes;
a model name pins it. The routing decision of a request is in its ``ModelResponse``'s
``provider_details["llmroute"]``; an llmroute error (bad input, no eligible model, every
attempt failed) is raised as itself. Needs ``pip install 'llmroute[pydantic-ai]'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from . import require

require("pydantic_ai", "pydantic-ai")

import openai  # noqa: E402
from pydantic_ai.messages import ModelMessage, ModelResponse  # noqa: E402
from pydantic_ai.models import ModelRequestParameters, StreamedResponse  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402
from pydantic_ai.settings import ModelSettings  # noqa: E402

from ._http import BASE_URL, Outcome, RouterTransport, outcome  # noqa: E402

if TYPE_CHECKING:
    from ..router import Router

__all__ = ["RouterModel"]


class RouterModel(OpenAIChatModel):
    """A pydantic-ai model backed by a llmroute Router: ``Agent(model=RouterModel(router))``."""

    def __init__(self, router: Router, *, model: str = "auto", settings: ModelSettings | None = None) -> None:
        self.router = router
        client = openai.AsyncOpenAI(
            base_url=BASE_URL,
            api_key="llmroute-in-process",  # not a credential: the transport never leaves the process
            max_retries=0,  # the router retries and falls back itself
            http_client=openai.DefaultAsyncHttpxClient(transport=RouterTransport(router)),
        )
        super().__init__(model, provider=OpenAIProvider(openai_client=client), settings=settings)

    @property
    def system(self) -> str:
        return "llmroute"

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        with _routed() as seen:
            response = await super().request(messages, model_settings, model_request_parameters)
        response.provider_details = {**(response.provider_details or {}), "llmroute": _details(seen)}
        return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: Any = None,
    ) -> AsyncIterator[StreamedResponse]:
        with _routed():
            async with super().request_stream(messages, model_settings, model_request_parameters, run_context) as stream:
                yield stream


@contextmanager
def _routed() -> Iterator[Outcome]:
    """Collect what the transport saw for this request; raise its llmroute error as itself."""
    seen = Outcome()
    token = outcome.set(seen)
    try:
        yield seen
    except Exception as exc:
        if seen.error is not None:
            raise seen.error from exc
        raise
    finally:
        outcome.reset(token)


def _details(seen: Outcome) -> dict[str, Any]:
    decision = seen.decision
    return {
        "model": decision.model if decision is not None else None,
        "decision": decision,
        "attempts": seen.attempts,
        "cost": seen.cost,
    }
