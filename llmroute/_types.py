"""The value types every part of llmroute shares: what goes in, what was decided, what came out."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from ._validate import number, one_of
from .errors import ConfigError

if TYPE_CHECKING:
    from .adapters.base import Adapter
    from .cascade import CascadeResult
    from .errors import LLMRouteError

Hosting = Literal["local", "self_hosted", "api"]
Capability = Literal["tools", "vision", "json"]
Classification = Literal["public", "internal", "confidential", "restricted"]
HOSTINGS: frozenset[str] = frozenset(get_args(Hosting))
CAPABILITIES: frozenset[str] = frozenset(get_args(Capability))
CLASSIFICATIONS: tuple[str, ...] = get_args(Classification)

Message = Mapping[str, Any]

_REQUEST_IDS = itertools.count(1)
_PROCESS = os.urandom(4).hex()  # request ids stay unique across the processes sharing a store


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens."""

    input: float = 0.0
    output: float = 0.0

    def __post_init__(self) -> None:
        number(self.input, "price.input", minimum=0)
        number(self.output, "price.output", minimum=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for one call with these token counts."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000

    @classmethod
    def amortized(
        cls,
        *,
        usd_per_hour: float,
        tokens_per_second: float,
        utilization: float = 1.0,
        input_tokens_per_second: float | None = None,
    ) -> Price:
        """Price of a self-run model from what its hardware costs and what it sustains.

        ``utilization`` is the share of paid hours spent generating; idle hours are paid too.
        ``input_tokens_per_second`` (prompt processing, far faster than generation) prices
        prompt tokens on their own; without it they cost what generated tokens do.
        """
        if usd_per_hour < 0 or tokens_per_second <= 0 or not 0 < utilization <= 1:
            raise ConfigError(
                "need usd_per_hour >= 0, tokens_per_second > 0 and 0 < utilization <= 1",
                path="price",
            )
        number(input_tokens_per_second, "price.input_tokens_per_second", minimum=0, exclusive_minimum=True, allow_none=True)

        def per_million(rate: float) -> float:
            return usd_per_hour / (rate * 3600 * utilization) * 1_000_000

        output = per_million(tokens_per_second)
        return cls(input=per_million(input_tokens_per_second or tokens_per_second), output=output)


@dataclass(frozen=True, eq=False)
class Model:
    """One model the router may send requests to, and what the policies need to know of it."""

    name: str
    adapter: Adapter
    hosting: Hosting = "api"
    price: Price = field(default_factory=Price)
    context_window: int | None = None
    max_output_tokens: int | None = None
    tier: str | None = None
    capabilities: frozenset[str] = frozenset()
    scores: Mapping[str, float] = field(default_factory=dict)
    license: str | None = None
    open_weights: bool | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # accept a hosting label more private than the adapter's route implies (see adapters/_hosting.py)
    hosting_override: bool = False

    def __post_init__(self) -> None:
        where = f"models[{self.name!r}]"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"name must be a non-empty string, got {self.name!r}", path="models")
        one_of(self.hosting, sorted(HOSTINGS), f"{where}.hosting")
        if not isinstance(self.price, Price):
            raise ConfigError(f"must be a Price, got {self.price!r}", path=f"{where}.price")
        for attr in ("context_window", "max_output_tokens"):
            number(getattr(self, attr), f"{where}.{attr}", minimum=0, exclusive_minimum=True, integer=True, allow_none=True)
        caps = frozenset(self.capabilities)
        unknown = caps - CAPABILITIES
        if unknown:
            raise ConfigError(
                f"unknown {sorted(unknown)}; known: {sorted(CAPABILITIES)}",
                path=f"{where}.capabilities",
            )
        object.__setattr__(self, "capabilities", caps)
        for method in ("complete", "acomplete", "stream", "astream"):
            if not callable(getattr(self.adapter, method, None)):
                raise ConfigError(
                    f"adapter {type(self.adapter).__name__} has no {method}() method",
                    path=f"{where}.adapter",
                )

    def __repr__(self) -> str:
        return f"Model({self.name!r}, hosting={self.hosting!r}, tier={self.tier!r}, adapter={self.adapter!r})"


