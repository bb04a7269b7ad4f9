"""A real HTTP server on 127.0.0.1 whose answers each test sets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Answer:
    body: bytes
    status: int = 200
    delay: float = 0.0


@dataclass
class JsonServer:
    """Serves ``answers[path]`` and records each request's headers."""

    base_url: str
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)

    def answer(self, path: str, body: str | bytes, *, status: int = 200, delay: float = 0.0) -> str:
        self.answers[path] = Answer(body.encode() if isinstance(body, str) else body, status, delay)
        return self.base_url + path


@pytest.fixture
def json_server() -> Iterator[JsonServer]:
    state: list[JsonServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            server = state[0]
            server.requests.append(dict(self.headers.items()))
            answer = server.answers.get(self.path, Answer(b'{"error": "no such path"}', status=404))
            time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.append(JsonServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
