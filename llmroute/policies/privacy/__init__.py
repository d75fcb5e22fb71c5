"""Privacy: find sensitive data in a request and keep such a request on allowed hosting.

Detectors scan every message and content part (tool-call arguments too). A finding records
where (message, part, span) and which detector fired, never the matched text. A sensitive
request gets a hard Constraint: retries, fallbacks, budget fallbacks and pinned models all
stay on the allowed hosting ("local"/"self_hosted" by default), or the request fails closed with
NoEligibleModelError naming the detectors. Checksums (Luhn, mod-97, Verhoeff, SSN rules) keep
false positives low; cheap substring guards skip detectors that cannot match.

The package, by concept:

- :mod:`.findings` - :class:`Finding`, one detector hit (where, never what).
- :mod:`.checksums` - Luhn, Verhoeff, IBAN mod-97, SSN, card, secret and IP checks.
- :mod:`.detectors` - the detector engine and the built-in detector table (``DETECTORS``).
- :mod:`.prefilter` - one compiled pass (hyperscan) that says which detectors need to run.
- :mod:`.redaction` - the placeholder syntax, :class:`Redaction` and :class:`StreamRestorer`.
- :mod:`.policy` - the :class:`Privacy` policy.
- :mod:`.backends` / :mod:`.presidio` - your own recognisers; Microsoft Presidio as one (an extra).

Every name importable from the single module this package replaced still imports from here:
the public ones directly, the checksum functions and private helpers on first use (``_MOVED``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .detectors import DETECTORS
from .findings import Finding
from .policy import Privacy
from .presidio import Presidio
from .redaction import Redaction, StreamRestorer

__all__ = ["DETECTORS", "Finding", "Presidio", "Privacy", "Redaction", "StreamRestorer"]

# name -> (module, attribute) for the names of the former single module that are not in __all__
_MOVED: dict[str, tuple[str, str]] = {
    "_texts": ("llmroute._text", "located_texts"),
    "_PLACEHOLDER": (".checksums", "_FILLER"),
    "_PLACEHOLDER_RE": (".redaction", "_PLACEHOLDER_RE"),
    "_NOT_DIGIT": (".context", "_NOT_DIGIT"),
    **{n: (".checksums", n) for n in (
        "luhn_ok", "verhoeff_ok", "iban_ok", "ssn_ok", "card_ok", "secret_ok", "_password_ok", "_ipv6_ok",
        "_ipv4_ok", "_VERHOEFF_D", "_VERHOEFF_P", "_IBAN_LENGTHS", "_CARD_PREFIX", "_NOT_PASSWORDS",
    )},
    **{n: (".detectors", n) for n in (
        "Span", "_WORDISH", "_left_ok", "_Rx", "_EMAIL_LOCAL", "_EMAIL_DOMAIN", "_Email", "_STREET_AFTER_NUMBER",
        "_GERMAN_TYPES", "_GERMAN_BEFORE_NUMBER", "_CITY_BEFORE", "_StreetAddress", "_HEXCOLON", "_IPV6_HINT",
        "_Ipv6", "_Within", "_IBAN_HEAD", "_DIGIT_RUN", "_UPPER_START", "_NB_L", "_NB_R", "_NUMERIC",
        "_DigitRuns", "_SECRET_VALUE", "_KEY_OWNERS", "_keyword_owner_ok", "_value_ok", "_SIMPLE", "_TRIGGER",
        "_SHORT", "_SHORT_RUNS",
    )},
}  # fmt: skip


def __getattr__(name: str) -> Any:
    where = _MOVED.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where[0], __name__), where[1])
    globals()[name] = value
    return value
