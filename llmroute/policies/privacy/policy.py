"""The Privacy policy: scan a request with the detectors, keep a sensitive one on allowed hosting."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ..._text import located_texts, other_texts
from ..._types import Constraint, Message, Model, Request, Verdict
from ..._validate import one_of, subset
from ...errors import ConfigError
from .backends import Recognizer, check_recognizers, run_recognizer
from .detectors import _NUMERIC, _PERSON, _SHORT_RUNS, _SIMPLE, DETECTORS, _DigitRuns, _Rx, find_spans
from .findings import Finding
from .normalize import normalize
from .personal import CONTEXT_IDS, PersonContext
from .redaction import Redaction, redact_messages

__all__ = ["Privacy"]


_Segment = tuple[int, int | None, str, int, str]
"""(message, part, field, offset in that piece, text): the end of one piece of message text."""


def _keep_tail(tail: list[_Segment], i: int, j: int | None, field: str, text: str, size: int) -> None:
    """Append the end of ``text`` to ``tail`` and cut ``tail`` to its last ``size`` characters."""
    tail.append((i, j, field, max(0, len(text) - size), text[-size:]))
    extra = sum(len(seg[4]) for seg in tail) - size
    while extra > 0:
        si, sj, sfield, offset, seg = tail[0]
        if len(seg) <= extra:
            tail.pop(0)
            extra -= len(seg)
        else:
            tail[0] = (si, sj, sfield, offset + extra, seg[extra:])
            extra = 0


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
        recognizers: Iterable[Recognizer] = (),
        opaque: Literal["sensitive", "allow"] = "sensitive",
    ) -> None:
        from ..._types import CLASSIFICATIONS, HOSTINGS

        self.mode = one_of(mode, ("restrict", "redact"), "privacy.mode")
        self.opaque = one_of(opaque, ("sensitive", "allow"), "privacy.opaque")

        self.allowed_hosting = frozenset(allowed_hosting)
        if not self.allowed_hosting or not self.allowed_hosting <= HOSTINGS:
            raise ConfigError(f"must be a non-empty subset of {sorted(HOSTINGS)}", path="privacy.allowed_hosting")
        wanted = subset(DETECTORS if detectors is None else detectors, DETECTORS, "privacy.detectors", what="detectors")
        simple: list[Any] = [d for d in _SIMPLE if d.name in wanted]
        term_list = [t.strip() for t in terms if isinstance(t, str) and t.strip()]
        if term_list:
            alternation = "|".join(re.escape(t) for t in sorted(term_list, key=len, reverse=True))
            simple.append(_Rx("term", re.compile(rf"(?i)(?<!\w)(?:{alternation})(?!\w)"), left=None))
        from ...guards.config import nested_repeat

        for key, regex in (patterns or {}).items():
            if not isinstance(regex, str):
                raise ConfigError(f"must be a regex string, got {type(regex).__name__}", path=f"privacy.patterns.{key}")
            try:
                if nested_repeat(regex):  # Python's re has no timeout: refuse the shape that never ends
                    raise ConfigError(
                        "a repeat inside a repeat (like (a+)+) can take for ever on some text; rewrite it without nesting",
                        path=f"privacy.patterns.{key}",
                    )
                simple.append(_Rx(f"pattern:{key}", re.compile(regex), left=None))
            except re.error as exc:
                raise ConfigError(f"invalid regex: {exc}", path=f"privacy.patterns.{key}") from None
        person = tuple(n for n in _PERSON.names if n in wanted)
        if person:
            simple.append(PersonContext(person))
        self._simple = tuple(simple)
        numeric = tuple(d for d in _NUMERIC if d.name in wanted)
        short = tuple(d for d in _SHORT_RUNS if d.name in wanted)
        context = frozenset(n for n in CONTEXT_IDS if n in wanted)
        self._runs = (_DigitRuns(numeric, short, context),) if numeric or short or context else ()
        self._recognizers = check_recognizers(recognizers)
        self.sensitive_classifications = subset(
            sensitive_classifications, CLASSIFICATIONS, "privacy.sensitive_classifications", what="classifications"
        )

    def __repr__(self) -> str:
        return f"Privacy(allowed_hosting={sorted(self.allowed_hosting)}, detectors={list(self.detectors)}, mode={self.mode!r})"

    @property
    def blocking(self) -> bool:
        """Whether a scan may take milliseconds (a recogniser that does not say ``blocking =
        False``, such as an NER model): async routers then decide off the event loop."""
        return any(getattr(r, "blocking", True) for r in self._recognizers)

    @property
    def detectors(self) -> tuple[str, ...]:
        """The names of the detectors this policy runs."""
        names: list[str] = []
        for d in self._simple:
            names += list(getattr(d, "names", (d.name,)))
        for runs in self._runs:
            names += [m.name for m in runs.members] + [m.name for m in runs.short] + sorted(runs.context)
        names += [r.name for r in self._recognizers]
        return tuple(dict.fromkeys(names))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """Detector hits in ``text`` after normalisation, as spans of the original text, overlaps
        resolved: a span an earlier detector claimed is not reported again (linear: the claimed
        spans are kept disjoint and sorted, each new one is checked by bisection)."""
        norm = normalize(text)
        hits = find_spans(norm.text, self._simple, self._runs)
        for recognizer in self._recognizers:
            hits.extend(run_recognizer(recognizer, norm.text))
        starts: list[int] = []
        ends: list[int] = []
        kept: list[tuple[int, int, str]] = []
        for start, end, name in hits:
            if end <= start:
                continue
            start, end = norm.span(start, end)
            i = bisect_left(starts, end)  # claimed spans starting before this one ends
            if i and ends[i - 1] > start:
                continue
            if i < len(starts) and starts[i] < end:
                continue
            starts.insert(i, start)
            ends.insert(i, end)
            kept.append((start, end, name))
        kept.sort()
        return kept

    def scan_text(self, text: str, message: int = 0, part: int | None = None, field: str = "content") -> list[Finding]:
        """Findings in one piece of text; a span already claimed by an earlier detector is not reported twice."""
        return [Finding(name, message, part, start, end, field) for start, end, name in self._spans(text)]

    def scan(self, messages: Sequence[Message] | Request) -> list[Finding]:
        """Every finding in every byte a provider would be sent: message text, content parts and
        tool-call arguments, the seams between consecutive pieces (a value split over two messages
        is found in both), and every other field (names, image URLs, files, tool definitions; with
        a Request, its parameters too: ``response_format``, ``stop``, ``extra_body``...). A value
        that cannot be read as text is an ``unscannable`` finding unless ``opaque="allow"``."""
        msgs: Sequence[Message]
        params: Mapping[str, Any] | None
        if isinstance(messages, Request):
            msgs, params = messages.messages, messages.params
        else:
            msgs, params = messages, None
        found: list[Finding] = []
        tail: list[_Segment] = []  # the last _SEAM characters before the next piece, over any number of pieces
        for i, j, field, text in located_texts(msgs):
            found.extend(self.scan_text(text, i, j, field))
            if not text:
                continue
            if tail:
                found.extend(self._seam(tail, i, j, field, text))
            _keep_tail(tail, i, j, field, text, self._SEAM)
        others = list(other_texts(msgs, params))
        if others:
            found.extend(self._scan_others(others))
        return found

    def _scan_others(self, others: list[tuple[int, str, str | None]]) -> list[Finding]:
        """The other fields in one pass: their texts joined (a blank line apart), each hit mapped
        back to its field. None of these can be redacted."""
        found: list[Finding] = []
        starts: list[int] = []
        pieces: list[str] = []
        at = 0
        kept: list[tuple[int, str, str]] = []
        for i, path, text in others:
            if text is None:
                if self.opaque == "sensitive":
                    found.append(Finding("unscannable", i, None, 0, 0, path, redactable=False))
                continue
            starts.append(at)
            pieces.append(text)
            kept.append((i, path, text))
            at += len(text) + 2
        for start, end, name in self._spans("\n\n".join(pieces)):
            k = bisect_left(starts, start + 1) - 1  # the piece the hit starts in
            i, path, _text = kept[k]
            found.append(Finding(name, i, None, start - starts[k], end - starts[k], path, redactable=False))
        return found

    _SEAM = 96

    def _seam(self, tail: list[_Segment], i: int, j: int | None, field: str, text: str) -> list[Finding]:
        """Findings that straddle the start of piece ``text``: the pieces before it (``tail``, as
        many as fit in ``_SEAM`` characters: a value can be cut into three messages or more)
        joined to its head; reported as one finding in each piece the value touches, so
        redaction masks every part."""
        cut = sum(len(seg[4]) for seg in tail)
        out: list[Finding] = []
        for start, end, name in self._spans("".join(seg[4] for seg in tail) + text[: self._SEAM]):
            if not start < cut < end:
                continue
            at = 0
            for si, sj, sfield, offset, seg in tail:
                lo, hi = max(start, at), min(end, at + len(seg))
                if lo < hi:
                    out.append(Finding(name, si, sj, offset + lo - at, offset + hi - at, sfield))
                at += len(seg)
            out.append(Finding(name, i, j, 0, end - cut, field))
        return out

    def redact(self, messages: Sequence[Message] | Request) -> Redaction:
        """Replace every finding with a placeholder such as ``[EMAIL_1]`` (the same value, the same one).

        Opt-in, for data you choose to send to a hosted model without its raw values: route the
        redacted messages (they no longer trigger this policy) and ``restore`` the reply.
        """
        msgs = messages.messages if isinstance(messages, Request) else tuple(messages)
        return redact_messages(msgs, self.scan(msgs))

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        label = request.classification
        if label == "public":
            return Verdict.keep_all(candidates, "classified public: not scanned")
        if label in self.sensitive_classifications:
            detectors: list[str] = [f"classification:{label}"]
        else:
            detectors = []
            try:
                found = self.scan(request)
            except Exception as exc:  # a detector that fails cannot clear a request: fail closed
                found = [Finding(f"error:{type(exc).__name__}", 0, None, 0, 0, redactable=False)]
            for f in found:
                if f.detector not in detectors:
                    detectors.append(f.detector)
            if not detectors:
                return Verdict.keep_all(candidates, "no sensitive data found")
        allowed = ", ".join(sorted(self.allowed_hosting))
        why = f"sensitive data ({', '.join(detectors)})"
        data = {"detectors": tuple(detectors), "sensitive": True}
        # only message text and tool-call arguments can be masked; a value anywhere else (a name,
        # a URL, a tool definition, a parameter, something unreadable) keeps the request restricted
        if self.mode == "redact" and label not in self.sensitive_classifications and all(f.redactable for f in found):
            constraint = Constraint("privacy", why, hosting=self.allowed_hosting, data=data, redact=self._redact_fully)
            return Verdict.ranked(
                candidates,
                key=lambda m: m.hosting not in self.allowed_hosting,
                reason=f"{why}: {allowed} hosting first; others get a redacted copy",
                constraints=(constraint,),
                data=data,
            )
        constraint = Constraint(name="privacy", reason=why, hosting=self.allowed_hosting, data=data)
        keep: list[str] = []
        dropped: dict[str, str] = {}
        why_not: dict[str, str] = {}  # one reason per hosting, not one string per model
        for m in candidates:
            if m.hosting in self.allowed_hosting:
                keep.append(m.name)
            else:
                text = why_not.get(m.hosting)
                if text is None:
                    text = why_not[m.hosting] = f"{why} may not go to {m.hosting!r} hosting"
                dropped[m.name] = text
        return Verdict(tuple(keep), dropped, f"{why}: only {allowed} hosting", (constraint,), data)

    def _redact_fully(self, messages: tuple[Message, ...]) -> Redaction:
        """``redact``, refusing (so the router fails closed) if a scan of the copy still finds anything."""
        redaction = self.redact(messages)
        if self.scan(redaction.messages):
            raise ValueError("the redacted copy still holds sensitive data")
        return redaction
