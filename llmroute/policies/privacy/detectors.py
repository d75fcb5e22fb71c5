"""The detector engine: what finds personal data and secrets in a piece of text, and how fast.

Each detector yields (start, end) spans; :func:`find_spans` runs a set of them over one text.
Built-ins: keyword- and prefix-anchored regexes (``_Rx``: API keys, tokens, passwords, JWTs),
e-mail addresses (``_Email``), IPv6 (``_Ipv6``), and one shared pass over runs of digits
(``_DigitRuns``) that feeds the numeric detectors (``_Within``: SSN, cards, IBAN, phone, ...)
and street addresses (``_StreetAddress``). Checksums in :mod:`.checksums` keep false positives low.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checksums import _ipv4_ok, _ipv6_ok, _password_ok, card_ok, iban_ok, secret_ok, ssn_ok, verhoeff_ok
from .context import (
    STREET_SUFFIXES,
    STREET_TYPES_BEFORE,
    card_shape_ok,
    digit_count,
    grouped_alone,
    ipv4_in_context,
    keyword_before,
    literal_alternation,
    public_place,
    street_before_number,
    uk_postcode_at,
)
from .formats import FORMAT_RULES, UNDERSCORE_NAMES, doc_example, shape_ok, underscore_formats
from .personal import CONTEXT_IDS, CUE_PATTERNS, PersonContext, context_id
from .prefilter import Patterns, literal

__all__ = ["DETECTORS", "find_spans"]

# Speed: Python's regex engine finds a literal prefix quickly but scans a character class or a
# lookbehind at every position, about 10 ns a character. So every detector's regex starts with a
# literal (boundaries are checked in Python afterwards) and names its keys, which one hyperscan
# pass looks for all at once (prefilter.py); e-mail anchors on "@" (a memchr), and all
# digit-bearing identifiers share one pass that finds runs of digits.
Span = tuple[int, int]
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _left_ok(text: str, start: int, extra: str = "") -> bool:
    return start <= 0 or (text[start - 1] not in _WORDISH and text[start - 1] not in extra)


@dataclass(frozen=True)
class _Rx:
    """A regex that starts with a literal; ``back`` chars before the match belong to the span."""

    name: str
    pattern: re.Pattern[str]
    valid: Callable[[re.Match[str]], bool] | None = None
    group: int = 0
    left: str | None = "-"  # chars (besides word chars) that may not precede; None: no check
    back: int = 0
    on_lower: bool = False  # match the lower-cased text (case-insensitive keywords)
    # lower-cased literals, one of which every match holds: the pattern runs only on text where
    # one occurs (see present_keys); none (user terms and patterns): it always runs
    keys: tuple[str, ...] = ()

    def find(self, text: str, low: str) -> Iterator[Span]:
        for m in self.pattern.finditer(low if self.on_lower else text):
            start = m.start() - self.back
            if start < 0 or (self.left is not None and not _left_ok(text, start, self.left)):
                continue
            if self.valid is None or self.valid(m):
                s, e = m.span(self.group)
                yield (start if self.group == 0 else s), e


_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])")


@dataclass(frozen=True)
class _Email:
    name: str = "email"

    def find(self, text: str, low: str) -> Iterator[Span]:
        at = text.find("@")
        while at != -1:
            m = _EMAIL_DOMAIN.match(text, at)
            if m is not None:
                start = at
                while start > 0 and at - start < 64 and text[start - 1] in _EMAIL_LOCAL:
                    start -= 1
                while start < at and text[start] in "._%+-":
                    start += 1
                ssh_path = m.end() < len(text) - 1 and text[m.end()] == ":" and not text[m.end() + 1].isspace()
                # git@github.com:org/repo is an SSH remote, not an address. Reserved example domains
                # still count: people write real-looking addresses there as stand-ins (fail closed).
                if start < at and not ssh_path:
                    yield start, m.end()
            at = text.find("@", at + 1)


# Postal addresses, found from their house number: the digit-run pass that the numeric detectors
# share hands each short run of digits here, so addresses cost no extra pass over the text.
# Address-shaped text counts even when it may be fictional: the policy fails closed.
_ENGLISH_TYPES = ("Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Court", "Place", "Terrace", "Square",
                  "Close", "Crescent", "Parkway", "Highway", "Way", "St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl",
                  "Sq", "Pkwy", "Hwy")
_ROMANCE_TYPES = ("rue", "avenue", "av.", "boulevard", "bd", "place", "chemin", "allée", "allee", "impasse", "quai",
                  "cours", "route")
_STREET_AFTER_NUMBER = re.compile(
    r"[A-Za-z]?,?[ \t]{1,4}(?:[A-Z][A-Za-z'.\-]{0,30}[ \t]{1,4}){1,4}?"
    f"(?:{'|'.join(map(re.escape, _ENGLISH_TYPES))})" r"\.?(?![\w\-])"
)
_GERMAN_TYPES = ("straße", "strasse", "str.", "gasse", "allee", "platz", "damm", "weg")
_GERMAN_BEFORE_NUMBER = re.compile(
    r"(?<![\w\-])[A-ZÄÖÜ][a-zäöüß\-]{0,30}" f"(?:{'|'.join(map(re.escape, _GERMAN_TYPES))})" r"[ \t]{1,4}$"
)
_ROMANCE_AFTER_NUMBER = re.compile(  # "14 rue des Lilas", "3 avenue Foch", "12 bis, rue ..."
    r"(?:[ \t]?(?:bis|ter))?,?[ \t]{1,3}" f"(?:{'|'.join(map(re.escape, _ROMANCE_TYPES))})"
    r"[ \t]{1,3}(?:(?:de|des|du|de la|la|le|l'|d')[ \t]?)*[A-ZÀ-Ý][\w'\-]+",
)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_CITY_BEFORE = re.compile(r"(?<![\w\-])[A-Z][a-z]+(?: [A-Z][a-z]+)?$")
# Every address the street rules below can find holds one of these words, followed as the rules
# need it; a text with none (most text with numbers in it: code, quizzes, tables) skips them for
# each of its numbers and checks only for a UK postcode. Case as the rules read it: English,
# French and German types as written, street-first types and Dutch/German suffixes lower-cased.
# Each pattern starts with a literal alternation, so the engine skips to candidates in C.
_STREET_WORDS = (
    re.compile(f"(?:{literal_alternation(_ENGLISH_TYPES)})(?![\\w\\-])"),  # "42 Elm Street", "St."
    re.compile(f"(?:{literal_alternation(_ROMANCE_TYPES + _GERMAN_TYPES)})(?=[ \\t])"),  # "rue des", "Hauptstraße 5"
)
_STREET_WORDS_LOWER = re.compile(f"(?:{literal_alternation(tuple(sorted(STREET_TYPES_BEFORE)) + STREET_SUFFIXES)})(?=\\s)")


@dataclass(frozen=True)
class _StreetAddress:
    """``42 Elm Street``, ``350 Fifth Ave.``, ``Hauptstraße 5``: checked around one house number."""

    name: str = "street_address"

    def at(self, text: str, start: int, end: int, streets: bool = True) -> Span | None:
        """The address around the digits ``text[start:end]``, if they are its house number
        (``streets``: whether the text holds a street word at all, see :meth:`streets`)."""
        postcode = uk_postcode_at(text, start, end)
        if postcode is not None or not streets:
            return postcode
        if start and (text[start - 1].isalnum() or text[start - 1] == "-"):
            return None
        n = len(text)
        # both rules need an ASCII letter within 7 characters (a list of numbers has none)
        if end < n and (text[end] in " \t," or text[end].isalpha()) and _ASCII_LETTER.search(text, end, end + 7):
            street = _STREET_AFTER_NUMBER.match(text, end) or _ROMANCE_AFTER_NUMBER.match(text, end)
            if street is not None and not public_place(text, start):
                return start, street.end()
        before = street_before_number(text, start)
        if before is not None and not public_place(text, before):
            stop = end
            while stop < n and (text[stop].isalnum() or text[stop] == "-") and stop - end < 4:
                stop += 1
            return before, stop
        gap = start
        while gap > 0 and start - gap < 4 and text[gap - 1] in " \t":
            gap -= 1
        if gap < start and text.endswith(_GERMAN_TYPES, 0, gap):  # cheap test before the regex
            name = _GERMAN_BEFORE_NUMBER.search(text, max(0, start - 48), start)
            if name is not None and (end >= n or not text[end].isalnum() or text[end].islower()):
                return name.start(), end + (1 if end < n and text[end].islower() else 0)
        return None

    @staticmethod
    def streets(text: str) -> bool:
        """Whether ``text`` holds any word a street rule needs (else only postcodes can match)."""
        return any(rx.search(text) for rx in _STREET_WORDS) or _STREET_WORDS_LOWER.search(text.lower()) is not None


_HEXCOLON = frozenset("0123456789abcdefABCDEF:")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")


@dataclass(frozen=True)
class _Ipv6:
    name: str = "ipv6"

    def find(self, text: str, low: str) -> Iterator[Span]:
        n = len(text)
        done = 0
        for hint in _IPV6_HINT.finditer(text):
            i = hint.start()
            if i < done:
                continue
            start, end = i, i
            while start > 0 and i - start < 40 and text[start - 1] in _HEXCOLON:
                start -= 1
            while end < n and end - i < 40 and text[end] in _HEXCOLON:
                end += 1
            done = end
            if end - start >= 6 and _left_ok(text, start, ".") and (end == n or text[end] not in _WORDISH):
                if _ipv6_ok(text[start:end]):
                    yield start, end


@dataclass(frozen=True)
class _Within:
    """A detector run where the shared digit pass found a run of digits."""

    name: str
    pattern: re.Pattern[str]
    valid: Callable[[re.Match[str]], bool] | None = None
    upper: bool = False  # starts with upper-case letters before the digits (IBAN, NINO)
    min_digits: int = 0  # a run with fewer digits cannot hold a match
    needs: str = ""  # a character a run must contain
    shrink: bool = False  # an invalid match is retried ending at each earlier space (an IBAN before "BIC ...")


_ID_TAIL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9]{2} ?$")  # digits after an IBAN's country and check digits are not a card
_DIGIT_RUN = re.compile(r"[0-9](?:[0-9 \-.()/]*[0-9])?")  # runs of 6+ chars feed the numeric detectors
_UPPER_START = re.compile(r"[A-Z][A-Z] ?[0-9]")
_NB_L = r"(?<![\w.+\-/])"
_NB_R = r"(?![\w\-/]|\.[0-9])"

_NUMERIC: tuple[_Within, ...] = (
    _Within(  # 123-45-6789, 123 45 6789, 123.45.6789, 123 - 45 - 6789; not part of a longer grouped number
        "us_ssn",
        re.compile(r"(?<![\w\-.])(?<![0-9][ .\-])([0-9]{3})( ?[\-.] ?| )([0-9]{2})\2([0-9]{4})(?![\w\-]|[ .\-][0-9])"),
        lambda m: ssn_ok(m.group(1), m.group(3), m.group(4)),
        min_digits=9,
    ),
    _Within(  # 123456789: only where the text says it is a social security / taxpayer number
        "us_ssn",
        re.compile(r"(?<![\w\-.])([0-9]{3})([0-9]{2})([0-9]{4})(?![\w\-]|\.[0-9])"),
        lambda m: ssn_ok(m.group(1), m.group(2), m.group(3)) and keyword_before(m.string, m.start(), "ssn"),
        min_digits=9,
    ),
    _Within(
        "payment_card",
        re.compile(r"(?<![\w\-.])[0-9](?:[ \-]?[0-9]){12,18}(?![\w\-]|\.[0-9])"),
        lambda m: card_ok(m.group(0))
        and card_shape_ok(m.group(0))
        and grouped_alone(m.string, m.start(), m.end())
        and _IBAN_HEAD.search(m.string, max(0, m.start() - 5), m.start()) is None,
        min_digits=13,
    ),
    _Within(  # 4242.4242.4242.4242: dots as separators, only in four groups of four
        "payment_card",
        re.compile(r"(?<![\w\-.])[0-9]{4}(?:\.[0-9]{4}){3}(?![\w\-]|\.[0-9])"),
        lambda m: card_ok(m.group(0).replace(".", "")) and grouped_alone(m.string, m.start(), m.end()),
        min_digits=16,
        needs=".",
    ),
    _Within(  # printed as 4-4-4 groups; 12 bare digits only where the text names Aadhaar
        "in_aadhaar",
        re.compile(r"(?<![\w\-])[2-9][0-9]{3}([ \-]?)[0-9]{4}\1[0-9]{4}(?![\w\-]| ?[0-9])"),
        lambda m: verhoeff_ok(m.group(0).replace(" ", "").replace("-", ""))
        and (m.group(1) != "" or keyword_before(m.string, m.start(), "aadhaar")),
        min_digits=12,
    ),
    _Within(  # only in a network context, never a version, section or OID number
        "ipv4",
        re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![\w]|\.[0-9])"),
        lambda m: _ipv4_ok(m.group(0)) and ipv4_in_context(m.string, m.start(), m.end()),
        min_digits=4,
        needs=".",
    ),
    _Within(
        "phone",
        re.compile(
            _NB_L
            + r"(?:\+[1-9][0-9]{0,2}[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-]?[0-9]{2,4}){1,4}"
            r"|\(?[2-9][0-9]{2}\)?[ .\-]?[2-9][0-9]{2}[ .\-][0-9]{4})"
            + _NB_R
        ),
        lambda m: 8 <= digit_count(m.group(0)) <= 15,
        min_digits=7,  # the run starts at the first digit; a "+1" before it may add one
    ),
    _Within(  # national formats (0171 4839207, 06 72 18 45 93, 612 48 39 07): where the text says phone
        "phone",
        re.compile(_NB_L + r"\(?[0-9]{2,5}\)?(?:[ .\-/]{1,3}[0-9]{2,8}){0,5}" + _NB_R),
        lambda m: 8 <= digit_count(m.group(0)) <= 13 and keyword_before(m.string, m.start(), "phone"),
        min_digits=8,
    ),
    _Within(
        "iban",
        re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
        lambda m: iban_ok(m.group(0)),
        upper=True,
        shrink=True,
    ),
    _Within(
        "uk_nino",
        re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?![A-Za-z0-9])"),
        upper=True,
    ),
)


def _shrunk(det: _Within, text: str, hit: re.Match[str]) -> re.Match[str] | None:
    """``hit`` cut at the last space after which it is valid (the pattern matched with the text
    ending there), or None."""
    start, end = hit.span()
    cut = text.rfind(" ", start, end)
    while cut > start:
        shorter = det.pattern.match(text, start, cut)
        if shorter is not None and det.valid is not None and det.valid(shorter):
            return shorter
        cut = text.rfind(" ", start, cut)
    return None


_ZEROS = bytes.maketrans(b"123456789", b"000000000")


def _digit_runs(text: str) -> Iterator[re.Match[str]]:
    """``_DIGIT_RUN.finditer(text)``, faster: the regex engine visits every character of a
    class-led pattern (~10 ns each), while a bytes translate and ``find`` (C loops, one byte per
    character: "replace" keeps offsets) jump from one digit to the next."""
    data = text.encode("latin-1", "replace").translate(_ZEROS)
    at = data.find(b"0")
    while at != -1:
        run = _DIGIT_RUN.match(text, at)
        assert run is not None  # a digit starts a run
        yield run
        at = data.find(b"0", run.end())


@dataclass(frozen=True)
class _DigitRuns:
    """One pass over the text for runs of digits; each numeric detector looks only there.

    ``short`` detectors (street addresses) see the runs of under 6 characters (house numbers).
    """

    members: tuple[_Within, ...]
    short: tuple[_StreetAddress, ...] = ()
    context: frozenset[str] = frozenset()  # names of the context-id detectors to report
    upper: tuple[_Within, ...] = field(init=False)  # the members that start with letters (IBAN, NINO)
    plain: tuple[_Within, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "upper", tuple(d for d in self.members if d.upper))
        object.__setattr__(self, "plain", tuple(d for d in self.members if not d.upper))

    def find_all(self, text: str) -> Iterator[tuple[str, Span]]:
        n = len(text)
        upper, plain = self.upper, self.plain
        done = 0
        ids_done = 0
        # Whether the text holds a street word at all: a pass over the whole text (~45 ns a
        # character) that pays off only when it has many short numbers (~5 us each through the
        # street rules), so it is looked up once they outnumber one per 100 characters
        streets: bool | None = None
        short_runs = 0
        enough = n // 100 + 8
        for run in _digit_runs(text):
            start, end = run.span()
            if self.context and start >= ids_done:
                named = context_id(text, start, end)
                if named is not None:
                    ids_done = max(ids_done, named[1][1])
                    if named[0] in self.context:
                        yield named
                # the rest of an id-shaped token (E4471928, a SHA) was examined with this run
                k = end
                while k < n and k - end < 16 and text[k] in _ID_TAIL:
                    k += 1
                ids_done = max(ids_done, k)
            if end - start < 6:  # too short for a numeric detector; maybe a house number
                short_runs += 1
                if streets is None and short_runs > enough and self.short:
                    streets = _StreetAddress.streets(text)
                for short in self.short:
                    span = short.at(text, start, end, streets is not False)
                    if span is not None:
                        yield short.name, span
                continue
            if start and text[start - 1] in "+(":
                start -= 1
            stop = min(end + 1, n)
            piece = run.group(0)
            digits = digit_count(piece)
            for det in plain:
                if digits < det.min_digits or (det.needs and det.needs not in piece):
                    continue
                for m in det.pattern.finditer(text, start, stop):
                    if det.valid is None or det.valid(m):
                        yield det.name, m.span()
            if upper and start >= done:
                # IBANs and NINOs start with letters: look a little way back for where they begin
                for u in _UPPER_START.finditer(text, max(0, start - 12), min(start + 2, n)):
                    if not _left_ok(text, u.start()):
                        continue
                    for det in upper:
                        hit = det.pattern.match(text, u.start())
                        if hit is not None and det.shrink and det.valid is not None and not det.valid(hit):
                            hit = _shrunk(det, text, hit)
                        if hit is not None and (det.valid is None or det.valid(hit)):
                            done = hit.end()
                            yield det.name, hit.span()
                            break


# bounded runs of spaces: an unbounded \s* next to \s+ would backtrack quadratically on long blanks
_SECRET_VALUE = (
    r"""[a-z0-9_\-]{0,24}["']?(?:[ \t]{1,3}(?:has|was|is|been|now|just|changed|set|new|for|of|neu|neues|ist|wurde|hat"""
    r"""|sich|est|a|été|changé|nuevo|nueva|ha|sido|es|ahora|cambiado|cambiada|lautet|geändert)){0,3}[ \t]{0,8}"""
    r"""(?:[:=]|=>|(?<=[ \t])(?:is|to|est|ist|es|lautet|era|:)[ \t]{1,8}|(?<=[ \t])(?=["']))"""
    r"""[ \t]{0,8}["']?([^\s"',;]{6,128})"""
)
_KEY_OWNERS = ("api", "secret", "access", "private", "auth", "client", "signing", "encryption", "master")


