"""Complexity features: cheap text cues of how hard a prompt is, each roughly in [0, 1].

They read the ask (the last paragraph of the last user message, capped) plus the total length
of the conversation: length, vocabulary, digits, code/math/reasoning/multi-step cues. Per
request and pure Python, so every step is a single pass (``str.translate``, set intersections).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..._text import message_text
from ..._types import Message

__all__ = ["FEATURES", "features"]

_MIN_DENSITY_CHARS = 200
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
        text = message_text(message)
        if text is None:  # no content (an assistant's tool calls): neither counted nor an ask
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
