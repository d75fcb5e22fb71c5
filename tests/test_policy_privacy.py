"""Privacy: detectors (true positives and tricky negatives), the labelled prompt set, and fail-closed
routing through a real Router - with Function doubles and with real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer

from llmroute import AllAttemptsFailedError, Model, NoEligibleModelError, Router
from llmroute.adapters import LiteLLM
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError, ProviderUnavailableError
from llmroute.policies import Privacy
from llmroute.policies.privacy import card_ok, iban_ok, luhn_ok, ssn_ok, verhoeff_ok
from llmroute.reliability import RetryPolicy

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "privacy_labelled.jsonl").read_text().splitlines()]
SECRET = "sk-proj-Q7vX2mTz9KpL4wR8nB3cY6dH1jF5gS0aE"
SSN = "536-22-8745"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def detectors(text: str, policy: Privacy | None = None) -> list[str]:
    return [f.detector for f in (policy or Privacy()).scan(user(text))]


# -- checksums -------------------------------------------------------------------------------
def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_ok("3782 822463 10005") and not card_ok("1234567890123452")  # Luhn-valid but no card prefix
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("DE8937040044053201300")  # one digit short for a German IBAN
    assert verhoeff_ok("718190937865") and not verhoeff_ok("718190937866")
    assert ssn_ok("536", "22", "8745")
    assert not ssn_ok("000", "22", "8745") and not ssn_ok("666", "22", "8745") and not ssn_ok("912", "22", "8745")
    assert not ssn_ok("536", "00", "8745") and not ssn_ok("536", "22", "0000")


# -- detectors -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("write to ana.lima@example-mail.com.br today", "email"),
        ("call +44 20 7946 0958", "phone"),
        ("call (415) 555-2671 now", "phone"),
        ("ssn 536-22-8745", "us_ssn"),
        ("NINO AB123456C", "uk_nino"),
        ("aadhaar 7181 9093 7865", "in_aadhaar"),
        ("visa 4111-1111-1111-1111", "payment_card"),
        ("iban FR14 2004 1010 0505 0001 3M02 606", "iban"),
        ("host 10.1.2.3 is down", "ipv4"),
        ("host 2001:db8::8a2e:370:7334 is down", "ipv6"),
        (f"key {SECRET}", "openai_key"),
        ("sk-ant-api03-Xq3vL8mT2pR7wK9zB4nC6dH1jF5gS0aEYu2Io8Pl", "anthropic_key"),
        ("id AKIA2E0A8F3B244C9986", "aws_access_key"),
        ("aws_secret_access_key = J8HyS5SUkCnD8zRA9a9SkpXz9w3QlY7Zkuvqdt7s", "aws_secret_key"),
        ("token ghp_N0MEQ7wjJJibaZUPgHV7iB3m03nbqnsGpWLu", "github_token"),
        ("AIzaqIA1id6Vw5DQL05HA064GiIjHGb3CXlMaXZ", "google_api_key"),
        ("xoxb-22279180588-871803340187-JbW56eCuNGMGmSrCGIZEG8pS", "slack_token"),
        ("sk_live_H4487q7J58m1CiAhzCueQpBe", "stripe_key"),
        ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----", "private_key"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhY21lIiwic3ViIjoiNDIifQ.Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg", "jwt"),
        ("mysql://root:Vx8#kq2Lm@10.0.0.5/db", "url_password"),
        ("db_password: 'p@ssW0rd-prod-77'", "password"),
    ],
)
def test_detector_finds(text: str, detector: str) -> None:
    assert detector in detectors(text)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails Luhn
        "order 4000123412341235",  # 16 digits, fails Luhn
        "ssn 666-22-8745 and 000-12-3456",  # impossible SSNs
        "release 1.2.3 on 2024-01-15 at 10:30",  # versions, dates, times
        "IBAN DE89 3704 0044 0532 0130 01",  # bad mod-97
        "OPENAI_API_KEY=sk-your-key-here-xxxxxxxxxxxxxxxx",  # placeholder
        "AKIAIOSFODNN7EXAMPLE",  # AWS's documented example key
        "password = os.environ['DB_PASSWORD']",
        "postgres://user:${DB_PASSWORD}@localhost/app",
        "std::vector<int> a; Foo::bar(); a::b",
        "git@github.com:acme/repo.git",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "the key insight is that tokens are cheap",
        "NINO QQ123456C",  # QQ is not an issued prefix
        "aadhaar 7181 9093 7866",  # fails Verhoeff
    ],
)
def test_detector_ignores(text: str) -> None:
    assert detectors(text) == []


def test_labelled_set_recall_and_false_positive_rate() -> None:
    policy = Privacy()
    positives = [c for c in CASES if c["sensitive"]]
    negatives = [c for c in CASES if not c["sensitive"]]
    assert len(positives) >= 70 and len(negatives) >= 70
    hits = sum(bool(policy.scan(user(c["text"]))) for c in positives)
    false = sum(bool(policy.scan(user(c["text"]))) for c in negatives)
    assert hits / len(positives) >= 0.97
    assert false / len(negatives) <= 0.03
    named = sum(c["detector"] in detectors(c["text"], policy) for c in positives)
    assert named / len(positives) >= 0.95  # and mostly for the right reason


def test_scan_covers_every_message_part_and_tool_call_and_records_only_positions() -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": f"ssn {SSN}"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "mail", "arguments": json.dumps({"to": "bo@corp.io"})}}
        ]},
        {"role": "user", "content": "thanks"},
    ]
    found = Privacy().scan(messages)
    assert [(f.detector, f.message, f.part, f.field) for f in found] == [
        ("us_ssn", 1, 1, "content"),
        ("email", 2, None, "tool_calls[0]"),
    ]
    text = messages[1]["content"][1]["text"]  # type: ignore[index]
    assert text[found[0].start : found[0].end] == SSN
    assert SSN not in repr(found) and "bo@corp.io" not in repr(found)


def test_terms_patterns_and_detector_selection() -> None:
    policy = Privacy(terms=["Project Falcon"], patterns={"employee_id": r"\bEMP-\d{6}\b"}, detectors=["email"])
    assert detectors("status of project falcon?", policy) == ["term"]
    assert detectors("EMP-123456 left", policy) == ["pattern:employee_id"]
    assert detectors("ssn 536-22-8745", policy) == []  # us_ssn not enabled
    assert detectors("not projectfalcon", policy) == []  # whole words only
    with pytest.raises(ConfigError, match="unknown detectors"):
        Privacy(detectors=["emial"])
    with pytest.raises(ConfigError, match=r"privacy.patterns.bad"):
        Privacy(patterns={"bad": "("})
    with pytest.raises(ConfigError, match="allowed_hosting"):
        Privacy(allowed_hosting=["cloud"])


# -- through the router ----------------------------------------------------------------------
def models(local_fn: Any = None) -> tuple[list[Model], Function, Function]:
    local = Function(local_fn or (lambda r: "local answer"))
    api = Function(lambda r: "api answer")
    return [Model("hosted", api, hosting="api"), Model("local", local, hosting="local")], local, api


def test_sensitive_request_goes_local_and_public_one_may_go_anywhere() -> None:
    ms, _local, api = models()
    router = Router(ms, [Privacy()])
    decision = router.route(user(f"my ssn is {SSN}"))
    assert decision.model == "local" and decision.candidates == ("local",)
    assert "us_ssn" in decision.explain() and SSN not in decision.explain()
    assert router.route(user("what is 2+2?")).model == "hosted"
    response = router.completion(user(f"my ssn is {SSN}"))
    assert response.content == "local answer" and api.calls == 0


def test_classification_overrides_detection() -> None:
    ms, _, _ = models()
    router = Router(ms, [Privacy()])
    assert router.route(user(f"ssn {SSN}"), classification="public").model == "hosted"
    decision = router.route(user("quarterly plan"), classification="confidential")
    assert decision.model == "local"
    assert decision.constraints[0].data["detectors"] == ("classification:confidential",)


def test_only_api_models_fails_closed_naming_detectors() -> None:
    api = Function(lambda r: "leak")
    router = Router([Model("hosted", api, hosting="api")], [Privacy()])
    with pytest.raises(NoEligibleModelError) as info:
        router.completion(user(f"key {SECRET} and ssn {SSN}"))
    assert set(info.value.detectors) == {"openai_key", "us_ssn"}
    assert api.calls == 0
    assert SECRET not in str(info.value) and SSN not in str(info.value) and SECRET not in repr(info.value.verdicts)


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_failing_local_model_never_falls_back_to_api(mode: str) -> None:
    def down(request: Any) -> str:
        raise ProviderUnavailableError("local server down")

    ms, local, api = models(down)
    router = Router(ms, [Privacy()])
    with pytest.raises(AllAttemptsFailedError):
        if mode == "sync":
            router.completion(user(f"ssn {SSN}"))
        elif mode == "async":
            await router.acompletion(user(f"ssn {SSN}"))
        elif mode == "stream":
            list(router.stream(user(f"ssn {SSN}")))
        else:
            async for _ in router.astream(user(f"ssn {SSN}")):
                pass
    assert local.calls >= 1 and api.calls == 0


def test_pinned_api_model_with_sensitive_data_fails() -> None:
    ms, local, api = models()
    router = Router(ms, [Privacy()])
    with pytest.raises(NoEligibleModelError, match="pinned model 'hosted'") as info:
        router.completion(user(f"ssn {SSN}"), model="hosted")
    assert info.value.detectors == ("us_ssn",) and api.calls == 0 and local.calls == 0
    assert router.completion(user("hello"), model="hosted").content == "api answer"


def test_nothing_logged_or_repred_contains_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ms, _, _ = models()
    router = Router(ms, [Privacy()])
    text = f"deploy with {SECRET}, card 4111 1111 1111 1111, mail ceo@corp.example.org"
    decision = router.route(user(text))
    response = router.completion(user(text))
    policy = Privacy()
    shown = [repr(decision), decision.explain(), repr(response.decision), repr(policy.scan(user(text))), repr(policy)]
    shown += [r.getMessage() for r in caplog.records]
    api_only = Router([ms[0]], [Privacy()])
    with pytest.raises(NoEligibleModelError) as info:
        api_only.route(user(text))
    shown += [str(info.value), repr(info.value), repr(info.value.verdicts)]
    for value in (SECRET, "4111 1111 1111 1111", "ceo@corp.example.org"):
        assert all(value not in s for s in shown)


def test_real_http_servers_forbidden_api_server_receives_nothing() -> None:
    """A self-hosted OpenAI-compatible server fails; the hosted one must never be called."""
    with OpenAIServer(reply=lambda b: "self-hosted") as own, OpenAIServer(reply=lambda b: "leaked") as hosted:
        own.script("500", "500")
        key = "sk-test-NOT-REAL-0000"
        router = Router(
            [
                Model("own", LiteLLM("openai/own", api_base=own.base_url, api_key=key, timeout=5), hosting="self_hosted"),
                Model("hosted", LiteLLM("openai/hosted", api_base=hosted.base_url, api_key=key, timeout=5), hosting="api"),
            ],
            [Privacy()],
            retry=RetryPolicy(attempts_per_model=2, base_delay_s=0.01, max_delay_s=0.02, jitter_s=0.0),
        )
        with pytest.raises(AllAttemptsFailedError):
            router.completion(user(f"my card is 4111 1111 1111 1111 and ssn {SSN}"))
        assert own.requests == 2 and hosted.requests == 0
        assert router.completion(user("just say hi")).content == "self-hosted"  # own server is first and healthy again


def test_opt_in_redaction_round_trip_through_a_hosted_model() -> None:
    policy = Privacy()
    messages = [
        {"role": "user", "content": f"Email bo@corp.io (again: bo@corp.io) about SSN {SSN}."},
        {"role": "user", "content": [{"type": "text", "text": "and call +44 20 7946 0958"}]},
    ]
    red = policy.redact(messages)
    assert red.messages[0]["content"] == "Email [EMAIL_1] (again: [EMAIL_1]) about SSN [US_SSN_1]."
    assert red.messages[1]["content"][0]["text"] == "and call [PHONE_1]"
    assert policy.scan(red.messages) == []
    assert SSN not in repr(red) and "bo@corp.io" not in repr(red)
    seen: list[str] = []

    def hosted(request: Any) -> str:
        seen.append(request.text)
        return "Sent to [EMAIL_1]; [US_SSN_1] noted; will ring [PHONE_1]."

    router = Router([Model("hosted", Function(hosted), hosting="api")], [Privacy()])
    response = router.completion(red.messages)
    assert SSN not in seen[0] and "bo@corp.io" not in seen[0]
    assert red.restore(response.content) == f"Sent to bo@corp.io; {SSN} noted; will ring +44 20 7946 0958."
    assert messages[0]["content"].startswith("Email bo@corp.io")  # the caller's messages are untouched


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Ship it to 1600 Pennsylvania Avenue please", "1600 Pennsylvania Avenue"),
        ("I live at 42 Elm St. now", "42 Elm St."),
        ("Flat at 12-14 High Street", "12-14 High Street"),
        ("Meine Adresse ist Hauptstraße 5, Berlin", "Hauptstraße 5"),
        ("Wohnung: Bergweg 7a", "Bergweg 7a"),
        ("Holmes lived at 221B Baker Street, London", "221B Baker Street"),
    ],
)
def test_street_addresses_are_found_from_their_house_number(text: str, found: str) -> None:
    hits = [f for f in Privacy().scan(user(text)) if f.detector == "street_address"]
    assert [text[f.start : f.end] for f in hits] == [found]


@pytest.mark.parametrize(
    "text",
    ["I walked 5 miles down Main Street", "Route 66 to Santa Monica", "The 3 Musketeers Drive-In", "Chapter 2: the long road ahead"],
)
def test_address_lookalikes_are_not_addresses(text: str) -> None:
    assert "street_address" not in [f.detector for f in Privacy().scan(user(text))]


def test_addresses_can_be_switched_off_and_redacted() -> None:
    text = "Send it to 42 Elm Street, Austin, TX 78701."
    assert [f.detector for f in Privacy().scan(user(text))] == ["street_address", "postcode"]
    quiet = Privacy(detectors=[d for d in Privacy().detectors if d not in ("street_address", "postcode")])
    assert quiet.scan(user(text)) == []
    red = Privacy().redact(user(text))
    assert red.messages[0]["content"] == "Send it to [STREET_ADDRESS_1], Austin[POSTCODE_1]."
    assert red.restore(red.messages[0]["content"]) == text