@dataclass(frozen=True)
class Request:
    """A validated chat request: OpenAI-style messages, call parameters and routing metadata."""

    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    user: str | None = None
    tenant: str | None = None
    tags: frozenset[str] = frozenset()
    classification: Classification | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None  # pinned model name
    stream: bool = False
    # Unique per call: names the call in audit records and ties a stateful policy's hold to it.
    id: str = field(default_factory=lambda: f"req-{next(_REQUEST_IDS)}-{_PROCESS}", compare=False)
    # The router's expectation of output tokens when the request sets no max_tokens.
    default_output_tokens: int = field(default=256, compare=False, repr=False)

    @cached_property
    def text(self) -> str:
        """All text content of every message, joined: what detectors and scorers read."""
        from ._text import messages_text

        return messages_text(self.messages)

    @cached_property
    def input_tokens(self) -> int:
        """Estimated prompt tokens (offline, fast; see llmroute.tokens)."""
        from .tokens import estimate_messages_tokens

        return estimate_messages_tokens(self.messages)

    @property
    def max_tokens(self) -> int | None:
        value = self.params.get("max_tokens", self.params.get("max_completion_tokens"))
        return value if isinstance(value, int) else None

    @property
    def output_tokens(self) -> int:
        """Expected output tokens: ``max_tokens``, else the router's ``default_output_tokens``.
        The one expectation the decision, the Cost and Fit policies and budgets all use."""
        return self.max_tokens or self.default_output_tokens

    @cached_property
    def needs(self) -> frozenset[str]:
        """Capabilities this request needs from a model."""
        needs = set()
        if self.params.get("tools"):
            needs.add("tools")
        fmt = self.params.get("response_format")
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            needs.add("json")
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, list) and any(
                isinstance(p, Mapping) and p.get("type") == "image_url" for p in content
            ):
                needs.add("vision")
        return frozenset(needs)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A hard limit a policy sets: it holds for every attempt, retries and fallbacks included.

    Each field that is set narrows which models may serve the request. ``redact``, when set,
    lets a model outside ``hosting`` serve it on a redacted copy only: ``redact(messages)``
    returns an object with ``messages`` (nothing sensitive left) and ``restore(text)``, and
    raises when it cannot redact, which keeps such models out (fail closed).
    """

    name: str
    reason: str
    hosting: frozenset[str] | None = None
    models: frozenset[str] | None = None
    max_cost: float | None = None  # USD, estimated for this request
    data: Mapping[str, Any] = field(default_factory=dict)
    redact: Callable[[tuple[Message, ...]], Redacted] | None = None
    needs: frozenset[str] | None = None  # capabilities every serving model must have (tools, json, vision)

    def redacts(self, model: Model) -> bool:
        """Whether ``model`` may only see a redacted copy of the request."""
        return self.redact is not None and self.hosting is not None and model.hosting not in self.hosting

    def violation(self, model: Model, estimated_cost: float | None) -> str | None:
        """Why ``model`` may not serve the request, or None when it may (redacted, if ``redacts``).

        A cost cap fails closed: a model whose cost cannot be estimated (price unknown) violates it.
        """
        if self.hosting is not None and model.hosting not in self.hosting and self.redact is None:
            allowed = ", ".join(sorted(self.hosting))
            return f"{self.name}: {self.reason}; hosting {model.hosting!r} not in {{{allowed}}}"
        if self.models is not None and model.name not in self.models:
            return f"{self.name}: {self.reason}; model not allowed"
        if self.needs and not self.needs <= model.capabilities:
            return f"{self.name}: {self.reason}; lacks {', '.join(sorted(self.needs - model.capabilities))}"
        if self.max_cost is not None and estimated_cost is None:
            return f"{self.name}: {self.reason}; price unknown"
        if self.max_cost is not None and estimated_cost is not None and estimated_cost > self.max_cost:
            return (
                f"{self.name}: {self.reason}; estimated ${estimated_cost:.6f} "
                f"> limit ${self.max_cost:.6f}"
            )
        return None


class Redacted(Protocol):
    """A redacted copy of a request's messages and the way back (see Constraint.redact)."""

    @property
    def messages(self) -> tuple[Message, ...]: ...

    def restore(self, text: str | None, before: str = "") -> str | None: ...


