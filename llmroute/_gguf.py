"""The project's one GGUF reader: a model file's header, metadata and tensor table, never its weights.

A GGUF file (llama.cpp's model format, versions 2 and 3, little-endian) is: the magic ``GGUF``,
a version, the tensor and key/value counts; the key/values; one record per tensor (name, dims,
ggml type, offset into the data section); padding to ``general.alignment``; the tensor data.
See https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.

Hand-written and dependency-free, so checking a model file before llama.cpp loads it (the
llama.cpp adapter) and sizing one (``llmroute.economics.sizing``) share this reader, and it takes
milliseconds: arrays longer than :data:`MAX_ARRAY` items (the tokenizer's vocabulary, merges and
scores) are stepped over, not decoded. The file is memory-mapped, so only the header is read.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "FILE_TYPES",
    "GGML_BLOCKS",
    "MAX_ARRAY",
    "GGUFError",
    "Header",
    "NotGGUFError",
    "SkippedArray",
    "Tensor",
    "read_header",
]

MAGIC = b"GGUF"
MAX_ARRAY = 4096  # per-layer values are a few hundred at most; vocabularies are tens of thousands
_HEADER = struct.Struct("<4sIQQ")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_ARRAY = struct.Struct("<IQ")
_TENSOR_TAIL = struct.Struct("<IQ")
_MAX_DIMS = 8  # ggml has 4; anything far past that is a corrupt count, not a shape

# Metadata value types with a fixed size -> struct code (8: string and 9: array are variable).
_SCALARS: Mapping[int, str] = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY_TYPE = 8, 9

# (elements per block, bytes per block) of ggml tensor types, from ggml's type traits.
GGML_BLOCKS: Mapping[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip

# ``general.file_type`` (llama.cpp's llama_ftype: what most tensors are stored as), named as
# llmroute's quantizations are: lower case, without llama.cpp's ``MOSTLY_`` prefix.
FILE_TYPES: Mapping[int, str] = {
    0: "all_f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k",
    11: "q3_k_s", 12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s",
    17: "q5_k_m", 18: "q6_k", 19: "iq2_xxs", 20: "iq2_xs", 21: "q2_k_s", 22: "iq3_xs",
    23: "iq3_xxs", 24: "iq1_s", 25: "iq4_nl", 26: "iq3_s", 27: "iq3_m", 28: "iq2_s", 29: "iq2_m",
    30: "iq4_xs", 31: "iq1_m", 32: "bf16", 36: "tq1_0", 37: "tq2_0", 38: "mxfp4_moe",
    39: "nvfp4", 40: "q1_0", 1024: "guessed",
}  # fmt: skip


class GGUFError(ValueError):
    """The file's GGUF header does not parse: truncated, corrupt or an unsupported version."""


class NotGGUFError(GGUFError):
    """The file does not start like a GGUF file at all."""


@dataclass(frozen=True, slots=True)
class SkippedArray:
    """A metadata array too long to be worth decoding here (a tokenizer's vocabulary, say)."""

    item_type: int
    count: int


Value: TypeAlias = int | float | bool | str | tuple["Value", ...] | SkippedArray


@dataclass(frozen=True, slots=True)
class Tensor:
    """One tensor-table record. ``offset`` counts from the start of the data section."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def n_bytes(self) -> int | None:
        """Bytes of its data; None for a ggml type this reader does not know."""
        block = GGML_BLOCKS.get(self.ggml_type)
        return None if block is None else self.n_elements // block[0] * block[1]


@dataclass(frozen=True)
class Header:
    """Everything in a GGUF file before its tensor data."""

    version: int
    metadata: Mapping[str, Value]
    tensors: tuple[Tensor, ...]
    data_offset: int  # where the tensor data starts: the header's end, padded to the alignment
    file_size: int

    def data_end(self) -> tuple[int, bool]:
        """Where the last tensor's data ends, and whether that is only a lower bound (a tensor
        of a type this reader does not know is counted as one byte)."""
        end, unknown = 0, False
        for tensor in self.tensors:
            nbytes = tensor.n_bytes
            unknown = unknown or nbytes is None
            end = max(end, tensor.offset + (1 if nbytes is None else nbytes))
        return self.data_offset + end, unknown

    @property
    def file_type(self) -> str | None:
        """What most tensors are stored as (``q4_k_m``), from ``general.file_type``."""
        value = self.metadata.get("general.file_type")
        return FILE_TYPES.get(value) if isinstance(value, int) else None


def read_header(path: str | os.PathLike[str]) -> Header:
    """Read ``path``'s GGUF header. Raises NotGGUFError, GGUFError, or OSError from opening it."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < _HEADER.size:
            raise NotGGUFError(f"{size} bytes, shorter than a GGUF header")
        if f.read(4) != MAGIC:
            raise NotGGUFError("no GGUF magic bytes")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            try:
                return _parse(mm, size)
            except (struct.error, IndexError, OverflowError, UnicodeDecodeError) as exc:
                raise GGUFError(f"the header runs past the end of the file or is corrupt ({exc})") from None


