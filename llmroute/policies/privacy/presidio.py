"""Microsoft Presidio as a Privacy recogniser: names and the national ids the built-ins lack.

``pip install 'llmroute[presidio]'`` installs ``presidio-analyzer`` (and spaCy) from PyPI. Nothing
is downloaded at run time, so the backend works offline in one of two ways:

- ``Presidio()``: Presidio's pattern recognisers only (US passport, ITIN, bank and driving
  licence numbers, UK NHS, medical licence, crypto wallets, MAC addresses, ...), no model;
  they cannot read context words in the text, so their weak patterns score low.
- ``Presidio(model="en_core_web_lg")`` or ``Presidio(model="/models/my-ner")``: with a spaCy
  pipeline you provide, installed as a package or saved in a directory, its NER adds names
  (``PERSON``) and context words raise the pattern scores. spaCy's pipelines are not on PyPI:
  install one where you have the internet (``python -m spacy download en_core_web_lg``) or from
  your own mirror. A model that is not there is a ConfigError when the policy is built; Presidio's
  own fallback (downloading it) never runs.

Or pass an ``analyzer`` you configured yourself (``presidio_analyzer.AnalyzerEngine``); keep it
offline as well: Presidio's ``EmailRecognizer`` fetches the public suffix list on first use
(llmroute's own analyzer leaves it out).

Findings are named by the entity, lower-cased (``person``, ``us_passport``); redaction
placeholders follow (``[PERSON_1]``). A scan with a model takes milliseconds, so an async router
decides such requests in a worker thread (``blocking``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import ConfigError

__all__ = ["Presidio"]

# Not looked for unless asked: entities that name no one by themselves (a date, a city, a web
# address), and those the built-in detectors find with context rules Presidio's patterns lack
# (on the independent set its IP and phone patterns flagged 11 and 7 of 155 hard negatives).
NOT_PERSONAL = frozenset({"DATE_TIME", "URL", "LOCATION", "ORGANIZATION", "NRP", "AGE", "UUID"})
BUILT_IN = frozenset({"CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "US_SSN", "EMAIL_ADDRESS", "EMAIL"})
# Presidio's e-mail check looks domains up in the public suffix list, which tldextract fetches
# over the network on first use; the built-in ``email`` detector covers addresses offline.
_ONLINE = ("EmailRecognizer",)


def _require_presidio() -> None:
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the Presidio backend needs presidio-analyzer: pip install 'llmroute[presidio]'", path="privacy.recognizers"
        ) from None


def _engine(model: str | Path | None, language: str) -> Any:
    """Presidio's NLP engine for ``model``: none (patterns only) or a spaCy pipeline that is here."""
    if model is None:
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        engine: Any = NoOpNlpEngine(models=[{"lang_code": language, "model_name": "none"}])
    else:
        import spacy
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        name = str(model)
        if not (spacy.util.is_package(name) or Path(name).is_dir()):
            raise ConfigError(
                f"spaCy pipeline {name!r} is neither an installed package nor a directory; llmroute never "
                "downloads one: install it (python -m spacy download NAME, or its wheel) or pass its directory",
                path="privacy.recognizers.presidio.model",
            )
        engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": name}])
    try:
        engine.load()
    except Exception as exc:
        raise ConfigError(f"could not load {model!r}: {type(exc).__name__}: {exc}", path="privacy.recognizers.presidio.model") from None
    return engine


def _analyzer(model: str | Path | None, language: str) -> Any:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    engine = _engine(model, language)
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=engine)  # + NER with a model
    recognizers: list[Any] = list(registry.recognizers)
    registry.recognizers = [r for r in recognizers if r.name not in _ONLINE]
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[language])


class Presidio:
    """Presidio's ``AnalyzerEngine`` as a recogniser: ``Privacy(recognizers=[Presidio(model=...)])``.

    ``model``: a spaCy pipeline (package name or directory) for names; None runs the pattern
    recognisers only. ``entities``: which Presidio entities count (default: every one the
    analyzer supports but those in ``NOT_PERSONAL`` and ``BUILT_IN``). ``score_threshold``: Presidio's confidence
    below which a result is ignored. ``analyzer``: an ``AnalyzerEngine`` you built instead.
    """

    name = "presidio"
    blocking = True  # an NER pass takes milliseconds: async routers call it off the event loop

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        entities: Iterable[str] | None = None,
        language: str = "en",
        score_threshold: float = 0.4,
        analyzer: Any = None,
    ) -> None:
        _require_presidio()
        if not isinstance(language, str) or not language:
            raise ConfigError(f"must be a language code like 'en', got {language!r}", path="privacy.recognizers.presidio.language")
        if isinstance(score_threshold, bool) or not isinstance(score_threshold, (int, float)) or not 0 <= score_threshold <= 1:
            raise ConfigError(f"must be a number from 0 to 1, got {score_threshold!r}", path="privacy.recognizers.presidio.score_threshold")
        if analyzer is not None and model is not None:
            raise ConfigError("give a model or an analyzer, not both", path="privacy.recognizers.presidio")
        if analyzer is None:
            analyzer = _analyzer(model, language)
        elif not callable(getattr(analyzer, "analyze", None)):
            raise ConfigError(f"must be a presidio_analyzer.AnalyzerEngine, got {type(analyzer).__name__}", path="privacy.recognizers.presidio.analyzer")
        supported = set(analyzer.get_supported_entities(language))
        if entities is None:
            wanted = sorted(supported - NOT_PERSONAL - BUILT_IN)
        else:
            wanted = [entities] if isinstance(entities, str) else list(entities)
            unknown = sorted(set(wanted) - supported)
            if unknown:
                raise ConfigError(
                    f"not supported by this analyzer: {unknown}; it supports {sorted(supported)}",
                    path="privacy.recognizers.presidio.entities",
                )
        if not wanted:
            raise ConfigError("no entities to look for", path="privacy.recognizers.presidio.entities")
        self.model = None if model is None else str(model)
        self.language = language
        self.entities = tuple(wanted)
        self.score_threshold = float(score_threshold)
        self._analyzer = analyzer

    def __repr__(self) -> str:
        return f"Presidio(model={self.model!r}, entities={list(self.entities)}, score_threshold={self.score_threshold})"

    def find(self, text: str) -> list[tuple[int, int, str]]:
        results = self._analyzer.analyze(
            text, language=self.language, entities=list(self.entities), score_threshold=self.score_threshold
        )
        return [(r.start, r.end, r.entity_type.lower()) for r in results]
