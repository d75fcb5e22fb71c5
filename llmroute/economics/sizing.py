"""GPU sizing: memory for weights, KV cache and runtime overhead; which GPUs hold a model, how
many, and a decode-speed ceiling from memory bandwidth.

- weights = parameters x bits per weight of the quantization / 8 (or a GGUF file's exact tensor bytes)
- KV cache = layers x 2 (K and V) x KV heads x head dim x context x sequences x bytes per element
- overhead = ``overhead_fraction`` of both (activations, compute buffers, fragmentation), plus
  ``reserved_gib_per_gpu`` on every GPU (CUDA context, driver reservations)
- decode ceiling: each generated token reads the (active) weights once and each sequence's KV
  cache once, so tokens/s <= bandwidth / bytes read per step. Real servers reach a fraction of it.

The architecture comes from the catalog or from a GGUF file's metadata and tensor table (read by
``llmroute._gguf``, no extra needed). Memory is reported in GiB (2**30 bytes), as GPU memory is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from .._gguf import GGUFError, read_header
from ..errors import ConfigError
from .catalog import Architecture, Entry

__all__ = [
    "GIB",
    "GPU",
    "GPUS",
    "KV_DTYPES",
    "QUANTS",
    "GPUFit",
    "ModelShape",
    "Sizing",
    "kv_cache_bytes",
    "read_gguf",
    "size",
    "weights_bytes",
]

GIB = 2**30

# Effective bits per weight. Block formats from llama.cpp's ggml block layouts (q4_0: 32 4-bit
# weights + one f16 scale = 18 bytes per 32 -> 4.5); the k-quant mixes (q4_k_m, q5_k_m) keep some
# tensors at higher precision, so theirs are averages over Llama-class files.
QUANTS: Mapping[str, float] = {
    "q2_k": 2.63,
    "q3_k_m": 3.91,
    "q4_0": 4.5,
    "q4_1": 5.0,
    "q4_k_m": 4.85,
    "q5_0": 5.5,
    "q5_1": 6.0,
    "q5_k_m": 5.69,
    "q6_k": 6.5625,
    "q8_0": 8.5,
    "int4": 4.25,  # AWQ / GPTQ, group size 128: 4 bits + an f16 scale and zero per 128 weights
    "fp8": 8.0,
    "int8": 8.0,
    "f16": 16.0,
    "bf16": 16.0,
    "f32": 32.0,
}

KV_DTYPES: Mapping[str, float] = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "fp8": 1.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


@dataclass(frozen=True, slots=True)
class GPU:
    """A GPU's nominal memory (GiB) and peak memory bandwidth (GB/s, vendor datasheet)."""

    name: str
    memory_gib: float
    bandwidth_gb_s: float


GPUS: Mapping[str, GPU] = {
    g.name: g
    for g in (
        GPU("L4", 24, 300),
        GPU("A10G", 24, 600),
        GPU("RTX-4090", 24, 1008),
        GPU("A100-40GB", 40, 1555),
        GPU("A100-80GB", 80, 2039),
        GPU("H100-80GB", 80, 3350),
        GPU("H200", 141, 4800),
    )
}


def _quant_bits(quant: str) -> float:
    bits = QUANTS.get(quant.lower())
    if bits is None:
        raise ConfigError(f"unknown quantization {quant!r}; known: {', '.join(QUANTS)}", path="quant")
    return bits


def weights_bytes(params: float, quant: str) -> float:
    """Bytes the weights of ``params`` parameters take at ``quant``."""
    return params * _quant_bits(quant) / 8


