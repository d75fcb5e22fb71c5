"""route() latency with the Privacy + Complexity + Cost policies over 20 models, and each part alone.

Prompts are real text (RouterBench prompts when ../shared/data is present, else a built-in
paragraph) cut to ~50 and ~2,000 tokens (4 characters a token), with a phone number and an
order id in them so the numeric detectors run. Targets: <= 50 us (50 tokens) and <= 250 us
(2,000 tokens) median for the three policies together; privacy scan <= 20 us per 1,000 chars.

Run: python benchmarks/route_latency.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from _timing import sample_us

from llmroute import Model, Price, Router
from llmroute._request import build_request
from llmroute.adapters import Function
from llmroute.policies import Complexity, Cost, Privacy

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "routing" / "routerbench_zs"
FALLBACK = (
    "Our quarterly planning meeting covered the migration of the billing service, the hiring plan for the "
    "platform team and the open incidents. The main risk is the database upgrade, which needs a maintenance "
    "window and a tested rollback. Please draft a summary for the leadership update with the decisions, owners "
    "and dates, and list the three questions we still have to answer before the end of the month. "
)


def corpus() -> str:
    if DATA.is_dir():
        from llmroute.eval.routerbench import load

        rows = load(DATA, "mbpp", "test") + load(DATA, "arc_challenge", "test") + load(DATA, "winograde", "test")
        return "\n\n".join(r.prompt for r in rows[::7])
    return FALLBACK * 200


def prompt(tokens: int, text: str) -> list[dict[str, Any]]:
    chars = tokens * 4
    extra = " Call me on 0151 496 0123 about order 4000 1234 5678 9010. "
    body = (text[: chars - len(extra)] + extra)[:chars]
    return [{"role": "user", "content": body}]


def twenty_models() -> list[Model]:
    fn = Function(lambda r: "ok")
    tiers = ("simple", "standard", "complex")
    hostings = ("local", "self_hosted", "api", "api")
    return [
        Model(
            f"model-{i:02d}",
            fn,
            hosting=hostings[i % 4],  # type: ignore[arg-type]
            tier=tiers[i % 3],
            price=Price(0.05 * (i + 1), 0.2 * (i + 1)) if hostings[i % 4] == "api" else Price(),
            context_window=128_000,
            scores={"quality": 0.5 + i / 50},
        )
        for i in range(20)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pure", action="store_true", help="the privacy scan's pure-Python path (no hyperscan)")
    args = parser.parse_args()
    from llmroute.policies.privacy import prefilter

    if args.pure:
        prefilter.ENGINE = "python"
    n = 300 if args.quick else 3000
    text = corpus()
    models = twenty_models()
    privacy, complexity, cost = Privacy(), Complexity(), Cost(quality_floor=0.55)
    routers = {
        "no policies (router overhead)": Router(models, []),
        "privacy + complexity + cost": Router(models, [privacy, complexity, cost]),
    }
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.processor() or 'cpu'}); n={n} per row; privacy prefilter: {'hyperscan' if prefilter.available() else 'pure Python'}")
    print(f"{'what':42} {'tokens':>6} {'median us':>10} {'p99 us':>9}")
    for tokens in (50, 2000):
        messages = prompt(tokens, text)
        for name, router in routers.items():
            med, p99 = sample_us(lambda r=router, m=messages: r.route(m), n)
            print(f"route(): {name:33} {tokens:6d} {med:10.1f} {p99:9.1f}")
        request = build_request(messages, params={})
        for label, policy in (("privacy", privacy), ("complexity", complexity), ("cost", cost)):
            med, p99 = sample_us(lambda p=policy, r=request: p(r, models), n)
            print(f"policy alone: {label:28} {tokens:6d} {med:10.1f} {p99:9.1f}")
        med, _ = sample_us(lambda r=request: privacy.scan(r.messages), n)
        chars = len(messages[0]["content"])
        print(f"privacy scan per 1,000 chars ({chars} chars)      {med / chars * 1000:10.1f}")
    print("\nworst-case inputs (no regex may backtrack badly): privacy scan + complexity score, ms")
    for label, hostile in ADVERSARIAL.items():
        start = time.perf_counter()
        privacy.scan([{"role": "user", "content": hostile}])
        complexity.score(hostile)
        print(f"  {label:36} {len(hostile):7d} chars {(time.perf_counter() - start) * 1000:8.1f}")
    return 0


ADVERSARIAL = {
    "'password' + 50k spaces": "password" + " " * 50_000 + "x",
    "'sk-' + 100k letters": "sk-" + "a" * 100_000,
    "100k digits": "1" * 100_000,
    "'1 ' x 50k": "1 " * 50_000,
    "':a' x 50k": ":a" * 50_000,
    "'x@' + 50k letters": "x@" + "a" * 50_000,
    "'api_key=' x 10k": "api_key=" * 10_000,
    "'@' x 50k": "@" * 50_000,
}


if __name__ == "__main__":
    sys.exit(main())