def _parse(mm: mmap.mmap, size: int) -> Header:
    _, version, n_tensors, n_kv = _HEADER.unpack_from(mm, 0)
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    reader = _Reader(mm, _HEADER.size)
    metadata: dict[str, Value] = {}
    for _ in range(n_kv):
        key = reader.string()
        metadata[key] = reader.value(reader.u32())
    tensors = []
    for _ in range(n_tensors):
        name = reader.string()
        n_dims = reader.u32()
        if n_dims > _MAX_DIMS:
            raise GGUFError(f"tensor {name!r} claims {n_dims} dimensions")
        shape = struct.unpack_from(f"<{n_dims}Q", mm, reader.at)
        reader.at += 8 * n_dims
        ggml_type, offset = _TENSOR_TAIL.unpack_from(mm, reader.at)
        reader.at += _TENSOR_TAIL.size
        tensors.append(Tensor(name, tuple(shape), ggml_type, offset))
    alignment = metadata.get("general.alignment", 32)
    if isinstance(alignment, bool) or not isinstance(alignment, int) or alignment <= 0:
        raise GGUFError(f"general.alignment must be a positive integer, got {alignment!r}")
    data_offset = -(-reader.at // alignment) * alignment
    return Header(version, metadata, tuple(tensors), data_offset, size)


class _Reader:
    """A cursor over the mapped file; every step checks it stays inside."""

    __slots__ = ("at", "mm")

    def __init__(self, mm: mmap.mmap, at: int) -> None:
        self.mm = mm
        self.at = at

    def _advance(self, n: int) -> int:
        start, self.at = self.at, self.at + n
        if self.at > len(self.mm):
            raise GGUFError("the header runs past the end of the file")
        return start

    def u32(self) -> int:
        (n,) = _U32.unpack_from(self.mm, self._advance(4))
        return int(n)

    def string(self) -> str:
        (n,) = _U64.unpack_from(self.mm, self._advance(8))
        start = self._advance(n)
        return self.mm[start : self.at].decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        # a tight loop: a vocabulary is tens of thousands of strings
        mm, at, end, unpack = self.mm, self.at, len(self.mm), _U64.unpack_from
        for _ in range(count):
            (n,) = unpack(mm, at)
            at += 8 + n
            if at > end:
                raise GGUFError("the header runs past the end of the file")
        self.at = at

    def value(self, kind: int) -> Value:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY_TYPE:
            item, count = _ARRAY.unpack_from(self.mm, self._advance(_ARRAY.size))
            return self.array(item, count)
        code = _SCALARS.get(kind)
        if code is None:
            raise GGUFError(f"unknown metadata value type {kind}")
        (v,) = struct.unpack_from("<" + code, self.mm, self._advance(struct.calcsize(code)))
        return v  # type: ignore[no-any-return]  # struct returns Any; the code fixes its type

    def array(self, item: int, count: int) -> Value:
        if item == _STRING:
            if count > MAX_ARRAY:
                self.skip_strings(count)
                return SkippedArray(item, count)
            return tuple(self.string() for _ in range(count))
        if item == _ARRAY_TYPE:  # arrays of arrays: allowed by the format, unused by llama.cpp
            return tuple(self.value(_ARRAY_TYPE) for _ in range(count))
        code = _SCALARS.get(item)
        if code is None:
            raise GGUFError(f"unknown metadata array type {item}")
        start = self._advance(struct.calcsize(code) * count)
        if count > MAX_ARRAY:
            return SkippedArray(item, count)
        return tuple(struct.unpack_from(f"<{count}{code}", self.mm, start))
