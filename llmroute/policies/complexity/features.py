"""Complexity features: cheap text cues of how hard a prompt is, each roughly in [0, 1].

They read the ask (the last paragraph of the last user message, capped) plus the total length
of the conversation: length, vocabulary, digits, code/math/reasoning/multi-step cues. Per
request and pure Python, so every step is a single pass (``str.translate``, set intersections).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from ..._text import message_text
from ..._types import Message

__all__ = ["FEATURES", "VOCABULARY", "features"]

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
    "log_message_chars", "quantities", "task_prior",
)
VOCABULARY = frozenset(("avg_word_len", "long_words", "rare_words", "code", "math", "reason", "multi", "constraint", "negation", "phrases"))
"""The features read from the words one by one (cue words, word lengths, phrases): the costly ones."""

# how much a task category needs a strong model, 0..1: the prior the ``task_prior`` feature
# averages over the category cues a prompt hits (public finding: small models trail most on
# maths, code and multi-step reasoning, least on writing, role-play and chat)
TASK_PRIOR = {
    "math": 1.0, "code": 0.9, "reasoning": 0.8, "extraction": 0.5, "classification": 0.35,
    "summarisation": 0.35, "translation": 0.3, "writing": 0.15, "chat": 0.0,
}
_NO_CUE_PRIOR = 0.4
_TOKEN_STRIP = ".,;:!?()[]{}'\"<>"
_NO_DIGITS = str.maketrans(dict.fromkeys("0123456789"))
_NO_PUNCT = str.maketrans(dict.fromkeys(_PUNCT))
_UNIT_SUFFIXES = ("th", "st", "nd", "rd", "km", "kg", "cm", "mm", "ml", "px", "gb", "mb", "kb", "ms")


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


def _identifier(token: str, digits: int) -> bool:
    """A digit-bearing token that names something rather than counts it: an SSN, phone or card
    number, an order or account id (``536-22-8745``, ``+44 20``, ``INV-2291``, ``DE123456789``)."""
    if digits >= 7:
        return True
    if digits >= 5 and token.count("-") >= 2:
        return True
    if len(token) >= 6 and any(c.isalpha() for c in token):
        return not token.lower().endswith(_UNIT_SUFFIXES)
    return False


def _symbols(token: str) -> int:
    return len(token) - len(token.translate(_NO_PUNCT))


def _numbers(ask: str) -> tuple[int, int, int]:
    """(quantities, their digits, symbols inside identifiers) in the ask.

    Quantities are numbers that count or measure; identifiers are left out, and so are the
    symbols written in them and in e-mail addresses and URLs (``+1 (415)``, ``jane@x.org,``), so
    contact details read as neither maths nor notation. Neighbouring all-digit groups with 7+
    digits between them (``+1 415 555 0100``, ``4111 1111 1111 1111``) are one identifier, not
    several quantities.
    """
    quantities = digits = symbols = 0
    run_count = run_digits = run_symbols = 0  # the current run of neighbouring digit-only groups
    inside = False  # within a run already taken for an identifier
    for raw in ask.split():
        if raw.isalpha():  # most tokens: a word, no digits (ends a run, as below)
            run_count = run_digits = run_symbols = 0
            inside = False
            continue
        if "@" in raw or "://" in raw:
            symbols += _symbols(raw)
            run_count = run_digits = run_symbols = 0
            inside = False
            continue
        token = raw.strip(_TOKEN_STRIP)
        d = len(token) - len(token.translate(_NO_DIGITS))
        grouped = d > 0 and token.lstrip("+-(").rstrip(")-").replace("-", "").isdigit()
        if not grouped:
            run_count = run_digits = run_symbols = 0
            inside = False
            if d and _identifier(token, d):
                symbols += _symbols(raw)
            elif d:
                quantities += 1
                digits += d
            continue
        if inside:
            symbols += _symbols(raw)
            continue
        run_count += 1
        run_digits += d
        run_symbols += _symbols(raw)
        if run_digits >= 7 or _identifier(token, d):  # with the run before it: a phone, card or account number
            quantities -= run_count - 1
            digits -= run_digits - d
            symbols += run_symbols
            inside = True
            continue
        quantities += 1
        digits += d
    return max(quantities, 0), max(digits, 0), symbols


def features(messages: Sequence[Message] | str, names: Collection[str] | None = None) -> dict[str, float]:
    """The feature values the linear scorer reads; each roughly in [0, 1].

    Digits in identifiers (SSNs, phone and card numbers, order ids: see :func:`_identifier`)
    count neither as ``digits`` nor as ``quantities``: personal data is not maths. ``names``: the
    features the caller reads; when none of them is a vocabulary feature (``VOCABULARY``: cue
    words, word lengths, phrases), those are neither computed nor returned, and the one pass over
    the words looks up task cues only (the default scorer reads no vocabulary feature).
    """
    if isinstance(messages, str):
        text, total = messages, len(messages)
    else:
        text, total = _last_user_text(messages)
    message_chars = math.log1p(len(text)) / 9
    # the ask: the last paragraph (few-shot examples and context come before it), capped
    cut = text.rstrip()
    para = cut.rfind("\n\n")
    ask = cut[para + 2 :] if para != -1 and len(cut) - para > 20 else cut
    ask = ask[-_ASK_CHARS:]
    n = len(ask)
    if not n:
        return dict.fromkeys(FEATURES, 0.0) | {
            "log_total_chars": math.log1p(total) / 9, "log_message_chars": message_chars, "task_prior": _NO_CUE_PRIOR,
        }
    dense = max(n, _MIN_DENSITY_CHARS)  # a few symbols in a one-liner are not a "dense" prompt
    low = ask.lower()
    words = low.translate(_SPACE_OUT).split()
    vocabulary = names is None or not VOCABULARY.isdisjoint(names)
    lexicon, task_cues = _lexicons()
    counts = [0, 0, 0, 0, 0, 0, 0]  # code, math, reason, multi, constraint, negation, common
    mass = weight = 0.0
    if vocabulary:  # map/filter run the per-word steps in C; Python sees only cue words
        for entry in filter(None, map(lexicon.get, words)):
            for k in entry[0]:
                counts[k] += 1
            mass += entry[1]
            weight += entry[2]
    else:
        for m, w in filter(None, map(task_cues.get, words)):
            mass += m
            weight += w
    classes = ask.translate(_CLASSES)
    quantities, quantity_digits, id_symbols = _numbers(ask) if "\x01" in classes or "@" in ask or "://" in ask else (0, 0, 0)
    values = {
        "log_chars": math.log1p(len(ask)) / 8,
        "log_total_chars": math.log1p(total) / 9,
        "digits": min(quantity_digits / dense * 10, 1.0),
        "uppercase": min(classes.count("\x02") / dense * 5, 1.0),
        "punct": min((classes.count("\x03") - id_symbols) / dense * 10, 1.0),
        "log_message_chars": message_chars,
        "quantities": math.log1p(quantities) / 3,
        "task_prior": mass / weight if weight else _NO_CUE_PRIOR,
    }
    if not vocabulary:
        return values
    nw = max(len(words), 1)
    lengths = list(map(len, words))
    return values | {
        "avg_word_len": sum(lengths) / nw / 10,
        "long_words": len([n for n in lengths if n >= 9]) / nw,
        "rare_words": 1.0 - counts[6] / nw if words else 0.0,
        "code": min(counts[0] / 5, 1.0) if not ("```" in ask or "def " in ask) else 1.0,
        "math": min(counts[1] / 3, 1.0),
        "reason": min(counts[2] / 3, 1.0),
        "multi": min(counts[3] / 4, 1.0),
        "constraint": min(counts[4] / 4, 1.0),
        "negation": min(counts[5] / 3, 1.0),
        "phrases": min(sum(p in low for p in _PHRASES) / 2, 1.0),
    }


_LEXICONS: tuple[dict[str, tuple[tuple[int, ...], float, float]], dict[str, tuple[float, float]]] | None = None


def _lexicons() -> tuple[dict[str, tuple[tuple[int, ...], float, float]], dict[str, tuple[float, float]]]:
    """word -> (the cue counters it adds to, its task-prior mass, its task-cue weight): one
    lookup per word for every vocabulary feature and the task prior (the task policy's cues,
    word pairs left out); and the task cues alone, word -> (mass, weight), for callers that read
    no vocabulary feature."""
    global _LEXICONS
    if _LEXICONS is None:
        from ..task import _INDEX

        table: dict[str, tuple[tuple[int, ...], float, float]] = {}
        vocabularies = (_CODE, _MATH, _REASON, _MULTI, _CONSTRAINT, _NEGATION, _COMMON)
        for word in set().union(*vocabularies) | {w for w in _INDEX if " " not in w}:
            hits = _INDEX.get(word, ())
            table[word] = (
                tuple(k for k, vocab in enumerate(vocabularies) if word in vocab),
                sum(TASK_PRIOR[c] * w for c, w in hits),
                sum(w for _, w in hits),
            )
        _LEXICONS = table, {word: (entry[1], entry[2]) for word, entry in table.items() if entry[2]}
    return _LEXICONS


# one translate marks the three character classes the density features count (the control
# characters used as marks are dropped from the input first)
_CLASSES = str.maketrans(
    {"\x01": None, "\x02": None, "\x03": None}
    | dict.fromkeys(map(ord, _DIGITS), "\x01")
    | dict.fromkeys(map(ord, _UPPER), "\x02")
    | dict.fromkeys(map(ord, _PUNCT), "\x03")
)
