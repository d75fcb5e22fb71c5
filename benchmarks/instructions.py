"""Instructions per call, counted by valgrind's callgrind: a figure a noisy machine cannot move.

Time on a shared 2-core VM swings 2x between runs; instruction counts do not. For each probe
this runs the same script twice under callgrind (K1 and K2 calls after a warm-up) and divides
the difference by K2 - K1, so start-up and import cost cancel out. With ``--base COMMIT`` the
same probes run against that commit's tree (a temporary git worktree) for a before/after ratio.

Probes (public API only, so any version of llmroute runs them):
  direct   the Function adapter called directly (the floor)
  plain    Router.completion over it, instrument=False
  traced   Router.completion, instrumentation on, no OpenTelemetry SDK
  route0   route() over 20 models, no policy
  routepc  route() over 20 models, Privacy + Cost
  route3   route() over 20 models, Privacy + Complexity + Cost
  scan8k   Privacy().scan of one 8,000-character message with many small numbers (code, quizzes)

Needs valgrind (apt-get install valgrind). Run: python benchmarks/instructions.py [--base COMMIT]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBES = ("direct", "plain", "traced", "route0", "routepc", "route3", "scan8k")

PROBE = r'''
import sys
from llmroute import Model, Price, Router
from llmroute.adapters import Function
from llmroute.policies import Complexity, Cost, Privacy
what, n = sys.argv[1], int(sys.argv[2])
MSG = [{"role": "user", "content": "Classify the sentiment: I love it"}]
adapter = Function(lambda r: "ok")
one = [Model("m", adapter, hosting="local", price=Price(0.1, 0.2))]
if what == "direct":
    req = Router(one, instrument=False)._request(list(MSG), {})
    f = lambda: adapter.complete(req)
elif what in ("plain", "traced"):
    r = Router(one, instrument=what == "traced")
    f = lambda: r.completion(MSG)
elif what == "scan8k":
    para = ("Write a function to find the 3 largest numbers in a list of 10 integers. "
            "assert largest([25, 35, 22, 85, 14, 65, 75, 22, 58], 3) == [85, 75, 65]. "
            "Which planet has 2 moons? (A) Mars (B) Venus (C) Earth (D) Mercury. In 1969, 3 astronauts "
            "flew 384,400 km. The meeting on the 4th floor covered version 10.2.0.1 of the billing "
            "service and 12 open incidents. ")
    long = [{"role": "user", "content": (para * (8000 // len(para) + 1))[:8000]}]
    privacy = Privacy()
    f = lambda: privacy.scan(long)
else:
    tiers = ("simple", "standard", "complex"); hostings = ("local", "self_hosted", "api", "api")
    models = [Model(f"model-{i:02d}", adapter, hosting=hostings[i % 4], tier=tiers[i % 3],
                    price=Price(0.05 * (i + 1), 0.2 * (i + 1)) if hostings[i % 4] == "api" else Price(),
                    context_window=128_000, scores={"quality": 0.5 + i / 50}) for i in range(20)]
    policies = {"route0": [], "routepc": [Privacy(), Cost()], "route3": [Privacy(), Complexity(), Cost()]}[what]
    r = Router(models, policies, instrument=False)
    text = ("Our quarterly planning meeting covered the migration of the billing service and the hiring plan. "
            "Call me on 0151 496 0123 about order 4000 1234 5678 9010.")
    prompt = [{"role": "user", "content": text}]
    f = lambda: r.route(prompt)
for _ in range(50):
    f()
for _ in range(n):
    f()
'''


def instructions(tree: Path, probe: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "probe.py"
        script.write_text(PROBE)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, str(script), probe, str(calls)],
            cwd=tmp, env=env, capture_output=True, text=True, check=True,
        )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {probe}:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def per_call(tree: Path, probe: str, k1: int, k2: int) -> float:
    return (instructions(tree, probe, k2) - instructions(tree, probe, k1)) / (k2 - k1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a commit to compare with")
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--calls", type=int, default=500, help="K2 - K1")
    args = parser.parse_args()
    probes = [p for p in args.probes.split(",") if p]
    k1, k2 = 100, 100 + args.calls
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        if args.base:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base], check=True, capture_output=True)
        try:
            print(f"# instructions per call (callgrind, K2-K1 = {args.calls}); Python {sys.version.split()[0]}")
            print(f"{'probe':<9} {'base':>11} {'current':>11} {'ratio':>6}" if args.base else f"{'probe':<9} {'current':>11}")
            for probe in probes:
                now = per_call(ROOT, probe, k1, k2)
                if args.base:
                    before = per_call(base, probe, k1, k2)
                    print(f"{probe:<9} {before:>11,.0f} {now:>11,.0f} {now / before:>6.2f}")
                else:
                    print(f"{probe:<9} {now:>11,.0f}")
        finally:
            if args.base:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
