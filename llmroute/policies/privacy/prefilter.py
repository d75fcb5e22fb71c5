"""Which of a fixed set of patterns occur in a text, in one compiled pass (hyperscan).

Most text holds none of the words the detectors start from (key prefixes, password words,
health words, evasion hints), yet asking Python whether each occurs costs a pass over the text
apiece: about 1 ns a character per word here, ~0.25 ms for 8,000 characters and the ~50 words.
Hyperscan (Intel's multi-pattern matcher; the ``hyperscan`` package, installed with llmroute
where it has wheels) answers for all of them in one pass, ~1 ns a character in total.

:class:`Patterns` is only ever a gate or a presence test: every caller keeps a pure-Python way to
the same answer and uses it when hyperscan is missing (``present`` returns None), and the tests
run both ways over the same texts and compare the findings.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["Patterns", "available", "literal"]

# "hyperscan" or "python"; None: hyperscan when it imports (tests set "python" to compare)
ENGINE: str | None = None
_MODULE: Any = None
_LOCK = threading.Lock()


def _hyperscan() -> Any:
    global _MODULE
    if ENGINE == "python":
        return None
    if _MODULE is None:
        try:
            import hyperscan
        except ImportError:  # no wheel for this platform: the pure-Python way
            _MODULE = False
        else:
            _MODULE = hyperscan
    return _MODULE or None


def available() -> bool:
    """Whether scans take the compiled path."""
    return _hyperscan() is not None


def literal(text: str | bytes) -> bytes:
    """A hyperscan expression matching ``text`` (UTF-8) literally: every byte escaped."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return b"".join(b"\\x%02x" % b for b in data)


class Patterns:
    """Named hyperscan expressions over bytes; :meth:`present` says which occur in a text.

    The database is compiled on first use (a few ms); each thread gets its own scratch space,
    which hyperscan needs per concurrent scan.
    """

    def __init__(self, exprs: Mapping[str, bytes]) -> None:
        self.names = tuple(exprs)
        self._exprs = tuple(exprs.values())
        self._db: Any = None
        self._local = threading.local()

    def _database(self, hs: Any) -> Any:
        with _LOCK:
            if self._db is None:
                db = hs.Database()
                db.compile(
                    expressions=list(self._exprs),
                    ids=list(range(len(self._exprs))),
                    elements=len(self._exprs),
                    flags=hs.HS_FLAG_SINGLEMATCH,  # one report per pattern is all a presence test needs
                )
                self._db = db
        return self._db

    def present(self, data: bytes) -> set[str] | None:
        """The names of the patterns that occur in ``data``; None without hyperscan."""
        hs = _hyperscan()
        if hs is None:
            return None
        db = self._db if self._db is not None else self._database(hs)
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hs.Scratch(db)
        ids: list[int] = []
        db.scan(data, match_event_handler=_collect, context=ids, scratch=scratch)
        names = self.names
        return {names[i] for i in ids}


def _collect(id_: int, start: int, end: int, flags: int, ids: list[int]) -> None:
    ids.append(id_)
