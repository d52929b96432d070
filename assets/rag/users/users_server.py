"""A local stand-in of the users system (seed 004) speaking its wire format, with scripted faults: the
demo starts one, the tests and bench_10 script its failures.

It records each Idempotency-Key once (201) and answers 409 to a repeat, 401 to a wrong X-API-Key, 400
without a key or with a body that is not JSON, 422 when a field of the wire format is missing.
`fault(key, attempt)` may return "500", "429", "timeout" (answer after `timeout_delay_s`, having
recorded: a client that gave up will find 409 next time) or "drop" (record, then close the
connection without an answer) for the `attempt`-th request of that key.
"""

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from resources.users_api import ENDPOINTS

REQUIRED = {
    ENDPOINTS["query_result"]: (
        "user_id", "conversation_id", "message_id", "query", "answer", "sources", "tokens_used", "processing_time_ms",
    ),
    ENDPOINTS["usage_statistics"]: ("user_id", "hour", "queries", "tokens", "avg_processing_ms"),
    ENDPOINTS["system"]: ("notification_type", "title", "message", "user_ids", "metadata"),
}

Fault = Callable[[str, int], "str | None"]


class UsersServer:
    def __init__(self, api_key: str = "", fault: Fault | None = None, timeout_delay_s: float = 2.0,
                 reject: Callable[[str, dict], "str | None"] | None = None):
        self.api_key = api_key
        self.fault = fault
        self.reject = reject  # (path, body) -> reason for a 422, e.g. a user the system does not know
        self.timeout_delay_s = timeout_delay_s
        self.records: dict[str, tuple[str, dict]] = {}  # key -> (path, body) of its first accepted request
        self.attempts: Counter = Counter()  # key -> requests seen
        self.recorded_at: dict[str, float] = {}  # key -> time.time() when recorded (latency measurements)
        self.answers: Counter = Counter()  # status (or "drop") -> count
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connections
            # Headers and body go out in two writes: with Nagle on, a kept-alive connection waits for the
            # client's delayed ACK (about 40 ms) on every answer.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server._handle(self, raw)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = handler.path.split("?", 1)[0]
        key = handler.headers.get("Idempotency-Key") or ""
        if path not in REQUIRED:
            return self._reply(handler, 404, {"detail": f"no endpoint {path}"})
        if self.api_key and handler.headers.get("X-API-Key") != self.api_key:
            return self._reply(handler, 401, {"detail": "invalid X-API-Key"})
        if not key:
            return self._reply(handler, 400, {"detail": "Idempotency-Key header required"})
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return self._reply(handler, 400, {"detail": "body is not JSON"})
        if not isinstance(body, dict):
            return self._reply(handler, 400, {"detail": "body must be a JSON object"})
        missing = [name for name in REQUIRED[path] if name not in body]
        if missing:
            return self._reply(handler, 422, {"detail": f"missing fields: {', '.join(missing)}"})
        reason = self.reject(path, body) if self.reject else None
        if reason:
            return self._reply(handler, 422, {"detail": reason})
        with self._lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
        fault = self.fault(key, attempt) if self.fault else None
        if fault in ("500", "429"):
            return self._reply(handler, int(fault), {"detail": "scripted failure"}, {"Retry-After": "1"} if fault == "429" else None)
        if fault == "timeout":
            with self._lock:
                self.answers["timeout"] += 1  # then answered (201/409) after the delay, to a client long gone
            time.sleep(self.timeout_delay_s)
        status = self._record(key, path, body)
        if fault == "drop":
            with self._lock:
                self.answers["drop"] += 1
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._reply(handler, status, {"status": "accepted"} if status == 201 else {"detail": "duplicate Idempotency-Key"})

    def _record(self, key: str, path: str, body: dict) -> int:
        with self._lock:
            if key in self.records:
                return 409
            self.records[key] = (path, body)
            self.recorded_at[key] = time.time()
            return 201

    def _reply(self, handler, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        with self._lock:
            self.answers[status] += 1
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def __enter__(self) -> "UsersServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def random_faults(p500: float, ptimeout: float, pdrop: float, max_faults_per_key: int = 3, seed: int = 7) -> Fault:
    """Each request of a key fails with these probabilities (decided by a hash of seed, key and attempt,
    so a run is reproducible); after `max_faults_per_key` failures a key is answered normally."""
    import random

    def fault(key: str, attempt: int) -> str | None:
        if attempt > max_faults_per_key:
            return None
        draw = random.Random(f"{seed}:{key}:{attempt}").random()
        if draw < p500:
            return "500"
        if draw < p500 + ptimeout:
            return "timeout"
        if draw < p500 + ptimeout + pdrop:
            return "drop"
        return None

    return fault


def main() -> None:
    """Run a server in its own process (benchmarks): prints its URL, dumps what it recorded on SIGTERM."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--fail-500", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=0.0, help="share of requests answered after --timeout-delay")
    parser.add_argument("--timeout-delay", type=float, default=2.0)
    parser.add_argument("--drop", type=float, default=0.0)
    parser.add_argument("--dump", required=True, help="JSON file written on SIGTERM")
    args = parser.parse_args()
    faults = random_faults(args.fail_500, args.timeout, args.drop) if args.fail_500 or args.timeout or args.drop else None
    server = UsersServer(api_key=args.api_key, fault=faults, timeout_delay_s=args.timeout_delay)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(server.url, flush=True)
        stop.wait()
        with server._lock:
            dump = {
                "records": {key: body for key, (_, body) in server.records.items()},
                "attempts": dict(server.attempts),
                "answers": {str(k): v for k, v in server.answers.items()},
            }
    with open(args.dump, "w") as handle:
        json.dump(dump, handle)
    sys.exit(0)


if __name__ == "__main__":
    main()
