"""Complexity: score how hard a request is (0..1), map the score to a tier, prefer models of that tier.

The default scorer is a small logistic model over cheap text features (length, vocabulary,
code/math/reasoning/multi-step cues), fitted offline and shipped as JSON: no network, API key,
GPU or model download. ``Complexity.fit`` refits it on a user's own labelled outcomes.
"""

from __future__ import annotations

import bisect
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Message, Model, Request, Verdict
from ..errors import ConfigError

__all__ = ["Complexity", "LinearScorer", "features"]

DEFAULT_TIERS = ("simple", "standard", "complex")
_DEFAULT_FILE = Path(__file__).with_name("complexity_default.json")
_MIN_DENSITY_CHARS = 200
_EDGE = 0.01
_ASK_CHARS = 1000  # features read the end of the last user message: where the ask usually is

_COMMON = frozenset(
    "the of and to a in is it you that he was for on are as with his they i at be this have from or one had "
    "by word but not what all were we when your can said there use an each which she do how their if will up "
    "other about out many then them these so some her would make like him into time has look two more write go "
    "see number no way could people my than first water been call who its now find long down day did get come "
    "made may part".split()
)
_CODE = frozenset(
    "def class return function python java javascript sql regex algorithm code program implement compile "
    "array list string integer loop recursion variable method struct pointer api bug debug refactor script "
    "query json html css".split()
)
_MATH = frozenset(
    "equation solve calculate compute probability integral derivative sum product ratio percent percentage "
    "average mean median theorem proof matrix vector polynomial factor prime divisible fraction formula "
    "estimate".split()
)
_REASON = frozenset(
    "why explain prove derive analyze analyse compare evaluate justify reason reasoning implication implications "
    "conclude conclusion infer inference hypothesis cause causes tradeoff tradeoffs critique assess argue "
    "contrast interpret".split()
)
_MULTI = frozenset("then after before first second third finally next additionally also steps step".split())
_CONSTRAINT = frozenset("must should without exactly least most only ensure given unless except constraint constraints".split())
_NEGATION = frozenset("not never no none neither nor cannot isn't doesn't don't won't".split())
_PHRASES = ("step by step", "how many", "how much", "most likely", "best explains", "what if", "trade-off")
_PUNCT = "()[]{}<>:;,_=+*/\\|^%$#`~"
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACE_OUT = str.maketrans({c: " " for c in ".,;:!?()[]{}\"'`<>=+*/\\|^%$#~"})

FEATURES = (
    "log_chars", "log_total_chars", "avg_word_len", "long_words", "rare_words", "digits", "code", "math",
    "reason", "multi", "constraint", "negation", "phrases", "uppercase", "punct",
)


def _last_user_text(messages: Sequence[Message]) -> tuple[str, int]:
    """The last user message's text and the total characters of all text."""
    total = 0
    last = ""
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            text = "\n".join(p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str))
        else:
            continue
        total += len(text)
        if message.get("role") == "user":
            last = text
    return last, total


def features(messages: Sequence[Message] | str) -> dict[str, float]:
    """The feature values the linear scorer reads; each roughly in [0, 1]."""
    if isinstance(messages, str):
        text, total = messages, len(messages)
    else:
        text, total = _last_user_text(messages)
    # the ask: the last paragraph (few-shot examples and context come before it), capped
    cut = text.rstrip()
    para = cut.rfind("\n\n")
    ask = cut[para + 2 :] if para != -1 and len(cut) - para > 20 else cut
    ask = ask[-_ASK_CHARS:]
    n = len(ask)
    if not n:
        return dict.fromkeys(FEATURES, 0.0) | {"log_total_chars": math.log1p(total) / 9}
    dense = max(n, _MIN_DENSITY_CHARS)  # a few symbols in a one-liner are not a "dense" prompt
    low = ask.lower()
    words = low.translate(_SPACE_OUT).split()
    nw = max(len(words), 1)
    unique = set(words)

    def count(vocab: frozenset[str]) -> int:
        return sum(words.count(w) for w in unique & vocab)

    def hits(vocab: frozenset[str], scale: float) -> float:
        return min(count(vocab) / scale, 1.0)

    letters = sum(len(w) for w in words)
    classes = ask.translate(_CLASSES)
    return {
        "log_chars": math.log1p(len(ask)) / 8,
        "log_total_chars": math.log1p(total) / 9,
        "avg_word_len": letters / nw / 10,
        "long_words": sum(words.count(w) for w in unique if len(w) >= 9) / nw,
        "rare_words": 1.0 - count(_COMMON) / nw if words else 0.0,
        "digits": min(classes.count("\x01") / dense * 10, 1.0),
        "code": hits(_CODE, 5) if not ("```" in ask or "def " in ask) else 1.0,
        "math": hits(_MATH, 3),
        "reason": hits(_REASON, 3),
        "multi": hits(_MULTI, 4),
        "constraint": hits(_CONSTRAINT, 4),
        "negation": hits(_NEGATION, 3),
        "phrases": min(sum(p in low for p in _PHRASES) / 2, 1.0),
        "uppercase": min(classes.count("\x02") / dense * 5, 1.0),
        "punct": min(classes.count("\x03") / dense * 10, 1.0),
    }


