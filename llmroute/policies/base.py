"""The policy protocols that built-in and user policies share.

A policy is a callable ``(request, candidates) -> Verdict``: configuration in ``__init__``, no
side effects, one job. It keeps candidates (in its preferred order), drops others with a reason
a person can read, and may add Constraints that hold for every later attempt. A plain function
with that signature is a policy too; its name is the function's name.

A policy that remembers things between requests (spend, latency samples) says so by also
following :class:`StatefulPolicy`. Deciding stays a pure read of its state; the router calls
the three hooks around the call, in this order::

    decision = decide(...)               # every policy's __call__, reads only
    reserve(request, decision)           # hold what the call may use; False: no room, decide again
    record(request, attempt)             # once per attempt the plan booked (ok or failed)
    release(request)                     # exactly once when the call ends, however it ends

``route()`` is a dry run: it decides and calls none of the hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .._types import Attempt, Decision, Model, Request, Verdict

__all__ = ["Policy", "StatefulPolicy", "is_stateful", "policy_name"]


@runtime_checkable
class Policy(Protocol):
    def __call__(self, request: Request, candidates: Sequence[Model], /) -> Verdict: ...


@runtime_checkable
class StatefulPolicy(Policy, Protocol):
    """A policy with state the router updates around each call (see the module docstring).

    Holds are keyed by ``request.id``, unique per call. A hook that raises is logged and does
    not fail the call, except ``reserve``, whose error fails the call before anything is sent.
    """

    def reserve(self, request: Request, decision: Decision, /) -> bool:
        """Hold what this call may use (e.g. its estimated cost in a budget), atomically.

        Return False when there is no room left now (another request took it since the policy
        decided): the router releases every hold and decides again.
        """
        ...

    def record(self, request: Request, attempt: Attempt, /) -> None:
        """Learn from one attempt: its usage, cost and elapsed time (``attempt.ok`` or not)."""
        ...

    def release(self, request: Request, /) -> None:
        """The call has ended: give back whatever of its hold is still held."""
        ...


def is_stateful(policy: object) -> bool:
    """Whether ``policy`` has all three hooks of :class:`StatefulPolicy`."""
    return all(callable(getattr(policy, hook, None)) for hook in ("reserve", "record", "release"))


def policy_name(policy: object) -> str:
    """The name a policy shows in Decisions and traces."""
    name = getattr(policy, "name", None)
    if isinstance(name, str) and name:
        return name
    fn_name = getattr(policy, "__name__", None)
    if isinstance(fn_name, str) and fn_name != "<lambda>":
        return fn_name
    return type(policy).__name__.lower()
