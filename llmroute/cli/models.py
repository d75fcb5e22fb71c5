"""``llmroute models``: list the catalog, filtered by weights, license, provider, price, context."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError, LLMRouteError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--open-weights", action="store_true", help="only models whose weights are published")
    weights.add_argument("--proprietary", action="store_true", help="only closed models")
    parser.add_argument("--license", action="append", metavar="ID", help="license id, e.g. apache-2.0 (repeatable)")
    parser.add_argument("--provider", help="e.g. openai, meta, mistral")
    parser.add_argument("--max-input-price", type=float, metavar="USD", help="per 1M input tokens")
    parser.add_argument("--max-output-price", type=float, metavar="USD", help="per 1M output tokens")
    parser.add_argument("--min-context", type=int, metavar="TOKENS")
    parser.add_argument("--catalog", metavar="FILE", help="YAML/JSON that adds or overrides entries")
    parser.add_argument("--sources", action="store_true", help="show where each price comes from")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def run(args: argparse.Namespace) -> int:
    from ..economics import catalog

    try:
        cat = catalog.load(args.catalog)
        known = sorted({e.license.lower() for e in cat if e.license})
        for wanted in args.license or ():
            if wanted.lower() not in known:
                from ..guards.config import did_you_mean

                hint = did_you_mean(wanted.lower(), known) or f"; known: {known}"
                raise ConfigError(f"unknown license {wanted!r}{hint}", path="--license")
        entries = cat.filter(
            open_weights=True if args.open_weights else (False if args.proprietary else None),
            license=args.license,
            provider=args.provider,
            max_input_price=args.max_input_price,
            max_output_price=args.max_output_price,
            min_context=args.min_context,
        )
    except LLMRouteError as exc:
        print(f"llmroute models: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out: list[dict[str, Any]] = []
        for e in entries:
            out.append(
                {
                    "id": e.id, "name": e.name, "provider": e.provider, "open_weights": e.open_weights,
                    "license": e.license, "params_b": e.params_b, "active_params_b": e.active_params_b,
                    "context_window": e.context_window, "litellm": e.litellm, "scores": dict(e.scores),
                    "price": None if e.price is None else {
                        "input": e.price.price.input, "output": e.price.price.output,
                        "source": e.price.source, "as_of": e.price.as_of,
                    },
                }
            )
        print(json.dumps(out, indent=2))
        return 0
    header = ["id", "provider", "open", "license", "params", "context", "in $/1M", "out $/1M", "MMLU", "HumanEval", "GSM8K"]
    rows = [header]
    for e in entries:
        price = e.price.price if e.price else None
        rows.append([
            e.id, e.provider, "yes" if e.open_weights else "no", e.license,
            "-" if e.params_b is None else f"{e.params_b:g}B", _num(e.context_window, ","),
            _num(price.input if price else None, "g"), _num(price.output if price else None, "g"),
            *(_pct(e.scores.get(k)) for k in ("mmlu", "humaneval", "gsm8k")),
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(entries)} of {len(cat)} models; prices USD per 1M tokens (hosted API); scores from the guide")
    if args.sources:
        for e in entries:
            if e.price:
                print(f"  {e.id}: {e.price.source}; {e.price.as_of}")
    return 0
