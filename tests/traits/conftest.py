"""Fixtures for the trait tests: a scripted OpenAI-compatible HTTP server on 127.0.0.1.

The server is real (``http.server`` in a thread): requests go through sockets, headers
and timeouts, exactly as against a hosted endpoint.  A *script* decides each reply from
the request body and how many times that body's person was seen before.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest

GOOD_REPLY = {"openness": {"score": 2, "description": "x"}, "conscientiousness": {"score": 3, "description": "x"},
              "extraversion": {"score": 1, "description": "x"}, "agreeableness": {"score": 0, "description": "x"},
              "neuroticism": {"score": 2, "description": "x"}}


def chat_body(content: str, model: str = "test-model") -> bytes:
    return json.dumps({"id": "cmpl-1", "object": "chat.completion", "model": model,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()


def person_of(body: dict) -> str:
    """The person's name from the rendered prompt ("Name: ...")."""
    for m in body.get("messages", []):
        for line in m.get("content", "").splitlines():
            if line.startswith("Name: "):
                return line[len("Name: "):].strip()
    return "?"


class ScriptedServer:
    """Holds the log of received requests and the reply script."""

    def __init__(self, script: Callable[[dict, int], tuple]):
        self.script = script
        self.log: list[dict] = []
        self.per_person: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    body = {}
                who = person_of(body)
                with server.lock:
                    seen = server.per_person[who]
                    server.per_person[who] += 1
                    server.log.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                       "person": who, "time": time.monotonic()})
                status, payload, headers, delay = server.script(body, seen)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted_server():
    """Factory: ``with scripted_server(script) as srv: ...``."""
    return ScriptedServer


@pytest.fixture
def http_helpers():
    """The helper functions above, for tests (conftest modules are not importable)."""
    import types

    return types.SimpleNamespace(chat_body=chat_body, person_of=person_of, GOOD_REPLY=GOOD_REPLY)
