"""Offline evaluation of routing quality: RouteLLM's metrics and a RouterBench loader."""

from __future__ import annotations

from .metrics import CurvePoint, apgr, cpt, quality_curve, quantile

__all__ = ["CurvePoint", "apgr", "cpt", "quality_curve", "quantile"]
