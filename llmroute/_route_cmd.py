"""``llmroute route``: print the Decision for a prompt under a config, calling nothing."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import LLMRouteError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the user message to route")
    parser.add_argument("--config", required=True, help="router config file (YAML or JSON)")
    parser.add_argument("--model", help="pin a model by name")
    parser.add_argument("--tenant")
    parser.add_argument("--classification", choices=["public", "internal", "confidential", "restricted"])
    parser.add_argument("--max-tokens", type=int, dest="max_tokens")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")


def run(args: argparse.Namespace) -> int:
    from .config import load_config

    try:
        cfg = load_config(args.config)
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
    else:
        print(decision.explain())
        for name, env in skipped.items():
            print(f"skipped {name}: {env} is not set")
    return 0
