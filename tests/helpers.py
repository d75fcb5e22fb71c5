"""Helpers that several test files share: stand-in adapters and a privacy-like policy.

Fixtures live in conftest.py files; plain functions and constants live here, imported by name
(``tests/`` is on the path: see ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from llmroute import Constraint, Model, Request, Router, Verdict
from llmroute.adapters import Function

# Personal data a test must never see in a record, a span or a request body.
SECRET = "my card is 4111-1111-1111-1111 and mail bob@example.com"
SECRET_MSG = [{"role": "user", "content": SECRET}]


def ok(text: str = "the reply") -> Function:
    """An adapter that answers ``text`` with fixed usage (10 in, 2 out)."""
    return Function(lambda r: {"content": text, "usage": {"prompt_tokens": 10, "completion_tokens": 2}})


def failing(exc: Exception) -> Function:
    """An adapter whose every call raises ``exc``."""

    def fn(request: Request) -> str:
        raise exc

    return Function(fn)


def privacy_fires(request: Request, candidates: Sequence[Model]) -> Verdict:
    """A stand-in for the privacy policy having fired: keeps everyone, constrains to local."""
    return Verdict.keep_all(
        candidates,
        reason="email detected",
        constraints=(
            Constraint(name="privacy", reason="personal data", hosting=frozenset({"local"}), data={"detectors": ["email"]}),
        ),
    )


def run_mode(router: Router, mode: str, messages: Sequence[Any], **kw: Any) -> tuple[str, Any]:
    """One request in ``mode`` (sync, async, stream, astream): the text, and the Response or the
    last chunk (which carries attempts, cost and a cascade's steps)."""
    if mode == "sync":
        resp = router.completion(messages, **kw)
        return resp.content or "", resp
    if mode == "async":
        resp = asyncio.run(router.acompletion(messages, **kw))
        return resp.content or "", resp
    if mode == "stream":
        chunks = list(router.stream(messages, **kw))
        return "".join(c.content for c in chunks), chunks[-1]

    async def collect() -> list[Any]:
        return [c async for c in router.astream(messages, **kw)]

    chunks = asyncio.run(collect())
    return "".join(c.content for c in chunks), chunks[-1]
