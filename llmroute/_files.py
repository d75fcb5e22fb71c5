"""Reading a YAML or JSON file of settings, with errors that never quote the file's lines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["read_mapping"]


def read_mapping(
    source: str | PathLike[str] | Mapping[str, Any], *, what: str = "config", shape: str = "a mapping with 'models' at the top"
) -> Mapping[str, Any]:
    """A dict, or a YAML/JSON file's top-level mapping; errors never quote the file's lines."""
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # a binary file, or another encoding
        raise ConfigError(f"{what} file {str(path)!r} is not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        # Only the position and the kind of problem: the offending line may hold a key.
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark is not None else "?")
        problem = getattr(exc, "problem", None) or getattr(exc, "msg", None) or type(exc).__name__
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ConfigError(f"{str(path)!r} is not valid {kind} (line {line}: {problem})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{str(path)!r} must hold {shape}")
    return data
