"""``llmroute size``: memory and GPUs a model needs, from the catalog or a GGUF file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import LLMRouteError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..economics.sizing import GPUS, KV_DTYPES, QUANTS

    parser.add_argument("model", help="a catalog id (llama-3-70b) or a path to a .gguf file")
    parser.add_argument("--quant", help=f"one of {', '.join(QUANTS)}; default q4_k_m, or a file's own")
    parser.add_argument("--context", type=int, help="tokens per sequence (default: the model's context window)")
    parser.add_argument("--concurrency", type=int, default=1, help="sequences served at once (default 1)")
    parser.add_argument("--kv-dtype", default="f16", help=f"KV cache element type: {', '.join(KV_DTYPES)}")
    parser.add_argument("--overhead", type=float, default=0.10, help="runtime overhead as a share of weights + KV (0.10)")
    parser.add_argument("--reserved-gib", type=float, default=1.0, help="GiB reserved on every GPU (CUDA context; 1.0)")
    parser.add_argument("--gpu", action="append", choices=sorted(GPUS), help="only these GPUs (repeatable)")
    parser.add_argument("--catalog", metavar="FILE", help="YAML/JSON that adds or overrides catalog entries")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from ..economics import catalog, sizing

    gib = sizing.GIB
    try:
        if args.model.endswith(".gguf") or Path(args.model).is_file():
            shape = sizing.read_gguf(args.model)
            quant = args.quant
        else:
            shape = sizing.ModelShape.from_entry(catalog.load(args.catalog).get(args.model))
            quant = args.quant or "q4_k_m"
        result = sizing.size(
            shape,
            quant=quant,
            context=args.context,
            concurrency=args.concurrency,
            kv_dtype=args.kv_dtype,
            overhead_fraction=args.overhead,
            reserved_gib_per_gpu=args.reserved_gib,
            gpus=[sizing.GPUS[g] for g in args.gpu] if args.gpu else None,
        )
    except LLMRouteError as exc:
        print(f"llmroute size: {exc}", file=sys.stderr)
        return 2
    arch = shape.architecture
    if args.json:
        print(json.dumps({
            "model": result.model, "quant": result.quant, "params": shape.params,
            "architecture": {"layers": arch.layers, "hidden_size": arch.hidden_size, "attention_heads": arch.attention_heads,
                             "kv_heads": arch.kv_heads, "head_dim": arch.head_dim, "kv_latent_dim": arch.kv_latent_dim},
            "context": result.context, "concurrency": result.concurrency, "kv_dtype": result.kv_dtype,
            "weights_bytes": result.weights_bytes, "kv_bytes": result.kv_bytes, "overhead_bytes": result.overhead_bytes,
            "total_bytes": result.total_bytes, "reserved_bytes_per_gpu": result.reserved_bytes_per_gpu,
            "gpus": [{"gpu": f.gpu.name, "count": f.count, "decode_tokens_per_second_per_sequence": f.tokens_per_second_per_sequence,
                      "decode_tokens_per_second_total": f.tokens_per_second_total} for f in result.fits],
        }, indent=2))
        return 0
    print(f"{result.model}: {shape.params / 1e9:.3g}B parameters, {result.quant}")
    print(f"  architecture: {arch.layers} layers, hidden {arch.hidden_size}, {arch.attention_heads} heads, "
          f"{arch.kv_heads} KV heads, head dim {arch.head_dim}" + (f", KV latent {arch.kv_latent_dim}" if arch.kv_latent_dim else ""))
    print(f"  weights   {result.weights_bytes / gib:9.2f} GiB")
    print(f"  KV cache  {result.kv_bytes / gib:9.2f} GiB  ({result.concurrency} x {result.context:,} tokens, {result.kv_dtype}; "
          f"{result.kv_bytes / result.concurrency / gib:.3g} GiB per sequence)")
    print(f"  overhead  {result.overhead_bytes / gib:9.2f} GiB  ({args.overhead:.0%} of weights + KV)"
          f" + {result.reserved_bytes_per_gpu / gib:g} GiB reserved per GPU")
    print(f"  total     {result.total_bytes / gib:9.2f} GiB")
    print()
    print(f"  {'GPU':<10} {'memory':>7} {'count':>5}  decode ceiling tok/s (per sequence / all)")
    for f in result.fits:
        print(f"  {f.gpu.name:<10} {f.gpu.memory_gib:>4g} GiB {f.count:>5}  "
              f"{f.tokens_per_second_per_sequence:,.0f} / {f.tokens_per_second_total:,.0f}")
    print("  (ceiling = GPUs x memory bandwidth / bytes read per step; real servers reach a fraction of it)")
    return 0
