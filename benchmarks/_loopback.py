"""A minimal OpenAI-compatible server for benchmarks: its own process, raw asyncio, keep-alive.

It answers every POST with the same small chat.completion after a fixed delay. It is kept as
cheap as possible because on a small host it shares the CPUs with the clients being measured.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
from typing import Any

_BODY = json.dumps({
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "a short reply"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
    b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class _Protocol(asyncio.Protocol):
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            asyncio.get_running_loop().call_later(self.delay_s, self._reply)

    def _reply(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_RESPONSE)


def _serve(sock: socket.socket, delay_s: float) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(delay_s), sock=sock, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start(delay_s: float) -> tuple[str, multiprocessing.Process]:
    """Start the server in a child process; its base_url and the process (terminate it after)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    port = sock.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(sock, delay_s), daemon=True)
    process.start()
    sock.close()  # the child holds its own copy
    return f"http://127.0.0.1:{port}/v1", process
