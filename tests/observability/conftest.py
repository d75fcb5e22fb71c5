from __future__ import annotations

import pytest

from llmroute.observability import CAPTURE_CONTENT_ENV


@pytest.fixture(autouse=True)
def no_env_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Content capture off unless a test turns it on: the developer's environment must not leak in."""
    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
