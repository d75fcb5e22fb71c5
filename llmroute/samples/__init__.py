"""Samples a pip user has: an example router configuration and a small evaluation dataset.

``Router.from_config(samples.path("router.yaml"))`` loads the example configuration (the
packaged local model, loaded on first use, and two hosted models used only when their key is
set); ``llmroute eval --sample`` replays it over ``samples.path("eval.jsonl")``. The dataset's
prompts and grades were written for llmroute by hand to show the workflow: its qualities and
costs are illustrative, not measurements of those models.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["path"]

_HERE = Path(__file__).resolve().parent


def path(name: str) -> str:
    """The file path of the packaged sample ``name`` ("router.yaml" or "eval.jsonl")."""
    found = _HERE / name
    if found.suffix not in (".yaml", ".jsonl") or not found.is_file():
        from ..errors import ConfigError

        known = sorted(p.name for p in _HERE.iterdir() if p.suffix in (".yaml", ".jsonl"))
        raise ConfigError(f"no sample {name!r}; known: {known}", path="samples")
    return str(found)
