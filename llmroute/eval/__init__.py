"""Offline evaluation of routing: datasets of per-model outcomes, replay, curves, calibration.

RouteLLM's metrics are imported here; the rest loads on first use. ``replay`` and ``refit``
are ``llmroute.eval.replay.replay`` and ``llmroute.eval.refit.refit``: a package attribute of
either name would shadow its module.
See docs/evaluation.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .metrics import CurvePoint, apgr, cpt, quality_curve, quantile

if TYPE_CHECKING:
    from .calibrate import BudgetTarget, QualityTarget, calibrate_dataset, write_config
    from .dataset import Dataset, load_dataset, load_routerbench, save_dataset
    from .feedback import Feedback, FeedbackError, FeedbackLog
    from .online import run_online
    from .replay import offline_router
    from .report import write_report

_LAZY = {
    "BudgetTarget": ".calibrate",
    "Dataset": ".dataset",
    "Feedback": ".feedback",
    "FeedbackError": ".feedback",
    "FeedbackLog": ".feedback",
    "QualityTarget": ".calibrate",
    "calibrate_dataset": ".calibrate",
    "load_dataset": ".dataset",
    "load_routerbench": ".dataset",
    "offline_router": ".replay",
    "run_online": ".online",
    "save_dataset": ".dataset",
    "write_config": ".calibrate",
    "write_report": ".report",
}

__all__ = [
    "BudgetTarget",
    "CurvePoint",
    "Dataset",
    "Feedback",
    "FeedbackError",
    "FeedbackLog",
    "QualityTarget",
    "apgr",
    "calibrate_dataset",
    "cpt",
    "load_dataset",
    "load_routerbench",
    "offline_router",
    "quality_curve",
    "quantile",
    "run_online",
    "save_dataset",
    "write_config",
    "write_report",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
