"""Checks that tell a real identifier or secret from look-alike text: checksums (Luhn, mod-97,
Verhoeff), number-assignment rules (SSN, card prefixes, addresses) and filler/placeholder tests.

Pure functions of a string; the detectors call them on each regex match.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["card_ok", "iban_ok", "luhn_ok", "secret_ok", "ssn_ok", "verhoeff_ok"]


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


# Values that look like a template or a lookup, not a real secret ("$VAR" and "${VAR}" count,
# a "$" inside a password does not).
_FILLER = re.compile(
    r"(?i)x{4,}|\*{3,}|\.{3}|your|example|placeholder|dummy|redacted|changeme|<|>|^\$|\$\{|\{\{|0{6,}|12345678|abcdefgh"
    r"|environ|getenv|process\.env|secrets\.|\(|\["
)


def secret_ok(value: str) -> bool:
    """A real-looking secret: mixed characters, not a placeholder or a repeated filler."""
    if _FILLER.search(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and len(set(value)) >= 6


def _password_ok(value: str) -> bool:
    return not _FILLER.search(value) and len(set(value)) >= 4 and value.lower() not in _NOT_PASSWORDS


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
