"""A catalog of well-known models: license, size, architecture, context window, prices, scores.

The built-in table lives in ``catalog.yaml``. Prices come from litellm's *bundled* price map
(read as a file, offline, without importing litellm) where it has the model, otherwise from the
table itself, and each price names its source and date. Users extend or override entries with
:meth:`Catalog.with_overrides` (a dict, or a YAML/JSON file)::

    from llmroute.economics import catalog
    model = catalog.get("gpt-4o-mini").to_model()          # a router Model, LiteLLM adapter
    cheap_open = catalog.load().filter(open_weights=True, license="apache-2.0", max_input_price=1)
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import read_mapping
from .._types import CAPABILITIES, HOSTINGS, Model, Price
from ..errors import ConfigError
from ..pricing import litellm_price_map

if TYPE_CHECKING:
    from ..adapters.base import Adapter

__all__ = [
    "Architecture",
    "Catalog",
    "Entry",
    "PriceInfo",
    "builtin",
    "get",
    "litellm_price_map",  # lives in llmroute.pricing; re-exported for catalog.litellm_price_map()
    "load",
]


@dataclass(frozen=True, slots=True)
class Architecture:
    """What memory sizing needs of a transformer: its published config.json, in short."""

    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    kv_latent_dim: int | None = None  # multi-head latent attention (DeepSeek): one latent per layer

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "kv_latent_dim":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"must be a positive integer, got {value!r}", path=f"architecture.{f.name}")

    @property
    def kv_elements_per_token(self) -> int:
        """KV-cache elements one token adds across all layers (keys and values)."""
        per_layer = self.kv_latent_dim if self.kv_latent_dim else 2 * self.kv_heads * self.head_dim
        return self.layers * per_layer


@dataclass(frozen=True, slots=True)
class PriceInfo:
    """A price and where it came from."""

    price: Price
    source: str
    as_of: str


@dataclass(frozen=True)
class Entry:
    """One catalog model. ``params_b`` is billions of parameters; scores are fractions (0.887)."""

    id: str
    name: str
    provider: str
    open_weights: bool
    license: str
    litellm: str | None = None
    price: PriceInfo | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    params_b: float | None = None
    active_params_b: float | None = None
    architecture: Architecture | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    hosting: str | None = None  # default hosting for to_model(); None: api if closed, else self_hosted
    hf_repo: str | None = None
    gguf_package: str | None = None
    gguf_file: str | None = None

    @property
    def params(self) -> float | None:
        return self.params_b * 1e9 if self.params_b is not None else None

    @property
    def active_params(self) -> float | None:
        """Parameters read per generated token (all of them unless a mixture of experts)."""
        b = self.active_params_b if self.active_params_b is not None else self.params_b
        return b * 1e9 if b is not None else None

    def gguf_path(self) -> Path | None:
        """The model file an installed package ships (found without importing the package)."""
        if not (self.gguf_package and self.gguf_file):
            return None
        spec = importlib.util.find_spec(self.gguf_package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / self.gguf_file
        return path if path.is_file() else None

    def to_model(
        self,
        adapter: Adapter | None = None,
        *,
        name: str | None = None,
        hosting: str | None = None,
        price: Price | None = None,
        **overrides: Any,
    ) -> Model:
        """A router Model from this entry; without ``adapter``, a LiteLLM one on the litellm id.

        Hosting defaults to ``api`` for the litellm route and to ``self_hosted`` for open weights
        behind your own adapter; a self-run model's price is yours to give (see
        :meth:`llmroute.economics.breakeven.SelfHosting.price`), else it is zero.
        """
        hosted_route = adapter is None  # the hosted route named by the litellm id
        if adapter is None:
            if self.litellm is None:
                raise ConfigError(
                    "has no litellm id; pass adapter=... (e.g. llmroute.adapters.LlamaCpp)",
                    path=f"catalog[{self.id!r}]",
                )
            from ..adapters.litellm import LiteLLM

            adapter = LiteLLM(self.litellm)
        default_hosting = "api" if hosted_route or not self.open_weights else "self_hosted"
        chosen = hosting or self.hosting or default_hosting
        if chosen not in HOSTINGS:
            raise ConfigError(f"must be one of {sorted(HOSTINGS)}, got {chosen!r}", path="hosting")
        # a hosted API's price says nothing of what a self-run copy costs
        listed = self.price if price is None and (chosen == "api" or self.hosting == chosen) else None
        if price is None:
            price = listed.price if listed else Price()
        kwargs: dict[str, Any] = {
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "capabilities": self.capabilities,
            "scores": dict(self.scores),
            "license": self.license,
            "open_weights": self.open_weights,
            "metadata": {"catalog_id": self.id, "provider": self.provider}
            | ({"price_source": listed.source, "price_as_of": listed.as_of} if listed else {}),
        }
        kwargs.update(overrides)
        return Model(
            name=name or self.id,
            adapter=adapter,
            hosting=chosen,  # type: ignore[arg-type]  # checked against HOSTINGS above
            price=price,
            **kwargs,
        )


class Catalog:
    """An immutable set of entries by id; lookups also accept the display name, any case."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self._entries[entry.id] = entry

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def _find(self, key: str) -> Entry | None:
        if key in self._entries:
            return self._entries[key]
        folded = key.strip().lower()
        for entry in self._entries.values():
            if folded in (entry.id.lower(), entry.name.lower()):
                return entry
        return None

    def get(self, key: str) -> Entry:
        """The entry with this id or name; ConfigError listing the known ids when none."""
        entry = self._find(key)
        if entry is None:
            raise ConfigError(f"unknown model {key!r}; known: {', '.join(sorted(self._entries))}", path="catalog")
        return entry

    def filter(
        self,
        *,
        open_weights: bool | None = None,
        license: str | Iterable[str] | None = None,
        provider: str | None = None,
        max_input_price: float | None = None,
        max_output_price: float | None = None,
        min_context: int | None = None,
    ) -> list[Entry]:
        """Entries matching every given criterion; a price limit drops entries with no price."""
        licenses = {license.lower()} if isinstance(license, str) else {x.lower() for x in license or ()}
        out = []
        for e in self:
            if open_weights is not None and e.open_weights is not open_weights:
                continue
            if licenses and e.license.lower() not in licenses:
                continue
            if provider is not None and e.provider.lower() != provider.lower():
                continue
            if max_input_price is not None and (e.price is None or e.price.price.input > max_input_price):
                continue
            if max_output_price is not None and (e.price is None or e.price.price.output > max_output_price):
                continue
            if min_context is not None and (e.context_window or 0) < min_context:
                continue
            out.append(e)
        return out

    def with_overrides(self, source: Mapping[str, Any] | str | PathLike[str]) -> Catalog:
        """A new catalog with entries added or changed from a mapping or a YAML/JSON file.

        The mapping is ``{id: {field: value}}``, optionally under a top-level ``catalog`` key;
        fields of an existing id replace the built-in ones (``architecture`` and ``scores`` merge).
        """
        data = read_mapping(source, what="catalog", shape="a mapping of model ids to fields")
        if "catalog" in data and isinstance(data["catalog"], Mapping):
            data = data["catalog"]
        merged = dict(self._entries)
        for key, raw in data.items():
            path = f"catalog[{key!r}]"
            if not isinstance(raw, Mapping):
                raise ConfigError(f"must be a mapping of fields, got {type(raw).__name__}", path=path)
            base = self._find(str(key))
            entry = _parse(str(key), raw, base=base, user=True)
            merged[entry.id] = entry
        return Catalog(merged.values())


