"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (threaded, stdlib only).

It answers /v1/chat/completions (plain and SSE streaming) and records every request it got,
so tests can assert what was sent where - and what was never sent.

Faults for reliability tests: ``srv.script(Fault("503"), Fault("429", retry_after=1))`` makes the
next requests fail in that order (one fault each), then the server answers normally again;
``srv.always = Fault("hang")`` fails every request with no script left; ``fail_rate`` fails a
random share of requests with ``rate_fault``.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""  # every byte of the body as it arrived


FAULTS = (
    "429", "500", "503", "hang", "reset", "malformed", "empty", "cut_before", "cut_after",
    "context_length", "content_filter", "401", "keepalive", "echo",
)


@dataclass(frozen=True)
class Fault:
    """One scripted failure. ``kind`` is one of FAULTS.

    429 carries ``retry_after`` (seconds, as a Retry-After header); "hang" waits ``hang_s``
    (or until the server stops) before answering normally; "reset" drops the TCP connection
    with an RST; "malformed" answers 200 with a body that is not JSON (a broken SSE event when
    streaming); "empty" answers 200 with no choices (a stream of just ``[DONE]``); "cut_before"/"cut_after"
    start a stream and drop the connection before / after the first content chunk (for a plain
    request both drop the connection mid-body); "context_length"/"content_filter" answer 400
    with the error body OpenAI sends; "401" answers 401 echoing the bearer token it got, as
    OpenAI's "Incorrect API key provided" does (and in a Www-Authenticate header); "keepalive"
    starts a stream and sends only SSE comments (``: keep-alive``) every ``keepalive_s`` for
    ``hang_s`` (or until the server stops) before streaming the reply (a plain request: "hang");
    "echo" answers 400 with a message that quotes the request's messages.
    """

    kind: str
    retry_after: float | None = None
    hang_s: float = 30.0
    keepalive_s: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {FAULTS}")


def default_reply(body: dict[str, Any]) -> str:
    last = body["messages"][-1].get("content", "")
    return f"echo: {last}" if isinstance(last, str) else "echo"


