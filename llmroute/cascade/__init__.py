"""Cascades: ask the cheapest allowed model first, check its answer, escalate only when needed.

``Router(models, policies, cascade=Cascade(accept=Agreement()))``: the decision's candidates
(every policy and hard constraint already applied) are tried cheapest first; each answer goes
through the checks, and below ``threshold`` the next model is asked. Every step is an attempt of
the router's plan, so privacy, budgets, breakers, retries, traces and audit hold at every step.
See docs/cascades.md; offline replay is :mod:`llmroute.eval.cascade`.
"""

from __future__ import annotations

from .checks import JUDGE_PROMPT, Agreement, Answer, Check, Confidence, Judge, Valid, normalise
from .plan import Cascade, CascadeResult, CascadeStep

__all__ = [
    "JUDGE_PROMPT",
    "Agreement",
    "Answer",
    "Cascade",
    "CascadeResult",
    "CascadeStep",
    "Check",
    "Confidence",
    "Judge",
    "Valid",
    "normalise",
]
