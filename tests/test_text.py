"""llmroute._text: the one walker over message text (content strings, text parts, tool-call arguments)."""

from __future__ import annotations

from typing import Any

from llmroute._text import (
    image_parts,
    located_texts,
    message_text,
    message_texts,
    messages_text,
    tool_call_arguments,
)
from llmroute.tokens import IMAGE_TOKENS, estimate_messages_tokens

IMAGE = {"type": "image_url", "image_url": {"url": "data:,"}}
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "look"}, IMAGE, "junk", {"type": "text", "text": 5}, {"type": "text", "text": "here"}]},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": {"not": "a string"}}},
            "junk",
            {"id": "c", "type": "function", "function": {"name": "h", "arguments": "{}"}},
        ],
    },
    {"role": "tool", "content": "42"},
    {"role": "user", "content": []},
]


def test_message_texts_yields_string_content_and_text_parts_only() -> None:
    assert [list(message_texts(m)) for m in MESSAGES] == [["be brief"], ["look", "here"], [], ["42"], []]


def test_message_text_tells_no_content_from_empty_text() -> None:
    assert [message_text(m) for m in MESSAGES] == ["be brief", "look\nhere", None, "42", ""]
    assert message_text(MESSAGES[1], sep=" ") == "look here"


def test_messages_text_joins_every_piece() -> None:
    assert messages_text(MESSAGES) == "be brief\nlook\nhere\n42"
    assert messages_text([]) == ""


def test_tool_call_arguments_are_the_string_ones_with_their_index() -> None:
    assert list(tool_call_arguments(MESSAGES[2])) == [(0, '{"x": 1}'), (3, "{}")]
    assert list(tool_call_arguments({"role": "assistant", "tool_calls": None})) == []


def test_located_texts_address_every_piece() -> None:
    assert list(located_texts(MESSAGES)) == [
        (0, None, "content", "be brief"),
        (1, 0, "content", "look"),
        (1, 4, "content", "here"),
        (2, None, "tool_calls[0]", '{"x": 1}'),
        (2, None, "tool_calls[3]", "{}"),
        (3, None, "content", "42"),
    ]


def test_image_parts_and_the_token_estimate_agree() -> None:
    assert [image_parts(m) for m in MESSAGES] == [0, 1, 0, 0, 0]
    # 3 priming + 4 per message; ceil(chars / 4) per text piece; one image
    expected = 3 + 4 * len(MESSAGES) + (2 + 1 + 1 + 1) + IMAGE_TOKENS
    assert estimate_messages_tokens(MESSAGES) == expected
