"""Credential formats known by their prefix and shape, and documented example values.

Each format is a regex that starts with the vendor's literal prefix (fast: Python finds a literal
quickly), an exact alphabet and length where the vendor fixes one, and a check that the body is
not filler (``xxxx``, ``0000``, ``<...>``, ``${...}``). Formats were learned from the public rule
sets of gitleaks, detect-secrets and trufflehog and written here independently. A value in a
live shape counts even when it contains "EXAMPLE" or zeros: only a vendor's exactly documented
example value is treated as an example (:data:`DOC_KEYS`); when unsure, it is sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["DOC_DATA", "DOC_KEYS", "doc_example", "shape_ok"]

_FILL = re.compile(r"(?i)(.)\1{7,}|[<>{}$]|\.\.\.|your[_\-]?|placeholder|redacted|replace[_\-]?me|changeme|x{5,}")


def shape_ok(value: str) -> bool:
    """A body in a vendor's shape that is not filler or a template."""
    return _FILL.search(value) is None and len(set(value)) >= 8


# Values vendors print in their documentation. Keys: exactly these are examples wherever they
# appear (they cannot be live credentials). Data (cards, IBANs): examples only where the text
# around says so (see doc_example), since the same numbers are typed into real forms as fakes.
DOC_KEYS = frozenset({
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
})
DOC_DATA = frozenset({
    "4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222", "5105105105105100",
    "378282246310005", "371449635398431", "6011111111111117", "6011000990139424", "3056930009020004",
    "36227206271667", "3566002020360505", "6200000000000005", "4111111111111111",
    "GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
})
_EXAMPLE_WORDS = re.compile(
    r"(?i)\b(?:example|sample|docs?|documentation|documented|test card|test number|tutorial|e\.g\.|"
    r"beispiel|exemple|ejemplo|esempio|voorbeeld|registry)"
)


def doc_example(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is a documented example value (keys: always; data: where labelled)."""
    value = text[start:end]
    if value in DOC_KEYS or (len(value) >= 24 and any(value in key for key in DOC_KEYS)):
        return True
    compact = value.replace(" ", "").replace("-", "")
    if compact in DOC_DATA:
        return _EXAMPLE_WORDS.search(text, max(0, start - 100), start) is not None
    return False


def _body(skip: int, group: int = 0) -> Callable[[re.Match[str]], bool]:
    return lambda m: shape_ok(m.group(group)[skip:])


def _mixed(m: re.Match[str]) -> bool:
    value = m.group(0)
    return shape_ok(value) and any(c.isupper() for c in value) and any(c.islower() for c in value)


# (detector name, regex starting with the vendor's literal, validity check, group of the span;
# a negative group -n: the whole match plus the n characters before it, the format's own head;
# the literals, lower-cased, one of which every match holds: the regex runs only where one is).
# Formats whose prefix ends in "_" share one pass instead (UNDERSCORE_RULES).
_Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None, int, tuple[str, ...]]
_GITLAB = ("pat", "dt", "ptt", "rt", "oas", "ft", "imt", "agent", "cbt", "soat")
FORMAT_RULES: tuple[_Rule, ...] = (
    ("slack_webhook", re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/[A-Z0-9]{6,12}/[A-Za-z0-9]{16,40}"), _body(20), 0,
     ("hooks.slack.com/",)),
    ("gitlab_token", re.compile(f"gl(?:{'|'.join(_GITLAB)})-" r"[A-Za-z0-9_\-]{20,64}"), _body(6), 0, tuple(f"gl{k}-" for k in _GITLAB)),
    ("azure_key", re.compile(r"AccountKey=([A-Za-z0-9+/]{20,100}={0,2})"), _body(0, 1), 1, ("accountkey=",)),
    ("azure_key", re.compile(r"SharedAccessKey=([A-Za-z0-9+/]{20,100}={0,2})"), _body(0, 1), 1, ("sharedaccesskey=",)),
    ("azure_key", re.compile(r"Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"), lambda m: m.start() >= 4 and shape_ok(m.group(0)), -4, ("q~",)),
    ("telegram_bot_token", re.compile(r":AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])"),
     lambda m: m.start() > 0 and m.string[m.start() - 1].isdigit() and shape_ok(m.group(0)[3:]), -1, (":aa",)),
    ("sendgrid_key", re.compile(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"), _body(3), 0, ("sg.",)),
    ("discord_webhook", re.compile(r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,68}"), _body(30), 0, ("discord",)),
    ("google_oauth", re.compile(r"GOCSPX-[A-Za-z0-9_\-]{28}"), _body(7), 0, ("gocspx-",)),
)
# prefix before "_" -> (detector name, regex matched at the prefix, validity check)
UNDERSCORE_RULES: dict[str, tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]]] = {
    "hf": ("huggingface_token", re.compile(r"hf_[A-Za-z]{34}(?![A-Za-z0-9])"), _mixed),
    "org": ("huggingface_token", re.compile(r"api_org_[A-Za-z]{34}(?![A-Za-z0-9])"), _mixed),
    "whsec": ("stripe_key", re.compile(r"whsec_[A-Za-z0-9]{24,64}"), _body(6)),
    "npm": ("npm_token", re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"), _body(4)),
    "gsk": ("groq_key", re.compile(r"gsk_[A-Za-z0-9]{48,56}"), _body(4)),
    "dop": ("digitalocean_token", re.compile(r"do[opr]_v1_[a-f0-9]{64}"), _body(7)),
    "doo": ("digitalocean_token", re.compile(r"do[opr]_v1_[a-f0-9]{64}"), _body(7)),
    "dor": ("digitalocean_token", re.compile(r"do[opr]_v1_[a-f0-9]{64}"), _body(7)),
    "shpat": ("shopify_token", re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), _body(6)),
    "shpca": ("shopify_token", re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), _body(6)),
    "shppa": ("shopify_token", re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), _body(6)),
    "shpss": ("shopify_token", re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), _body(6)),
}
UNDERSCORE_NAMES = tuple(dict.fromkeys(v[0] for v in UNDERSCORE_RULES.values()))


def underscore_formats(text: str) -> list[tuple[int, int, str]]:
    """Formats whose prefix ends in "_" (hf_, whsec_, npm_, ...): one pass over the underscores."""
    out: list[tuple[int, int, str]] = []
    at = text.find("_")
    while at != -1:
        head = at
        while head > 0 and at - head < 7 and text[head - 1].isalpha():
            head -= 1
        word = text[head:at]
        begin = head - 4 if word == "org" and text.endswith("api_", 0, head) else head
        rule = UNDERSCORE_RULES.get(word) if word != "org" or begin < head else None
        if rule is not None and (begin == 0 or not text[begin - 1].isalnum()):
            name, pattern, valid = rule
            m = pattern.match(text, begin)
            if m is not None and valid(m):
                out.append((m.start(), m.end(), name))
        at = text.find("_", at + 1)
    return out
