"""`import llmroute` stays light: heavy dependencies load only when a feature is used."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys

import pytest

import llmroute
from llmroute._moved import MOVED

HEAVY = ["litellm", "llama_cpp", "pydantic", "openai", "httpx", "numpy", "matplotlib", "gguf", "tiktoken", "yaml", "asyncio"]


def test_import_llmroute_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, llmroute, llmroute.adapters, llmroute.policies, llmroute.economics, llmroute.cli\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_public_api_is_sorted_and_complete() -> None:
    import llmroute

    assert list(llmroute.__all__) == sorted(llmroute.__all__)
    for name in llmroute.__all__:
        assert hasattr(llmroute, name), name


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_modules_keep_their_old_name_with_a_warning(old: str, monkeypatch: pytest.MonkeyPatch) -> None:
    new = MOVED[old]
    monkeypatch.delitem(sys.modules, old, raising=False)  # as if never imported by the old name
    monkeypatch.delattr(llmroute, old.rsplit(".", 1)[1], raising=False)
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to {new}") as caught:
        module = importlib.import_module(old)
    assert len(caught) == 1
    assert module is importlib.import_module(new) is sys.modules[old]  # one module, two names
    assert module.__name__ == new and module.__spec__ is not None and module.__spec__.name == new
    assert getattr(llmroute, old.rsplit(".", 1)[1]) is module  # `from llmroute import catalog` too


def test_old_names_work_in_from_imports() -> None:
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "from llmroute.economics.catalog import Catalog\n"
        "warnings.simplefilter('default')\n"
        "from llmroute import catalog\n"
        "from llmroute.sizing import read_gguf\n"
        "from llmroute.breakeven import SelfHosting\n"
        "assert catalog.Catalog is Catalog\n"
        "from llmroute.adapters.llamacpp import DEFAULT_MODEL_FILE, DEFAULT_MODEL_PACKAGE, LlamaCpp, check_gguf, default_model_path\n"
    )
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)
    # each warning names the line that used the old name
    assert out.stderr.count("DeprecationWarning") == 3 and "<string>:5:" in out.stderr, out.stderr


def test_the_finder_answers_only_for_moved_names() -> None:
    assert importlib.util.find_spec("llmroute.no_such_module") is None
    assert importlib.util.find_spec("llmroute.economics.catalog") is not None
