"""LangChain's real classes drive RouterChatModel against the loopback server and the local model."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from openai_server import OpenAIServer

from llmroute import Router
from llmroute.errors import ConfigError, InvalidRequestError
from llmroute.integrations.langchain import RouterChatModel

# A plain LangChain chain; the test swaps only the first line (the model).
CHAIN = """
llm = MODEL
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
prompt = ChatPromptTemplate.from_messages([("system", "Answer in one line."), ("human", "Summarise: {text}")])
chain = prompt | llm | StrOutputParser()
answer = chain.invoke({"text": "the quarterly numbers"})
streamed = "".join(chain.stream({"text": "the quarterly numbers"}))
"""


def test_a_chain_runs_through_llmroute_by_swapping_the_model(router: Router, openai_server: OpenAIServer) -> None:
    plain: dict[str, Any] = {}
    exec(CHAIN.replace("MODEL", 'FakeListChatModel(responses=["fine", "fine"])'), {"FakeListChatModel": FakeListChatModel} | plain)
    routed: dict[str, Any] = {"RouterChatModel": RouterChatModel, "router": router}
    exec(CHAIN.replace("MODEL", "RouterChatModel(router=router)"), routed)
    assert routed["answer"] == routed["streamed"] == "echo: Summarise: the quarterly numbers"
    sent = openai_server.received[0].body["messages"]
    assert sent == [{"role": "system", "content": "Answer in one line."},
                    {"role": "user", "content": "Summarise: the quarterly numbers"}]


def test_the_decision_is_in_the_response_metadata(router: Router) -> None:
    message = RouterChatModel(router=router).invoke("hi")
    routed = message.response_metadata["llmroute"]
    assert routed["model"] == "small" and routed["decision"].model == "small" and routed["attempts"][0].ok
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] > 0
    full = None
    for chunk in RouterChatModel(router=router, model="big").stream("hi"):
        full = chunk if full is None else full + chunk
    assert full is not None and full.content == "echo: hi"
    assert full.response_metadata["llmroute"]["decision"].pinned  # a model name pins


async def test_ainvoke_and_astream(router: Router) -> None:
    llm = RouterChatModel(router=router, model_kwargs={"max_tokens": 20})
    message = await llm.ainvoke([SystemMessage("be brief"), HumanMessage("hello")])
    assert message.content == "echo: hello"
    parts = [c.content async for c in llm.astream("hello")]
    assert "".join(str(p) for p in parts) == "echo: hello"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


WEATHER_CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}


def test_bound_tools_reach_the_model_that_can_call_them(router: Router, openai_server: OpenAIServer) -> None:
    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]}
    llm = RouterChatModel(router=router).bind_tools([get_weather])
    message = llm.invoke("weather in Oslo?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls == [{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1", "type": "tool_call"}]
    assert message.response_metadata["llmroute"]["model"] == "big"  # small lacks tools: Fit dropped it
    assert openai_server.received[0].body["tools"][0]["function"]["name"] == "get_weather"
    # the tool's answer goes back in the next turn as an OpenAI tool message
    openai_server.message = None
    history = [HumanMessage("weather in Oslo?"), message, ToolMessage("sunny", tool_call_id="call_1")]
    RouterChatModel(router=router).bind_tools([get_weather]).invoke(history)
    sent = openai_server.received[1].body["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}


def test_bound_tools_stream_and_join_into_tool_calls(router: Router, openai_server: OpenAIServer) -> None:
    openai_server.message = lambda body: {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]}
    chunks = list(RouterChatModel(router=router).bind_tools([get_weather]).stream("weather in Oslo?"))
    assert len(chunks) > 2  # streamed in pieces
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined += chunk
    assert joined.tool_calls == [{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1", "type": "tool_call"}]
    assert joined.response_metadata["llmroute"]["model"] == "big"


def test_bad_input_is_named_before_any_call(router: Router, openai_server: OpenAIServer) -> None:
    with pytest.raises(InvalidRequestError, match="temperature"):
        RouterChatModel(router=router, model_kwargs={"temperature": 9}).invoke("hi")
    with pytest.raises(ConfigError, match=r"router: must be a llmroute\.Router"):
        RouterChatModel(router=object())
    assert openai_server.requests == 0


@pytest.mark.llama
def test_the_local_model_through_a_chain(local_router: Router) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    llm = RouterChatModel(router=local_router, model_kwargs={"max_tokens": 8, "temperature": 0})
    chain = ChatPromptTemplate.from_messages([("human", "Say hi to {name}")]) | llm
    message = chain.invoke({"name": "Ada"})
    assert isinstance(message.content, str)  # what SmolLM2 says varies by CPU build; the routing does not
    assert message.response_metadata["llmroute"]["model"] == "smollm2"
    assert message.usage_metadata is not None and 0 < message.usage_metadata["output_tokens"] <= 8
