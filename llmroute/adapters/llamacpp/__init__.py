"""llama.cpp in this process: the adapter, its pool of instances, and its model files.

- :mod:`.adapter`: :class:`LlamaCpp`, requests translated for llama-cpp-python (extra ``local``)
- :mod:`.pool`: the instances (slots), the bounded queue of waiting requests, one call's control
- :mod:`.model_file`: the packaged default model and :func:`check_gguf`, on the project's one
  GGUF reader (``llmroute._gguf``)

llama_cpp itself is imported on first use, never by importing this package.
"""

from __future__ import annotations

from .adapter import LlamaCpp
from .model_file import DEFAULT_MODEL_FILE, DEFAULT_MODEL_PACKAGE, check_gguf, default_model_path

__all__ = ["DEFAULT_MODEL_FILE", "DEFAULT_MODEL_PACKAGE", "LlamaCpp", "check_gguf", "default_model_path"]
