"""Privacy: find sensitive data in a request and keep such a request on allowed hosting.

Detectors scan every message and content part (tool-call arguments too). A finding records
where (message, part, span) and which detector fired, never the matched text. A sensitive
request gets a hard Constraint: retries, fallbacks, budget fallbacks and pinned models all
stay on the allowed hosting ("local"/"self_hosted" by default), or the request fails closed with
NoEligibleModelError naming the detectors. Checksums (Luhn, mod-97, Verhoeff, SSN rules) keep
false positives low; cheap substring guards skip detectors that cannot match.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._types import Constraint, Message, Model, Request, Verdict
from ..errors import ConfigError

__all__ = ["DETECTORS", "Finding", "Privacy", "Redaction"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector hit: where it is, never what it is.

    ``message`` indexes the messages; ``part`` the content part (None for string content);
    ``field`` is "content" or "tool_calls[i]"; ``start``/``end`` slice that text.
    """

    detector: str
    message: int
    part: int | None
    start: int
    end: int
    field: str = "content"


class Redaction:
    """Messages with every finding replaced by a placeholder, and the way back.

    ``messages`` are safe to send where the raw data may not go; ``restore(text)`` puts the
    original values back into a reply that repeats the placeholders. The originals are kept
    only here and never shown by ``repr``.
    """

    __slots__ = ("_values", "messages")

    def __init__(self, messages: tuple[Message, ...], values: Mapping[str, str]) -> None:
        self.messages = messages
        self._values = dict(values)

    def __repr__(self) -> str:
        return f"Redaction(messages={len(self.messages)}, placeholders={sorted(self._values)})"

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(self._values)

    def restore(self, text: str | None) -> str | None:
        """``text`` with each placeholder replaced by the value it stands for."""
        if not text or not self._values:
            return text
        return _PLACEHOLDER_RE.sub(lambda m: self._values.get(m.group(0), m.group(0)), text)


_PLACEHOLDER_RE = re.compile(r"\[[A-Z0-9_:]+_[0-9]+\]")


# -- checksums -------------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][ord(ch) - 48]]
    return c == 0


# Lengths per country (ISO 13616 registry, the common ones); others need 15-34 characters.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28,
    "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}


def iban_ok(raw: str) -> bool:
    s = raw.replace(" ", "")
    want = _IBAN_LENGTHS.get(s[:2])
    if (want is not None and len(s) != want) or not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_CARD_PREFIX = re.compile(r"4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|3[0689]|6(?:011|4[4-9]|5|2)|35")


def card_ok(raw: str) -> bool:
    digits = raw.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and luhn_ok(digits)


