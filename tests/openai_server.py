"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (threaded, stdlib only).

It answers /v1/chat/completions (plain and SSE streaming) and records every request it got,
so tests can assert what was sent where - and what was never sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def default_reply(body: dict[str, Any]) -> str:
    last = body["messages"][-1].get("content", "")
    return f"echo: {last}" if isinstance(last, str) else "echo"


@dataclass
class OpenAIServer:
    """Start with ``with OpenAIServer() as srv:``; ``srv.base_url`` is the api_base to use."""

    reply: Callable[[dict[str, Any]], str] = default_reply
    chunk_delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

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
                    self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                    return
                server.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
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

        self._handler = Handler
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- replies ---------------------------------------------------------------------------
    def handle(self, h: Any, body: dict[str, Any]) -> None:
        """Answer one chat request; subclasses or tests may override to inject faults."""
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
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(text.split()), "total_tokens": prompt + len(text.split())},
        }

    def stream(self, h: Any, body: dict[str, Any], text: str, *, cut_after: int | None = None) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        model = body.get("model", "unknown")

        def event(payload: dict[str, Any]) -> None:
            h.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            h.wfile.flush()

        base = {"id": "chatcmpl-test123", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        words = text.split(" ")
        for i, word in enumerate(words):
            if cut_after is not None and i >= cut_after:
                h.close_connection = True
                return  # the connection drops mid-stream
            piece = word if i == 0 else " " + word
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            event(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            if self.chunk_delay_s:
                time.sleep(self.chunk_delay_s)
        event(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self.completion(body, text)["usage"]
            event(base | {"choices": [], "usage": usage})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
        h.close_connection = True

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
