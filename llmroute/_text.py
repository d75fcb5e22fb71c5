"""The one walker over chat-message text: string content, text parts and tool-call arguments.

A message's ``content`` is a string, a list of content parts (dicts with a ``type``; a text
part has a string ``text``), or absent/None (an assistant message that only calls tools). Every
module that reads message text goes through here so they all agree on what counts as text:

- :func:`message_texts` - the text pieces of one message's content, in order.
- :func:`message_text` - those pieces joined; None when the content is neither a string nor a
  list (so a caller can tell "no content" from "empty text").
- :func:`messages_text` - the text of every message joined (``Request.text``).
- :func:`tool_call_arguments` - the argument strings of one message's ``tool_calls``.
- :func:`located_texts` - every piece of text of a conversation with where it is (message,
  part, field), tool-call arguments included: what the privacy scan and redaction address.
- :func:`image_parts` - how many image parts a message has (token estimates, capabilities).

Hot path: ``Request.text`` and the complexity features run per request, so these loops are
written out (no helper calls per part) and test ``type(x) is dict`` before the slower
``isinstance(x, Mapping)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "image_parts",
    "located_texts",
    "message_text",
    "message_texts",
    "messages_text",
    "tool_call_arguments",
]

Located = tuple[int, int | None, str, str]
"""(message index, content-part index or None for string content and tool calls, field, text);
field is ``"content"`` or ``"tool_calls[i]"``."""


def message_texts(message: Mapping[str, Any]) -> Iterator[str]:
    """The text of a message's content: the string itself, or each text part's ``text`` in order.

    Parts that are not mappings or whose ``text`` is not a string (images, audio) are skipped;
    tool calls are not content (see :func:`tool_call_arguments`).
    """
    content = message.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if type(part) is dict or isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    yield text


def message_text(message: Mapping[str, Any], sep: str = "\n") -> str | None:
    """A message's text pieces joined by ``sep``; None when its content is neither a string nor
    a list (absent, None). A list without text parts gives ""."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    for part in content:
        if type(part) is dict or isinstance(part, Mapping):
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
    return sep.join(texts)


def messages_text(messages: Sequence[Mapping[str, Any]], sep: str = "\n") -> str:
    """The text pieces of every message, in order, joined by ``sep`` (tool calls not included)."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if type(part) is dict or isinstance(part, Mapping):
                    text = part.get("text")
                    if isinstance(text, str):
                        texts.append(text)
    return sep.join(texts)


def tool_call_arguments(message: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    """(call index, arguments) for each of a message's ``tool_calls`` whose
    ``function.arguments`` is a string (the JSON the model wrote); others are skipped."""
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, Mapping) else None
            args = fn.get("arguments") if isinstance(fn, Mapping) else None
            if isinstance(args, str):
                yield j, args


def located_texts(messages: Sequence[Mapping[str, Any]]) -> Iterator[Located]:
    """Every piece of text with its address: (message index, part index, field, text).

    Per message: string content as (i, None, "content", text), each text part as
    (i, j, "content", text), then each tool call's arguments as (i, None, "tool_calls[j]", args).
    """
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            yield i, None, "content", content
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if type(part) is dict or isinstance(part, Mapping):
                    text = part.get("text")
                    if isinstance(text, str):
                        yield i, j, "content", text
        for j, args in tool_call_arguments(message):
            yield i, None, f"tool_calls[{j}]", args


def image_parts(message: Mapping[str, Any]) -> int:
    """How many of a message's content parts are images (``type == "image_url"``) without text."""
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    count = 0
    for part in content:
        if (type(part) is dict or isinstance(part, Mapping)) and part.get("type") == "image_url" and not isinstance(part.get("text"), str):
            count += 1
    return count