_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|\.{3}|your|example|placeholder|dummy|redacted|changeme|<|>|\$|\{\{|0{6,}|12345678|abcdefgh"
    r"|environ|getenv|process\.env|secrets\.|\(|\["
)


def secret_ok(value: str) -> bool:
    """A real-looking secret: mixed characters, not a placeholder or a repeated filler."""
    if _PLACEHOLDER.search(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and len(set(value)) >= 6


def _password_ok(value: str) -> bool:
    return not _PLACEHOLDER.search(value) and len(set(value)) >= 4 and value.lower() not in _NOT_PASSWORDS


_NOT_PASSWORDS = frozenset({"password", "passwd", "secret", "none", "null", "true", "false", "required", "str", "string"})


def _ipv6_ok(raw: str) -> bool:
    groups = [g for g in raw.split(":") if g]
    if len(groups) < 3 or not any(c.isdigit() for c in raw):
        return False
    try:
        ip = ipaddress.IPv6Address(raw)
    except ValueError:
        return False
    return not ip.is_loopback and not ip.is_unspecified


def _ipv4_ok(raw: str) -> bool:
    return not raw.startswith(("0.", "127.", "255.")) and raw != "1.1.1.1"


# -- detectors -------------------------------------------------------------------------------
# Speed: Python's regex engine finds a literal prefix quickly but scans a character class or a
# lookbehind at every position, about 10 ns a character. So every detector's regex starts with a
# literal (boundaries are checked in Python afterwards), e-mail anchors on "@" (a memchr), and all
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
    triggered: bool = True  # its literal is in _TRIGGER (built-ins); user terms/patterns always run

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
                if start < at and not ssh_path:  # git@github.com:org/repo is an SSH remote, not an address
                    yield start, m.end()
            at = text.find("@", at + 1)


# Postal addresses, found from their house number: the digit-run pass that the numeric detectors
# share hands each short run of digits here, so addresses cost no extra pass over the text.
# Address-shaped text counts even when it may be fictional: the policy fails closed.
_STREET_AFTER_NUMBER = re.compile(
    r"[A-Za-z]?,?[ \t]{1,4}(?:[A-Z][A-Za-z'.\-]{0,30}[ \t]{1,4}){1,4}?"
    r"(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Place|Terrace|Square|Close|Crescent|Parkway|"
    r"Highway|Way|St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy)\.?(?![\w\-])"
)
_GERMAN_TYPES = ("straße", "strasse", "str.", "gasse", "allee", "platz", "damm", "weg")
_GERMAN_BEFORE_NUMBER = re.compile(
    r"(?<![\w\-])[A-ZÄÖÜ][a-zäöüß\-]{0,30}(?:straße|strasse|str\.|gasse|allee|platz|damm|weg)[ \t]{1,4}$"
)
_CITY_BEFORE = re.compile(r"(?<![\w\-])[A-Z][a-z]+(?: [A-Z][a-z]+)?$")


@dataclass(frozen=True)
class _StreetAddress:
    """``42 Elm Street``, ``350 Fifth Ave.``, ``Hauptstraße 5``: checked around one house number."""

    name: str = "street_address"

    def at(self, text: str, start: int, end: int) -> Span | None:
        """The address around the digits ``text[start:end]``, if they are its house number."""
        if start and (text[start - 1].isalnum() or text[start - 1] == "-"):
            return None
        n = len(text)
        if end < n and (text[end] in " \t," or text[end].isalpha()):
            street = _STREET_AFTER_NUMBER.match(text, end)
            if street is not None:
                return start, street.end()
        gap = start
        while gap > 0 and start - gap < 4 and text[gap - 1] in " \t":
            gap -= 1
        if gap < start and text.endswith(_GERMAN_TYPES, 0, gap):  # cheap test before the regex
            name = _GERMAN_BEFORE_NUMBER.search(text, max(0, start - 48), start)
            if name is not None and (end >= n or not text[end].isalnum() or text[end].islower()):
                return name.start(), end + (1 if end < n and text[end].islower() else 0)
        return None


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


_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9]{2} ?$")  # digits after an IBAN's country and check digits are not a card
_NOT_DIGIT = str.maketrans("", "", "0123456789")
_DIGIT_RUN = re.compile(r"[0-9](?:[0-9 \-.()/]*[0-9])?")  # runs of 6+ chars feed the numeric detectors
_UPPER_START = re.compile(r"[A-Z][A-Z] ?[0-9]")
_NB_L = r"(?<![\w.+\-/])"
_NB_R = r"(?![\w\-/]|\.[0-9])"

_NUMERIC: tuple[_Within, ...] = (
    _Within(
        "us_ssn",
        re.compile(r"(?<![\w\-])([0-9]{3})([- ])([0-9]{2})\2([0-9]{4})(?![\w\-])"),
        lambda m: ssn_ok(m.group(1), m.group(3), m.group(4)),
        min_digits=9,
    ),
    _Within(
        "payment_card",
        re.compile(r"(?<![\w\-.])[0-9](?:[ \-]?[0-9]){12,18}(?![\w\-]|\.[0-9])"),
        lambda m: card_ok(m.group(0)) and _IBAN_HEAD.search(m.string, max(0, m.start() - 5), m.start()) is None,
        min_digits=13,
    ),
    _Within(
        "in_aadhaar",
        re.compile(r"(?<![\w\-])[2-9][0-9]{3}([ \-]?)[0-9]{4}\1[0-9]{4}(?![\w\-]| ?[0-9])"),
        lambda m: verhoeff_ok(m.group(0).replace(" ", "").replace("-", "")),
        min_digits=12,
    ),
    _Within(
        "ipv4",
        re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![\w]|\.[0-9])"),
        lambda m: _ipv4_ok(m.group(0)),
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
        lambda m: 8 <= sum(c.isdigit() for c in m.group(0)) <= 15,
        min_digits=7,  # the run starts at the first digit; a "+1" before it may add one
    ),
    _Within(
        "iban",
        re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
        lambda m: iban_ok(m.group(0)),
        upper=True,
    ),
    _Within(
        "uk_nino",
        re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?![A-Za-z0-9])"),
        upper=True,
    ),
)


