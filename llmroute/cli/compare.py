"""``llmroute compare``: the same prompts through two or more models, side by side."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LLMRouteError
from .route import add_allow_import


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="router config (YAML or JSON) naming the models")
    parser.add_argument("--models", required=True, help="comma-separated model names, two or more")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", action="append", help="a prompt (repeatable)")
    source.add_argument("--prompts", help="file of prompts: one a line (.txt) or a dataset (.jsonl/.csv)")
    parser.add_argument("--max-tokens", type=int, dest="max_tokens", help="max_tokens for every call")
    parser.add_argument("--json", action="store_true", help="print one JSON object per prompt and model")
    add_allow_import(parser)


def _prompts(args: argparse.Namespace) -> list[list[dict[str, Any]]]:
    if args.prompt:
        return [[{"role": "user", "content": p}] for p in args.prompt]
    path = Path(args.prompts)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".csv"):
        from ..eval.dataset import load_dataset

        return [[dict(m) for m in ex.messages] for ex in load_dataset(path)]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror}", path="--prompts") from None
    prompts = [[{"role": "user", "content": line}] for line in lines if line.strip()]
    if not prompts:
        raise ConfigError(f"{str(path)!r} holds no prompts", path="--prompts")
    return prompts


def _ask(router: Any, messages: list[dict[str, Any]], model: str, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        resp = router.completion(messages, model=model, **params)
    except LLMRouteError as exc:
        return {"model": model, "error": f"{type(exc).__name__}: {exc}", "latency_s": time.perf_counter() - started}
    return {
        "model": model,
        "answer": resp.content or "",
        "latency_s": time.perf_counter() - started,
        "input_tokens": resp.usage.prompt_tokens,
        "output_tokens": resp.usage.completion_tokens,
        "cost": resp.cost,
    }


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..eval.report import table
    from .route import config_code

    try:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        if len(models) < 2:
            raise ConfigError("name two or more models to compare", path="--models")
        prompts = _prompts(args)
        with config_code(args):
            router = load_config(args.config).build()
        router.warmup()  # imports and model loads before the clock starts: latencies are the models'
        known = {m.name for m in router.models}
        unknown = [m for m in models if m not in known]
        if unknown:
            raise ConfigError(f"unknown model(s) {unknown}; the config has {sorted(known)}", path="--models")
    except LLMRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    params = {"max_tokens": args.max_tokens} if args.max_tokens else {}
    failed = 0
    with router:
        for i, messages in enumerate(prompts, 1):
            rows = [_ask(router, messages, m, params) for m in models]
            failed += sum("error" in r for r in rows)
            if args.json:
                for r in rows:
                    print(json.dumps({"prompt": i} | r))
                continue
            text = str(messages[-1].get("content", ""))
            print(f"== prompt {i}: {text[:100]}{'...' if len(text) > 100 else ''}")
            print(table(
                ["model", "latency", "in tokens", "out tokens", "cost"],
                [[r["model"], f"{r['latency_s']:.2f}s", r.get("input_tokens", "-"), r.get("output_tokens", "-"),
                  ("unknown" if r["cost"] is None else f"${r['cost']:.6f}") if "cost" in r else "failed"] for r in rows],
            ))
            for r in rows:
                print(f"-- {r['model']}:")
                print(r.get("answer", f"[{r.get('error')}]"))
            print()
    return 1 if failed else 0