@dataclass(frozen=True)
class Verdict:
    """What one policy made of the candidates: who stays, in what order, who left and why.

    ``keep`` lists model names in the policy's preferred order; every candidate not kept must
    appear in ``dropped`` with a reason a person can read. ``constraints`` hold from then on.
    """

    keep: tuple[str, ...]
    dropped: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    constraints: tuple[Constraint, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    policy: str = ""

    @classmethod
    def keep_all(cls, candidates: Sequence[Model], reason: str = "", **kw: Any) -> Verdict:
        return cls(keep=tuple(m.name for m in candidates), reason=reason, **kw)

    @classmethod
    def filter(
        cls,
        candidates: Sequence[Model],
        why_not: Any,
        reason: str = "",
        **kw: Any,
    ) -> Verdict:
        """Keep the candidates for which ``why_not(model)`` returns None; drop the rest with it."""
        keep: list[str] = []
        dropped: dict[str, str] = {}
        for model in candidates:
            why = why_not(model)
            if why is None:
                keep.append(model.name)
            else:
                dropped[model.name] = str(why)
        return cls(keep=tuple(keep), dropped=dropped, reason=reason, **kw)

    @classmethod
    def ranked(cls, candidates: Sequence[Model], key: Any, reason: str = "", **kw: Any) -> Verdict:
        """Keep every candidate, sorted by ``key(model)`` (stable, ascending)."""
        return cls(keep=tuple(m.name for m in sorted(candidates, key=key)), reason=reason, **kw)


@dataclass(frozen=True)
class Decision:
    """Which model serves a request, the ranked fallbacks, and why; made without I/O."""

    model: str
    candidates: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    constraints: tuple[Constraint, ...]
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cost: float | None  # USD; None when the chosen model's price is unknown
    pinned: bool = False
    dropped: Mapping[str, str] = field(default_factory=dict)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{v.policy}: {v.reason}" for v in self.verdicts if v.reason)

    def explain(self) -> str:
        """A few lines a person can read: chosen model, fallbacks, each policy's verdict."""
        lines = [f"model: {self.model}" + (" (pinned)" if self.pinned else "")]
        if len(self.candidates) > 1:
            lines.append("fallbacks: " + ", ".join(self.candidates[1:]))
        for v in self.verdicts:
            lines.append(f"  {v.policy}: {v.reason or 'kept ' + ', '.join(v.keep)}")
            for name, why in v.dropped.items():
                lines.append(f"    dropped {name}: {why}")
        for c in self.constraints:
            lines.append(f"  constraint {c.name}: {c.reason}")
        cost = "price unknown" if self.estimated_cost is None else f"${self.estimated_cost:.6f}"
        lines.append(f"estimate: {self.estimated_input_tokens} in / {self.estimated_output_tokens} out tokens, {cost}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """What an adapter returns for one non-streamed call."""

    content: str | None
    usage: Usage
    finish_reason: str | None = "stop"
    response_id: str | None = None
    response_model: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] | None = None
    # Each generated token's log-probability, when the request asked (``logprobs=True``) and
    # the backend returned them; a cascade's confidence check reads them.
    logprobs: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One piece of a streamed reply as an adapter yields it; the last may carry usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    response_id: str | None = None
    response_model: str | None = None
    # OpenAI-shaped tool-call deltas ({"index", "id", "type", "function": {"name", "arguments"}},
    # keys present only where the provider sent them): a call's arguments arrive in pieces
    tool_calls: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to one model, as the attempt plan booked it: how it ended, how long it took,
    what it used and cost, and where it stood in the plan.

    ``cost`` is USD from the one cost function (:func:`llmroute.pricing.cost_of`); None when
    the model's price is unknown or nothing was used. ``index`` counts attempts from 0;
    ``retry`` marks a second try of the same model, ``fallback`` a model other than the chosen one.
    """

    model: str
    error: LLMRouteError | None
    elapsed_s: float
    usage: Usage | None = None
    redacted: bool = False
    cost: float | None = None
    index: int = 0
    retry: bool = False
    fallback: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class ResponseMessage:
    content: str | None
    role: str = "assistant"
    tool_calls: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    message: ResponseMessage
    finish_reason: str | None = "stop"
    index: int = 0


@dataclass(frozen=True)
class Response:
    """An OpenAI-shaped chat completion, plus the Decision and every attempt behind it.

    ``id`` is the provider's completion id; ``request_id`` is llmroute's id of the call (the
    audit record's id), which ``router.feedback`` takes to rate the answer later.
    """

    id: str
    model: str
    choices: tuple[Choice, ...]
    usage: Usage
    decision: Decision
    attempts: tuple[Attempt, ...]
    cost: float | None  # USD of the attempt that answered (a cascade: of every step); None when unknown
    created: int = field(default_factory=lambda: int(time.time()))
    object: str = "chat.completion"
    request_id: str | None = None  # Request.id: names the call in audit records and router.feedback
    cascade: CascadeResult | None = None  # every step of a cascade, its checks and why it stopped

    @property
    def content(self) -> str | None:
        return self.choices[0].message.content

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI chat.completion dict (without llmroute's extras)."""
        return {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": c.index,
                    "message": {"role": c.message.role, "content": c.message.content}
                    | ({"tool_calls": list(c.message.tool_calls)} if c.message.tool_calls else {}),
                    "finish_reason": c.finish_reason,
                }
                for c in self.choices
            ],
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
        }


@dataclass(frozen=True, slots=True)
class Delta:
    content: str | None = None
    role: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] | None = None  # as StreamEvent.tool_calls


@dataclass(frozen=True, slots=True)
class ChunkChoice:
    delta: Delta
    finish_reason: str | None = None
    index: int = 0


@dataclass(frozen=True)
class StreamChunk:
    """An OpenAI-shaped chat.completion.chunk; the last one carries usage, cost and attempts."""

    id: str
    model: str
    choices: tuple[ChunkChoice, ...]
    decision: Decision
    usage: Usage | None = None
    cost: float | None = None
    attempts: tuple[Attempt, ...] = ()
    object: str = "chat.completion.chunk"
    request_id: str | None = None  # Request.id, on every chunk (see Response.request_id)
    cascade: CascadeResult | None = None  # on the last chunk of a cascade

    @property
    def content(self) -> str:
        return self.choices[0].delta.content or "" if self.choices else ""
