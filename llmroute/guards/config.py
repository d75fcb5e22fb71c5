"""Checks a config gets before anything is built: unknown options, secrets, code it imports.

- Every option is checked against what the adapter or policy takes: a typo (``api_bse``) is an
  error with "did you mean", never silently passed on (or dropped) while the call goes to a
  default endpoint.
- Errors name the option; values that may be secret are scrubbed out of messages, not the
  whole message withheld.
- ``api_key_env`` must name a variable: a key pasted there is refused and never echoed.
- A config naming code (``type: "package.module:attr"``) imports it; that takes an explicit
  allow-list of module prefixes (``allow_imports=`` or ``LLMROUTE_ALLOW_IMPORTS``).
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import inspect
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["allowed_imports", "check_env_name", "check_import", "check_options", "did_you_mean", "scrub"]

ALLOW_ENV = "LLMROUTE_ALLOW_IMPORTS"
_allowed: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("llmroute_allowed_imports", default=())

# litellm's own call keywords an adapter config may carry besides the chat parameters
LITELLM_OPTIONS = frozenset({
    "api_version", "organization", "custom_llm_provider", "base_url", "deployment_id", "drop_params",
    "extra_headers", "extra_body", "headers", "input_cost_per_token", "output_cost_per_token",
    "vertex_project", "vertex_location", "aws_region_name", "region_name", "model_list", "caching",
    "num_retries", "max_retries", "mock_response", "user", "metadata", "thinking",
})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_KEY_PREFIXES = ("sk-", "sk_", "pk-", "gsk_", "hf_", "xai-", "ghp_", "AIza", "Bearer")


# names other libraries use for the same option
_SYNONYMS = {"api_base": "base_url", "base_url": "api_base", "timeout": "timeout_s", "key_env": "api_key_env"}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    known = set(known)
    if _SYNONYMS.get(name) in known:
        return f"; did you mean {_SYNONYMS[name]!r}?"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_options(
    factory: Any, kwargs: Mapping[str, Any], path: str, kind: str, extra: Iterable[str] = (), hidden: Iterable[str] = ()
) -> None:
    """Raise ConfigError naming the first option ``factory`` does not take (with a suggestion).

    A factory with ``**kwargs`` passes them on; ``extra`` names what it passes them to accepts
    (empty: anything, as for user classes that forward their keywords).
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    forwards = any(p.kind is p.VAR_KEYWORD for p in params.values())
    known = (named | set(extra)) - set(hidden)
    if forwards and not extra:
        return
    for option in kwargs:
        if option not in known:
            hint = did_you_mean(option, known) or f"; known: {sorted(known)}"
            raise ConfigError(f"unknown option {option!r} for {kind}{hint}", path=f"{path}.{option}")


def scrub(text: str, values: Iterable[Any]) -> str:
    """``text`` with every configured string value and key-shaped token replaced by ``***``."""
    for value in values:
        for item in _strings(value):
            if len(item) >= 4:
                text = text.replace(item, "***")
    return re.sub(r"\b(?:sk|pk|gsk|hf|xai|ghp)[-_][A-Za-z0-9_\-]{6,}", "***", text)


def rescrubbed(exc: ConfigError, values: Iterable[Any]) -> ConfigError:
    """``exc`` again, its message scrubbed of the configured values (its path kept)."""
    message = str(exc).removeprefix(f"{exc.path}: ") if exc.path else str(exc)
    return ConfigError(scrub(message, values), path=exc.path)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _strings(v)


def looks_like_key(name: str) -> bool:
    """A value that is more likely a pasted key than a variable name."""
    if name.startswith(_KEY_PREFIXES) or not _ENV_NAME.fullmatch(name):
        return True
    return len(name) >= 20 and any(c.islower() for c in name) and any(c.isdigit() for c in name)


def check_env_name(name: str) -> str:
    """``api_key_env`` names a variable; a key pasted there is refused without being shown."""
    if looks_like_key(name):
        raise ValueError(
            "must name an environment variable (such as OPENAI_API_KEY) that holds the key, not the key "
            "itself; the value is not shown"
        )
    return name


# -- code a config names ---------------------------------------------------------------------
@contextlib.contextmanager
def allowed_imports(prefixes: Iterable[str] | None) -> Iterator[None]:
    """Allow ``module:attr`` targets under these module prefixes while a config is built (on top
    of what an enclosing block allows: a command's ``--allow-import`` holds for every build in it)."""
    token = _allowed.set((*_allowed.get(), *(prefixes or ())))
    try:
        yield
    finally:
        _allowed.reset(token)


def check_import(module_name: str, path: str) -> None:
    """Refuse to import ``module_name`` for a config unless it is allowed explicitly."""
    allowed = (*_allowed.get(), *(p.strip() for p in os.environ.get(ALLOW_ENV, "").split(",") if p.strip()))
    if module_name == "llmroute" or module_name.startswith("llmroute."):
        return
    if any(p == "*" or module_name == p or module_name.startswith(p.rstrip(".") + ".") for p in allowed):
        return
    top = module_name.split(".")[0]
    raise ConfigError(
        f"importing {module_name!r} runs its code; allow it explicitly: Router.from_config(..., allow_imports=[{top!r}]), "
        f"{ALLOW_ENV}={top} or `llmroute route --allow-import {top}`",
        path=path,
    )


# -- user regexes ----------------------------------------------------------------------------
def nested_repeat(pattern: str) -> bool:
    """True for the shape that backtracks catastrophically in Python's ``re`` (which has no
    timeout): an unbounded repeat inside another, such as ``(a+)+`` or ``(\\w*\\s?)*``."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as parser

    def walk(items: Any, inside: bool) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                _, high, sub = arg
                unbounded = high == parser.MAXREPEAT or high > 100
                if unbounded and inside:
                    return True
                if walk(sub, inside or unbounded):
                    return True
            elif name == "SUBPATTERN":
                if walk(arg[-1], inside):
                    return True
            elif name == "BRANCH":
                if any(walk(b, inside) for b in arg[1]):
                    return True
            elif name in ("ASSERT", "ASSERT_NOT"):
                if walk(arg[1], inside):
                    return True
        return False

    return walk(parser.parse(pattern), False)
