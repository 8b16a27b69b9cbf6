"""A real HTTP receiver for webhook tests: ThreadingHTTPServer on 127.0.0.1, recording every
request; it answers the status codes it is told to, optionally after a delay."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    #: as they arrived; names are case-insensitive (urllib sends ``Dap-Webhook-Id``)
    headers: Message
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    def verifies(self, secret: str, *, now: float | None = None, tolerance: int = 300) -> bool:
        """The receiver's side of docs/WEBHOOKS.md: the signature matches and the
        timestamp is within ``tolerance`` seconds of ``now``."""
        timestamp = self.headers["DAP-Webhook-Timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body,
                            hashlib.sha256).hexdigest()
        given = self.headers["DAP-Webhook-Signature"].removeprefix("v1=")
        fresh = now is None or abs(now - int(timestamp)) <= tolerance
        return hmac.compare_digest(expected, given) and fresh


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append(Received(self.path, self.headers, body))
            status = receiver.statuses.popleft() if receiver.statuses else receiver.status
            delay = receiver.delay
        if delay:
            time.sleep(delay)
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", f"{receiver.url}/moved")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's signature
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (the timeout test) is not an error here


class Receiver:
    """``status``: the usual answer; ``answer(*codes)`` queues answers for the next
    requests; ``delay``: seconds to wait before answering."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, *codes: int) -> None:
        with self.lock:
            self.statuses.extend(codes)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def payloads(self, event_type: str | None = None) -> list[dict]:
        with self.lock:
            found = [r.payload for r in self.requests]
        return [p for p in found if event_type is None or p["type"] == event_type]


def closed_port_url() -> str:
    """An address on this machine where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
