"""Privacy detection quality and speed: recall, false positives, per-kind and per-detector figures.

Scores ``llmroute.policies.Privacy`` (default detectors) on three labelled sets:

- ``tests/data/privacy_labelled.jsonl``: written alongside the detectors (expected 1.00 / 0.00);
- ``tests/data/privacy_independent.jsonl``: written independently of them (issue 13 item 5),
  with a ``kinds`` list per prompt (for a negative: the trap it sets);
- ``tests/data/privacy_blind.jsonl``: 320 prompts written by someone who never saw the
  detectors, tests or data (2026-12-04). Scored blind once (recall 0.856, false-positive rate
  0.094), then used to fix what it found: from then on it is a regression set, not a blind one.

A prompt counts as flagged when ``scan`` returns at least one finding. Speed: scan time per
1,000 characters (median of repeated scans) on ~8,000-character prompts of ordinary text
(RouterBench prompts when ``../shared/data`` is present, as in route_latency.py), of the new
set's negatives, and of the whole new set; and the time to scan one prompt holding 5k/10k/20k
e-mail addresses (a check that overlap resolution stays linear).

``--presidio`` scores the Presidio backend instead: Presidio's pattern recognisers (or the spaCy
pipeline given, ``--presidio /path/to/pipeline``) alone and added to the built-in detectors, at
``--threshold`` (default 0.4), with its scan cost.

Run: python benchmarks/privacy_detection.py [--quick] [--out FILE] [--list] [--presidio [MODEL]]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from llmroute.policies import Privacy

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {"old (privacy_labelled)": DATA / "privacy_labelled.jsonl",
        "new (privacy_independent)": DATA / "privacy_independent.jsonl",
        "blind (privacy_blind)": DATA / "privacy_blind.jsonl"}


def load(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, row in enumerate(rows):
        row.setdefault("id", f"{path.stem}-{i + 1:03d}")
        if "kinds" not in row:
            row["kinds"] = [row["detector"]] if row.get("detector") else []
    return rows


def messages_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" in row:
        return list(row["messages"])
    return [{"role": "user", "content": row["text"]}]


def excerpt(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def score(privacy: Privacy, rows: list[dict[str, Any]], out: list[str], listing: bool) -> dict[str, float]:
    pos = [r for r in rows if r["sensitive"]]
    neg = [r for r in rows if not r["sensitive"]]
    misses, false_pos = [], []
    kind_total: Counter[str] = Counter()
    kind_hit: Counter[str] = Counter()
    fired_tp: Counter[str] = Counter()
    fired_fp: Counter[str] = Counter()
    trap_total: Counter[str] = Counter()
    trap_fp: Counter[str] = Counter()
    for row in rows:
        found = privacy.scan(messages_of(row))
        names = sorted({f.detector for f in found})
        if row["sensitive"]:
            fired_tp.update(names)
            kind_total.update(row["kinds"])
            if names:
                kind_hit.update(row["kinds"])
            else:
                misses.append(row)
        else:
            fired_fp.update(names)
            trap_total.update(row["kinds"])
            if names:
                trap_fp.update(row["kinds"])
                false_pos.append((row, names))
    recall = (len(pos) - len(misses)) / len(pos) if pos else 1.0
    fpr = len(false_pos) / len(neg) if neg else 0.0
    out.append(f"prompts {len(rows)}: {len(pos)} sensitive, {len(neg)} not")
    out.append(f"recall {recall:.3f} ({len(pos) - len(misses)}/{len(pos)})   "
               f"false-positive rate {fpr:.3f} ({len(false_pos)}/{len(neg)})")
    out.append("per-kind recall (a prompt counts for each kind it holds):")
    for kind in sorted(kind_total, key=lambda k: (kind_hit[k] / kind_total[k], k)):
        out.append(f"  {kind:22} {kind_hit[kind]:3d}/{kind_total[kind]:<3d} {kind_hit[kind] / kind_total[kind]:.2f}")
    if trap_total and any(trap_total[k] for k in trap_total):
        out.append("false positives per trap (negatives):")
        for trap in sorted(trap_total, key=lambda k: (-trap_fp[k], k)):
            out.append(f"  {trap:22} {trap_fp[trap]:3d}/{trap_total[trap]:<3d}")
    out.append("prompts each detector fired on (sensitive / not sensitive):")
    for name in sorted(set(fired_tp) | set(fired_fp), key=lambda n: (-(fired_tp[n] + fired_fp[n]), n)):
        out.append(f"  {name:22} {fired_tp[name]:4d} / {fired_fp[name]:<4d}")
    if listing:
        out.append(f"misses ({len(misses)}):")
        out.extend(f"  {r['id']:14} [{','.join(r['kinds'])}] {excerpt(r['text'])}" for r in misses)
        out.append(f"false positives ({len(false_pos)}):")
        out.extend(f"  {r['id']:14} {'+'.join(n)} [{','.join(r['kinds'])}] {excerpt(r['text'])}"
                   for r, n in false_pos)
    return {"recall": recall, "fpr": fpr}


def speed(privacy: Privacy, quick: bool, out: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from route_latency import corpus

    new = load(SETS["new (privacy_independent)"])
    texts = {
        "ordinary text (as route_latency.py)": corpus(),
        "new set, negatives only": "\n\n".join(r["text"] for r in new if not r["sensitive"]),
        "new set, all prompts": "\n\n".join(r["text"] for r in new),
    }
    repeats = 7 if quick else 25
    out.append(f"scan speed, us per 1,000 characters (median of {repeats} repeats of 20 scans, 8,000-char prompt):")
    for label, text in texts.items():
        text = (text * (1 + 8000 // max(1, len(text))))[:8000]
        msgs = [{"role": "user", "content": text}]
        privacy.scan(msgs)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(20):
                privacy.scan(msgs)
            runs.append((time.perf_counter() - start) / 20 * 1e6 / len(text) * 1000)
        out.append(f"  {label:38} {statistics.median(runs):8.1f}")
    out.append("one prompt with many e-mail addresses (seconds for one scan; linear = time doubles with n):")
    for n in (5_000, 10_000) if quick else (5_000, 10_000, 20_000):
        text = " ".join(f"user{i}@example{i % 97}.com" for i in range(n))
        start = time.perf_counter()
        found = privacy.scan([{"role": "user", "content": text}])
        out.append(f"  {n:6d} e-mails ({len(text):7d} chars): {time.perf_counter() - start:7.3f} s, {len(found)} findings")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, skip the 20k e-mail prompt")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--list", action="store_true", help="list every miss and false positive")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--presidio", nargs="?", const="patterns", metavar="MODEL",
                        help="score the Presidio backend: 'patterns' (no model) or a spaCy pipeline name/directory")
    parser.add_argument("--threshold", type=float, default=0.4, help="Presidio's score threshold")
    parser.add_argument("--pure", action="store_true", help="the scan's pure-Python path (no hyperscan)")
    args = parser.parse_args()
    from llmroute.policies.privacy import prefilter

    if args.pure:
        prefilter.ENGINE = "python"
    sides = {"Privacy() default detectors": Privacy()}
    if args.presidio:
        from llmroute.policies import Presidio

        backend = Presidio(None if args.presidio == "patterns" else args.presidio, score_threshold=args.threshold)
        sides = {f"{backend!r} alone": Privacy(detectors=[], recognizers=[backend]),
                 f"Privacy() + {backend!r}": Privacy(recognizers=[backend])}
    out = [f"python {platform.python_version()} on {platform.machine()}; prefilter: "
           f"{'hyperscan' if prefilter.available() else 'pure Python'}"]
    for side, privacy in sides.items():
        out.append(f"\n#### {side}")
        for label, path in SETS.items():
            out.append(f"\n== {label}: {path.relative_to(DATA.parents[1])}")
            score(privacy, load(path), out, args.list)
        if not args.no_speed:
            out.append("")
            speed(privacy, args.quick, out)
    report = "\n".join(out)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