@dataclass
class OpenAIServer:
    """Start with ``with OpenAIServer() as srv:``; ``srv.base_url`` is the api_base to use."""

    reply: Callable[[dict[str, Any]], str] = default_reply
    chunk_delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    always: Fault | None = None
    fail_rate: float = 0.0
    rate_fault: Fault = Fault("503")
    seed: int | None = None
    # the whole assistant message of a plain reply (tool calls...), instead of ``reply``'s text
    message: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # log-probability of every word of a plain reply, sent when the request asks ``logprobs``
    logprob: float | None = None
    # a server that does not know stream_options: no usage chunk even when asked for one
    ignore_stream_options: bool = False

    def __post_init__(self) -> None:
        server = self
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._random = random.Random(self.seed)
        self.faults_served: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    server.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, {}, raw))
                    self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                    return
                server.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw))
                if self.path.split("?")[0] != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found", "type": "not_found"}})
                    return
                server.handle(self, body)

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # a burst of concurrent clients must not overflow the accept queue

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a reset or cut connection is the point of the fault; keep output clean

        self._handler = Handler
        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- faults ----------------------------------------------------------------------------
    def script(self, *faults: Fault | str) -> None:
        """Fail the next requests with these faults, one each, in order."""
        with self._lock:
            self._faults.extend(f if isinstance(f, Fault) else Fault(f) for f in faults)

    @property
    def requests(self) -> int:
        """How many chat requests reached the server."""
        return len(self.received)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.always is not None:
                return self.always
            if self.fail_rate and self._random.random() < self.fail_rate:
                return self.rate_fault
        return None

    def inject(self, h: Any, body: dict[str, Any], fault: Fault) -> bool:
        """Play ``fault`` on this request; True when the request was answered (or dropped)."""
        self.faults_served.append(fault.kind)
        kind = fault.kind
        if kind == "429":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            h._json(429, _error("Rate limit reached for requests", "requests", "rate_limit_exceeded"), headers)
        elif kind in ("500", "503"):
            h._json(int(kind), _error("The server had an error while processing your request.", "server_error"))
        elif kind == "hang" or (kind == "keepalive" and not body.get("stream")):
            self._stopping.wait(fault.hang_s)
            return False  # then answer normally (the client has given up by then)
        elif kind == "keepalive":
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.send_header("Connection", "close")
            h.end_headers()
            until = time.monotonic() + fault.hang_s
            try:
                while time.monotonic() < until and not self._stopping.wait(fault.keepalive_s):
                    h.wfile.write(b": keep-alive\n\n")
                    h.wfile.flush()
            except OSError:  # the client gave up and closed the connection
                h.close_connection = True
                return True
            self.stream(h, body, self.reply(body), headers_sent=True)
        elif kind == "reset":
            _reset(h)
        elif kind == "malformed":
            stream = bool(body.get("stream"))
            data = b'data: {"id": "chatcmpl-x", "choices": [{"delta": \n\n' if stream else b'{"id": "chatcmpl-x", "choices": [{"message": '
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream" if stream else "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        elif kind == "empty":
            if body.get("stream"):
                h.send_response(200)
                h.send_header("Content-Type", "text/event-stream")
                h.send_header("Connection", "close")
                h.end_headers()
                h.wfile.write(b"data: [DONE]\n\n")
                h.close_connection = True
            else:
                h._json(200, {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
        elif kind in ("cut_before", "cut_after"):
            if body.get("stream"):
                self.stream(h, body, self.reply(body), cut_after=0 if kind == "cut_before" else 1, chunked=True)
            else:
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", "400")
                h.end_headers()
                h.wfile.write(b'{"id": "chatcmpl-x", ')
                h.wfile.flush()
                _reset(h)
        elif kind == "echo":  # a 400 whose message quotes the request, as some providers' validators do
            quoted = json.dumps(body.get("messages"))[:400]
            h._json(400, _error(f"Invalid value in messages: {quoted}", "invalid_request_error", "invalid_value", "messages"))
        elif kind == "context_length":
            h._json(400, _error(
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. "
                "Please reduce the length of the messages.",
                "invalid_request_error", "context_length_exceeded", "messages",
            ))
        elif kind == "401":
            token = str(h.headers.get("Authorization", "")).removeprefix("Bearer ")
            h._json(
                401,
                _error(f"Incorrect API key provided: {token}. You can find your API key at https://x/?key={token}", "invalid_request_error", "invalid_api_key"),
                {"WWW-Authenticate": f"Bearer {token}"},
            )
        elif kind == "content_filter":
            h._json(400, _error(
                "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                "invalid_request_error", "content_filter", "prompt",
            ))
        return True

    # -- replies ---------------------------------------------------------------------------
    def handle(self, h: Any, body: dict[str, Any]) -> None:
        """Answer one chat request; subclasses or tests may override to inject faults."""
        fault = self._next_fault()
        if fault is not None and self.inject(h, body, fault):
            return
        text = self.reply(body)
        if body.get("stream"):
            self.stream(h, body, text)
        else:
            h._json(200, self.completion(body, text))

    def completion(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) // 4 + 4 for m in body["messages"])
        return {
            "id": "chatcmpl-test123",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "unknown"),
            "choices": [{
                "index": 0,
                "message": self.message(body) if self.message else {"role": "assistant", "content": text},
                "finish_reason": "tool_calls" if self.message else "stop",
            } | ({"logprobs": {"content": [
                {"token": w, "logprob": self.logprob, "bytes": None, "top_logprobs": []} for w in text.split()
            ]}} if body.get("logprobs") and self.logprob is not None else {})],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(text.split()), "total_tokens": prompt + len(text.split())},
        }

    def stream(
        self, h: Any, body: dict[str, Any], text: str, *, cut_after: int | None = None, chunked: bool = False,
        headers_sent: bool = False,
    ) -> None:
        """SSE reply. ``cut_after=N`` drops the connection after N content chunks; with
        ``chunked`` the body is chunk-encoded (as OpenAI sends it), so a cut is a protocol error
        the client must notice, not a clean end of a close-delimited body."""
        if not headers_sent:
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            if chunked:
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.send_header("Connection", "close")
            h.end_headers()
        model = body.get("model", "unknown")

        def event(payload: dict[str, Any]) -> None:
            data = b"data: " + json.dumps(payload).encode() + b"\n\n"
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            h.wfile.flush()

        base = {"id": "chatcmpl-test123", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        whole = self.message(body) if self.message is not None else {}
        calls = whole.get("tool_calls") or ()
        if calls:  # tool calls stream as OpenAI sends them: the head, then arguments in pieces
            for i, call in enumerate(calls):
                head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
                first = {"role": "assistant", "content": None} if i == 0 else {}
                event(base | {"choices": [{"index": 0, "delta": first | {"tool_calls": [head]}, "finish_reason": None}]})
                args = call["function"]["arguments"]
                for j in range(0, len(args), 7):
                    piece = {"index": i, "function": {"arguments": args[j:j + 7]}}
                    event(base | {"choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}]})
            words = []
        else:
            words = ((whole.get("content") or "") if self.message is not None else text).split(" ")
        for i, word in enumerate(words):
            if cut_after is not None and i >= cut_after:
                h.close_connection = True
                if chunked:
                    _reset(h)
                return  # the connection drops mid-stream
            piece = word if i == 0 else " " + word
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            event(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            if self.chunk_delay_s:
                time.sleep(self.chunk_delay_s)
        event(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage") and not self.ignore_stream_options:
            usage = self.completion(body, text)["usage"]
            event(base | {"choices": [], "usage": usage})
        done = b"data: [DONE]\n\n"
        h.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done) if chunked else done)
        h.wfile.flush()
        h.close_connection = True

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # hanging handlers return at once
        self._httpd.shutdown()
        self._httpd.server_close()


def _error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _reset(h: Any) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed peer or proxy would."""
    h.close_connection = True
    try:
        h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
    except OSError:
        pass
