"""Before/after: the same probes against two source trees of llmroute, interleaved.

A refactor must not make llmroute slower. This script checks out a base commit into a
temporary git worktree and runs one probe process at a time, alternating base and current
tree, so both sides see the same machine noise. Each probe measures, with the public API only:

- ``import llmroute`` (ms, fresh process);
- per-call overhead of ``Router.completion`` over calling the Function adapter directly (us);
- the same with a tracer provider set but no SDK (instrumentation left on, no-op spans) (us);
- ``route()`` over 20 models at ~50 tokens (us): with Privacy + Complexity + Cost, with no
  policy (the router's own decision), and with Privacy + Cost.

Reported: the median over rounds of each probe's median, per side, and the ratio current/base.

Run: python benchmarks/versions.py [--base COMMIT] [--current COMMIT] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r'''
import json, statistics, sys, time
t = time.perf_counter()
import llmroute
import_ms = (time.perf_counter() - t) * 1000
from llmroute import Model, Price, Router
from llmroute.adapters import Function
from llmroute.policies import Complexity, Cost, Privacy

def median_us(fn, n):
    for _ in range(n // 5):
        fn()
    times = []
    for _ in range(n):
        s = time.perf_counter(); fn(); times.append((time.perf_counter() - s) * 1e6)
    return statistics.median(times)

MSG = [{"role": "user", "content": "Classify the sentiment: I love it"}]
adapter = Function(lambda r: "ok")
router_plain = Router([Model("m", adapter, hosting="local", price=Price(0.1, 0.2))], instrument=False)
request = router_plain._request(list(MSG), {})
def direct():
    adapter.complete(request)
router_traced = Router([Model("m", adapter, hosting="local", price=Price(0.1, 0.2))])
n = int(sys.argv[1])
d = median_us(direct, n)
plain = median_us(lambda: router_plain.completion(MSG), n) - d
traced = median_us(lambda: router_traced.completion(MSG), n) - d

text = ("Our quarterly planning meeting covered the migration of the billing service and the hiring plan. "
        "Call me on 0151 496 0123 about order 4000 1234 5678 9010.")[:200]
tiers = ("simple", "standard", "complex"); hostings = ("local", "self_hosted", "api", "api")
models = [Model(f"model-{i:02d}", adapter, hosting=hostings[i % 4], tier=tiers[i % 3],
                price=Price(0.05 * (i + 1), 0.2 * (i + 1)) if hostings[i % 4] == "api" else Price(),
                context_window=128_000, scores={"quality": 0.5 + i / 50}) for i in range(20)]
prompt = [{"role": "user", "content": text}]
routers = {
    "route_us": Router(models, [Privacy(), Complexity(), Cost()], instrument=False),
    "route_no_policies_us": Router(models, instrument=False),
    "route_privacy_cost_us": Router(models, [Privacy(), Cost()], instrument=False),
}
out = {"import_ms": import_ms, "overhead_us": plain, "instrumented_us": traced}
for key, r in routers.items():
    out[key] = median_us(lambda: r.route(prompt), n)
print(json.dumps(out))
'''


def probe(tree: Path, n: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(n)], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="4030a22", help="the commit to compare with (default: before issue 11)")
    parser.add_argument("--current", help="a commit to measure instead of the working tree")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("-n", type=int, default=3000, help="calls per probe")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": Path(tmp) / "base", "current": Path(tmp) / "current" if args.current else ROOT}
        for side, commit in (("base", args.base), ("current", args.current)):
            if commit:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(trees[side]), commit],
                               check=True, capture_output=True)
        try:
            sides: dict[str, list[dict[str, float]]] = {"base": [], "current": []}
            for _ in range(args.rounds):
                sides["base"].append(probe(trees["base"], args.n))
                sides["current"].append(probe(trees["current"], args.n))
        finally:
            for side in ("base", "current"):
                if trees[side] != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[side])],
                                   capture_output=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}; "
          f"base {args.base}, current {args.current or 'working tree'}, {args.rounds} interleaved rounds of {args.n} calls")
    print(f"{'probe':<18} {'base':>10} {'current':>10} {'ratio':>7}")
    for key in sides["base"][0]:
        b = statistics.median(r[key] for r in sides["base"])
        c = statistics.median(r[key] for r in sides["current"])
        print(f"{key:<18} {b:>10.2f} {c:>10.2f} {c / b:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
