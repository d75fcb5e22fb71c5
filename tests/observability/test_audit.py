"""The audit trail: one structured record per routed call, under the same content rules as traces."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from helpers import SECRET, failing, ok
from helpers import SECRET_MSG as MSG
from helpers import privacy_fires as privacy

from llmroute import (
    AllAttemptsFailedError,
    ConfigError,
    Model,
    NoEligibleModelError,
    Price,
    Router,
)
from llmroute.errors import ProviderUnavailableError, RateLimitError
from llmroute.observability import AuditRecord, JsonlAuditLog


def test_record_for_a_successful_call() -> None:
    records: list[AuditRecord] = []
    router = Router([Model("a", ok(), price=Price(1.0, 2.0))], audit=records.append, instrument=False)
    resp = router.completion(MSG, user="u1", tenant="t1", tags=["x"])
    (rec,) = records
    assert rec.operation == "chat" and rec.outcome == "ok" and rec.model == "a" and not rec.stream
    assert rec.decision is not None and rec.decision["model"] == "a" and rec.decision["reason"] == "default"
    assert rec.usage == {"input_tokens": 10, "output_tokens": 2}
    assert rec.cost == pytest.approx(resp.cost)
    assert rec.request == {"user": "u1", "tenant": "t1", "tags": ["x"], "classification": None}
    assert [a["ok"] for a in rec.attempts] == [True]
    assert rec.messages is None and rec.output is None  # no content by default
    assert SECRET not in json.dumps(rec.to_dict())


def test_record_for_fallback_lists_every_attempt() -> None:
    records: list[AuditRecord] = []
    router = Router([Model("a", failing(RateLimitError("slow"))), Model("b", ok())], audit=records.append)
    router.completion(MSG)
    (rec,) = records
    assert rec.outcome == "ok" and rec.model == "b"
    assert rec.attempts[-1]["model"] == "b" and rec.attempts[-1]["ok"]
    assert {a["error_type"] for a in rec.attempts[:-1]} == {"RateLimitError"}


def test_record_for_failure() -> None:
    records: list[AuditRecord] = []
    router = Router([Model("a", failing(ProviderUnavailableError("down")))], audit=records.append)
    with pytest.raises(AllAttemptsFailedError):
        router.completion(MSG)
    (rec,) = records
    assert rec.outcome == "error" and rec.error_type == "AllAttemptsFailedError" and rec.model is None
    assert rec.error is not None and "attempts failed" in rec.error
    assert all(not a["ok"] for a in rec.attempts)


def test_record_for_refusal_carries_reasons_and_detectors() -> None:
    records: list[AuditRecord] = []
    router = Router([Model("cloud", ok())], [privacy], audit=records.append, capture_content=True)
    with pytest.raises(NoEligibleModelError):
        router.completion(MSG)
    (rec,) = records
    assert rec.outcome == "error" and rec.error_type == "NoEligibleModelError"
    assert rec.privacy is True and rec.messages is None
    assert rec.decision is not None and "cloud" in rec.decision["dropped"]
    assert SECRET not in json.dumps(rec.to_dict())


def test_route_dry_run_is_recorded() -> None:
    records: list[AuditRecord] = []
    Router([Model("a", ok())], audit=records.append).route(MSG)
    assert [(r.operation, r.outcome, r.attempts) for r in records] == [("route", "route", ())]


def test_content_only_when_opted_in_and_never_with_privacy() -> None:
    records: list[AuditRecord] = []
    Router([Model("a", ok())], audit=records.append, capture_content=True).completion(MSG)
    assert records[-1].messages == MSG and records[-1].output == "the reply"
    router = Router([Model("local", ok(SECRET), hosting="local")], [privacy], audit=records.append, capture_content=True)
    router.completion(MSG)
    list(router.stream(MSG))
    for rec in records[1:]:
        assert rec.privacy is True and rec.messages is None and rec.output is None
        assert SECRET not in json.dumps(rec.to_dict())
        assert rec.decision is not None and rec.decision["constraints"][0]["detectors"] == ["email"]


def test_stream_is_recorded_when_it_ends() -> None:
    records: list[AuditRecord] = []
    chunks = Router([Model("a", ok("one two"))], audit=records.append).stream(MSG)
    next(chunks)
    assert records == []
    list(chunks)
    (rec,) = records
    assert rec.stream and rec.outcome == "ok" and rec.model == "a" and rec.usage == {"input_tokens": 10, "output_tokens": 2}


def test_a_failing_sink_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    def broken(record: AuditRecord) -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="llmroute.audit"):
        resp = Router([Model("a", ok())], audit=broken).completion(MSG)
    assert resp.content == "the reply"
    assert "audit callback failed" in caplog.text


def test_audit_must_be_callable() -> None:
    with pytest.raises(ConfigError, match="audit"):
        Router([Model("a", ok())], audit="audit.jsonl")  # type: ignore[arg-type]


def test_jsonl_log_appends_one_line_per_call(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        router = Router([Model("a", failing(RateLimitError("x"))), Model("b", ok())], audit=log)
        router.completion(MSG)
        router.route(MSG)
        with pytest.raises(NoEligibleModelError):
            Router([Model("cloud", ok())], [privacy], audit=log).completion(MSG)
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["outcome"] == "ok" and first["model"] == "b" and first["decision"]["candidates"] == ["a", "b"]
    assert second["operation"] == "route"
    assert third["outcome"] == "error" and third["privacy"] is True
    assert SECRET not in path.read_text()
    # appending, not truncating
    with JsonlAuditLog(path) as log:
        Router([Model("a", ok())], audit=log).completion(MSG)
    assert len(path.read_text().splitlines()) == 4


def test_jsonl_log_bad_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="audit"):
        JsonlAuditLog(tmp_path / "missing-dir" / "audit.jsonl")


def test_real_privacy_policy_keeps_content_out_of_the_record() -> None:
    from llmroute.policies.privacy import Privacy

    records: list[AuditRecord] = []
    router = Router([Model("local", ok(SECRET), hosting="local"), Model("cloud", ok())], [Privacy()], audit=records.append, capture_content=True)
    assert router.completion(MSG).model == "local"
    (rec,) = records
    assert rec.privacy is True and rec.messages is None and rec.output is None
    dumped = json.dumps(rec.to_dict())
    assert "4111" not in dumped and "bob@example.com" not in dumped
    assert rec.decision is not None
    assert any("email" in c.get("detectors", []) for c in rec.decision["constraints"])
