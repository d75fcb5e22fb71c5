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
- :func:`other_texts` - every other string a provider is sent: message names, non-text parts
  (image URLs, files, audio, refusals), tool calls in any shape, tool definitions,
  ``response_format``, ``stop``, ``extra_body``; and what cannot be read as text (None).

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
    "other_texts",
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


Other = tuple[int, str, "str | None"]
"""(message index, or -1 for a request parameter; where, as a path; the text, or None for a value
that cannot be read as text: bytes, objects)."""

# Parameters the request validates as numbers or flags: nothing in them to read.
_PLAIN_PARAMS = frozenset({
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "presence_penalty",
    "frequency_penalty", "timeout", "logprobs", "top_logprobs", "parallel_tool_calls",
})
_BIG = 100_000  # a whole number this large could be an identifier sent as a number


def other_texts(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any] | None = None) -> Iterator[Other]:
    """Every string sent with a request that :func:`located_texts` does not yield, with where it
    is; dict keys and large whole numbers count as text, values that are not text yield None.

    Together with :func:`located_texts` this is every byte of the request a provider receives
    (the role names and a part's ``type`` aside): what the privacy scan reads.
    """
    for i, message in enumerate(messages):
        for key, value in message.items():
            if key == "role":
                continue
            if key == "content":
                if value is None or type(value) is str:
                    continue
                if isinstance(value, list):
                    for j, part in enumerate(value):
                        if not isinstance(part, Mapping):
                            yield from _leaves(i, f"content[{j}]", part)
                            continue
                        if part.get("type") == "input_audio":  # speech cannot be read here
                            yield i, f"content[{j}].input_audio", None
                            continue
                        for k, v in part.items():
                            if k == "type" or (k == "text" and isinstance(v, str)):
                                continue  # the text itself is located_texts'
                            yield from _leaves(i, f"content[{j}].{k}", v, k)
                    continue
            elif key == "tool_calls" and isinstance(value, list):
                for j, call in enumerate(value):
                    if not isinstance(call, Mapping):
                        yield from _leaves(i, f"tool_calls[{j}]", call)
                        continue
                    for k, v in call.items():
                        if k == "function" and isinstance(v, Mapping):
                            for fk, fv in v.items():
                                if not (fk == "arguments" and isinstance(fv, str)):  # string arguments: located_texts'
                                    yield from _leaves(i, f"tool_calls[{j}].function.{fk}", fv, fk)
                        else:
                            yield from _leaves(i, f"tool_calls[{j}].{k}", v, k)
                continue
            yield from _leaves(i, str(key), value, key)
    for key, value in (params or {}).items():
        if key not in _PLAIN_PARAMS:
            yield from _leaves(-1, str(key), value, key)


def _leaves(i: int, path: str, value: Any, key: Any = None) -> Iterator[Other]:
    if type(key) is str and (not key.isidentifier() or not key.isascii() or any(c.isdigit() for c in key)):
        yield i, f"{path} (key)", key  # a key can carry data too ({"536-22-8745": ...})
    elif type(key) is int and (key >= _BIG or key <= -_BIG):
        yield i, f"{path} (key)", str(key)
    kind = type(value)
    # a value is read with its key before it ("ssn: 536228745"): the key is the context that
    # tells an identifier from any other number
    label = f"{key}: " if type(key) is str else ""
    if kind is str:
        if value[:5].lower() == "data:" and ";base64," in value[:256].lower():
            text = _data_url_text(value)
            yield i, path, None if text is None else label + text
        else:
            yield i, path, label + value if label else value
    elif value is None or kind is bool:
        return
    elif kind is int or kind is float:
        if (kind is int or value.is_integer()) and (value >= _BIG or value <= -_BIG):
            yield i, path, f"{label}{int(value)}"
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(i, f"{path}.{k}", v, k)
    elif isinstance(value, (list, tuple)):
        for j, v in enumerate(value):
            yield from _leaves(i, f"{path}[{j}]", v)
    else:
        yield i, path, None


def _data_url_text(url: str) -> str | None:
    """The text a base64 ``data:`` URL carries (a text file, JSON), or None when it is not text
    (an image, a PDF, audio): bytes that cannot be read here."""
    import base64
    import binascii

    cut = url.lower().find(";base64,")
    mime, data = url[5:cut].lower(), url[cut + 8 :]
    if not (mime.startswith("text/") or mime in ("application/json", "application/xml", "application/x-yaml", "")):
        return None
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