# -- the built-in table and litellm's prices -----------------------------------------------
def _litellm_price(key: str) -> PriceInfo | None:
    prices, label = litellm_price_map()
    found = prices.get(key)
    if found is None:
        return None
    return PriceInfo(
        Price(input=round(found[0] * 1e6, 6), output=round(found[1] * 1e6, 6)),
        source=f"litellm bundled price map, key {key!r}",
        as_of=f"as bundled with {label}",
    )


_FIELDS = {f.name for f in fields(Entry)} - {"id"} | {"price_keys"}


def _parse(
    key: str,
    raw: Mapping[str, Any],
    *,
    base: Entry | None,
    user: bool,
) -> Entry:
    """One entry from its YAML fields, on top of ``base`` when it overrides one."""
    path = f"catalog[{key!r}]"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}", path=path)
    values: dict[str, Any] = {}
    for name in ("name", "provider", "license", "litellm", "hosting", "hf_repo", "gguf_package", "gguf_file"):
        if name in raw:
            if not isinstance(raw[name], str) or not raw[name]:
                raise ConfigError(f"must be a non-empty string, got {raw[name]!r}", path=f"{path}.{name}")
            values[name] = raw[name]
    if "hosting" in values and values["hosting"] not in HOSTINGS:
        raise ConfigError(f"must be one of {sorted(HOSTINGS)}, got {values['hosting']!r}", path=f"{path}.hosting")
    if "open_weights" in raw:
        if not isinstance(raw["open_weights"], bool):
            raise ConfigError(f"must be true or false, got {raw['open_weights']!r}", path=f"{path}.open_weights")
        values["open_weights"] = raw["open_weights"]
    for name in ("context_window", "max_output_tokens"):
        if name in raw:
            values[name] = _positive(raw[name], f"{path}.{name}", integer=True)
    for name in ("params_b", "active_params_b"):
        if name in raw:
            values[name] = _positive(raw[name], f"{path}.{name}", integer=False)
    if "capabilities" in raw:
        caps = raw["capabilities"]
        if not isinstance(caps, list) or not set(caps) <= CAPABILITIES:
            raise ConfigError(f"must be a list drawn from {sorted(CAPABILITIES)}, got {caps!r}", path=f"{path}.capabilities")
        values["capabilities"] = frozenset(caps)
    if "scores" in raw:
        scores = raw["scores"]
        if not isinstance(scores, Mapping) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores.values()
        ):
            raise ConfigError(f"must map benchmark names to numbers, got {scores!r}", path=f"{path}.scores")
        values["scores"] = {**(base.scores if base else {}), **{str(k): float(v) for k, v in scores.items()}}
    if "architecture" in raw:
        arch = raw["architecture"]
        if not isinstance(arch, Mapping):
            raise ConfigError("must be a mapping", path=f"{path}.architecture")
        old = {f.name: getattr(base.architecture, f.name) for f in fields(Architecture)} if base and base.architecture else {}
        try:
            values["architecture"] = Architecture(**{**old, **arch})
        except TypeError as exc:
            raise ConfigError(f"{exc}", path=f"{path}.architecture") from None
        except ConfigError as exc:
            raise ConfigError(str(exc), path=path) from None
    values["price"] = _price(key, raw, base, user)

    if base is not None:
        return replace(base, **values)
    missing = [n for n in ("provider", "open_weights", "license") if n not in values]
    if missing:
        raise ConfigError(f"a new entry needs {missing}", path=path)
    values.setdefault("name", key)
    return Entry(id=key, **values)


