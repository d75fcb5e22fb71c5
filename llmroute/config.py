"""Router configuration from YAML, JSON or a dict, validated by pydantic.

Errors name the field path and the bad value (never a secret: keys are read from environment
variables named in the config, and fields that look secret are never echoed)::

    models:
      - name: gpt-4o-mini
        hosting: api
        tier: standard
        price: {input: 0.15, output: 0.60}          # USD per 1M tokens
        context_window: 128000
        adapter: {type: litellm, model: openai/gpt-4o-mini, api_key_env: OPENAI_API_KEY}
    policies:
      - {type: privacy}
      - {type: "my_package.policies:by_tenant"}      # any importable callable or class
    router:
      default_output_tokens: 256
      state: {type: redis, url_env: LLMROUTE_REDIS_URL, prefix: myapp}   # shared by every worker
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ._files import read_mapping
from ._types import Model, Price
from .errors import ConfigError
from .guards.config import (
    LITELLM_OPTIONS,
    allowed_imports,
    check_env_name,
    check_import,
    check_options,
    did_you_mean,
    rescrubbed,
    scrub,
)

if TYPE_CHECKING:
    from .router import Router

__all__ = ["AdapterConfig", "ModelConfig", "PolicyConfig", "RouterConfig", "load_config", "load_router"]

_SECRET_WORDS = ("key", "secret", "token", "password")

# Built-in names; anything else must be "package.module:attribute".
ADAPTERS = {
    "litellm": "llmroute.adapters.litellm:LiteLLM",
    "openai": "llmroute.adapters.openai:OpenAI",
    "llamacpp": "llmroute.adapters.llamacpp:LlamaCpp",
    "function": "llmroute.adapters.testing:Function",
}
POLICIES = {
    "privacy": "llmroute.policies:Privacy",
    "complexity": "llmroute.policies:Complexity",
    "cost": "llmroute.policies:Cost",
    "latency": "llmroute.policies:Latency",
    "fit": "llmroute.policies:Fit",
    "task": "llmroute.policies.task:Task",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceConfig(_Strict):
    """Either per-token prices, or the hardware cost a self-run model amortises."""

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    usd_per_hour: float | None = Field(default=None, ge=0)
    tokens_per_second: float | None = Field(default=None, gt=0)
    input_tokens_per_second: float | None = Field(default=None, gt=0)  # prompt processing rate
    utilization: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _one_way(self) -> PriceConfig:
        per_token = self.input is not None or self.output is not None
        hardware = self.usd_per_hour is not None or self.tokens_per_second is not None or self.input_tokens_per_second is not None
        if per_token and hardware:
            raise ValueError("give either input/output prices or usd_per_hour/tokens_per_second, not both")
        if hardware and (self.usd_per_hour is None or self.tokens_per_second is None):
            raise ValueError("usd_per_hour and tokens_per_second go together")
        return self

    def build(self) -> Price:
        if self.usd_per_hour is not None and self.tokens_per_second is not None:
            return Price.amortized(
                usd_per_hour=self.usd_per_hour,
                tokens_per_second=self.tokens_per_second,
                utilization=self.utilization,
                input_tokens_per_second=self.input_tokens_per_second,
            )
        return Price(input=self.input or 0.0, output=self.output or 0.0)


class AdapterConfig(BaseModel):
    """``type`` picks the adapter; every other field is passed to it as a keyword."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    api_key_env: str | None = None

    @field_validator("api_key_env")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        return None if value is None else check_env_name(value)

    def key_missing(self) -> bool:
        return self.api_key_env is not None and not os.environ.get(self.api_key_env)

    def build(self, path: str) -> Any:
        factory = _resolve(self.type, ADAPTERS, f"{path}.type")
        kwargs = dict(self.model_extra or {})
        _check_fields(self.type, factory, kwargs, path)
        if self.api_key_env is not None:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ConfigError(f"environment variable {self.api_key_env} is not set", path=f"{path}.api_key_env")
            kwargs["api_key"] = key
        try:
            return factory(**kwargs)
        except ConfigError as exc:
            raise rescrubbed(exc, kwargs.values()) from None
        except Exception as exc:
            message = scrub(str(exc), kwargs.values())
            raise ConfigError(f"could not build adapter {self.type!r}: {type(exc).__name__}: {message}", path=path) from None


