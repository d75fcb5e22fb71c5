"""Old import paths of modules that moved, kept working for this version with a DeprecationWarning.

``install()`` puts one finder on ``sys.meta_path``. It answers only for the old dotted names in
:data:`MOVED`: importing one imports the new module and registers that same module object under
the old name too (``llmroute.catalog is llmroute.economics.catalog``), so state such as caches
is shared and ``isinstance`` checks hold across both names. Nothing is imported until an old
name is. CHANGELOG.md lists the moves; the aliases go in the next minor version.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from importlib import import_module
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

__all__ = ["MOVED", "install"]

# old dotted name -> new dotted name
MOVED: Mapping[str, str] = {
    "llmroute.audit": "llmroute.observability.audit",
    "llmroute.breakeven": "llmroute.economics.breakeven",
    "llmroute.catalog": "llmroute.economics.catalog",
    "llmroute.sizing": "llmroute.economics.sizing",
    "llmroute.tracing": "llmroute.observability",  # its public names (print_spans, ...) live there
}


class _MovedModules:
    """Finder and loader for the old names (importlib.abc.MetaPathFinder and Loader by protocol:
    subclassing them would import importlib.abc, which costs ``import llmroute`` ~8 ms)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return ModuleSpec(fullname, cast("Loader", self))

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__  # the import system is about to stamp ``spec`` on it
        return module

    def exec_module(self, module: ModuleType) -> None:
        alias = module.__spec__
        assert alias is not None and alias.loader_state is not None
        module.__spec__ = alias.loader_state  # the module keeps its own name, file and spec
        # stacklevel 2 skips the import machinery's frames: the warning names the importing line
        warnings.warn(
            f"{alias.name} moved to {MOVED[alias.name]}; the old name goes in the next minor version",
            DeprecationWarning,
            stacklevel=2,
        )


_FINDER = _MovedModules()


def install() -> None:
    """Answer for the old names (idempotent). First on the path, so a stale file cannot win."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