@dataclass(frozen=True)
class _DigitRuns:
    """One pass over the text for runs of digits; each numeric detector looks only there.

    ``short`` detectors (street addresses) see the runs of under 6 characters (house numbers).
    """

    members: tuple[_Within, ...]
    short: tuple[_StreetAddress, ...] = ()

    def find_all(self, text: str) -> Iterator[tuple[str, Span]]:
        n = len(text)
        upper = [d for d in self.members if d.upper]
        plain = [d for d in self.members if not d.upper]
        done = 0
        for run in _DIGIT_RUN.finditer(text):
            start, end = run.span()
            if end - start < 6:  # too short for a numeric detector; maybe a house number
                for short in self.short:
                    span = short.at(text, start, end)
                    if span is not None:
                        yield short.name, span
                continue
            if start and text[start - 1] in "+(":
                start -= 1
            stop = min(end + 1, n)
            piece = run.group(0)
            digits = len(piece) - len(piece.translate(_NOT_DIGIT))
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
                        if hit is not None and (det.valid is None or det.valid(hit)):
                            done = hit.end()
                            yield det.name, hit.span()
                            break


# bounded runs of spaces: an unbounded \s* next to \s+ would backtrack quadratically on long blanks
_SECRET_VALUE = r"""[a-z0-9_\-]{0,24}["']?[ \t]{0,8}(?:[:=]|=>|(?<=[ \t])is[ \t]{1,8})[ \t]{0,8}["']?([^\s"',;]{6,128})"""
_KEY_OWNERS = ("api", "secret", "access", "private", "auth", "client", "signing", "encryption", "master")


def _keyword_owner_ok(m: re.Match[str]) -> bool:
    """``key`` and ``token`` count only as part of a credential's name (api_key, auth-token)."""
    before = m.string[max(0, m.start() - 12) : m.start()].rstrip("_- ")
    return before.endswith(_KEY_OWNERS) or m.group(0).startswith("token")


def _value_ok(m: re.Match[str]) -> bool:
    value = m.group(1)
    return (_password_ok(value) and not value.isalpha()) or (len(value) >= 12 and secret_ok(value))