def _keyword_owner_ok(m: re.Match[str]) -> bool:
    """``key`` and ``token`` count only as part of a credential's name (api_key, auth-token)."""
    before = m.string[max(0, m.start() - 12) : m.start()].rstrip("_- ")
    return before.endswith(_KEY_OWNERS) or m.group(0).startswith("token")


_CODE_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:\(.*|[)}\]]+)|[a-z]+(?:_[a-z]+)+")
_WORDS_VALUE = re.compile(r"[A-Za-z]+(?:[\-_.][A-Za-z]+)*")


def _value_ok(m: re.Match[str]) -> bool:
    value = m.group(1)
    if _CODE_VALUE.fullmatch(value):  # api_key}, get_secret(...), self.token: code, not a value
        return False
    return (_password_ok(value) and not value.isalpha()) or (len(value) >= 12 and secret_ok(value))


# "password" in other languages (contraseña; "passwort" and "mot de passe" start with "pass": the rule above),
# and Wi-Fi keys (wpa_supplicant's psk=)
_OTHER_PASSWORD_WORDS = ("contrase", "kennwort", "wachtwoord", "senha", "psk")
# a value straight after the word, with no ":" or "is" ("temporary password Xk8%...")
_PASSWORD_WORDS = ("pass(?:word|wd|phrase|wort|e)", "kennwort", "wachtwoord", "senha", "contraseña")
_STRONG_VALUE = r"[ \t]{1,3}([^\s\"',;]{7,63}[^\s\"',;.?!:)])"


