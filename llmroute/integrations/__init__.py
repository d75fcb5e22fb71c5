"""Drop-in shapes for code that already speaks another API: the ``openai`` client
(``Router.chat`` / ``Router.achat``), LangChain (``integrations.langchain``) and pydantic-ai
(``integrations.pydantic_ai``). Each module imports its framework when it is first used, and says
which extra to install when the framework is missing."""

from __future__ import annotations

from ..errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str) -> None:
    """Raise MissingDependencyError naming ``extra`` when ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"this integration needs the {module!r} package: pip install 'llmroute[{extra}]'"
        )
