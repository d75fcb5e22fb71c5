"""Normalisation before detection, with a map back to the original offsets.

Evasions that keep a value readable to a model but hide it from a regex: full-width and other
compatibility characters (NFKC), zero-width and other format characters inside a value,
non-breaking hyphens and other dash or space variants, percent-encoding (``%40``), digits spaced
out one by one (``8 1 9 9 7 5 5 0 0``, ``185 . 57 . 27 . 81``), and e-mail addresses spelled out
(``jan dot horvath at gmx dot net``, ``name [at] host [dot] com``).
:func:`normalize` rewrites those and keeps, for every character of the result, the span of the
original text it came from, so a finding in the normalised text maps back to the original
(``Normalized.span``) and redaction still replaces the original characters.

Cost: pure-ASCII text with no ``%`` and no spelled-out address is returned as it is (a few
``in`` tests); otherwise only non-ASCII characters are visited one by one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .prefilter import Patterns, literal

__all__ = ["Normalized", "normalize"]

_DASHES = frozenset("\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u30fc")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CHAR_CACHE: dict[str, str] = {}


def _char(ch: str) -> str:
    out = _CHAR_CACHE.get(ch)
    if out is None:
        cat = unicodedata.category(ch)
        if ch in _DASHES:
            out = "-"
        elif cat == "Cf" or ch in "\u180e\u200b\ufeff":  # zero-width, joiners, bidi marks, soft hyphen
            out = ""
        elif cat == "Zs":
            out = " "
        else:
            out = unicodedata.normalize("NFKC", ch)
            if len(out) == 1 and unicodedata.category(out) == "Zs":
                out = " "
            elif len(out) == 1 and unicodedata.category(out) == "Nd":  # Arabic-Indic, Devanagari... digits: NFKC keeps them
                out = str(unicodedata.digit(out))
        if len(_CHAR_CACHE) < 4096:
            _CHAR_CACHE[ch] = out
    return out


_PERCENT = re.compile(r"%(40|2[eEbBdD]|5[fF]|20)")
_PERCENT_TO = {"40": "@", "2e": ".", "2b": "+", "2d": "-", "5f": "_", "20": " "}
_AT = re.compile(r"(?i)[ \t]*(?:[(\[{<][ \t]*at[ \t]*[)\]}>]|(?<=[ \t])at(?=[ \t]))[ \t]*")
_DOT = r"(?:[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+|\.)"
_DOMAIN = re.compile(r"(?i)[a-z0-9][a-z0-9\-]{0,62}(?:" + _DOT + r"[a-z0-9][a-z0-9\-]{0,62}){1,4}")
_LOCAL = re.compile(r"(?i)[a-z0-9][a-z0-9_%+\-]{0,63}(?:" + _DOT + r"[a-z0-9_%+\-]{1,64}){0,4}$")
_SPELLED_HINTS = ("dot", "DOT", "Dot", "[at]", "(at)", "{at}", "<at>", "[AT]", "(AT)", "[@]", "(@)")
_DOT_WORD = re.compile(r"(?i)[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+")


@dataclass(frozen=True, slots=True)
class Normalized:
    """The normalised text and, per character, where it came from in the original."""

    text: str
    starts: tuple[int, ...] | None = None  # None: identical to the original
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that normalised ``text[start:end]`` came from."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            at = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return at, at
        return self.starts[start], self.ends[end - 1]


def _apply(text: str, starts: list[int] | None, ends: list[int] | None, edits: list[tuple[int, int, str]]) -> tuple[str, list[int], list[int]]:
    """Replace each ``(a, b, new)`` region of ``text`` (sorted, disjoint), carrying the offsets."""
    if starts is None or ends is None:
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    at = 0
    for a, b, new in edits:
        out.append(text[at:a])
        new_starts += starts[at:a]
        new_ends += ends[at:a]
        if new:
            out.append(new)
            lo = starts[a] if a < len(starts) else (ends[-1] if ends else 0)
            hi = ends[b - 1] if b > a else lo
            new_starts += [lo] * len(new)
            new_ends += [hi] * len(new)
        at = b
    out.append(text[at:])
    new_starts += starts[at:]
    new_ends += ends[at:]
    return "".join(out), new_starts, new_ends


# Digits spaced out one by one ("8 1 9 9 7 5 5 0 0", 7 or more) and dotted quads with spaces
# around the dots ("185 . 57 . 27 . 81"): read as the number and the address they spell. The
# hint (plain substring tests) keeps the full patterns off most text.
_ZEROS = bytes.maketrans(b"123456789", b"000000000")


def _spaced_hint(text: str) -> bool:
    """Whether the patterns below can match: substring tests and a bytes translate (fast C
    loops) on ASCII text, a digit-led regex otherwise."""
    if " . " in text or ("\t" in text and ("\t." in text or ".\t" in text)):  # each "in": ~1 ns a character
        return True
    if text.isascii():
        return b"0 0 0 0 0 0 0" in text.encode("ascii").translate(_ZEROS)
    return _SPACED_DIGITS.search(text) is not None


# (the boundary before the first digit is checked after it, so each pattern starts with a digit
# class the engine can skip to)
_SPACED_DIGITS = re.compile(r"[0-9](?<=(?<![\w.])[0-9])(?: [0-9]){6,}(?!\w)")
_SPACED_QUAD = re.compile(r"[0-9](?<=(?<![\w.])[0-9])[0-9]{0,2}(?:[ \t]+\.[ \t]+[0-9]{1,3}){3}(?![\w.])")


def _spaced_numbers(text: str) -> list[tuple[int, int, str]]:
    edits = [(m.start(), m.end(), m.group(0).replace(" ", "")) for m in _SPACED_DIGITS.finditer(text)]
    edits += [(m.start(), m.end(), re.sub(r"[ \t]+", "", m.group(0))) for m in _SPACED_QUAD.finditer(text)]
    return sorted(edits)  # the two patterns cannot overlap: one needs dots, the other excludes them


def _spelled_emails(text: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    done = 0
    for at in _AT.finditer(text):
        if at.start() < done:
            continue
        domain = _DOMAIN.match(text, at.end())
        local = _LOCAL.search(text, max(done, at.start() - 160), at.start())
        if domain is None or local is None:
            continue
        spelled = bool(_DOT_WORD.search(domain.group(0))) or not at.group(0).strip().isalpha()
        tld = re.split(_DOT, domain.group(0))[-1]
        if not spelled or not tld.isalpha() or len(tld) < 2:
            continue
        value = _DOT_WORD.sub(".", local.group(0)) + "@" + _DOT_WORD.sub(".", domain.group(0))
        edits.append((local.start(), domain.end(), value))
        done = domain.end()
    return edits


# The three tests below as one hyperscan pass over the original text (prefilter.py); each is a
# gate for exact patterns, so the pass may say yes more often than the Python tests, never less.
_HINTS = Patterns({
    "%": b"%",
    "spaced": b"[0-9] [0-9] [0-9] [0-9] [0-9] [0-9] [0-9]|\\x20\\.\\x20|\\t\\.|\\.\\t",
    **{hint: literal(hint) for hint in _SPELLED_HINTS},
})


def _has(found: set[str] | None, original: bool, names: tuple[str, ...], current: str, test: Callable[[str], bool]) -> bool:
    """Whether ``current`` holds one of the hints ``names``: the hyperscan pass's answer while it
    is still the original text, else ``test``."""
    if found is not None and original:
        return not found.isdisjoint(names)
    return test(current)


def normalize(text: str) -> Normalized:
    """``text`` with evasions undone, and the way back to its offsets."""
    starts: list[int] | None = None
    ends: list[int] | None = None
    current = text
    found = _HINTS.present(text.encode("utf-8", "surrogatepass"))  # None: no hyperscan here
    if not text.isascii():
        edits = []
        for run in _NON_ASCII.finditer(text):
            base = run.start()
            for k, ch in enumerate(run.group(0)):
                new = _char(ch)
                if new != ch:
                    edits.append((base + k, base + k + 1, new))
        if edits:
            current, starts, ends = _apply(current, None, None, edits)
    if _has(found, current is text, ("%",), current, lambda c: "%" in c):
        edits = [(m.start(), m.end(), _PERCENT_TO[m.group(1).lower()]) for m in _PERCENT.finditer(current)]
        if edits:
            current, starts, ends = _apply(current, starts, ends, edits)
    if _has(found, current is text, ("spaced",), current, _spaced_hint):
        edits = _spaced_numbers(current)
        if edits:
            current, starts, ends = _apply(current, starts, ends, edits)
    if _has(found, current is text, _SPELLED_HINTS, current, lambda c: any(w in c for w in _SPELLED_HINTS)):
        edits = _spelled_emails(current)
        if edits:
            current, starts, ends = _apply(current, starts, ends, edits)
    if starts is None:
        return Normalized(text)
    assert ends is not None
    return Normalized(current, tuple(starts), tuple(ends))
