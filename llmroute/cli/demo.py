"""``llmroute demo``: route a handful of varied prompts with the default configuration.

Builds the router from ``default_config.yaml`` (the packaged local model, plus hosted models
used only when their API keys are set), sends each prompt, and shows the decision with its
reasons, who answered, the answer, latency, tokens and cost. Works offline with no keys.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import LLMRouteError

__all__ = ["PROMPTS", "DemoPrompt", "add_arguments", "run", "run_prompts"]


@dataclass(frozen=True)
class DemoPrompt:
    name: str
    text: str
    max_tokens: int


PROMPTS: tuple[DemoPrompt, ...] = (
    DemoPrompt(
        "simple classification",
        "Classify the sentiment of this review as positive or negative: "
        "'The battery lasts all day and the screen is gorgeous.' Answer with one word.",
        8,
    ),
    DemoPrompt(
        "personal data",
        "Write a one-line reply to Jane Doe (jane.doe@example.com, +1 415 555 0134) "
        "confirming her appointment on Friday at 10am.",
        40,
    ),
    DemoPrompt(
        "hard multi-step reasoning",
        "A train leaves at 09:40 and covers 150 km at 60 km/h, then waits 25 minutes, then covers "
        "90 km at 45 km/h. At what time does it arrive? Work it out step by step, then check the "
        "result a second way and explain why both must agree.",
        64,
    ),
    DemoPrompt("capital of France", "What is the capital of France? Answer in one word.", 12),
)


@dataclass
class Outcome:
    """What happened to one prompt: the decision, who answered, and what it cost."""

    prompt: DemoPrompt
    decision: Any = None
    model: str | None = None
    answer: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0  # None: the model's price is unknown
    attempts: list[tuple[str, str | None]] = field(default_factory=list)  # (model, error type or None)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.decision
        return {
            "prompt": self.prompt.name,
            "text": self.prompt.text,
            "decision": None
            if d is None
            else {
                "model": d.model,
                "candidates": list(d.candidates),
                "reasons": list(d.reasons),
                "dropped": dict(d.dropped),
                "constraints": [{"name": c.name, "reason": c.reason} for c in d.constraints],
                "explain": d.explain(),
            },
            "model": self.model,
            "answer": self.answer,
            "latency_s": round(self.latency_s, 4),
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "cost_usd": self.cost,
            "attempts": [{"model": m, "error": e} for m, e in self.attempts],
            "error": self.error,
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="router config (YAML or JSON) instead of the built-in default")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--trace", action="store_true", help="print each call's OpenTelemetry spans (needs opentelemetry-sdk)")


def default_config_text() -> str:
    """The embedded default configuration (YAML)."""
    return resources.files("llmroute.cli").joinpath("default_config.yaml").read_text(encoding="utf-8")


def _load(path: str | None) -> Any:
    from ..config import load_config

    if path is not None:
        return load_config(path)
    import yaml

    return load_config(yaml.safe_load(default_config_text()))


def run_prompts(router: Any, prompts: Sequence[DemoPrompt], on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Send each prompt through ``router`` (greedy, so runs repeat); failures are recorded, not raised."""
    outcomes = []
    for prompt in prompts:
        outcome = Outcome(prompt)
        messages = [{"role": "user", "content": prompt.text}]
        params = {"temperature": 0, "max_tokens": prompt.max_tokens}
        started = time.perf_counter()
        try:
            response = router.completion(messages, **params)
        except LLMRouteError as exc:
            outcome.decision = getattr(exc, "decision", None)  # set when attempts were made
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.attempts = [(a.model, type(a.error).__name__ if a.error else None) for a in getattr(exc, "attempts", ())]
        else:
            outcome.decision = response.decision
            outcome.model = response.model
            outcome.answer = (response.content or "").strip()
            outcome.prompt_tokens = response.usage.prompt_tokens
            outcome.completion_tokens = response.usage.completion_tokens
            outcome.cost = response.cost
            outcome.attempts = [(a.model, type(a.error).__name__ if a.error else None) for a in response.attempts]
        outcome.latency_s = time.perf_counter() - started
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _print_header(config_name: str, models: Sequence[Any], skipped: Mapping[str, str]) -> None:
    print(f"llmroute demo: {len(PROMPTS)} prompts routed with {config_name}")
    print("models: " + ", ".join(f"{m.name} ({m.hosting}, tier {m.tier or '-'})" for m in models))
    if skipped:
        names = ", ".join(f"{name} (set {env})" for name, env in skipped.items())
        print(f"skipped, no API key: {names}")
    else:
        print("skipped, no API key: none")
    print()


def _print_outcome(index: int, outcome: Outcome) -> None:
    p = outcome.prompt
    print(f"[{index}] {p.name}: {p.text}")
    if outcome.decision is not None:
        print("  decision:")
        for line in outcome.decision.explain().splitlines():
            print(f"    {line}")
    if len(outcome.attempts) > 1:
        tried = ", ".join(f"{m} ({e or 'ok'})" for m, e in outcome.attempts)
        print(f"  attempts: {tried}")
    if outcome.error is not None:
        print(f"  failed: {outcome.error}")
    else:
        answer = " ".join((outcome.answer or "").split())
        print(f"  answered by: {outcome.model}")
        print(f"  answer: {answer}")
        print(
            f"  latency {outcome.latency_s * 1000:.0f} ms | tokens {outcome.prompt_tokens} in / "
            f"{outcome.completion_tokens} out | cost {_usd(outcome.cost)}"
        )
    print()


def _usd(cost: float | None) -> str:
    return "unknown (no price)" if cost is None else f"${cost:.8f}"


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if getattr(args, "trace", False):
        from ..observability.console import print_spans

        print_spans(sys.stderr if args.json else sys.stdout)  # keep --json output parseable
    try:
        config = _load(args.config)
        skipped = config.missing_keys()
        router = config.build(skip_missing_keys=True)
    except LLMRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    config_name = args.config or "the built-in default configuration"
    with router:
        if args.json:
            outcomes = run_prompts(router, PROMPTS)
        else:
            _print_header(config_name, router.models, skipped)
            count = iter(range(1, len(PROMPTS) + 1))
            outcomes = run_prompts(router, PROMPTS, lambda o: _print_outcome(next(count), o))
    elapsed = time.perf_counter() - started
    failed = sum(1 for o in outcomes if o.error is not None)
    if args.json:
        print(
            json.dumps(
                {
                    "config": config_name,
                    "models": [m.name for m in router.models],
                    "skipped_for_missing_keys": dict(skipped),
                    "results": [o.to_dict() for o in outcomes],
                    "total_cost_usd": sum(o.cost or 0.0 for o in outcomes),
                    "elapsed_s": round(elapsed, 3),
                },
                indent=2,
            )
        )
    else:
        by_model: dict[str, int] = {}
        for o in outcomes:
            if o.model:
                by_model[o.model] = by_model.get(o.model, 0) + 1
        served = ", ".join(f"{n} by {m}" for m, n in by_model.items()) or "none"
        print(
            f"done in {elapsed:.1f} s: {len(outcomes) - failed} answered ({served}), {failed} failed; "
            f"total cost ${sum(o.cost or 0.0 for o in outcomes):.8f}"
            + (" (some prices unknown)" if any(o.cost is None and o.error is None for o in outcomes) else "")
        )
    return 1 if failed else 0
