"""Privacy detection (issue 13): evasions undone before detection, values split across messages,
current credential formats, PHI, context rules against false positives, documented examples,
user recognisers, and - on the wire - that no evaded value reaches a hosted model's server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai_server import OpenAIServer

from llmroute import Model, Router
from llmroute.adapters import LiteLLM
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError
from llmroute.policies import Privacy
from llmroute.policies.privacy.normalize import normalize


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def names(text: str, policy: Privacy | None = None) -> set[str]:
    return {f.detector for f in (policy or Privacy()).scan(user(text))}


# (text with an evasion, the value as a model would read it, a detector that must fire)
EVASIONS = [
    ("ssn 536228745", "536228745", "us_ssn"),
    ("my social is 536228745", "536228745", "us_ssn"),
    ("ssn \uff15\uff13\uff16-\uff12\uff12-\uff18\uff17\uff14\uff15", "536-22-8745", "us_ssn"),  # full-width digits
    ("ssn 536\u201122\u20118745", "536-22-8745", "us_ssn"),  # non-breaking hyphens
    ("ssn 536.22.8745", "536.22.8745", "us_ssn"),  # dot separators
    ("ssn 536 - 22 - 8745", "536 - 22 - 8745", "us_ssn"),
    ("ssn 536-2\u200b2-8745", "536-22-8745", "us_ssn"),  # zero-width space inside
    ("mail bo.lind\uff20corp.io", "bo.lind@corp.io", "email"),  # full-width at sign
    ("mail bo.lind%40corp.io", "bo.lind@corp.io", "email"),  # percent-encoded
    ("mail bo dot lind at corp dot io please", "bo.lind@corp.io", "email"),  # spelled out
    ("mail bo.lind [at] corp [dot] io", "bo.lind@corp.io", "email"),
    ("card 4111\u00a01111\u00a01111\u00a01111", "4111 1111 1111 1111", "payment_card"),  # no-break spaces
    ("call me on 0171 4839207", "0171 4839207", "phone"),
]


@pytest.mark.parametrize(("text", "value", "detector"), EVASIONS)
def test_evasions_are_detected_and_mapped_back(text: str, value: str, detector: str) -> None:
    found = Privacy().scan(user(text))
    assert detector in {f.detector for f in found}
    red = Privacy().redact(user(text))
    sent = json.dumps(red.messages, ensure_ascii=False)
    digits = "".join(c for c in value if c.isalnum())
    assert value not in sent and digits not in "".join(c for c in normalize(sent).text if c.isalnum())


def test_normalize_maps_offsets_back() -> None:
    text = "a\u200bb \uff21\uff22\uff23 x%40y"
    norm = normalize(text)
    assert norm.text == "ab ABC x@y"
    start = norm.text.index("ABC")
    assert norm.span(start, start + 3) == (text.index("\uff21"), text.index("\uff23") + 1)
    assert normalize("plain ascii").starts is None


def test_value_split_across_two_messages_is_found_in_both_and_redacted() -> None:
    msgs = [{"role": "user", "content": "my ssn is 536-22"}, {"role": "user", "content": "-8745 thanks"}]
    found = Privacy().scan(msgs)
    assert {(f.detector, f.message) for f in found} == {("us_ssn", 0), ("us_ssn", 1)}
    red = Privacy().redact(msgs)
    assert "536-22" not in red.messages[0]["content"] and "8745" not in red.messages[1]["content"]


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("sk-ant-api03-" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY" * 3 + "AA", "anthropic_key"),
        ("stripe whsec_Hq8Lm2Xz7Kp4Rt9Vb3Nc6Wd1Yf5Gs0Aj", "stripe_key"),
        ("https://hooks.slack.com/services/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", "slack_webhook"),
        ("token hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "huggingface_token"),
        ("glpat-Ab3De5Gh7Jk9Mn1Pq2Rs", "gitlab_token"),
        ("AccountKey=" + "Ab3De5Gh7Jk9Mn1Pq2Rs4Tu6Vw8Xy0Za" * 2 + "Ab3De5Gh7Jk9Mn1Pq2Rs4T==", "azure_key"),
        ("-p abc8Q~Ab3De5Gh7Jk9Mn1Pq2Rs4Tu6Vw8Xy0Za1b", "azure_key"),
        ("npm_Ab3De5Gh7Jk9Mn1Pq2Rs4Tu6Vw8Xy0Za1bCd", "npm_token"),
        ("AWS_ACCESS_KEY_ID=AKIAZ7EXAMPLEQ4M2VXT", "aws_access_key"),  # contains EXAMPLE, live shape: counts
        ("Pt: Gerald Whitfield  DOB: 03/14/1952", "date_of_birth"),
        ("born 14 June 2017 in Leeds", "date_of_birth"),
        ("MRN: 00482917, admitted Tuesday", "medical_record_number"),
        ("Member ID: XGH884213097", "health_plan_id"),
        ("Passport no. 548213097", "id_number"),
        ("Patient John Ferreira, 54, presents with new-onset seizures", "patient_diagnosis"),
        ("Compensation review: Brian Tolliver $148,500 base salary", "person_data"),
        ("Via Giuseppe Verdi 42, 20121 Milano", "street_address"),
        ("14 rue des Lilas, 69003 Lyon", "street_address"),
        ("Hertfordshire SG11 2BT", "street_address"),
        ("mot de passe \"7hXk2pQ9wRmn4T\"", "password"),
        ("login for reference: admin / P@ssw0rd-Harlow88", "password"),
        ("the server 10.14.3.27 refuses ssh", "ipv4"),
    ],
)
def test_new_detectors_find(text: str, detector: str) -> None:
    assert detector in names(text)


@pytest.mark.parametrize(
    "text",
    [
        "We need to upgrade from 10.2.0.1 to 10.4.1.2 this weekend",
        "Firmware 7.57.1.2 crashes the router every night",
        "see section 4.2.1.3 of the spec",
        "RFC 1918 ranges 10.0.0.0/8 and 192.168.0.0/16",
        "UPS tracking 1Z 7W2 849 03 4417 8826",
        "Order #112-4432198-5567012 is late",
        "Référence produit 3760-1245-8890-2",
        "Factor 600851475143 into primes",
        "F(80) is 23416728348467685",
        "The AWS docs example key is AKIAIOSFODNN7EXAMPLE",
        "Stripe's docs test card 4242 4242 4242 4242",
        'headers = {"x-api-key": api_key}',
        "SLACK_BOT_TOKEN=xoxb-tu-token-aqui",
        'psql "postgresql://postgres:postgres@localhost:5432/postgres"',
        "Google's headquarters is 1600 Amphitheatre Parkway, Mountain View, CA 94043",
        "What's the usual starting dose of metformin for type 2 diabetes?",
        "Ada Lovelace wrote the first program for the Analytical Engine",
    ],
)
def test_context_rules_ignore(text: str) -> None:
    assert names(text) == set()


def test_documented_card_counts_where_it_is_not_labelled_an_example() -> None:
    assert "payment_card" in names("charge my visa 4242 4242 4242 4242 please")


def test_many_emails_scan_every_one() -> None:
    text = " ".join(f"user{i}@example{i % 7}.org" for i in range(3000))
    assert len(Privacy().scan(user(text))) == 3000


# -- recognisers -----------------------------------------------------------------------------
class Names:
    name = "person"

    def find(self, text: str) -> list[tuple[int, int]]:
        at = text.find("Jane Roe")
        return [] if at == -1 else [(at, at + 8)]


def test_a_user_recognizer_reports_under_its_name() -> None:
    policy = Privacy(recognizers=[Names()])
    assert "person" in policy.detectors
    assert names("ask Jane Roe", policy) == {"person"}

    def project(text: str) -> list[tuple[int, int, str]]:
        return [(0, 5, "codename")] if text.startswith("Falco") else []

    assert names("Falco launches", Privacy(recognizers=[project])) == {"codename"}


def test_a_broken_recognizer_is_a_config_error_when_built() -> None:
    def boom(text: str) -> list[tuple[int, int]]:
        raise RuntimeError("model not loaded")

    with pytest.raises(ConfigError, match="model not loaded"):
        Privacy(recognizers=[boom])
    with pytest.raises(ConfigError, match="outside the text"):
        Privacy(recognizers=[lambda text: [(0, 10_000)]])
    with pytest.raises(ConfigError, match="name"):
        Privacy(recognizers=[object()])


def test_a_recognizer_failing_at_scan_time_fails_closed() -> None:
    class Flaky:
        name = "flaky"
        calls = 0

        def find(self, text: str) -> list[tuple[int, int]]:
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise RuntimeError("gpu gone")
            return []

    hosted = Function(lambda r: "hosted")
    local = Function(lambda r: "local")
    router = Router([Model("hosted", hosted, hosting="api"), Model("local", local, hosting="local")],
                    [Privacy(recognizers=[Flaky()])])
    decision = router.route(user("nothing sensitive here"))
    assert decision.model == "local" and decision.constraints[0].data["detectors"] == ("error:RuntimeError",)


# -- on the wire -------------------------------------------------------------------------------
WIRE = [(text, value) for text, value, _ in EVASIONS]


def _bytes_received(server: OpenAIServer) -> str:
    return "".join(json.dumps(r.body, ensure_ascii=False) + json.dumps(r.body) for r in server.received)


def _leaked(value: str, received: str) -> bool:
    digits = "".join(c for c in value if c.isalnum())
    flat = "".join(c for c in normalize(received).text if c.isalnum())
    return value in received or digits in flat


@pytest.mark.parametrize("mode", ["completion", "stream"])
@pytest.mark.parametrize(("text", "value"), WIRE)
def test_evasions_never_reach_a_hosted_server(text: str, value: str, mode: str) -> None:
    with OpenAIServer(reply=lambda b: "leaked") as hosted:
        local = Function(lambda r: "local answer")
        router = Router(
            [Model("hosted", LiteLLM("openai/hosted", api_base=hosted.base_url, api_key="sk-test-NOT-REAL", timeout=5),
                   hosting="api"),
             Model("local", local, hosting="local")],
            [Privacy()],
        )
        if mode == "completion":
            assert router.completion(user(text)).content == "local answer"
        else:
            assert "".join(c.content or "" for c in router.stream(user(text))) == "local answer"
        assert hosted.requests == 0 and not _leaked(value, _bytes_received(hosted))


@pytest.mark.parametrize(("text", "value"), WIRE)
def test_redaction_sends_no_evaded_value(text: str, value: str) -> None:
    with OpenAIServer(reply=lambda b: "ok") as hosted:
        router = Router(
            [Model("hosted", LiteLLM("openai/hosted", api_base=hosted.base_url, api_key="sk-test-NOT-REAL", timeout=5),
                   hosting="api")],
            [Privacy(mode="redact")],
        )
        router.completion(user(text))
        assert hosted.requests == 1 and not _leaked(value, _bytes_received(hosted))


def test_split_value_never_reaches_a_hosted_server_in_redaction_mode() -> None:
    msgs = [{"role": "user", "content": "my ssn is 536-22"}, {"role": "user", "content": "-8745, file it"}]
    with OpenAIServer(reply=lambda b: "ok") as hosted:
        router = Router(
            [Model("hosted", LiteLLM("openai/hosted", api_base=hosted.base_url, api_key="sk-test-NOT-REAL", timeout=5),
                   hosting="api")],
            [Privacy(mode="redact")],
        )
        router.completion(msgs)
        sent = _bytes_received(hosted)
        assert "536" not in sent and "8745" not in sent


def test_the_keyword_prefilters_never_hide_a_keyword() -> None:
    """context_id and keyword_before skip their keyword regexes when no anchor is in the window: every
    window in which the regex finds a keyword must contain an anchor (over both labelled sets,
    every 50-character window, and phrases written for each keyword family)."""
    from pathlib import Path

    from llmroute.policies.privacy.context import _KEYWORD_ANCHOR, _KEYWORD_RX
    from llmroute.policies.privacy.personal import _KW, _KW_ANCHOR

    data = Path(__file__).parent / "data"
    texts = [json.dumps(json.loads(line), ensure_ascii=False) for f in ("privacy_labelled.jsonl", "privacy_independent.jsonl", "privacy_blind.jsonl")
             for line in (data / f).read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [
        "D.O.B: 1984-02-03", "d.ob 3/4/1980", "do.b", "née le 3 mars", "né le 3 mars", "nato il 3", "nata il",
        "Mr # 44", "MR#12", "PID|55", "Fall-Nr 12", "n° de dossier", "Führerschein", "fuhrerschein", "driver's license",
        "Reisepass", "paszport", "Versichertennummer", "KVNR", "sécurité sociale", "carte vitale", "NIR", "afiliación",
        "tarjeta sanitaria", "NHS number", "beneficiary", "Personalnummer", "personnel no", "staff id", "badge #",
        "subscriber #", "group no", "health plan", "insurance card", "MBI", "medicare", "chart #", "IPP", "record #",
    ]
    texts += ["Téléphone", "móvil", "llámame", "komórka", "celular", "contato", "numéro", "Rufnummer", "text me at"]
    pairs = [(_KW, _KW_ANCHOR), (_KEYWORD_RX["phone"], _KEYWORD_ANCHOR["phone"])]
    checked = 0
    for text in texts:
        low = text.lower()
        for end in range(1, len(low) + 1):
            window = low[max(0, end - 50) : end]
            for full, anchor in pairs:
                if full.search(window):
                    checked += 1
                    assert anchor.search(window), window
    assert checked > 1000


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(alphabet="abc. é", min_size=1, max_size=4), min_size=1, max_size=8),
    text=st.text(alphabet="abc. éx", max_size=30),
)
def test_a_factored_alternation_finds_a_word_where_the_flat_one_does(words: list[str], text: str) -> None:
    """literal_alternation (the anchors' trie-shaped regex) matches exactly where ``a|b|c`` does."""
    import re

    from llmroute.policies.privacy.context import literal_alternation

    flat = re.compile("|".join(map(re.escape, words)))
    factored = re.compile(literal_alternation(words))
    for pos in range(len(text) + 1):
        assert (flat.match(text, pos) is None) == (factored.match(text, pos) is None), (words, text, pos)


@pytest.mark.parametrize(
    ("tail", "found"),
    [
        ("Ship it to 42 Elm Street, please.", "street_address"),
        ("Meine Adresse: Hauptstraße 5, Berlin.", "street_address"),
        ("Send it to 14 rue des Lilas.", "street_address"),
        ("Post it to SW1A 1AA.", "street_address"),
        ("Nothing else to add.", None),
    ],
)
def test_an_address_after_many_numbers_is_still_found(tail: str, found: str | None) -> None:
    """Past one short number per 100 characters the street rules run only when the text holds a
    street word (one lookup for the whole text): an address at the end of a number-heavy text
    (a table, code) is found all the same, and none is made up where there is none."""
    table = "".join(f"row {i}: {i * 7 % 97}, {i * 13 % 89}; " for i in range(120))
    names = {f.detector for f in Privacy().scan([{"role": "user", "content": table + tail}])}
    if found is None:
        assert "street_address" not in names
    else:
        assert found in names


@pytest.mark.parametrize(
    "text",
    [
        "I live at 42,    Elm Street.",  # comma, four spaces: the name starts 5 characters after the number
        "I live at 42a,\t\t\t\tElm Street.",
        "Mon adresse : 12 bis, rue des Lilas.",
        "Mon adresse : 12,   avenue Foch.",  # comma, three spaces: the street type starts 4 after
    ],
)
def test_street_words_as_far_from_the_number_as_the_rules_allow(text: str) -> None:
    """The street rules after a house number are skipped when no letter follows within 7
    characters (a list of numbers); these are the farthest shapes they match."""
    assert "street_address" in {f.detector for f in Privacy().scan([{"role": "user", "content": text}])}


# Found by a blind set written by someone who had not read the detectors (tests/data/privacy_blind.jsonl)
@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("card no. 4275.5828.2357.4162 keeps getting declined", "payment_card"),
        ("IBAN DE44 5001 0517 5407 3249 31 BIC INGDDEFFXXX, Inhaber Jan Kurz", "iban"),
        ("datasource:\n  username: hr_app\n  password: Orbit95$nordlicht", "password"),
        ('network={\n    ssid="Home_5G"\n    psk="t7^OSGqx7KXM1Inw"\n}', "password"),
        ("mysql -u root -p'Marmite67*orbit' -h db01 shop < dump.sql fails", "password"),
        ("her login: username j.alvarez, temporary password NRHaFa87XwMt%1fD", "password"),
        ("Wachtwoord: Zomer2024!x voor de wifi", "password"),
        ("employee_id: E10482\nname: Patrick Dunne\ndate_of_birth: 1985-07-22", "date_of_birth"),
        ("Driving licence no. MORGA857116SJ9PD, Sarah J Morgan", "id_number"),
        ("Onze kat is weg. Bel me op 06 55776014 als je haar ziet.", "phone"),
        ("Mia figlia Sofia Ricci ha la mononucleosi e starà a casa", "patient_diagnosis"),
        ("onze zoon Daan Visser heeft astma en moet zijn puffer meenemen", "patient_diagnosis"),
    ],
)
def test_shapes_a_blind_set_found_missing(text: str, detector: str) -> None:
    assert detector in {f.detector for f in Privacy().scan([{"role": "user", "content": text}])}


