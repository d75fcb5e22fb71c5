"""pydantic-ai's real Agent drives RouterModel against the loopback server and the local model."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from openai_server import OpenAIServer
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.messages import ModelResponse
from pydantic_ai.models.test import TestModel

from llmroute import Router
from llmroute.errors import InvalidRequestError, NoEligibleModelError
from llmroute.integrations.pydantic_ai import RouterModel

# A plain pydantic-ai agent; the test swaps only the first line (the model).
AGENT = """
model = MODEL
from pydantic_ai import Agent
agent = Agent(model=model, instructions="Answer in one line.")
result = agent.run_sync("What is 2 + 2?")
answer = result.output
"""


def test_an_agent_runs_through_llmroute_by_swapping_the_model(router: Router, openai_server: OpenAIServer) -> None:
    exec(AGENT.replace("MODEL", "TestModel()"), {"TestModel": TestModel})
    routed: dict[str, Any] = {"RouterModel": RouterModel, "router": router}
    exec(AGENT.replace("MODEL", "RouterModel(router)"), routed)
    assert routed["answer"] == "echo: What is 2 + 2?"
    sent = openai_server.received[0].body
    assert sent["model"] == "small-served"
    assert sent["messages"] == [{"role": "system", "content": "Answer in one line."}, {"role": "user", "content": "What is 2 + 2?"}]
    last = routed["result"].all_messages()[-1]
    assert isinstance(last, ModelResponse) and last.provider_details["llmroute"]["model"] == "small"


def test_tools_and_structured_output(router: Router, openai_server: OpenAIServer) -> None:
    class City(BaseModel):
        name: str
        weather: str

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        tools = {t["function"]["name"] for t in body.get("tools", [])}
        if body["messages"][-1]["role"] == "user":  # first turn: call the agent's tool
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}
        # second turn: answer through the output tool pydantic-ai offered
        (output,) = tools - {"weather"}
        args = json.dumps({"name": "Oslo", "weather": body["messages"][-1]["content"]})
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": output, "arguments": args}}]}

    openai_server.message = reply
    agent = Agent(model=RouterModel(router), output_type=City)

    @agent.tool_plain
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny" if city == "Oslo" else "unknown"

    result = agent.run_sync("Weather in Oslo?")
    assert result.output == City(name="Oslo", weather="sunny")
    assert all(r.body["model"] == "big-served" for r in openai_server.received)  # Fit: small lacks tools
    assert openai_server.received[1].body["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}


async def test_streaming_text(router: Router) -> None:
    agent = Agent(model=RouterModel(router))
    async with agent.run_stream("stream me") as run:
        text = await run.get_output()
    assert text == "echo: stream me"


def test_llmroute_errors_come_through_as_themselves(router: Router, openai_server: OpenAIServer) -> None:
    with pytest.raises(InvalidRequestError, match="unknown model 'nope'"):
        Agent(model=RouterModel(router, model="nope")).run_sync("hi")
    private = Router(router.models, [__import__("llmroute").policies.Privacy()])
    private = Router([m for m in private.models if m.hosting == "api"], [__import__("llmroute").policies.Privacy()])
    with pytest.raises(NoEligibleModelError):
        Agent(model=RouterModel(private)).run_sync("mail bob@example.com please")
    assert openai_server.requests == 0


@pytest.mark.llama
def test_the_local_model_as_an_agent(local_router: Router) -> None:
    from pydantic_ai.settings import ModelSettings

    agent = Agent(model=RouterModel(local_router), model_settings=ModelSettings(max_tokens=8, temperature=0))
    result = agent.run_sync("Say hi")
    assert isinstance(result.output, str)  # SmolLM2's words vary by CPU build; the routing does not
    response = result.all_messages()[-1]
    assert isinstance(response, ModelResponse) and response.provider_details["llmroute"]["model"] == "smollm2"
    assert 0 < result.usage.output_tokens <= 8


async def test_streaming_with_tools(router: Router, openai_server: OpenAIServer) -> None:
    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][-1]["role"] == "user":  # first turn: a tool call, streamed in pieces
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}
        return {"role": "assistant", "content": f"It is {body['messages'][-1]['content']} in Oslo."}

    openai_server.message = reply
    agent = Agent(model=RouterModel(router))

    @agent.tool_plain
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny" if city == "Oslo" else "unknown"

    async with agent.run_stream("Weather in Oslo?") as run:
        text = await run.get_output()
    assert text == "It is sunny in Oslo."
    assert all(r.body["stream"] for r in openai_server.received) and len(openai_server.received) == 2
    assert openai_server.received[1].body["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
