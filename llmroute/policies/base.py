"""The policy protocol that built-in and user policies share.

A policy is a callable ``(request, candidates) -> Verdict``: configuration in ``__init__``, no
I/O, one job. It keeps candidates (in its preferred order), drops others with a reason a person
can read, and may add Constraints that hold for every later attempt. A plain function with
that signature is a policy too; its name is the function's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .._types import Model, Request, Verdict

__all__ = ["Policy", "policy_name"]


@runtime_checkable
class Policy(Protocol):
    def __call__(self, request: Request, candidates: Sequence[Model], /) -> Verdict: ...


def policy_name(policy: object) -> str:
    """The name a policy shows in Decisions and traces."""
    name = getattr(policy, "name", None)
    if isinstance(name, str) and name:
        return name
    fn_name = getattr(policy, "__name__", None)
    if isinstance(fn_name, str) and fn_name != "<lambda>":
        return fn_name
    return type(policy).__name__.lower()
