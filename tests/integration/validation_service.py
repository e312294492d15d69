"""A stand-in for an external validation service (Intune's ScepActions API).

Standard library only. The integration tests start one on a free loopback
port, point a profile's external_validation at it, and read back what the
server sent:

    with ValidationService(validate="allow") as svc:
        ... svc.url("/ScepActions/validateRequest") ...
        assert svc.requests("/ScepActions/successNotification")[0]["body"]["notification"]["transactionId"] == tx

Every request is recorded (path, headers, JSON body, time) in memory and,
when `log_path` is given, as one JSON line per request in that file.

Rules for validateRequest (any path ending in "validateRequest"):
    "allow"           200 {"code": "Success", "errorDescription": ""}
    "deny:CODE"       200 {"code": CODE, "errorDescription": "denied by the test service"}
    "500"             500, plain text
    "close"           close the connection without an answer
    "hang"            answer nothing until the service stops (or `hang_seconds`)
    "garbage"         200 with a body that is not JSON
Rules for the notifications (paths ending in "successNotification" and
"failureNotification"): "ok" (200 {"code": "Success"}), "500", "close",
"hang", or "deny:CODE" (200 {"code": CODE}, which Intune uses to refuse).
Rules can be changed while running (svc.validate = "500"), and a list of
rules is used up one per request, the last one then staying:
    ValidationService(validate=["500", "allow"])  # first call fails, then allows

Run it alone to try it by hand:
    python3 validation_service.py --port 8099 --validate deny:ChallengeExpired --log /tmp/v.jsonl
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VALIDATE = "validateRequest"
SUCCESS = "successNotification"
FAILURE = "failureNotification"


class _Rule:
    """One rule, or a list of rules used up in order (the last one stays)."""

    def __init__(self, spec):
        self._lock = threading.Lock()
        self.set(spec)

    def set(self, spec):
        with self._lock:
            self._queue = list(spec) if isinstance(spec, (list, tuple)) else [spec]
            if not self._queue:
                raise ValueError("an empty list of rules")

    def next(self):
        with self._lock:
            return self._queue.pop(0) if len(self._queue) > 1 else self._queue[0]


class ValidationService:
    def __init__(self, validate="allow", success="ok", failure="ok", host="127.0.0.1", port=0,
                 log_path=None, hang_seconds=60.0):
        self._rules = {VALIDATE: _Rule(validate), SUCCESS: _Rule(success), FAILURE: _Rule(failure)}
        self._records = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.log_path = log_path
        self.hang_seconds = hang_seconds
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = None

    # -- rules, changeable while running ---------------------------------
    @property
    def validate(self):
        return self._rules[VALIDATE]

    @validate.setter
    def validate(self, spec):
        self._rules[VALIDATE].set(spec)

    @property
    def success(self):
        return self._rules[SUCCESS]

    @success.setter
    def success(self, spec):
        self._rules[SUCCESS].set(spec)

    @property
    def failure(self):
        return self._rules[FAILURE]

    @failure.setter
    def failure(self, spec):
        self._rules[FAILURE].set(spec)

    # -- lifecycle --------------------------------------------------------
    @property
    def port(self):
        return self._server.server_address[1]

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def urls(self):
        """The three Intune-style URLs, for a profile's external_validation."""
        return {
            "validate_url": self.url("/ScepActions/validateRequest"),
            "success_url": self.url("/ScepActions/successNotification"),
            "failure_url": self.url("/ScepActions/failureNotification"),
        }

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="validation-service",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()  # releases "hang" handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what was received ------------------------------------------------
    def requests(self, path_suffix=""):
        """Recorded requests, oldest first, optionally those whose path ends with path_suffix.
        Each is {"path", "headers", "body" (parsed JSON, or None), "raw", "time"}."""
        with self._lock:
            return [r for r in self._records if r["path"].endswith(path_suffix)]

    def clear(self):
        with self._lock:
            self._records.clear()

    def wait_for(self, path_suffix, count=1, timeout=10.0):
        """Waits until `count` requests to path_suffix arrived; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests(path_suffix)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError("%d request(s) to *%s expected, %d received"
                             % (count, path_suffix, len(self.requests(path_suffix))))

    def _record(self, entry):
        with self._lock:
            self._records.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")

    def _handler_class(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "ScepterTestValidation/1.0"

            def log_message(self, fmt, *args):  # keep the test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else None
                except (UnicodeDecodeError, ValueError):
                    body = None
                path = self.path.split("?", 1)[0]
                service._record({
                    "time": time.time(),
                    "method": "POST",
                    "path": path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "raw": raw.decode("utf-8", "replace"),
                })
                kind = next((k for k in (VALIDATE, SUCCESS, FAILURE) if path.endswith(k)), None)
                if kind is None:
                    self._send(404, {"code": "Unknown", "errorDescription": "no such action"})
                    return
                self._apply(kind, service._rules[kind].next())

            def do_GET(self):
                self._send(405, {"code": "Unknown", "errorDescription": "POST only"})

            def _apply(self, kind, rule):
                if rule in ("allow", "ok"):
                    self._send(200, {"code": "Success", "errorDescription": ""})
                elif rule.startswith("deny:"):
                    self._send(200, {"code": rule[5:], "errorDescription": "denied by the test service"})
                elif rule == "500":
                    self._send(500, b"internal error (test service)\n", "text/plain")
                elif rule == "garbage":
                    self._send(200, b"<html>not json</html>", "text/html")
                elif rule == "close":
                    self.close_connection = True
                    self.connection.close()
                elif rule == "hang":
                    service._stopping.wait(service.hang_seconds)
                    self.close_connection = True
                else:
                    raise ValueError("unknown rule %r for %s" % (rule, kind))

            def _send(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

        return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--validate", default="allow")
    parser.add_argument("--success", default="ok")
    parser.add_argument("--failure", default="ok")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    args = parser.parse_args()
    svc = ValidationService(args.validate, args.success, args.failure, args.host, args.port, args.log).start()
    print(json.dumps(svc.urls()), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        svc.stop()


if __name__ == "__main__":
    main()