_SIMPLE: tuple[Any, ...] = (
    _Rx(
        "url_password",
        re.compile(r"""://[^\s:/@"'<>]{1,64}:([^\s@/"'<>]{3,128})@[A-Za-z0-9.\-\[]"""),
        lambda m: _password_ok(m.group(1)),
        1,
        None,
    ),
    _Rx("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), left=None),
    _Rx("anthropic_key", re.compile(r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_\-]{20,}"), lambda m: secret_ok(m.group(0)[14:])),
    _Rx(
        "openai_key",
        re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
        lambda m: secret_ok(m.group(0)[3:]),
    ),
    _Rx(
        "aws_access_key",
        re.compile(r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        lambda m: "EXAMPLE" not in m.group(0),
    ),
    _Rx("github_token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"), lambda m: secret_ok(m.group(0)[4:])),
    _Rx("github_token", re.compile(r"github_pat_[A-Za-z0-9_]{60,}"), lambda m: secret_ok(m.group(0)[11:])),
    _Rx("google_api_key", re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![\w\-])"), lambda m: secret_ok(m.group(0))),
    _Rx("slack_token", re.compile(r"xox[abposre]-[A-Za-z0-9\-]{10,}"), lambda m: secret_ok(m.group(0)[5:])),
    _Rx(
        "stripe_key",
        re.compile(r"k_(?:live|test)_[A-Za-z0-9]{20,}"),
        lambda m: m.start() > 0 and m.string[m.start() - 1] in "sr" and secret_ok(m.group(0)[7:]),
        back=1,
    ),
    _Email(),
    _Rx("jwt", re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}")),
    _Rx(
        "aws_secret_key",
        re.compile(r"""aws_?secret[a-z_]*["']?\s*[:=]\s*["']?([a-z0-9/+]{40})(?![a-z0-9/+])"""),
        lambda m: secret_ok(m.group(1)),
        1,
        on_lower=True,
    ),
    _Rx("password", re.compile(r"pass(?:word|wd|phrase|code)?" + _SECRET_VALUE), _value_ok, 1, None, on_lower=True),
    _Rx("password", re.compile(r"pwd" + _SECRET_VALUE), _value_ok, 1, None, on_lower=True),
    _Rx("password", re.compile(r"secret" + _SECRET_VALUE), _value_ok, 1, None, on_lower=True),
    _Rx("password", re.compile(r"key" + _SECRET_VALUE), lambda m: _keyword_owner_ok(m) and _value_ok(m), 1, None, on_lower=True),
    _Rx("password", re.compile(r"token" + _SECRET_VALUE), lambda m: _keyword_owner_ok(m) and _value_ok(m), 1, None, on_lower=True),
    _Ipv6(),
    _Rx(  # "Austin, TX 78701": anchored on the comma, so it costs no full scan of the text
        "postcode",
        re.compile(r",[ \t]{1,4}[A-Z]{2}[ \t]{1,4}\d{5}(?:-\d{4})?(?![\w\-])"),
        lambda m: _CITY_BEFORE.search(m.string, max(0, m.start() - 40), m.start()) is not None,
        left=None,
        triggered=False,
    ),
)
# Every built-in _Rx's literal, lower-cased: when none occurs in a short text, they cannot match.
_TRIGGER = re.compile(r"sk-|a(?:kia|sia|bia|cca|iza)|gh[pousr]_|github_pat_|xox|k_(?:live|test)_|eyj|-----begin|://|pass|pwd|secret|key|token")
_SHORT = 2000

_NAMES: list[str] = []
_SHORT_RUNS = (_StreetAddress(),)
for _d in (*_SIMPLE, *_NUMERIC, *_SHORT_RUNS):
    if _d.name not in _NAMES:
        _NAMES.append(_d.name)
DETECTORS: tuple[str, ...] = tuple(_NAMES)  # the built-in detector names


def _texts(messages: Sequence[Message]) -> Iterator[tuple[int, int | None, str, str]]:
    """(message index, part index, field, text) for every piece of text in the messages."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            yield i, None, "content", content
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    yield i, j, "content", part["text"]
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, Mapping) else None
                args = fn.get("arguments") if isinstance(fn, Mapping) else None
                if isinstance(args, str):
                    yield i, None, f"tool_calls[{j}]", args


class Privacy:
    """Keep requests that carry sensitive data on allowed hosting; fail closed otherwise.

    ``detectors`` picks built-in detectors by name (all by default); ``terms`` are words or
    phrases that mark a request sensitive (case-insensitive, whole words); ``patterns`` maps
    names to extra regexes. A request's ``classification`` overrides detection: "public" skips
    the scan, "confidential" and "restricted" are always sensitive.

    ``mode="redact"`` (opt-in) lets models outside ``allowed_hosting`` serve a request whose
    findings can be masked: they get a copy with placeholders (``[EMAIL_1]``), and the router
    puts the values back into their answer. Allowed hosting still comes first; a request marked
    sensitive by its classification has nothing to mask and stays restricted.
    """

    name = "privacy"

    def __init__(
        self,
        *,
        allowed_hosting: Iterable[str] = ("local", "self_hosted"),
        detectors: Iterable[str] | None = None,
        terms: Iterable[str] = (),
        patterns: Mapping[str, str] | None = None,
        sensitive_classifications: Iterable[str] = ("confidential", "restricted"),
        mode: Literal["restrict", "redact"] = "restrict",
    ) -> None:
        from .._types import CLASSIFICATIONS, HOSTINGS

        if mode not in ("restrict", "redact"):
            raise ConfigError(f"must be 'restrict' or 'redact', got {mode!r}", path="privacy.mode")
        self.mode = mode

        self.allowed_hosting = frozenset(allowed_hosting)
        if not self.allowed_hosting or not self.allowed_hosting <= HOSTINGS:
            raise ConfigError(f"must be a non-empty subset of {sorted(HOSTINGS)}", path="privacy.allowed_hosting")
        wanted = set(DETECTORS if detectors is None else detectors)
        unknown = sorted(wanted - set(DETECTORS))
        if unknown:
            raise ConfigError(f"unknown detectors {unknown}; known: {list(DETECTORS)}", path="privacy.detectors")
        simple: list[Any] = [d for d in _SIMPLE if d.name in wanted]
        term_list = [t.strip() for t in terms if isinstance(t, str) and t.strip()]
        if term_list:
            alternation = "|".join(re.escape(t) for t in sorted(term_list, key=len, reverse=True))
            simple.append(_Rx("term", re.compile(rf"(?i)(?<!\w)(?:{alternation})(?!\w)"), left=None, triggered=False))
        for key, regex in (patterns or {}).items():
            try:
                simple.append(_Rx(f"pattern:{key}", re.compile(regex), left=None, triggered=False))
            except re.error as exc:
                raise ConfigError(f"invalid regex: {exc}", path=f"privacy.patterns.{key}") from None
        self._simple = tuple(simple)
        numeric = tuple(d for d in _NUMERIC if d.name in wanted)
        short = tuple(d for d in _SHORT_RUNS if d.name in wanted)
        self._runs = (_DigitRuns(numeric, short),) if numeric or short else ()
        self.sensitive_classifications = frozenset(sensitive_classifications)
        bad = self.sensitive_classifications - set(CLASSIFICATIONS)
        if bad:
            raise ConfigError(f"unknown {sorted(bad)}; known: {list(CLASSIFICATIONS)}", path="privacy.sensitive_classifications")

    def __repr__(self) -> str:
        return f"Privacy(allowed_hosting={sorted(self.allowed_hosting)}, detectors={list(self.detectors)}, mode={self.mode!r})"

    @property
    def detectors(self) -> tuple[str, ...]:
        """The names of the detectors this policy runs."""
        names = [d.name for d in self._simple]
        for runs in self._runs:
            names += [m.name for m in runs.members] + [m.name for m in runs.short]
        return tuple(dict.fromkeys(names))

    def scan_text(self, text: str, message: int = 0, part: int | None = None, field: str = "content") -> list[Finding]:
        """Findings in one piece of text; a span already claimed by an earlier detector is not reported twice."""
        spans: list[tuple[int, int, str]] = []
        low = text.lower()
        if len(low) != len(text):  # some characters change length when lower-cased
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        # Short text: one pass for every built-in literal beats a dozen regex calls; long text:
        # each regex's own literal search is faster than that pass.
        quiet = len(text) < _SHORT and _TRIGGER.search(low) is None
        for det in self._simple:
            if quiet and getattr(det, "triggered", False):
                continue
            for start, end in det.find(text, low):
                spans.append((start, end, det.name))
        for runs in self._runs:
            if not any(d in text for d in "0123456789"):
                break
            for name, (start, end) in runs.find_all(text):
                spans.append((start, end, name))
        found: list[Finding] = []
        for start, end, name in spans:
            if any(f.start < end and start < f.end for f in found):
                continue
            found.append(Finding(name, message, part, start, end, field))
        found.sort(key=lambda f: f.start)
        return found

    def scan(self, messages: Sequence[Message] | Request) -> list[Finding]:
        """Every finding in every message, content part and tool-call argument string."""
        msgs = messages.messages if isinstance(messages, Request) else messages
        found: list[Finding] = []
        for i, j, field, text in _texts(msgs):
            found.extend(self.scan_text(text, i, j, field))
        return found

    def redact(self, messages: Sequence[Message] | Request) -> Redaction:
        """Replace every finding with a placeholder such as ``[EMAIL_1]`` (the same value, the same one).

        Opt-in, for data you choose to send to a hosted model without its raw values: route the
        redacted messages (they no longer trigger this policy) and ``restore`` the reply.
        """
        msgs = messages.messages if isinstance(messages, Request) else tuple(messages)
        by_text: dict[tuple[int, int | None, str], list[Finding]] = {}
        for f in self.scan(msgs):
            by_text.setdefault((f.message, f.part, f.field), []).append(f)
        values: dict[str, str] = {}
        names: dict[str, str] = {}
        counters: dict[str, int] = {}

        def swap(text: str, found: list[Finding]) -> str:
            out: list[str] = []
            at = 0
            for f in sorted(found, key=lambda f: f.start):
                value = text[f.start : f.end]
                holder = names.get(value)
                if holder is None:
                    kind = re.sub(r"[^A-Z0-9]+", "_", f.detector.upper()).strip("_")
                    counters[kind] = counters.get(kind, 0) + 1
                    holder = names[value] = f"[{kind}_{counters[kind]}]"
                    values[holder] = value
                out += (text[at : f.start], holder)
                at = f.end
            out.append(text[at:])
            return "".join(out)

        result: list[Message] = []
        for i, message in enumerate(msgs):
            new = dict(message)
            content = message.get("content")
            if isinstance(content, str) and (i, None, "content") in by_text:
                new["content"] = swap(content, by_text[(i, None, "content")])
            elif isinstance(content, list):
                parts = []
                for j, part in enumerate(content):
                    part_key: tuple[int, int | None, str] = (i, j, "content")
                    if part_key in by_text and isinstance(part, Mapping):
                        part = {**part, "text": swap(part["text"], by_text[part_key])}
                    parts.append(part)
                new["content"] = parts
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                fixed = []
                for j, call in enumerate(calls):
                    call_key: tuple[int, int | None, str] = (i, None, f"tool_calls[{j}]")
                    if call_key in by_text:
                        fn = dict(call["function"])
                        fn["arguments"] = swap(fn["arguments"], by_text[call_key])
                        call = {**call, "function": fn}
                    fixed.append(call)
                new["tool_calls"] = fixed
            result.append(new)
        return Redaction(tuple(result), values)

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        label = request.classification
        if label == "public":
            return Verdict.keep_all(candidates, "classified public: not scanned")
        if label in self.sensitive_classifications:
            detectors: list[str] = [f"classification:{label}"]
        else:
            detectors = []
            for f in self.scan(request.messages):
                if f.detector not in detectors:
                    detectors.append(f.detector)
            if not detectors:
                return Verdict.keep_all(candidates, "no sensitive data found")
        allowed = ", ".join(sorted(self.allowed_hosting))
        why = f"sensitive data ({', '.join(detectors)})"
        data = {"detectors": tuple(detectors), "sensitive": True}
        if self.mode == "redact" and label not in self.sensitive_classifications:
            constraint = Constraint("privacy", why, hosting=self.allowed_hosting, data=data, redact=self._redact_fully)
            return Verdict.ranked(
                candidates,
                key=lambda m: m.hosting not in self.allowed_hosting,
                reason=f"{why}: {allowed} hosting first; others get a redacted copy",
                constraints=(constraint,),
                data=data,
            )
        constraint = Constraint(name="privacy", reason=why, hosting=self.allowed_hosting, data=data)
        return Verdict.filter(
            candidates,
            lambda m: None if m.hosting in self.allowed_hosting else f"{why} may not go to {m.hosting!r} hosting",
            f"{why}: only {allowed} hosting",
            constraints=(constraint,),
            data=data,
        )

    def _redact_fully(self, messages: tuple[Message, ...]) -> Redaction:
        """``redact``, refusing (so the router fails closed) if a scan of the copy still finds anything."""
        redaction = self.redact(messages)
        if self.scan(redaction.messages):
            raise ValueError("the redacted copy still holds sensitive data")
        return redaction
