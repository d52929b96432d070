"""A real local HTTP server speaking seed 004's ingest wire format, for tests and benchmarks.

`GET /api/v1/chunks?since=<cursor>&limit=<n>` with `X-API-Key` pages through an append-only change
log (cursor = an opaque "c<position>"). Faults are scripted: `script(500, 429, "drop", ...)` answers
the next requests with those (an int = that status, "drop" = the connection closed without an
answer), `fail_rate` / `drop_rate` fail a share of requests at random, a wrong key gets 401.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BASE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)


def item(document_id, chunk_id, text, *, minute: float = 0, embedding=None, deleted: bool = False, metadata=None) -> dict:
    """One wire-format item, `minute` minutes after a fixed base time."""
    return {
        "document_id": document_id,
        "chunk_id": chunk_id,
        "text": text,
        "metadata": metadata if metadata is not None else {"title": str(document_id)},
        "updated_at": (BASE_TIME + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z"),
        "deleted": deleted,
        "embedding": embedding,
    }


def delete_document(document_id, *, minute: float) -> dict:
    return item(document_id, None, None, minute=minute, deleted=True)


class IngestServer:
    def __init__(self, api_key: str = "test-key", *, seed: int = 0):
        self.api_key = api_key
        self.log: list = []
        self.faults: list = []
        self.fail_rate = 0.0
        self.drop_rate = 0.0
        self.requests = 0
        self.answered: dict[str, int] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outcome = server._outcome(self.headers.get("X-API-Key"))
                if outcome == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                parsed = urlparse(self.path)
                if parsed.path != "/api/v1/chunks":
                    return self._send(404, {"detail": "not found"})
                if outcome != 200:
                    return self._send(outcome, {"detail": f"scripted {outcome}"})
                query = parse_qs(parsed.query)
                since = (query.get("since") or [""])[0]
                limit = int((query.get("limit") or ["100"])[0])
                try:
                    start = int(since[1:]) if since else 0
                except ValueError:
                    return self._send(400, {"detail": f"bad cursor {since!r}"})
                with server._lock:
                    items = server.log[start : start + limit]
                    end = start + len(items)
                    has_more = end < len(server.log)
                self._send(200, {"items": items, "next_cursor": f"c{end}", "has_more": has_more})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _outcome(self, key: str | None):
        with self._lock:
            self.requests += 1
            if key != self.api_key:
                outcome = 401
            elif self.faults:
                outcome = self.faults.pop(0)
            elif self._random.random() < self.drop_rate:
                outcome = "drop"
            elif self._random.random() < self.fail_rate:
                outcome = 500
            else:
                outcome = 200
            self.answered[str(outcome)] = self.answered.get(str(outcome), 0) + 1
            return outcome

    def script(self, *outcomes) -> None:
        with self._lock:
            self.faults.extend(outcomes)

    def add(self, *items: dict) -> None:
        with self._lock:
            self.log.extend(items)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "IngestServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
