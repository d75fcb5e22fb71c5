"""Personal and health data that only its context identifies (PHI under HIPAA and the like).

- :func:`context_id` runs on each run of digits the engine's shared digit pass finds: an
  identifier shape (5+ digits, or letters and digits: ``E4471928``, ``XGH884213097``) or a date,
  named by the words just before it: a date of birth (``DOB``, ``born``, ``geb.``, ``né le``), a
  medical record number (``MRN``, ``Patienten-ID``, ``IPP``, an HL7 ``PID|`` segment), a
  health-plan or member id (``Member ID``, ``MBI``, ``Versichertennummer``, ``sécurité
  sociale``), or a personal document or staff number (passport, employee ID, ``Personalnummer``).
- :class:`PersonContext` finds a named person next to a sensitive fact about them: a diagnosis
  or treatment (``patient_diagnosis``) or a salary, a passport, a divorce, an eviction, a
  disciplinary step (``person_data``). Its gate is one pass over the text's words; the
  regexes run only around a fact word it found. The finding covers the person's name, so
  redaction de-identifies the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .context import digit_count, literal_alternation
from .prefilter import literal

__all__ = ["CONTEXT_IDS", "PersonContext", "context_id"]

CONTEXT_IDS = ("date_of_birth", "medical_record_number", "health_plan_id", "id_number")

_KW = re.compile(
    r"(?P<date_of_birth>d\.?o\.?b\b|date[ _]of[ _]birth|birth[ _]?date|birthday|\bborn\b|geb\.|geboren|geburtsdatum|geburtstag"
    r"|\bn[ée]e? le\b|date de naissance|nacid[oa]|fecha de nacimiento|\bnat[oa] il\b|data di nascita|geboortedatum"
    r"|data urodzenia|urodzon|data de nascimento)"
    r"|(?P<medical_record_number>\bmrn|medical record|med\.? ?rec|patient(?:en)?[ \-]?(?:id|nr|nummer|number|no)"
    r"|chart ?(?:no|number|#)|\bpid\||\bipp\b|fall-?nr|fallnummer|n° de dossier|num[ée]ro de dossier"
    r"|historia cl[íi]nica|hospital (?:no|number)|\bmr ?#|record ?#)"
    r"|(?P<health_plan_id>member(?:ship)? ?(?:id|#|no|number)|subscriber ?(?:id|#|no)|policy ?(?:no|number|#)"
    r"|group ?(?:#|no|number)|health ?plan|insurance ?(?:id|no|number|card)|\bmbi\b|medicare|medicaid|versicherten"
    r"|versicherungsnummer|\bkvnr|s[ée]curit[ée] sociale|carte vitale|\bnir\b|afiliaci[óo]n|tarjeta sanitaria"
    r"|tessera sanitaria|\bnhs\b|beneficiary)"
    r"|(?P<id_number>passport|pasaporte|passeport|reisepass|passaporto|paszport|driver'?s licen[cs]e|driving licen[cs]e|licen[cs]e ?(?:no|number|#)|my licen[cs]e|f[üu]hrerschein"
    r"|permis de conduire|\bdni\b|\bnie\b|\bnif\b|codice fiscale|steuer-?id|steuernummer|personalausweis|id card"
    r"|national id|identity card|employee ?(?:id|no|number|#)|personalnummer|personnel ?(?:no|number)|staff ?(?:id|no)"
    r"|matricule|badge ?(?:no|number|#))"
)
# A literal that every match of _KW contains: scanning for these first is ~10x cheaper than _KW's
# hundred alternatives at every position, and most windows before a number hold none of them.
_KW_ANCHORS = (
    "dob", "d.o", "do.", "birth", "born", "geb", "e le", "é le", "naissance", "nacid", "nacimiento", "nato",
    "nata", "nascita", "geboorte", "urodz", "nascimento", "mrn", "med", "patient", "chart", "pid|", "ipp",
    "fall", "dossier", "historia", "hospital", "mr #", "mr#", "record", "member", "subscriber", "policy",
    "group", "health", "insurance", "mbi", "versicher", "kvnr", "sociale", "vitale", "nir", "afiliaci",
    "sanitaria", "nhs", "beneficiar", "pas", "driver", "licen", "hrerschein", "conduire", "dni", "nie", "nif",
    "codice", "steuer", "personal", "id card", "national", "identity", "employee", "personnel", "staff",
    "matricule", "badge",
)
_KW_ANCHOR = re.compile(literal_alternation(_KW_ANCHORS))
_MONTHS = (
    r"(?:jan(?:uary|vier|uar|uari)?|feb(?:ruary|ruar|ruari)?|f[ée]v(?:rier)?|mar(?:ch|s|z|zo)?|m[äa]rz|apr(?:il|ile)?|avr(?:il)?"
    r"|abr(?:il)?|may|mai|mayo|maggio|mei|jun(?:e|i|io|io)?|juin|giugno|jul(?:y|i|io)?|juil(?:let)?|luglio|aug(?:ust|ustus)?"
    r"|ao[uû]t|ago(?:sto)?|sep(?:t|tember|tiembre|tembre)?|set(?:tembre)?|oct(?:ober|obre|ubre)?|okt(?:ober)?|ottobre"
    r"|nov(?:ember|embre|iembre)?|dec(?:ember)?|d[ée]c(?:embre)?|dez(?:ember)?|dic(?:iembre|embre)?)"
)
_DATE_AT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[./\-][0-9]{1,2}[./\-][0-9]{2,4}"
    r"|[0-9]{1,2}\.?(?:st|nd|rd|th)?[ \t]+(?:de[ \t]+)?" + _MONTHS + r"\.?,?[ \t]+(?:de[ \t]+)?[0-9]{4}",
    re.IGNORECASE,
)
_DATE_MONTH_FIRST = re.compile(r"(?<![a-z])" + _MONTHS + r"\.?[ \t]+[0-9]{1,2}(?:st|nd|rd|th)?,?[ \t]+[0-9]{4}", re.IGNORECASE)
_HASHLIKE = re.compile(r"[0-9a-f\-]*[a-f][0-9a-f\-]*")  # lower-case hex: a hash, SHA or UUID, never an id
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def context_id(text: str, start: int, end: int) -> tuple[str, tuple[int, int]] | None:
    """The context-named identifier or date of birth around the digit run ``text[start:end]``, if
    any (a plain function, not a generator: it runs on every run of digits)."""
    n = len(text)
    # fast exit for the common case: a short number standing alone ("3 apples", "in 2019")
    if end - start <= 4 and (start == 0 or text[start - 1] not in _ID_CHARS) and (end >= n or text[end] not in _ID_CHARS):
        nxt = text[end : end + 2]
        if not (end - start <= 2 and len(nxt) == 2 and nxt[0] in " .\t" and nxt[1].isalpha()):
            if not (start >= 2 and text[start - 1] == " " and text[start - 2].isalpha() and end - start <= 2):
                return None
    s = start
    while s > 0 and start - s < 6 and text[s - 1] in _ID_CHARS:
        s -= 1
    e = end
    while e < n and e - end < 16 and text[e] in _ID_CHARS:
        e += 1
    token = text[s:e]
    digits = digit_count(token)  # token: ASCII id characters only
    id_like = (digits >= 5 or (digits >= 3 and e - s >= 8)) and not _HASHLIKE.fullmatch(token)
    date: tuple[int, int] | None = None
    m = _DATE_AT.match(text, start)
    if m is not None:
        date = m.span()
    elif digits <= 2 and start >= 4 and text[start - 1] == " " and text[start - 2].isalpha():
        for m in _DATE_MONTH_FIRST.finditer(text, max(0, start - 14), min(n, end + 8)):
            if m.start() <= start < m.end():
                date = m.span()
    if date is None and not id_like:
        return None
    lo = min(s, date[0]) if date is not None else s
    window = text[max(0, lo - 50) : lo].lower()
    if _KW_ANCHOR.search(window) is None:
        return None
    last = None
    for hit in _KW.finditer(window):
        last = hit
    if last is None or "\n\n" in window[last.end() :]:
        return None
    kind = last.lastgroup or ""
    if kind == "date_of_birth":
        return (kind, date) if date is not None else None
    return (kind, (s, e)) if id_like else None


_CUES_HEALTH = (
    "cancer cancers tumor tumour tumore leukemia leukaemia lymphoma diabetes diabetic diabète diabete hiv vih aids sida "
    "depression dépression depresión depressione depressed anxiety adhd tdah autism autistic autisme schizophrenia "
    "bipolar dementia alzheimer alzheimer's epilepsy epileptic seizure seizures stroke pneumonia asthma copd hepatitis "
    "tuberculosis parkinson parkinson's sclerosis ptsd panic chemotherapy chemo dialysis pregnant pregnancy miscarriage "
    "abortion overdose addiction alcoholism rehab suicidal suicide hypertension infarction fracture surgery diagnosed "
    "diagnosis diagnostiqué diagnostiquée diagnosticado diagnosticada diagnosticato krebs brustkrebs krankgeschrieben "
    "psychiatric disorder syndrome schwanger embarazada enceinte incinta cancro depression depressionen mammakarzinom "
    "herzinfarkt schlaganfall demenz epilepsie insulin antidepressant antidepressants ssri sertraline fluoxetine "
    "methadone hiv-positive cbt astma asma asthme mononucleosis mononucleosi mononucléose mononukleose pfeiffersches "
    "depressive depressiven depressiva t2dm t1dm ckd metformin"
)
_CUES_PERSONAL = (
    "salary salaries compensation gehalt salaire salario stipendio payroll divorced divorce evicted eviction arrested "
    "convicted conviction criminal probation restraining custody bankrupt bankruptcy pip disciplinary abmahnung "
    "dismissal passport pasaporte passeport reisepass immigration undocumented asylum nationality staatsangehörigkeit "
    "religion gay lesbian transgender sexuality"
)
_CUE_KIND = {w.encode(): "patient_diagnosis" for w in _CUES_HEALTH.split()}
_CUE_KIND.update({w.encode(): "person_data" for w in _CUES_PERSONAL.split()})
_CUES = frozenset(_CUE_KIND)
# a text's words: split at whitespace and punctuation (digits stay in words: "T2DM")
_PUNCT = bytes(32 if chr(b) in "!\"#$%&()*+,./:;<=>?@[\\]^_`{|}~\t\n\r" else b for b in range(256))
_SPLIT_AT = b"[" + literal(bytes(b for b in range(256) if _PUNCT[b] == 32 or b in (11, 12))) + b"]"
# each cue as a whole word of that split, for the hyperscan prefilter (see detectors.find_spans)
CUE_PATTERNS = {"cue:" + w.decode(): b"(?:^|" + _SPLIT_AT + b")" + literal(w) + b"(?:" + _SPLIT_AT + b"|$)" for w in _CUES}

_NAME = r"[A-ZÀ-ÖØ-Ý][a-zà-öø-ÿ'\u2019\-]+"
# The title and relation words grouped by first letter (order kept inside each group): at each
# word start the engine then tries one group, not all ~60 words; the same matches in the same
# order, since words with different first letters cannot match at one position. 1.7x faster.
_TITLES = r"M(?:r|rs|s|iss|x|me|lle)|Dr|Prof|Herr|Frau|S(?:r|ra|ig|ig\.ra)"
_RELATIONS = (
    r"[Pp](?:atient(?:in)?|aciente|aziente|t|our|ara|er)|[Cc](?:lient(?:e)?|olleague|oll[èe]gue|andidate)"
    r"|[Nn](?:ame|om|ombre|ome|eighbou?r)|[Mm](?:ember|itarbeiter(?:in)?|other|om)|[Bb](?:eneficiary|rother)"
    r"|[Ee](?:mployee|x)|[Kk]olleg(?:e|in)|[Tt](?:enant|ochter)|[Ss](?:on|ohn|ister)|[Dd](?:aughter|ad)|[Ww]ife"
    r"|[Hh](?:usband|ij[oa])|[Ff](?:ils|ille|igli[oa]|ather|riend|or|[üu]r)|[Aa]pplicant"
)
_PERSON = re.compile(
    r"\b(?:" + _TITLES + r")\.?[ \t]+(" + _NAME + r"(?:[ \t]+" + _NAME + r")?)"
    r"|\b(?:" + _RELATIONS + r")[ \t]*[:,]?[ \t]+(" + _NAME + r"(?:[ \t]+" + _NAME + r"){0,2})"
    r"|(?<![\w.])(" + _NAME + r"[ \t]+" + _NAME + r"(?:[ \t]+" + _NAME + r")?)"
)
_NOT_NAMES = frozenset(
    "The This That These Those Please Write Can Could Would Hi Hello Dear Thanks Thank My Our Your His Her Their It In On "
    "At For From To With And But If When What How Why Which Who Is Are Do Does Did We You He She They Mein Meine Bitte "
    "Der Die Das Le La Les El Los Las Il Lo Una Un Une Monday Tuesday Wednesday Thursday Friday Saturday Sunday January "
    "February March April May June July August September October November December Session Patient Client Note Notes "
    "Summary Report Review Team Sr Dr Mr Mrs Ms New United Visual Microsoft Google Apple Amazon Hospital Insurance "
    "Medicare Medicaid Compensation Performance Background Therapy Discharge Engineer Staff Part Plan Group Member "
    "Scrivi Redacta Pouvez Kannst Necesito Ayúdame Préviens Bitte Compte Hola Bonjour Salve Hallo".split()
)


_WORD_REST = re.compile(r"[\w'\u2019\-]*")
_MAX_CUES = 64  # cue windows the person rule reads per text: bounds a long text's cost


class PersonContext:
    """A named person within the same passage as a sensitive fact about someone."""

    name = "person_context"
    names = ("patient_diagnosis", "person_data")

    def __init__(self, enabled: tuple[str, ...] = names) -> None:
        self.enabled = frozenset(enabled)

    def find_named(self, text: str, low: str, found: set[str] | None = None) -> Iterator[tuple[int, int, str]]:
        """Named people near a cue word; ``found``: the ``CUE_PATTERNS`` names the prefilter found
        in ``low`` (None: split it into words here)."""
        if found is None:
            hits = _CUES.intersection(low.encode("utf-8", "ignore").translate(_PUNCT).split())
        else:
            hits = frozenset(name[4:].encode() for name in found)
        if not hits:
            return
        done = -1
        cues: list[tuple[int, int, str]] = []
        for word in hits:
            w = word.decode()
            at, taken = low.find(w), 0
            while at != -1 and taken < _MAX_CUES:
                end = at + len(w)
                if (at == 0 or not low[at - 1].isalnum()) and (end >= len(low) or not low[end].isalnum()):
                    cues.append((at, end, _CUE_KIND[word]))
                    taken += 1
                at = low.find(w, end)
        # The earliest cues in the text, not the first words a set yields: set order changes with
        # the hash seed, and so did a long text's findings, from process to process and path to path.
        for cue_start, cue_end, kind in sorted(cues)[:_MAX_CUES]:
            if kind not in self.enabled or cue_end < done:
                continue
            lo = max(0, cue_start - 160)
            hi = min(len(text), cue_end + 120)
            gap = text.rfind("\n\n", lo, cue_start)
            lo = gap + 2 if gap != -1 else lo
            gap = text.find("\n\n", cue_end, hi)
            hi = gap if gap != -1 else hi
            for m in _PERSON.finditer(text, lo, hi):
                group = next(g for g in (1, 2, 3) if m.group(g) is not None)
                start, end = m.span(group)
                first = m.group(group).split()[0]
                if group == 3 and first in _NOT_NAMES:
                    rest = m.group(group).split()[1:]
                    if len(rest) < 2 or rest[0] in _NOT_NAMES:
                        continue
                    start = text.find(rest[0], start)
                if group == 2 and first in _NOT_NAMES:
                    continue
                if start < done:
                    continue
                if end == hi:  # the window's edge cut the name: the span takes the rest of its word
                    end = _WORD_REST.match(text, end).end()  # type: ignore[union-attr]
                done = end
                yield start, end, kind
