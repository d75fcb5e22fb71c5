"""Routing policies: small objects that decide which models may serve a request, in what order.

See :mod:`llmroute.policies.base` for the protocol every policy follows.
"""

from __future__ import annotations

from .._types import Constraint, Verdict
from .base import Policy, policy_name

__all__ = ["Constraint", "Policy", "Verdict", "policy_name"]
