"""Routing policies: small objects that decide which models may serve a request, in what order.

See :mod:`llmroute.policies.base` for the protocol every policy follows. The built-in policies
load on first use (``llmroute.policies.Privacy``), so ``import llmroute`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .._types import Constraint, Verdict
from .base import Policy, StatefulPolicy, policy_name

if TYPE_CHECKING:
    from .complexity import Complexity, LinearScorer
    from .cost import Budget, Cost
    from .fit import Fit
    from .latency import Latency
    from .privacy import Finding, Presidio, Privacy, Redaction
    from .task import Task

_LAZY = {
    "Budget": ".cost",
    "Complexity": ".complexity",
    "Cost": ".cost",
    "Finding": ".privacy",
    "Fit": ".fit",
    "Latency": ".latency",
    "LinearScorer": ".complexity",
    "Presidio": ".privacy",
    "Privacy": ".privacy",
    "Redaction": ".privacy",
    "Task": ".task",
}

__all__ = [
    "Budget",
    "Complexity",
    "Constraint",
    "Cost",
    "Finding",
    "Fit",
    "Latency",
    "LinearScorer",
    "Policy",
    "Presidio",
    "Privacy",
    "Redaction",
    "StatefulPolicy",
    "Task",
    "Verdict",
    "policy_name",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
