"""An integration whose framework is not installed says which extra to install."""

from __future__ import annotations

import importlib
import sys

import pytest

from llmroute.errors import MissingDependencyError


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [("llmroute.integrations.langchain", "langchain_core", "langchain"),
     ("llmroute.integrations.pydantic_ai", "pydantic_ai", "pydantic-ai")],
)
def test_a_missing_framework_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str, framework: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, framework, None)  # as if not installed
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(MissingDependencyError, match=rf"pip install 'llmroute\[{extra}\]'"):
        importlib.import_module(module)
    monkeypatch.delitem(sys.modules, module, raising=False)  # a later import sees the real framework