# one translate marks the three character classes the density features count (the control
# characters used as marks are dropped from the input first)
_CLASSES = str.maketrans(
    {"\x01": None, "\x02": None, "\x03": None}
    | dict.fromkeys(map(ord, _DIGITS), "\x01")
    | dict.fromkeys(map(ord, _UPPER), "\x02")
    | dict.fromkeys(map(ord, _PUNCT), "\x03")
)


@dataclass(frozen=True)
class LinearScorer:
    """A logistic model over :func:`features`: standardise, weigh, squash to (0, 1).

    With ``quantiles`` (the model's outputs at the 0th..100th percentile of the prompts it was
    fitted on) the score is about that percentile instead (0.01 + 0.98 x percentile; the outer 1%
    at each end for prompts outside the fitted range): 0.8 means harder-looking than about 80%
    of them, so tier thresholds read as shares of traffic.
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    thresholds: tuple[float, float]
    info: Mapping[str, Any]
    quantiles: tuple[float, ...] = ()

    def probability(self, messages: Sequence[Message] | str) -> float:
        """The logistic model's output: how likely a small model fails the prompt."""
        f = features(messages)
        z = self.bias
        for name, mu, sd, w in zip(self.names, self.mean, self.scale, self.weights, strict=True):
            z += w * (f.get(name, 0.0) - mu) / sd
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def __call__(self, messages: Sequence[Message] | str) -> float:
        p = self.probability(messages)
        q = self.quantiles
        if not q:
            return p
        # inside the fitted range: 0.01 + 0.98 x percentile; outside it, the last 1% at each end
        # keeps the order of prompts easier or harder than anything seen in fitting
        if p <= q[0]:
            return _EDGE * p / q[0] if q[0] > 0 else 0.0
        if p >= q[-1]:
            return 1.0 - _EDGE * (1.0 - p) / (1.0 - q[-1]) if q[-1] < 1 else 1.0
        i = bisect.bisect_right(q, p)
        lo, hi = q[i - 1], q[i]
        within = (p - lo) / (hi - lo) if hi > lo else 0.0
        return _EDGE + (1.0 - 2 * _EDGE) * (i - 1 + within) / (len(q) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "llmroute.complexity.linear/1",
            "features": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "thresholds": list(self.thresholds),
            "quantiles": list(self.quantiles),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "complexity") -> LinearScorer:
        try:
            if data.get("kind") != "llmroute.complexity.linear/1":
                raise ValueError(f"unknown kind {data.get('kind')!r}")
            names = tuple(str(n) for n in data["features"])
            unknown = sorted(set(names) - set(FEATURES))
            if unknown:
                raise ValueError(f"unknown features {unknown}")
            vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
            if any(len(v) != len(names) for v in vectors) or any(s <= 0 for s in vectors[1]):
                raise ValueError("mean/scale/weights must match features, scale > 0")
            lo, hi = (float(t) for t in data["thresholds"])
            quantiles = tuple(float(v) for v in data.get("quantiles", ()))
            if quantiles and (len(quantiles) < 2 or list(quantiles) != sorted(quantiles)):
                raise ValueError("quantiles must be ascending, at least two")
            info = dict(data.get("info", {}))
            return cls(names, vectors[0], vectors[1], vectors[2], float(data["bias"]), (lo, hi), info, quantiles)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a complexity scorer: {exc}", path=where) from None


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (small, dense, symmetric positive definite)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit_logistic(rows: Sequence[Sequence[float]], labels: Sequence[float], l2: float = 1.0, iterations: int = 25) -> tuple[list[float], float]:
    """L2-regularised logistic regression by Newton's method; labels may be soft (in [0, 1])."""
    d = len(rows[0])
    w = [0.0] * (d + 1)  # last is the bias, not regularised
    for _ in range(iterations):
        grad = [0.0] * (d + 1)
        hess = [[0.0] * (d + 1) for _ in range(d + 1)]
        for x, y in zip(rows, labels, strict=True):
            xb = [*x, 1.0]
            z = sum(wi * xi for wi, xi in zip(w, xb, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g, h = p - y, max(p * (1 - p), 1e-9)
            for i in range(d + 1):
                grad[i] += g * xb[i]
                hi = h * xb[i]
                row = hess[i]
                for j in range(i, d + 1):
                    row[j] += hi * xb[j]
        for i in range(d + 1):
            for j in range(i):
                hess[i][j] = hess[j][i]
            if i < d:
                grad[i] += l2 * w[i]
                hess[i][i] += l2
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w[:d], w[d]


def _quantile(values: Sequence[float], q: float) -> float:
    data = sorted(values)
    pos = q * (len(data) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


class Complexity:
    """Prefer models whose ``tier`` matches the request's complexity; neighbours follow as fallbacks.

    ``path`` loads a scorer saved with :meth:`save` (default: the shipped one). ``thresholds`` (low, high) split the score into ``tiers`` (simple / standard / complex by
    default); the scorer's own thresholds apply when not given. Nothing is dropped unless
    ``strict``: models of other tiers are ranked by distance (the stronger neighbour first on a
    tie), models without a tier last. ``metadata={"tier": ...}`` on a request overrides the score.
    """

    name = "complexity"

    def __init__(
        self,
        scorer: LinearScorer | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        thresholds: tuple[float, float] | None = None,
        tiers: Sequence[str] = DEFAULT_TIERS,
        strict: bool = False,
    ) -> None:
        if scorer is None and path is not None:
            scorer = LinearScorer.from_dict(_read_json(path), str(path))
        self.scorer = scorer or _default_scorer()
        self.tiers = tuple(tiers)
        if len(self.tiers) != 3 or len(set(self.tiers)) != 3:
            raise ConfigError(f"need three distinct tier names, got {list(tiers)}", path="complexity.tiers")
        lo, hi = thresholds if thresholds is not None else self.scorer.thresholds
        if not 0.0 <= lo <= hi <= 1.0:
            raise ConfigError(f"need 0 <= low <= high <= 1, got ({lo}, {hi})", path="complexity.thresholds")
        self.thresholds = (float(lo), float(hi))
        self.strict = strict
        self._index = {t: i for i, t in enumerate(self.tiers)}
        # per wanted tier: the tiers in preference order (nearest first, the stronger on a tie), then untiered
        self._preference: dict[str, tuple[str | None, ...]] = {
            want: (*sorted(self.tiers, key=lambda t: (abs(self._index[t] - self._index[want]), -self._index[t])), None)
            for want in self.tiers
        }

    def __repr__(self) -> str:
        return f"Complexity(thresholds={self.thresholds}, tiers={list(self.tiers)})"

    def score(self, messages: Sequence[Message] | Request | str) -> float:
        """How hard the request looks, in [0, 1]."""
        if isinstance(messages, Request):
            messages = messages.messages
        return self.scorer(messages)

    def tier(self, score: float) -> str:
        lo, hi = self.thresholds
        return self.tiers[0] if score < lo else self.tiers[1] if score < hi else self.tiers[2]

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        wanted = request.metadata.get("tier")
        if isinstance(wanted, str) and wanted in self.tiers:
            score, why = None, f"tier {wanted!r} requested"
        else:
            score = self.score(request.messages)
            wanted = self.tier(score)
            why = f"score {score:.2f} -> {wanted} (thresholds {self.thresholds[0]:.2f}/{self.thresholds[1]:.2f})"
        data = {"score": score, "tier": wanted}
        if self.strict:
            return Verdict.filter(
                candidates,
                lambda m: None if m.tier == wanted else f"tier {m.tier!r} is not {wanted!r}",
                why,
                data=data,
            )
        buckets: dict[str | None, list[str]] = {}
        for model in candidates:
            buckets.setdefault(model.tier if model.tier in self._index else None, []).append(model.name)
        keep = [name for tier in self._preference[wanted] for name in buckets.get(tier, ())]
        return Verdict(keep=tuple(keep), reason=why, data=data)

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        prompts: Sequence[Sequence[Message] | str],
        labels: Sequence[float],
        *,
        l2: float = 1.0,
        nonnegative: bool = True,
        percentile: bool = True,
        tier_shares: tuple[float, float] = (1 / 3, 2 / 3),
        info: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> Complexity:
        """A Complexity whose scorer is fitted on ``prompts`` (text or messages) and ``labels``.

        A label is how much the prompt needs a strong model, in [0, 1]: 1 when a small model
        failed it, 0 when it answered well (fractions, e.g. the share of small models that
        failed, work too). With ``percentile`` the score is the prompt's percentile among the
        fitted prompts (see :class:`LinearScorer`); tier thresholds default to their terciles.
        ``nonnegative`` keeps every weight >= 0 (more of a cue never makes a prompt easier), a
        prior that stops the fit from learning one dataset's quirks (say, that short prompts
        in it happen to be hard).
        """
        if len(prompts) != len(labels) or len(prompts) < 10:
            raise ConfigError(f"need at least 10 prompts and one label each, got {len(prompts)} and {len(labels)}", path="fit")
        if any(not 0.0 <= y <= 1.0 for y in labels):
            raise ConfigError("labels must be in [0, 1]", path="fit.labels")
        names = FEATURES
        raw = [[features(p)[k] for k in names] for p in prompts]
        mean = [sum(col) / len(col) for col in zip(*raw, strict=True)]
        scale = [
            math.sqrt(sum((v - mu) ** 2 for v in col) / len(col)) or 1.0 for col, mu in zip(zip(*raw, strict=True), mean, strict=True)
        ]
        rows = [[(v - mu) / sd for v, mu, sd in zip(r, mean, scale, strict=True)] for r in raw]
        targets = [float(y) for y in labels]
        active = list(range(len(names)))
        while True:  # with nonnegative: drop the most negative weight and refit (an active-set NNLS)
            w, bias = fit_logistic([[r[i] for i in active] for r in rows], targets, l2=l2)
            negative = [(wi, i) for wi, i in zip(w, active, strict=True) if wi < 0]
            if not nonnegative or not negative:
                break
            active.remove(min(negative)[1])
            if not active:
                w, bias = [], fit_logistic([[0.0] for _ in rows], targets, l2=l2)[1]
                break
        weights = [0.0] * len(names)
        for wi, i in zip(w, active, strict=True):
            weights[i] = wi
        fitted = LinearScorer(names, tuple(mean), tuple(scale), tuple(weights), bias, (0.0, 1.0), dict(info or {}))
        probabilities = [fitted.probability(p) for p in prompts]
        if percentile:
            quantiles = tuple(_quantile(probabilities, i / 100) for i in range(101))
            thresholds = (float(tier_shares[0]), float(tier_shares[1]))
        else:
            quantiles = ()
            thresholds = (_quantile(probabilities, tier_shares[0]), _quantile(probabilities, tier_shares[1]))
        scorer = LinearScorer(names, tuple(mean), tuple(scale), tuple(weights), bias, thresholds, fitted.info, quantiles)
        return cls(scorer, **kw)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the scorer (and these thresholds) as JSON."""
        data = self.scorer.to_dict()
        data["thresholds"] = list(self.thresholds)
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str], **kw: Any) -> Complexity:
        """A Complexity with the scorer saved at ``path``."""
        return cls(LinearScorer.from_dict(_read_json(path), str(path)), **kw)


def _read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read complexity scorer: {type(exc).__name__}: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("not a complexity scorer: expected a JSON object", path=str(path))
    return data


_default: LinearScorer | None = None


def _default_scorer() -> LinearScorer:
    global _default
    if _default is None:
        _default = LinearScorer.from_dict(json.loads(_DEFAULT_FILE.read_text(encoding="utf-8")), str(_DEFAULT_FILE))
    return _default