class ModelConfig(_Strict):
    """One model. ``catalog: <id>`` fills every field not given here from the built-in catalog
    (llmroute.catalog), and without an ``adapter`` calls the entry's litellm id."""

    name: str = Field(min_length=1)
    catalog: str | None = None
    adapter: AdapterConfig | None = None
    hosting: Literal["local", "self_hosted", "api"] = "api"
    hosting_override: bool = False  # accept a label more private than the route implies (warns)
    price: PriceConfig = PriceConfig()
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    tier: str | None = None
    capabilities: list[Literal["tools", "vision", "json"]] = []
    scores: dict[str, float] = {}
    license: str | None = None
    open_weights: bool | None = None
    metadata: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _name_from_catalog(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "name" not in data and isinstance(data.get("catalog"), str):
            return {**data, "name": data["catalog"]}
        return data

    @model_validator(mode="after")
    def _adapter_or_catalog(self) -> ModelConfig:
        if self.adapter is None and self.catalog is None:
            raise ValueError("give an adapter, or a catalog entry whose litellm id is called")
        return self

    def key_missing(self) -> bool:
        return self.adapter is not None and self.adapter.key_missing()

    def build(self, path: str, adapter: Any = None) -> Model:
        """The Model; ``adapter`` replaces the configured one (offline replay builds none)."""
        if adapter is None and self.adapter is not None:
            adapter = self.adapter.build(f"{path}.adapter")
        if self.catalog is not None:
            return self._from_catalog(path, adapter)
        return Model(
            name=self.name,
            adapter=adapter,
            hosting=self.hosting,
            price=self.price.build(),
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            tier=self.tier,
            capabilities=frozenset(self.capabilities),
            scores=dict(self.scores),
            license=self.license,
            open_weights=self.open_weights,
            metadata=dict(self.metadata),
            hosting_override=self.hosting_override,
        )

    def _from_catalog(self, path: str, adapter: Any) -> Model:
        from .economics.catalog import get

        try:
            entry = get(self.catalog or "")
        except ConfigError as exc:
            raise ConfigError(str(exc).removeprefix("catalog: "), path=f"{path}.catalog") from None
        given = self.model_fields_set - {"name", "catalog", "adapter", "hosting", "price"}
        overrides: dict[str, Any] = {field: getattr(self, field) for field in given}
        if "capabilities" in overrides:
            overrides["capabilities"] = frozenset(self.capabilities)
        return entry.to_model(
            adapter,
            name=self.name,
            hosting=self.hosting if "hosting" in self.model_fields_set else None,
            price=self.price.build() if "price" in self.model_fields_set else None,
            **overrides,
        )


class PolicyConfig(BaseModel):
    """``type`` picks the policy; every other field is passed to it as a keyword."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str

    def build(self, path: str) -> Any:
        target = _resolve(self.type, POLICIES, f"{path}.type")
        kwargs = dict(self.model_extra or {})
        if not isinstance(target, type) and not kwargs:
            return target  # a plain function policy
        check_options(target, kwargs, path, f"policy {self.type!r}")
        try:
            return target(**kwargs)
        except ConfigError as exc:
            raise rescrubbed(exc, kwargs.values()) from None
        except Exception as exc:
            message = scrub(str(exc), kwargs.values())
            raise ConfigError(f"could not build policy {self.type!r}: {type(exc).__name__}: {message}", path=path) from None


class StateConfig(_Strict):
    """Where budgets, breakers and latency samples live: this process (memory) or Redis.

    The URL (which may carry a password) comes from ``url`` or, better, the environment variable
    named by ``url_env``; it is never echoed in errors.
    """

    type: Literal["memory", "redis"] = "memory"
    url: SecretStr | None = None
    url_env: str | None = None
    prefix: str = "llmroute"
    timeout_s: float = Field(default=0.25, gt=0)
    retry_after_s: float = Field(default=1.0, gt=0)
    lazy: bool = False

    @model_validator(mode="after")
    def _fits_type(self) -> StateConfig:
        if self.type == "memory" and (self.url is not None or self.url_env is not None):
            raise ValueError("url and url_env need type: redis")
        if self.url is not None and self.url_env is not None:
            raise ValueError("give url or url_env, not both")
        return self

    def build(self) -> Any:
        from .state import InMemoryStore

        if self.type == "memory":
            return InMemoryStore()
        from .state.redis import RedisStore

        return RedisStore(
            None if self.url is None else self.url.get_secret_value(),
            url_env=self.url_env,
            prefix=self.prefix,
            timeout_s=self.timeout_s,
            retry_after_s=self.retry_after_s,
            lazy=self.lazy,
        )


class RouterSettings(_Strict):
    default_output_tokens: int = Field(default=256, gt=0)
    fallback: bool = True
    max_attempts: int | None = Field(default=None, gt=0)
    fallback_on_content_filter: bool = False
    # llmroute.reliability.RetryPolicy / BreakerPolicy fields; ``breaker: false`` switches breakers off
    retry: dict[str, float | int | None] | None = None
    breaker: dict[str, float | int | None] | Literal[False] | None = None
    feedback: str | None = None  # a .jsonl path: router.feedback ratings go there (llmroute.eval.feedback)
    state: StateConfig | None = None  # one store for the breakers and every stateful policy


class RouterConfig(_Strict):
    models: list[ModelConfig] = Field(min_length=1)
    policies: list[PolicyConfig] = []
    router: RouterSettings = RouterSettings()
    _folder: Path | None = PrivateAttr(default=None)  # the config file's folder: where module:attr types may live

    @model_validator(mode="after")
    def _unique_names(self) -> RouterConfig:
        seen: set[str] = set()
        for i, m in enumerate(self.models):
            if m.name in seen:
                raise ValueError(f"models[{i}].name: duplicate model name {m.name!r}")
            seen.add(m.name)
        return self

    def missing_keys(self) -> dict[str, str]:
        """Models whose API key variable is unset: name -> variable."""
        return {m.name: (m.adapter.api_key_env if m.adapter else None) or "" for m in self.models if m.key_missing()}

    def build(self, *, skip_missing_keys: bool = False, allow_imports: Sequence[str] | None = None, **router_kw: Any) -> Router:
        """The Router; with ``skip_missing_keys`` models whose key is unset are left out.
        ``allow_imports``: module prefixes whose ``module:attr`` types the config may import."""
        with allowed_imports(allow_imports):
            return self._build(skip_missing_keys, router_kw)

    def _build(self, skip_missing_keys: bool, router_kw: dict[str, Any]) -> Router:
        from .router import Router

        with _importing_from(self._folder):
            models = [
                m.build(f"models[{i}]")
                for i, m in enumerate(self.models)
                if not (skip_missing_keys and m.key_missing())
            ]
            if not models:
                raise ConfigError("no model left: every model's API key variable is unset", path="models")
            policies = [p.build(f"policies[{i}]") for i, p in enumerate(self.policies)]
        settings = self.router.model_dump(exclude={"state"}) | router_kw
        try:
            if self.router.state is not None and "state_store" not in router_kw:
                settings["state_store"] = self.router.state.build()
            return Router(models, policies, **settings)
        except ConfigError as exc:  # retry/breaker/state settings name their own fields; say where they sit
            if exc.path and exc.path.split(".")[0] in ("retry", "breaker", "state"):
                raise ConfigError(str(exc).removeprefix(f"{exc.path}: "), path=f"router.{exc.path}") from None
            raise


def _check_fields(kind: str, factory: Any, kwargs: Mapping[str, Any], path: str) -> None:
    """Every option the adapter (or what it passes them on to) takes; anything else is a typo."""
    if kind == "openai" and "api_key" in kwargs:  # the value is never echoed: only that it should not be here
        raise ConfigError("a key is not written in the config: put it in an environment variable and name it with api_key_env", path=f"{path}.api_key")
    extra: frozenset[str] = frozenset()
    if kind == "litellm":
        from ._request import PARAMS

        extra = LITELLM_OPTIONS | frozenset(PARAMS)
    elif kind == "llamacpp":
        extra = _llama_options()
    check_options(factory, kwargs, path, f"adapter type {kind!r}", extra | {"api_key_env"}, hidden={"api_key"} if kind == "openai" else set())


def _llama_options() -> frozenset[str]:
    """llama_cpp.Llama's own keywords, which LlamaCpp passes on (empty when it is not installed)."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return frozenset()
    import inspect

    return frozenset(inspect.signature(Llama).parameters) - {"kwargs", "self"}


def _resolve(name: str, builtins: Mapping[str, str], path: str) -> Any:
    target = builtins.get(name, name)
    if ":" not in target:
        raise ConfigError(f"unknown type {name!r}; use one of {sorted(builtins)} or 'package.module:attribute'", path=path)
    module_name, _, attr = target.partition(":")
    check_import(module_name, path)
    try:
        module = import_module(module_name)
    except ImportError as exc:
        where = ", ".join(str(f) for f in _search_folders())
        raise ConfigError(
            f"cannot import {target!r}: {exc} (looked in {where} and sys.path); put its folder on PYTHONPATH",
            path=path,
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r}", path=path) from None


_CONFIG_FOLDER: ContextVar[Path | None] = ContextVar("llmroute_config_folder", default=None)


@contextmanager
def _importing_from(folder: Path | None) -> Iterator[None]:
    token = _CONFIG_FOLDER.set(folder)
    try:
        yield
    finally:
        _CONFIG_FOLDER.reset(token)


def _search_folders() -> list[Path]:
    folder = _CONFIG_FOLDER.get()
    return [f for f in dict.fromkeys([folder, Path.cwd()]) if f is not None]


def import_module(name: str) -> Any:
    """Import ``name`` for a config's ``module:attr`` type: from sys.path, else from the config
    file's folder, else from the working directory (the ``llmroute`` command does not put either
    on sys.path, so a policy module beside the config would not be found otherwise)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.partition(".")[0]
        if exc.name != top:
            raise  # the module was found; something it imports is missing
        for folder in _search_folders():
            if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
                sys.path.insert(0, str(folder))
                try:
                    return importlib.import_module(name)
                finally:
                    sys.path.remove(str(folder))
        raise


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def load_config(source: str | PathLike[str] | Mapping[str, Any]) -> RouterConfig:
    """Validate a config (YAML/JSON path or dict); ConfigError names the first bad field."""
    data = read_mapping(source)
    try:
        config = RouterConfig.model_validate(data)
        if not isinstance(source, Mapping):
            config._folder = Path(source).resolve().parent
        return config
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _location(tuple(err["loc"]))
        hint = ""
        if err["type"] == "extra_forbidden" and err["loc"]:
            hint = did_you_mean(str(err["loc"][-1]), _fields_at(tuple(err["loc"][:-1])))
        secret = any(w in where.lower() for w in _SECRET_WORDS)
        bad = err.get("input")
        shown = repr(bad) if isinstance(bad, (str, int, float, bool)) or bad is None else ""
        secret = secret or scrub(shown, ()) != shown  # a key-shaped value is never echoed, wherever it sits
        value = "" if secret or err["type"] == "missing" or not shown or len(shown) > 80 else f" (got {shown})"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message, value = "unknown option", ""
        raise ConfigError(f"{message}{value}{hint}{more}", path=None if where == "(root)" else where) from None


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the config model at ``loc`` (for "did you mean")."""
    model: Any = RouterConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        found = [a for a in (field.annotation, *_args(field.annotation)) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = found[0] if found else None
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _args(annotation: Any) -> list[Any]:
    import typing

    out: list[Any] = []
    for arg in typing.get_args(annotation):
        out.extend([arg, *_args(arg)])
    return out


def load_router(source: str | PathLike[str] | Mapping[str, Any], **kw: Any) -> Router:
    """Validate a config and build its Router (``allow_imports=[...]``: see RouterConfig.build)."""
    return load_config(source).build(**kw)
