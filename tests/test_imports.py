"""`import llmroute` stays light: heavy dependencies load only when a feature is used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["litellm", "llama_cpp", "pydantic", "openai", "httpx", "numpy", "matplotlib", "gguf", "tiktoken", "yaml", "asyncio"]


def test_import_llmroute_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, llmroute, llmroute.adapters, llmroute.policies\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_public_api_is_sorted_and_complete() -> None:
    import llmroute

    assert list(llmroute.__all__) == sorted(llmroute.__all__)
    for name in llmroute.__all__:
        assert hasattr(llmroute, name), name
