"""The package layout is the architecture: no import cycles, and the core imports no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llmroute"

# Outer layers: the core (top-level modules, policies, adapters, observability) never imports them
# at module level; they import the core.
OUTER = ("llmroute.cli", "llmroute.economics", "llmroute.eval", "llmroute.integrations")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def module_imports() -> dict[str, set[str]]:
    """Each llmroute module's llmroute imports made when it is imported (not in functions, not
    under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            for sub in [node] if not isinstance(node, (ast.Try, ast.If)) else ast.walk(node):
                if isinstance(sub, ast.Import):
                    found.update(a.name for a in sub.names if a.name.startswith("llmroute"))
                elif isinstance(sub, ast.ImportFrom):
                    target = _resolve(name, is_package, sub)
                    if target.startswith("llmroute"):
                        for alias in sub.names:  # "from . import x" may name a submodule
                            candidate = f"{target}.{alias.name}"
                            found.add(candidate if candidate in modules else target)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_module_level_import_cycles() -> None:
    graph = module_imports()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_core_does_not_import_outer_layers() -> None:
    for module, imports in module_imports().items():
        if module.startswith(OUTER):
            continue
        outer = sorted(m for m in imports if m.startswith(OUTER))
        assert not outer, f"{module} imports {outer} at module level"


def test_the_top_level_holds_the_core() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert len(top) <= 16, top  # about a dozen core modules; commands and tools live in packages
