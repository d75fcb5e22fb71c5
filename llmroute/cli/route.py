"""``llmroute route``: print the Decision for a prompt under a config, calling nothing."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LLMRouteError
from ..pricing import cost_of

if TYPE_CHECKING:
    from .._types import Decision
    from ..router import Router


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the user message to route")
    parser.add_argument("--config", required=True, help="router config file (YAML or JSON)")
    parser.add_argument("--model", help="pin a model by name")
    parser.add_argument("--tenant")
    parser.add_argument("--classification", choices=["public", "internal", "confidential", "restricted"])
    parser.add_argument("--max-tokens", type=int, dest="max_tokens")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.add_argument("--explain", action="store_true", help="print every model's fate as a table: rank, or which policy dropped it and why")
    add_allow_import(parser)


def add_allow_import(parser: argparse.ArgumentParser) -> None:
    """``--allow-import``: the commands that load a config share it."""
    parser.add_argument(
        "--allow-import", action="append", default=[], metavar="PREFIX", dest="allow_import",
        help="module prefix whose 'module:attr' policies/adapters the config may import (repeatable); "
        "modules next to the config file are found",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import load_config

    try:
        cfg = load_config(args.config)
        with config_code(args):
            router = cfg.build(skip_missing_keys=True)
        kw = {k: v for k in ("model", "tenant", "classification", "max_tokens") if (v := getattr(args, k)) is not None}
        decision = router.route([{"role": "user", "content": args.prompt}], **kw)
    except LLMRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    skipped = cfg.missing_keys()
    if args.json:
        print(json.dumps({
            "model": decision.model,
            "candidates": list(decision.candidates),
            "dropped": dict(decision.dropped),
            "verdicts": [{"policy": v.policy, "reason": v.reason, "keep": list(v.keep), "dropped": dict(v.dropped)} for v in decision.verdicts],
            "constraints": [{"name": c.name, "reason": c.reason} for c in decision.constraints],
            "estimated_cost": decision.estimated_cost,
            "skipped_for_missing_keys": skipped,
        }, indent=2))
    elif args.explain:
        print(explain_table(router, decision))
        for name, env in skipped.items():
            print(f"skipped {name}: {env} is not set")
    else:
        print(decision.explain())
        for name, env in skipped.items():
            print(f"skipped {name}: {env} is not set")
    return 0


@contextlib.contextmanager
def config_code(args: argparse.Namespace) -> Iterator[None]:
    """While a command builds routers: ``--allow-import`` prefixes allowed, the config's folder searched."""
    from ..guards.config import allowed_imports

    with contextlib.ExitStack() as stack:
        stack.enter_context(allowed_imports(args.allow_import))
        if getattr(args, "config", None):
            stack.enter_context(config_folder_on_path(args.config))
        yield


@contextlib.contextmanager
def config_folder_on_path(config: str) -> Iterator[None]:
    """Find ``module:attr`` code that lies next to the config file (only allowed modules load)."""
    folder = str(Path(config).resolve().parent)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def explain_table(router: Router, decision: Decision) -> str:
    """One row per model: its rank among the candidates, or who dropped it and why."""
    rows = [("model", "hosting", "tier", "est. cost", "verdict")]
    rank = {name: i for i, name in enumerate(decision.candidates)}
    for model in router.models:
        if model.name in rank:
            i = rank[model.name]
            verdict = "chosen" if i == 0 else f"fallback {i}"
        else:
            verdict = "dropped: " + decision.dropped.get(model.name, "not considered")
        cost = cost_of(model, decision.estimated_input_tokens, decision.estimated_output_tokens)
        shown = "unknown" if cost is None else f"${cost:.6f}"
        rows.append((model.name, model.hosting, model.tier or "-", shown, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines += [f"{v.policy}: {v.reason}" for v in decision.verdicts if v.reason]
    lines += [f"constraint {c.name}: {c.reason}" for c in decision.constraints]
    return "\n".join(lines)
