"""Token counting and cost estimation, offline.

Routing uses :func:`estimate_tokens`, a constant-time estimate (about 4 characters a token for
English, as OpenAI's tokenizers average), because a decision must take microseconds.
:func:`count_tokens` is exact for OpenAI's cl100k_base encoding; it reads the encoding file that
litellm ships, and never downloads one (tiktoken would, on first use): without that file it
falls back to the estimate.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._text import image_parts, message_texts

__all__ = ["count_tokens", "estimate_messages_tokens", "estimate_tokens"]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role and separators per message, as in OpenAI's chat format
IMAGE_TOKENS = 85  # a low-detail image in OpenAI's accounting

_CL100K_FILE = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of the cl100k_base URL


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text`` (ceil of characters / 4)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_messages_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated prompt tokens of chat messages, content parts and per-message overhead included."""
    total = 3  # the reply's priming
    for message in messages:
        total += MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):  # the common case, without the walker's generator
            total += -(-len(content) // CHARS_PER_TOKEN)
        elif isinstance(content, list):
            for text in message_texts(message):
                total += -(-len(text) // CHARS_PER_TOKEN)
            total += IMAGE_TOKENS * image_parts(message)
    return total


@lru_cache(maxsize=1)
def _encoding() -> Any:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    if not (folder / _CL100K_FILE).is_file():
        return None
    try:
        import tiktoken
    except ImportError:
        return None
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)  # the file is there, so tiktoken reads it
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count_tokens(text: str) -> int:
    """Exact cl100k_base token count when the encoding is available offline, else the estimate."""
    encoding = _encoding()
    if encoding is None:
        return estimate_tokens(text)
    return len(encoding.encode(text, disallowed_special=()))