@pytest.mark.parametrize(
    "text",
    [
        "Which password manager do you recommend for a family of four?",
        "After the password reset123 page loads, what happens?",
        'db_password = os.environ["DB_PASSWORD"]',
        "PASSWORD=$DB_PASSWORD in the compose file",
        "Run `find . -print` and mysql --help",
        "Version 4275.5828 of the tool, build 2357.4162",
    ],
)
def test_the_new_shapes_leave_look_alikes_alone(text: str) -> None:
    assert not Privacy().scan([{"role": "user", "content": text}])


def test_the_blind_set_stays_where_it_was_fixed_to() -> None:
    """tests/data/privacy_blind.jsonl scored recall 0.856 / false positives 0.094 blind; after the
    fixes it found, 0.963 / 0.094 (its remaining misses: a value wrapped over lines, a 12-digit run
    without separators, a password after "password?" with no keyword shape; its false positives
    are public or fictional addresses and example values, which count by design)."""
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "privacy_blind.jsonl").read_text(encoding="utf-8").splitlines()]
    privacy = Privacy()
    flagged = [bool(privacy.scan([{"role": "user", "content": r["text"]}])) for r in rows]
    pos = [f for f, r in zip(flagged, rows, strict=True) if r["sensitive"]]
    neg = [f for f, r in zip(flagged, rows, strict=True) if not r["sensitive"]]
    assert len(pos) == len(neg) == 160
    assert sum(pos) / len(pos) >= 0.95
    assert sum(neg) / len(neg) <= 0.10
