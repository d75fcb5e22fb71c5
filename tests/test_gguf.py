"""llmroute._gguf, the one GGUF reader: header, metadata and tensor table from files built here."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from llmroute import ConfigError
from llmroute._gguf import MAX_ARRAY, GGUFError, NotGGUFError, SkippedArray, read_header
from llmroute.adapters.llamacpp import check_gguf
from llmroute.economics.sizing import read_gguf


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _kv(key: str, kind: int, payload: bytes) -> bytes:
    return _string(key) + struct.pack("<I", kind) + payload


def u32(key: str, value: int) -> bytes:
    return _kv(key, 4, struct.pack("<I", value))


def text(key: str, value: str) -> bytes:
    return _kv(key, 8, _string(value))


def i32_array(key: str, values: Sequence[int]) -> bytes:
    return _kv(key, 9, struct.pack("<IQ", 5, len(values)) + struct.pack(f"<{len(values)}i", *values))


def str_array(key: str, values: Sequence[str]) -> bytes:
    return _kv(key, 9, struct.pack("<IQ", 8, len(values)) + b"".join(_string(v) for v in values))


def gguf(kvs: Sequence[bytes], tensors: Sequence[tuple[str, tuple[int, ...], int]], *, alignment: int = 32) -> bytes:
    """A GGUF v3 file: the key/values, then tensors (name, shape, ggml type) laid out in order."""
    table, offset = b"", 0
    for name, shape, kind in tensors:
        table += _string(name) + struct.pack(f"<I{len(shape)}Q", len(shape), *shape) + struct.pack("<IQ", kind, offset)
        elements = 1
        for d in shape:
            elements *= d
        offset += elements * 4 if kind == 0 else elements // 32 * 20  # f32, or q4_1
        offset = -(-offset // alignment) * alignment
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + table
    head += b"\0" * (-len(head) % alignment)
    return head + b"\0" * offset


LLAMA_KVS = [
    text("general.architecture", "llama"),
    text("general.name", "tiny"),
    u32("general.file_type", 3),
    u32("llama.block_count", 2),
    u32("llama.context_length", 256),
    u32("llama.embedding_length", 64),
    u32("llama.attention.head_count", 4),
    i32_array("llama.attention.head_count_kv", [2, 1]),  # per layer: sizing takes the largest
    str_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(MAX_ARRAY + 1)]),
]
TENSORS = [("token_embd.weight", (64, 100), 3), ("output_norm.weight", (64,), 0)]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(gguf(LLAMA_KVS, TENSORS))
    return path


def test_header_metadata_and_tensor_table(tiny: Path) -> None:
    header = read_header(tiny)
    assert header.version == 3 and header.file_type == "q4_1"
    assert header.metadata["general.name"] == "tiny"
    assert header.metadata["llama.attention.head_count_kv"] == (2, 1)
    assert header.metadata["tokenizer.ggml.tokens"] == SkippedArray(item_type=8, count=MAX_ARRAY + 1)
    assert [(t.name, t.shape, t.n_elements, t.n_bytes) for t in header.tensors] == [
        ("token_embd.weight", (64, 100), 6400, 6400 // 32 * 20),
        ("output_norm.weight", (64,), 64, 256),
    ]
    assert header.data_offset % 32 == 0
    assert header.data_end() == (tiny.stat().st_size, False)


def test_sizing_and_the_adapter_check_read_the_same_file(tiny: Path) -> None:
    check_gguf(tiny)
    shape = read_gguf(tiny)
    assert (shape.name, shape.quant, shape.context_length) == ("tiny", "q4_1", 256)
    arch = shape.architecture
    assert (arch.layers, arch.hidden_size, arch.attention_heads, arch.kv_heads, arch.head_dim) == (2, 64, 4, 2, 16)
    assert shape.params == 6400 + 64
    assert shape.file_bytes == 6400 // 32 * 20 + 256


def test_truncated_and_foreign_files(tmp_path: Path, tiny: Path) -> None:
    data = tiny.read_bytes()
    short = tmp_path / "short.gguf"
    short.write_bytes(data[:-1])
    with pytest.raises(ConfigError, match=r"truncated: .* its tensors need"):
        check_gguf(short)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:200])  # inside the key/values
    with pytest.raises(GGUFError, match="past the end"):
        read_header(cut)
    with pytest.raises(ConfigError, match="truncated or corrupt"):
        check_gguf(cut)
    foreign = tmp_path / "notes.gguf"
    foreign.write_bytes(b"not a model, just some notes")
    with pytest.raises(NotGGUFError, match="magic"):
        read_header(foreign)
    with pytest.raises(ConfigError, match="not a readable GGUF file"):
        read_gguf(foreign)


def test_corrupt_value_type_and_version_are_parse_errors(tmp_path: Path) -> None:
    bad_type = tmp_path / "bad_type.gguf"
    bad_type.write_bytes(gguf([_kv("general.x", 99, b"\0" * 8)], []))
    with pytest.raises(GGUFError, match="unknown metadata value type 99"):
        read_header(bad_type)
    with pytest.raises(ConfigError, match="truncated or corrupt"):
        check_gguf(bad_type)
    v1 = tmp_path / "v1.gguf"
    v1.write_bytes(b"GGUF" + struct.pack("<IQQ", 1, 0, 0))
    with pytest.raises(GGUFError, match="version 1"):
        read_header(v1)


def test_an_unknown_tensor_type_makes_sizes_a_lower_bound(tmp_path: Path) -> None:
    path = tmp_path / "future.gguf"
    path.write_bytes(gguf(LLAMA_KVS, [*TENSORS, ("future.weight", (64,), 250)]))
    header = read_header(path)
    end, unknown = header.data_end()
    assert unknown and end == header.data_offset + header.tensors[-1].offset + 1  # one byte counted
    check_gguf(path)  # the bound lies inside the file: nothing to complain about
    shape = read_gguf(path)
    assert shape.file_bytes is None  # sizing then asks for a quantization instead