def _price(key: str, raw: Mapping[str, Any], base: Entry | None, user: bool) -> PriceInfo | None:
    """Built-in entries: litellm's map first, the table's price otherwise. A user's explicit
    price always wins; a user's new litellm id or price_keys is looked up in the map."""
    path = f"catalog[{key!r}]"
    explicit = _explicit_price(raw.get("price"), path, "user config" if user else "llmroute catalog")
    if user and explicit is not None:
        return explicit
    keys = raw.get("price_keys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise ConfigError(f"must be a list of strings, got {keys!r}", path=f"{path}.price_keys")
    litellm_id = raw.get("litellm")
    if keys is None and isinstance(litellm_id, str) and litellm_id:
        keys = [litellm_id, litellm_id.split("/", 1)[1]] if "/" in litellm_id else [litellm_id]
    for k in keys or ():
        found = _litellm_price(k)
        if found is not None:
            return found
    if explicit is not None:
        return explicit
    return base.price if base else None


def _explicit_price(given: Any, path: str, source: str) -> PriceInfo | None:
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise ConfigError(f"must be a mapping, got {given!r}", path=f"{path}.price")
    extra = set(given) - {"input", "output", "source", "as_of", "usd_per_hour", "tokens_per_second", "utilization"}
    if extra:
        raise ConfigError(f"unknown field(s) {sorted(extra)}", path=f"{path}.price")
    try:
        if "usd_per_hour" in given or "tokens_per_second" in given:
            price = Price.amortized(
                usd_per_hour=given.get("usd_per_hour", -1),
                tokens_per_second=given.get("tokens_per_second", 0),
                utilization=given.get("utilization", 1.0),
            )
        else:
            price = Price(input=given.get("input", 0.0), output=given.get("output", 0.0))
    except (ConfigError, TypeError) as exc:
        raise ConfigError(str(exc), path=f"{path}.price") from None
    return PriceInfo(price, source=str(given.get("source", source)), as_of=str(given.get("as_of", "unknown")))


def _positive(value: Any, path: str, *, integer: bool) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not value > 0 or math.isinf(value):
        kind = "integer" if integer else "number"
        raise ConfigError(f"must be a positive {kind}, got {value!r}", path=path)
    return value if integer else float(value)


@lru_cache(maxsize=1)
def builtin() -> Catalog:
    """The built-in catalog, prices resolved against litellm's bundled map (cached)."""
    import yaml

    text = resources.files("llmroute.economics").joinpath("catalog.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    entries = [
        _parse(str(k), v, base=None, user=False)
        for k, v in data.items()
        if not str(k).startswith("_")
    ]
    return Catalog(entries)


def load(overrides: Mapping[str, Any] | str | PathLike[str] | None = None) -> Catalog:
    """The built-in catalog, with a user's overrides applied when given."""
    base = builtin()
    return base.with_overrides(overrides) if overrides is not None else base


def get(key: str) -> Entry:
    """An entry of the built-in catalog by id or name."""
    return builtin().get(key)