def _strong_ok(m: re.Match[str]) -> bool:
    """A value written right after "password" with no ":" or "is" ("temporary password
    Xk8%..."): only one shaped like a password (letters, digits and a symbol) counts, never
    "password manager" or "password reset123"."""
    value = m.group(1)
    return (
        any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and any(not c.isalnum() for c in value)
        and _value_ok(m)
    )


def _key_value_ok(m: re.Match[str]) -> bool:
    """A key/token/secret value; words joined by dashes (xoxb-your-token-here) are a template."""
    return _WORDS_VALUE.fullmatch(m.group(1)) is None and _value_ok(m)


def _owned_value_ok(m: re.Match[str]) -> bool:
    return _keyword_owner_ok(m) and _key_value_ok(m)


def _url_password_ok(m: re.Match[str]) -> bool:
    user = m.string[m.start() + 3 : m.start(1) - 1]
    return _password_ok(m.group(1)) and m.group(1) != user  # postgres:postgres@ is a documented default


FORMATS = tuple(
    _Rx(name, pattern, valid, max(group, 0), None, back=max(-group, 0), keys=keys)
    for name, pattern, valid, group, keys in FORMAT_RULES
)

@dataclass(frozen=True)
class _Underscore:
    """Marker for the shared pass over "_" that finds hf_, whsec_, npm_, ... (formats.underscore_formats)."""

    name: str = "huggingface_token"
    names: tuple[str, ...] = UNDERSCORE_NAMES