def kv_cache_bytes(arch: Architecture, context: int, concurrency: int = 1, kv_dtype: str = "f16") -> float:
    """Bytes of KV cache for ``concurrency`` sequences of ``context`` tokens each."""
    per_element = KV_DTYPES.get(kv_dtype.lower())
    if per_element is None:
        raise ConfigError(f"unknown KV cache type {kv_dtype!r}; known: {', '.join(KV_DTYPES)}", path="kv_dtype")
    return arch.kv_elements_per_token * context * concurrency * per_element


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What sizing needs of a model. ``file_bytes``: exact tensor bytes of a model file."""

    name: str
    params: float
    architecture: Architecture
    active_params: float | None = None
    context_length: int | None = None
    quant: str | None = None
    file_bytes: float | None = None

    @classmethod
    def from_entry(cls, entry: Entry) -> ModelShape:
        if entry.params is None or entry.architecture is None:
            raise ConfigError(
                "parameter count or architecture is not public; size it from a GGUF file instead",
                path=f"catalog[{entry.id!r}]",
            )
        return cls(entry.id, entry.params, entry.architecture, entry.active_params, entry.context_window)


@dataclass(frozen=True, slots=True)
class GPUFit:
    """How many of one GPU hold the model, and the decode ceiling on that many."""

    gpu: GPU
    count: int
    tokens_per_second_per_sequence: float
    tokens_per_second_total: float


@dataclass(frozen=True)
class Sizing:
    model: str
    quant: str
    context: int
    concurrency: int
    kv_dtype: str
    weights_bytes: float
    kv_bytes: float
    overhead_bytes: float
    reserved_bytes_per_gpu: float
    read_bytes_per_step: float  # active weights + every sequence's KV cache
    fits: tuple[GPUFit, ...]

    @property
    def total_bytes(self) -> float:
        """Memory needed before per-GPU reservations."""
        return self.weights_bytes + self.kv_bytes + self.overhead_bytes


def size(
    shape: ModelShape,
    *,
    quant: str | None = None,
    context: int | None = None,
    concurrency: int = 1,
    kv_dtype: str = "f16",
    overhead_fraction: float = 0.10,
    reserved_gib_per_gpu: float = 1.0,
    gpus: Iterable[GPU] | None = None,
) -> Sizing:
    """Memory for ``shape`` at ``quant`` serving ``concurrency`` sequences of ``context`` tokens.

    Without ``quant`` a file's own tensor bytes are used (exact); otherwise params x bits.
    """
    ctx = context or shape.context_length
    if not isinstance(ctx, int) or isinstance(ctx, bool) or ctx <= 0:
        raise ConfigError(f"must be a positive integer, got {ctx!r}", path="context")
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency <= 0:
        raise ConfigError(f"must be a positive integer, got {concurrency!r}", path="concurrency")
    if not 0 <= overhead_fraction < 10 or reserved_gib_per_gpu < 0:
        raise ConfigError("need 0 <= overhead_fraction < 10 and reserved_gib_per_gpu >= 0", path="overhead")
    if quant is None and shape.file_bytes is None:
        raise ConfigError("give a quantization, e.g. q4_k_m (known: " + ", ".join(QUANTS) + ")", path="quant")
    if quant is not None:
        weights = weights_bytes(shape.params, quant)
        label = quant.lower()
    else:
        assert shape.file_bytes is not None
        weights, label = shape.file_bytes, f"{shape.quant or 'file'} (from file)"
    kv = kv_cache_bytes(shape.architecture, ctx, concurrency, kv_dtype)
    overhead = overhead_fraction * (weights + kv)
    active = weights * (shape.active_params / shape.params if shape.active_params else 1.0)
    per_step = active + kv  # bytes read to generate one token for every sequence
    reserved = reserved_gib_per_gpu * GIB
    fits = []
    for gpu in gpus if gpus is not None else GPUS.values():
        usable = gpu.memory_gib * GIB - reserved
        if usable <= 0:
            continue
        count = max(1, math.ceil((weights + kv + overhead) / usable))
        per_seq = count * gpu.bandwidth_gb_s * 1e9 / per_step
        fits.append(GPUFit(gpu, count, per_seq, per_seq * concurrency))
    return Sizing(
        shape.name, label, ctx, concurrency, kv_dtype.lower(), weights, kv, overhead, reserved, per_step, tuple(fits)
    )


# -- GGUF files ----------------------------------------------------------------------------
def read_gguf(path: str | PathLike[str]) -> ModelShape:
    """A model's shape from a GGUF file's own metadata and tensor table (the header only)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"no such file: {str(file)!r}", path="model")
    try:
        header = read_header(file)
    except OSError as exc:
        raise ConfigError(f"cannot read {str(file)!r}: {exc.strerror}", path="model") from None
    except GGUFError as exc:
        raise ConfigError(f"{str(file)!r} is not a readable GGUF file: {exc}", path="model") from None
    value = header.metadata.get

    arch_name = value("general.architecture")
    if not isinstance(arch_name, str):
        raise ConfigError(f"{str(file)!r} has no general.architecture", path="model")

    def number(key: str) -> int | None:
        v = value(f"{arch_name}.{key}")
        if isinstance(v, tuple):  # per-layer values (some architectures): size for the largest
            v = max((x for x in v if isinstance(x, int)), default=None)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    def need(key: str) -> int:
        v = number(key)
        if v is None:
            raise ConfigError(f"{str(file)!r} lacks {arch_name}.{key}", path="model")
        return v

    heads = need("attention.head_count")
    hidden = need("embedding_length")
    kv_heads = need("attention.head_count_kv") if value(f"{arch_name}.attention.head_count_kv") is not None else heads
    lora = number("attention.kv_lora_rank")
    arch = Architecture(
        layers=need("block_count"),
        hidden_size=hidden,
        attention_heads=heads,
        kv_heads=kv_heads,
        head_dim=number("attention.key_length") or hidden // heads,
        kv_latent_dim=lora + (number("rope.dimension_count") or 0) if lora else None,
    )
    expert_count = number("expert_count")
    expert_used = number("expert_used_count")
    params = float(sum(t.n_elements for t in header.tensors))
    active = None
    if expert_count and expert_used:
        expert = sum(t.n_elements for t in header.tensors if "_exps" in t.name)
        active = params - expert + expert * expert_used / expert_count
    sizes = [t.n_bytes for t in header.tensors]
    context = value(f"{arch_name}.context_length")
    name = value("general.name")
    return ModelShape(
        name=name if isinstance(name, str) and name else file.stem,
        params=params,
        architecture=arch,
        active_params=active,
        context_length=context if isinstance(context, int) and not isinstance(context, bool) else None,
        quant=header.file_type,
        # a tensor type this reader does not know leaves the size to a quantization given
        file_bytes=None if None in sizes else float(sum(n for n in sizes if n is not None)),
    )
