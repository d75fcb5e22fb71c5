"""``llmroute eval``: replay a router config over a dataset offline, write a report, print a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import LLMRouteError
from .route import add_allow_import


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", help="dataset file: .jsonl or .csv (see docs/evaluation.md), or a RouterBench CSV")
    parser.add_argument("--sample", action="store_true", help="replay the packaged sample dataset under the packaged example config "
                        "(llmroute.samples; --config overrides the config)")
    parser.add_argument("--config", help="router config (YAML/JSON); its models must be named as in the dataset")
    parser.add_argument("--format", choices=["auto", "routerbench"], default="auto", help="'routerbench' reads a RouterBench 0-shot CSV")
    parser.add_argument("--out", default="eval-report", help="folder for report.md and plots (default: eval-report)")
    parser.add_argument("--limit", type=int, help="only the first N examples")
    parser.add_argument("--premium", help="model to compare savings against (default: best mean quality)")
    parser.add_argument("--strong", help="strong model for curves and calibration (default: the premium model)")
    parser.add_argument("--weak", help="weak model for curves and calibration (default: the cheapest model)")
    parser.add_argument("--bins", type=int, default=10, help="quantile bins of the threshold sweep (default 10)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--target-quality", type=float, help="calibrate: reach this fraction of the strong model's quality (e.g. 0.95)")
    target.add_argument("--budget", type=float, help="calibrate: USD a month (with --requests)")
    parser.add_argument("--requests", type=float, help="requests a month, for --budget")
    parser.add_argument("--param", help="policy keyword that holds the calibrated threshold (default: the complexity policy's "
                        "thresholds, else threshold)")
    parser.add_argument("--write-config", help="write the config with the calibrated threshold (with --fit: the refitted scorer) to this file")
    parser.add_argument("--fit", action="store_true", help="refit the config's complexity scorer on the dataset's recorded outcomes "
                        "(e.g. router.feedback records) and recalibrate its thresholds; see docs/evaluation.md")
    parser.add_argument("--scorer-out", help="with --fit: where the refitted scorer goes (default: beside --write-config)")
    parser.add_argument("--online", metavar="OUT.jsonl", help="first run the prompts through the config's real models, recording outcomes here (resumable), then evaluate those")
    parser.add_argument("--models", help="online mode: comma-separated models to ask (default: all)")
    parser.add_argument("--no-plots", action="store_true", help="write the report without PNG plots")
    add_allow_import(parser)


def _scorer(router: Any) -> tuple[int, Any] | None:
    """The first policy that scores prompts (``score(messages) -> float``), with its index."""
    for i, policy in enumerate(router.policies):
        if callable(getattr(policy, "score", None)):
            return i, policy
    return None


def run(args: argparse.Namespace) -> int:
    from .route import config_code

    try:
        with config_code(args):
            return _run(args)
    except LLMRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..errors import ConfigError
    from ..eval.calibrate import (
        BudgetTarget,
        Calibration,
        QualityTarget,
        calibrate_dataset,
        policy_setting,
        set_policy_param,
        write_config,
    )
    from ..eval.curves import Curve, oracle_curve, random_curve, score_curve, scores_for
    from ..eval.dataset import load_dataset, load_routerbench
    from ..eval.online import ProgressLine, run_online
    from ..eval.replay import offline_router, replay
    from ..eval.report import Report, summary_table, write_report

    if args.sample:
        from .. import samples

        if args.dataset is not None:
            raise ConfigError("give a dataset or --sample, not both", path="dataset")
        args.dataset = samples.path("eval.jsonl")
        args.config = args.config or samples.path("router.yaml")
    elif args.dataset is None:
        raise ConfigError("a dataset file is required (or --sample for the packaged one)", path="dataset")
    if args.budget is not None and args.requests is None:
        raise ConfigError("--budget needs --requests (requests a month)", path="--requests")
    if (args.target_quality is not None or args.budget is not None or args.write_config or args.fit) and not args.config:
        raise ConfigError("--fit and calibration need --config", path="--config")
    dataset = load_routerbench(args.dataset) if args.format == "routerbench" else load_dataset(args.dataset)
    if args.limit is not None:
        dataset = dataset.head(args.limit)
    if args.online:
        if not args.config:
            raise ConfigError("online mode needs --config with real models", path="--config")
        live = load_config(args.config).build()
        live.warmup()  # recorded latency_s is the models', not the first call's imports
        models = [m.strip() for m in args.models.split(",")] if args.models else None
        with live:
            ran = run_online(live, dataset, args.online, models=models, progress=ProgressLine("online"))
        print(f"online: ran {ran} new examples, outcomes in {args.online}", file=sys.stderr)
        dataset = load_dataset(args.online)
        if args.limit is not None:
            dataset = dataset.head(args.limit)
    if args.fit:
        return _fit(args, dataset)

    router = offline_router(dataset, args.config)
    names = [m.name for m in router.models]
    complete = dataset.complete(names)
    notes = [f"dataset: {dataset.name}; config: {args.config or '(none: every dataset model, no policies)'}"]
    if len(complete) < len(dataset):
        notes.append(f"{len(dataset) - len(complete)} of {len(dataset)} examples lack an outcome for some router model and were left out")
    if not len(complete):
        raise ConfigError(f"no example has outcomes for all of {names}", path="models")
    show = ProgressLine("replay") if len(complete) >= 200 else None
    result = replay(router, complete, premium=args.premium, progress=show)

    strong = args.strong or result.premium.model
    weak = args.weak or min(result.baselines, key=lambda s: (s.total_cost / s.n, s.quality)).model
    curves: list[Curve] = []
    calibration: Calibration | None = None
    found = _scorer(router)
    if found is not None and strong != weak:
        index, scorer = found
        by_name = {m.name: m for m in router.models}
        scores = scores_for(complete, scorer, ProgressLine("scoring") if len(complete) >= 200 else None)
        try:
            curves = [
                score_curve(complete, scores, strong, weak, bins=args.bins, name=type(scorer).__name__.lower(), by_name=by_name),
                random_curve(complete, strong, weak, bins=args.bins, by_name=by_name),
                oracle_curve(complete, strong, weak, bins=args.bins, by_name=by_name),
            ]
        except ValueError as exc:  # e.g. both models score the same: APGR is undefined
            notes.append(f"no curves: {exc}")
        target: QualityTarget | BudgetTarget | None = None
        if args.target_quality is not None:
            target = QualityTarget(args.target_quality)
        elif args.budget is not None:
            target = BudgetTarget(args.budget, args.requests)
        if target is not None:
            calibration = calibrate_dataset(complete, scores, strong, weak, target, by_name=by_name)
            if args.write_config:
                from .._files import read_mapping

                raw = dict(read_mapping(args.config))
                kind = str((raw.get("policies") or [{}])[index].get("type"))
                param, value = (
                    (args.param, calibration.threshold) if args.param
                    else policy_setting(scorer, by_name, strong, weak, calibration.threshold)
                )
                write_config(set_policy_param(raw, kind, param, value), args.write_config)
                notes.append(f"calibrated config written to {args.write_config} ({kind}: {param} = {value})")
    elif args.target_quality is not None or args.budget is not None:
        raise ConfigError("calibration needs a policy with score(messages) in the config (e.g. complexity)", path="policies")
    else:
        notes.append("no curves: no policy in the config scores prompts (score(messages) -> float)")

    report = Report(result, strong=strong, weak=weak, curves=curves, calibration=calibration, notes=notes,
                    title=f"Routing evaluation: {dataset.name}")
    path = write_report(report, args.out, plots=not args.no_plots)
    print(summary_table(result))
    for curve in curves:
        print(f"{curve.name:>12}: APGR {curve.apgr:.3f}  CPT(50%) {curve.cpt50:.1%}  CPT(80%) {curve.cpt80:.1%}")
    if calibration is not None:
        state = "met" if calibration.met else "NOT met"
        print(f"calibration ({state}): threshold {calibration.threshold:.6g}, {calibration.share:.1%} to {strong}, "
              f"quality {calibration.quality:.4f}, ${calibration.cost_per_request:.6f} per request")
    print(f"report: {Path(path)}")
    return 0


def _fit(args: argparse.Namespace, dataset: Any) -> int:
    from ..eval.calibrate import BudgetTarget, QualityTarget
    from ..eval.refit import refit

    target: QualityTarget | BudgetTarget | None = None
    if args.target_quality is not None:
        target = QualityTarget(args.target_quality)
    elif args.budget is not None:
        target = BudgetTarget(args.budget, args.requests)
    done = refit(dataset, args.config, strong=args.strong, weak=args.weak, target=target, out=args.write_config, scorer_out=args.scorer_out)
    data = done.data
    print(f"refit on {len(data.labels)} rated requests of {dataset.name}: {data.weak_only} rated {done.weak} only, "
          f"{data.both} rated both models, {data.skipped} left out (no outcome for {done.weak})")
    lo, hi = done.policy.thresholds
    print(f"thresholds {lo:.4f}/{hi:.4f}: {done.share:.1%} of the rated prompts go to {done.strong}"
          + ("" if target is not None else " (the share the config sent there before)"))
    cal = done.calibration
    if cal is not None:
        state = "met" if cal.met else "NOT met"
        print(f"calibration ({state}) on {data.both} examples with both models: quality {cal.quality:.4f} "
              f"(strong {cal.strong_quality:.4f}, weak {cal.weak_quality:.4f}), ${cal.cost_per_request:.6f} per request")
    if done.config_path is not None:
        print(f"wrote {done.config_path} (scorer {done.scorer_path}); compare both configs with "
              f"`llmroute eval HELD_OUT --config ...` on data neither was fitted on")
    else:
        print("nothing written: add --write-config NEW.yaml")
    return 0