_UNDERSCORE = _Underscore()

_SIMPLE: tuple[Any, ...] = (
    _Rx(
        "url_password",
        re.compile(r"""://[^\s:/@"'<>]{1,64}:([^\s@/"'<>]{3,128})@[A-Za-z0-9.\-\[]"""),
        _url_password_ok,
        1,
        None,
        keys=("://",),
    ),
    *FORMATS,
    _UNDERSCORE,
    _Rx("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), left=None, keys=("-----begin",)),
    _Rx(
        "anthropic_key",
        re.compile(r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_\-]{20,}"),
        lambda m: secret_ok(m.group(0)[14:]),
        keys=("sk-ant-",),
    ),
    _Rx(
        "openai_key",
        re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
        lambda m: secret_ok(m.group(0)[3:]),
        keys=("sk-",),
    ),
    _Rx(
        "aws_access_key",
        re.compile(r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        lambda m: shape_ok(m.group(0)[4:]),
        keys=("akia", "asia", "abia", "acca"),
    ),
    _Rx(
        "github_token",
        re.compile(r"gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),
        lambda m: secret_ok(m.group(0)[4:]),
        keys=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Rx("github_token", re.compile(r"github_pat_[A-Za-z0-9_]{60,}"), lambda m: secret_ok(m.group(0)[11:]), keys=("github_pat_",)),
    _Rx("google_api_key", re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![\w\-])"), lambda m: secret_ok(m.group(0)), keys=("aiza",)),
    _Rx("slack_token", re.compile(r"xox[abposre]-[A-Za-z0-9\-]{10,}"), lambda m: secret_ok(m.group(0)[5:]), keys=("xox",)),
    _Rx(
        "stripe_key",
        re.compile(r"k_(?:live|test)_[A-Za-z0-9]{20,}"),
        lambda m: m.start() > 0 and m.string[m.start() - 1] in "sr" and secret_ok(m.group(0)[7:]),
        back=1,
        keys=("k_live_", "k_test_"),
    ),
    _Email(),
    _Rx("jwt", re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}"), keys=("eyj",)),
    _Rx(
        "aws_secret_key",
        re.compile(r"""aws_?secret[a-z_]*["']?\s*[:=]\s*["']?([a-z0-9/+]{40})(?![a-z0-9/+])"""),
        lambda m: secret_ok(m.group(1)),
        1,
        on_lower=True,
        keys=("awssecret", "aws_secret"),
    ),
    _Rx("password", re.compile(r"pass(?:word|wd|phrase|code)?" + _SECRET_VALUE), _value_ok, 1, None, on_lower=True, keys=("pass",)),
    _Rx("password", re.compile(r"pwd" + _SECRET_VALUE), _value_ok, 1, None, on_lower=True, keys=("pwd",)),
    # one literal-led pattern per word: an alternation of words would scan long text letter by letter
    *(_Rx("password", re.compile(word + _SECRET_VALUE), _value_ok, 1, None, on_lower=True, keys=(word,)) for word in _OTHER_PASSWORD_WORDS),
    *(
        _Rx("password", re.compile(word + _STRONG_VALUE), _strong_ok, 1, None, on_lower=True, keys=(word.split("(")[0],))
        for word in _PASSWORD_WORDS
    ),
    _Rx("password", re.compile(r"mysql[^\n]{0,80}?[ \t]-p['\"]?([^\s'\"]{6,64})"), _value_ok, 1, None, on_lower=True, keys=("mysql",)),
    _Rx(
        "password",
        re.compile(r"login[^\n]{0,60}?[\w.@\-]{2,40}[ \t]?/[ \t]?([^\s/]{6,64})"),
        _value_ok,
        1,
        None,
        on_lower=True,
        keys=("login",),
    ),
    _Rx("password", re.compile(r"secret" + _SECRET_VALUE), _key_value_ok, 1, None, on_lower=True, keys=("secret",)),
    # "key" and "token" only as part of a credential's name (api_key, auth-token)
    *(
        _Rx("password", re.compile(word + _SECRET_VALUE), _owned_value_ok, 1, None, on_lower=True, keys=(word,))
        for word in ("key", "token")
    ),
    _Ipv6(),
    _Rx(  # "Austin, TX 78701": anchored on the comma, so it costs no full scan of the text
        "postcode",
        re.compile(r",[ \t]{1,4}[A-Z]{2}[ \t]{1,4}\d{5}(?:-\d{4})?(?![\w\-])"),
        lambda m: _CITY_BEFORE.search(m.string, max(0, m.start() - 40), m.start()) is not None
        and not public_place(m.string, m.start()),
        left=None,
    ),
)
# Every built-in pattern's keys in one trie-shaped alternation: one pass over the lower-cased
# text finds which occur, and only the patterns holding one of those run. Most text holds none
# or a few ("key", "pass"), where each pattern's own search would cost a pass apiece.
_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k for d in _SIMPLE for k in getattr(d, "keys", ())))
_TRIGGER = re.compile(literal_alternation(_KEYS))
_BY_FIRST: dict[str, tuple[str, ...]] = {}
for _key in _KEYS:
    _BY_FIRST[_key[0]] = (*_BY_FIRST.get(_key[0], ()), _key)


_SHORT = 2000
_ALL_KEYS = frozenset(_KEYS)
# the same keys and the person rule's cue words, for one hyperscan pass (prefilter.py)
_PREFILTER = Patterns({**{key: literal(key) for key in _KEYS}, **CUE_PATTERNS})


def present_keys(low: str) -> set[str]:
    """The keys that occur in ``low``: the pass finds each leftmost one, and keys that start
    inside a match (``keyeyJ...``, "key" then "eyj") or at its start are checked there."""
    found: set[str] = set()
    for m in _TRIGGER.finditer(low):
        for at in range(m.start(), m.end()):
            for key in _BY_FIRST.get(low[at], ()):
                if low.startswith(key, at):
                    found.add(key)
    return found


_SHORT_RUNS = (_StreetAddress(),)
_PERSON = PersonContext()
DETECTORS: tuple[str, ...] = tuple(
    dict.fromkeys([*(d.name for d in (*_SIMPLE, *_NUMERIC, *_SHORT_RUNS)), *UNDERSCORE_NAMES, *CONTEXT_IDS, *_PERSON.names])
)  # built-in names


def find_spans(text: str, simple: Sequence[Any], runs: Sequence[_DigitRuns]) -> list[tuple[int, int, str]]:
    """(start, end, detector name) of every hit of ``simple`` detectors and digit-run passes in
    ``text``, in detector order (overlaps included: the caller decides which to keep)."""
    spans: list[tuple[int, int, str]] = []
    low = text.lower()
    if len(low) != len(text):  # some characters change length when lower-cased
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    found = _PREFILTER.present(low.encode("utf-8", "ignore"))  # None: no hyperscan here
    present: set[str] | frozenset[str]
    cues: set[str] | None = None
    if found is not None:
        present = found
        cues = {name for name in found if name.startswith("cue:")}
    else:  # no hyperscan: the trie's pass on short text; on long text each pattern's own search is faster
        present = present_keys(low) if len(low) < _SHORT else _ALL_KEYS
    for det in simple:
        keys = getattr(det, "keys", ())
        if keys and present.isdisjoint(keys):
            continue
        if isinstance(det, PersonContext):
            spans.extend(det.find_named(text, low, cues))
            continue
        if det is _UNDERSCORE:
            if "_" in text:
                spans.extend(underscore_formats(text))
            continue
        for start, end in det.find(text, low):
            spans.append((start, end, det.name))
    for digit_runs in runs:
        for name, (start, end) in digit_runs.find_all(text):
            spans.append((start, end, name))
    # a vendor's documented example value is an example, not a secret (see formats.DOC_KEYS)
    return [sp for sp in spans if not doc_example(text, sp[0], sp[1])]
