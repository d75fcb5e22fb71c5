"""The ``llmroute`` command. Each subcommand is a module of this package, imported only when used.

A subcommand module provides ``add_arguments(parser)`` and ``run(args) -> int``; the demo's
router configuration, ``default_config.yaml``, lies beside them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("llmroute.cli.demo", "route a handful of prompts with the default configuration and show each decision"),
    "route": ("llmroute.cli.route", "dry run: print the routing decision for a prompt under a config"),
    "models": ("llmroute.cli.models", "list the model catalog, filtered by open weights, license, provider, price"),
    "breakeven": ("llmroute.cli.breakeven", "monthly cost of an API against self-hosting, and the volume where they cross"),
    "size": ("llmroute.cli.size", "GPU memory a model needs (weights, KV cache, overhead), which GPUs hold it"),
    "eval": ("llmroute.cli.eval", "replay a router config over a dataset offline: quality, cost, curves, calibration, report"),
    "compare": ("llmroute.cli.compare", "run the same prompts through two or more models and show the results side by side"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmroute")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="llmroute", description="Route LLM requests to the right model.")
    parser.add_argument("--version", action="version", version=f"llmroute {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(cmd_parser)
    args = parser.parse_args(args_list)
    if module is None:
        parser.print_help()
        return 2
    try:
        return int(module.run(args) or 0)
    except BrokenPipeError:  # `llmroute ... | head`: the reader left; no traceback
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit: to nowhere now
        return 0
