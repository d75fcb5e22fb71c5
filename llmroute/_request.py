"""Building a Request from what a caller passed, with errors that name the bad field.

Errors never echo message content: it may be the very data a privacy policy protects.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from ._types import CLASSIFICATIONS, Request
from ._validate import number_problem
from .errors import InvalidRequestError

__all__ = ["build_request"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})


def _number(lo: float, hi: float) -> Any:
    def check(value: Any) -> str | None:
        return number_problem(value, minimum=lo, maximum=hi)

    return check


def _positive_int(value: Any) -> str | None:
    return number_problem(value, minimum=0, exclusive_minimum=True, integer=True)


def _int(value: Any) -> str | None:
    return number_problem(value, integer=True)


def _stop(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value) and len(value) <= 4:
        return None
    return "must be a string or a list of at most 4 strings"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else "must be a mapping"


def _list(value: Any) -> str | None:
    return None if isinstance(value, (list, tuple)) else "must be a list"


def _any(value: Any) -> str | None:
    return None


def _positive_number(value: Any) -> str | None:
    return number_problem(value, minimum=0, exclusive_minimum=True, finite=False)  # inf: no timeout


def _one(value: Any) -> str | None:
    return None if value == 1 else "only n=1 is supported"


# The OpenAI chat parameters llmroute passes on; anything else goes in extra_body.
PARAMS: dict[str, Any] = {
    "max_tokens": _positive_int,
    "max_completion_tokens": _positive_int,
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "n": _one,
    "stop": _stop,
    "seed": _int,
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "logit_bias": _mapping,
    "logprobs": _any,
    "top_logprobs": _int,
    "response_format": _mapping,
    "tools": _list,
    "tool_choice": _any,
    "parallel_tool_calls": _any,
    "reasoning_effort": _any,
    "timeout": _positive_number,
    "extra_body": _mapping,
}


_MAX_DEPTH = 64


def _frozen(value: Any, where: str, depth: int = 0) -> Any:
    """A private deep copy: mappings as dicts, lists and tuples as lists, the rest as is.

    What the policies decide on is then exactly what is sent: a caller who changes its messages
    after ``router.stream(...)`` returns, before iterating, changes nothing that goes out.
    """
    kind = type(value)
    if kind is str or value is None or kind is int or kind is float or kind is bool:
        return value
    if depth >= _MAX_DEPTH:
        raise InvalidRequestError(f"{where}: nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        return {k: _frozen(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_frozen(v, where, depth + 1) for v in value]
    return value  # bytes, objects: kept as given; the privacy scan counts them as unreadable


def _shown(value: Any) -> str:
    """A wrong enum value as an error may show it: a short word as written, anything else (which
    could be a key pasted into the wrong field) only by its type."""
    if value is None or (isinstance(value, str) and len(value) < 20 and value.replace("_", "").isalpha()):
        return repr(value)
    return f"a {type(value).__name__} that is not one of them"


def _check_messages(messages: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Iterable):
        raise InvalidRequestError(
            f"messages: must be a list of message dicts, got {type(messages).__name__}"
        )
    result = tuple(messages)
    if not result:
        raise InvalidRequestError("messages: must not be empty")
    for i, message in enumerate(result):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"{where}: must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:  # a list or dict is unhashable: no raw TypeError
            shown = _shown(role)
            raise InvalidRequestError(f"{where}.role: must be one of {sorted(ROLES)}, got {shown}")
        if "content" not in message and not message.get("tool_calls") and not message.get("function_call"):
            raise InvalidRequestError(f"{where}: has no 'content'")
        content = message.get("content")
        if content is None:
            if role != "assistant":
                raise InvalidRequestError(f"{where}.content: may be null only for an assistant message")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                pw = f"{where}.content[{j}]"
                if not isinstance(part, Mapping):
                    raise InvalidRequestError(f"{pw}: must be a content-part dict, got {type(part).__name__}")
                kind = part.get("type")
                if kind not in PART_TYPES:
                    raise InvalidRequestError(f"{pw}.type: must be one of {sorted(PART_TYPES)}")
                if kind == "text" and not isinstance(part.get("text"), str):
                    raise InvalidRequestError(f"{pw}.text: must be a string")
        elif not isinstance(content, str):
            raise InvalidRequestError(
                f"{where}.content: must be a string or a list of content parts, got {type(content).__name__}"
            )
    return tuple(_frozen(m, f"messages[{i}]") for i, m in enumerate(result))


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in params.items():
        check = PARAMS.get(key)
        if key == "stream":
            raise InvalidRequestError("stream: call router.stream() (or astream()) to stream; completion() returns one answer")
        if check is None:
            close = difflib.get_close_matches(key, PARAMS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; pass provider-specific fields in extra_body"
            raise InvalidRequestError(f"unknown parameter {key!r}{hint}")
        problem = check(value)
        if problem:
            # numbers are shown; anything else only by type (a misplaced key must not be echoed)
            shown = repr(value) if value is None or isinstance(value, (int, float)) else type(value).__name__
            raise InvalidRequestError(f"{key}: {problem}, got {shown}")
    return {k: _frozen(v, k) for k, v in params.items()}


def build_request(
    messages: Any,
    *,
    model: str | None = None,
    user: str | None = None,
    tenant: str | None = None,
    tags: Iterable[str] = (),
    classification: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    stream: bool = False,
    params: Mapping[str, Any],
    default_output_tokens: int = 256,
) -> Request:
    """Validate everything a caller passed; raise InvalidRequestError naming the first problem."""
    checked = _check_messages(messages)
    checked_params = _check_params(params)
    if classification is not None and classification not in CLASSIFICATIONS:
        raise InvalidRequestError(
            f"classification: must be one of {list(CLASSIFICATIONS)}, got {_shown(classification)}"
        )
    if isinstance(tags, str):
        raise InvalidRequestError("tags: must be a collection of strings, not one string")
    if not isinstance(tags, Iterable) or isinstance(tags, Mapping):
        raise InvalidRequestError(f"tags: must be a collection of strings, got {type(tags).__name__}")
    listed = list(tags)
    for i, tag in enumerate(listed):
        if not isinstance(tag, str):
            raise InvalidRequestError(f"tags[{i}]: must be a string, got {type(tag).__name__}")
    tag_set = frozenset(listed)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidRequestError(f"metadata: must be a mapping, got {type(metadata).__name__}")
    for name, value in (("user", user), ("tenant", tenant), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"{name}: must be a string, got {type(value).__name__}")
    return Request(
        messages=checked,
        params=checked_params,
        user=user,
        tenant=tenant,
        tags=tag_set,
        classification=classification,  # type: ignore[arg-type]
        metadata=dict(metadata or {}),
        model=model,
        stream=stream,
        default_output_tokens=default_output_tokens,
    )
