"""A stand-in for Entra ID, Microsoft Graph and Intune's ScepActions, over
HTTPS with a test CA, on one loopback port. Standard library plus
python3-cryptography (to verify client assertions).

It checks what the real services check, records every call, and notes any
breach of the contract in `violations` (a test asserts it stays empty):
    token endpoint   POST /{tenant}/oauth2/v2.0/token, form-encoded:
                     grant_type=client_credentials, client_id, scope (one
                     of the two expected), and either client_secret or
                     client_assertion_type=...jwt-bearer + client_assertion:
                     an RS256 JWT whose signature verifies with the client
                     certificate, x5t = its SHA-1, aud = this token URL,
                     iss = sub = client_id, unexpired, jti never seen.
    discovery        GET /v1.0/servicePrincipals/appId=0000000a-.../endpoints
                     with a Graph token.
    ScepActions      POST /intune/ScepActions/{validateRequest,successNotification,
                     failureNotification} with a live token for the Intune
                     scope (else 401), api-version: 2018-02-20, a
                     client-request-id that is a UUID and never repeats.
    revocation       POST /pki/CertificateAuthorityRequests/{downloadRevocationRequests,
                     uploadRevocationResults} (PkiConnectorFEService) with the
                     same checks, api-version: 5019-05-05; download's
                     maxRequests 1..500 and an issuerName; upload's results
                     answer requests handed out, errorCode a CARequestErrorCode name.
                     A test queues requests (queue_revocation); every poll is
                     recorded in `polls` with its time and the polling process
                     (the pid the User-Agent names), every upload in `uploads`.

Rules (changeable while running, as in validation_service.py):
    token:     "ok", "refuse" (400 invalid_client, AADSTS7000215), "500"
    discovery: "ok", "500", "missing" (no ScepRequestValidationFEService),
               "unreachable" (names a port nobody listens on)
    validate:  "allow", "deny:CODE", "500"
    success/failure notifications: "ok", "500", "deny:CODE"
`expire_tokens()` makes every token issued so far expired, as time would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from validation_service import _Rule

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
API_VERSION = "2018-02-20"
REVOCATION_API_VERSION = "5019-05-05"
CA_REQUEST_ERROR_CODES = {"None", "NonRetryableServiceException", "DataSerializationError",
                          "ParameterDataInvalidError", "CryptographyError", "CertificateNotFoundError",
                          "ConflictError", "NotSupportedError", "PayloadTooLargeError", "RetryableServiceException",
                          "ServiceUnavailableException", "ServiceTooBusyException", "AuthenticationException"}
RESOURCE = "https://api.manage.microsoft.com/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def make_test_ca(d: Path, client_cn="scepter-intune-app") -> dict:
    """A CA, the stand-in's server certificate (127.0.0.1) and a client
    certificate for the assertion flow, made with openssl."""
    d.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=Intune stand-in test CA")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.pem",
        "-days", "2", "-subj", f"/CN={client_cn}")
    return {k: d / f"{k}.pem" for k in ("ca", "server", "client")} | {
        "server_key": d / "server.key", "client_key": d / "client.key"}


def _b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class IntuneStandIn:
    def __init__(self, files: dict, tenant="contoso.example", client_id="11111111-2222-3333-4444-555555555555",
                 client_secret=None, token_lifetime=3600):
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.token_lifetime = token_lifetime
        self._client_cert = x509.load_pem_x509_certificate(files["client"].read_bytes())
        self.rules = {k: _Rule(v) for k, v in
                      (("token", "ok"), ("discovery", "ok"), ("validate", "allow"), ("success", "ok"),
                       ("failure", "ok"))}
        self.records, self.violations, self.tokens = [], [], {}
        self._request_ids, self._jtis = set(), set()
        self.revocation_queue, self.handed_out, self.polls, self.uploads = [], {}, [], []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(files["server"], files["server_key"])
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = None
        self.dead_port = None

    # -- set-up ------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.base}/{self.tenant}/oauth2/v2.0/token"

    def set(self, **rules):
        for k, v in rules.items():
            self.rules[k].set(v)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="intune-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def expire_tokens(self):
        with self._lock:
            for t in self.tokens.values():
                t["exp"] = 0

    def calls(self, suffix=""):
        with self._lock:
            return [r for r in self.records if r["path"].endswith(suffix)]

    def queue_revocation(self, serial: str, issuer: str | None = None) -> str:
        """Queues a revocation request as Intune would hold it; returns its requestContext."""
        context = "ctx-" + str(uuid.uuid4())
        with self._lock:
            self.revocation_queue.append({"requestContext": context, "serialNumber": serial,
                                          "issuerName": issuer, "caConfiguration": None})
        return context

    def results(self) -> dict:
        """The uploaded results by requestContext (the last upload of each)."""
        with self._lock:
            return {r["requestContext"]: r for u in self.uploads for r in u["results"]}

    def clear(self):
        with self._lock:
            self.records.clear()

    # -- checks --------------------------------------------------------------
    def _violation(self, text):
        with self._lock:
            self.violations.append(text)

    def _check_assertion(self, jwt: str) -> str | None:
        try:
            head_b64, claims_b64, sig_b64 = jwt.split(".")
            head, claims = json.loads(_b64url_decode(head_b64)), json.loads(_b64url_decode(claims_b64))
        except ValueError as e:
            return f"unreadable assertion: {e}"
        if head.get("alg") != "RS256":
            return f"alg {head.get('alg')!r}"
        x5t = base64.urlsafe_b64encode(self._client_cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()
        if head.get("x5t") != x5t:
            return "x5t is not the client certificate's SHA-1"
        try:
            self._client_cert.public_key().verify(_b64url_decode(sig_b64), f"{head_b64}.{claims_b64}".encode(),
                                                  padding.PKCS1v15(), hashes.SHA256())
        except Exception:  # noqa: BLE001 - any failure is a bad signature
            return "signature does not verify"
        if claims.get("aud") != self.token_url:
            return f"aud {claims.get('aud')!r} is not the token URL"
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "iss/sub are not the client ID"
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            return "expired"
        with self._lock:
            if not claims.get("jti") or claims["jti"] in self._jtis:
                return "jti missing or replayed"
            self._jtis.add(claims["jti"])
        return None

    def _live_token(self, headers, scope) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self._lock:
            t = self.tokens.get(auth[7:])
        return bool(t) and t["scope"] == scope and t["exp"] > time.time()

    def _check_request_id(self, headers):
        rid = headers.get("client-request-id", "")
        if not UUID_RE.match(rid):
            self._violation(f"client-request-id {rid!r} is not a UUID")
        with self._lock:
            seen = rid in self._request_ids
            self._request_ids.add(rid)
        if seen:
            self._violation(f"client-request-id {rid} used twice")

    # -- the three faces -----------------------------------------------------
    def token(self, form):
        one = {k: v[0] for k, v in form.items()}
        expected_scopes = (RESOURCE + "/.default", self.base + "/.default")
        if one.get("grant_type") != "client_credentials" or one.get("client_id") != self.client_id \
                or one.get("scope") not in expected_scopes:
            self._violation(f"token request {sorted(one)} scope={one.get('scope')!r}")
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: malformed"}
        if "client_assertion" in one:
            why = (self._check_assertion(one["client_assertion"])
                   if one.get("client_assertion_type") == ASSERTION_TYPE else "wrong client_assertion_type")
            if why:
                self._violation("client assertion: " + why)
                return 401, {"error": "invalid_client", "error_description": "AADSTS700027: " + why}
        elif one.get("client_secret") != self.client_secret or self.client_secret is None:
            self._violation("wrong or missing client_secret")
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
        rule = self.rules["token"].next()
        if rule == "refuse":
            return 400, {"error": "invalid_client", "error_codes": [7000215],
                         "error_description": "AADSTS7000215: Invalid client secret provided."}
        if rule == "500":
            return 500, {"error": "temporarily_unavailable"}
        tok = "eyJ0ZXN0" + secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[tok] = {"scope": one["scope"], "exp": time.time() + self.token_lifetime}
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                     "ext_expires_in": self.token_lifetime, "access_token": tok}

    def discovery(self, headers):
        if not self._live_token(headers, self.base + "/.default"):
            return 401, {"error": {"code": "InvalidAuthenticationToken"}}
        rule = self.rules["discovery"].next()
        if rule == "500":
            return 500, {"error": {"code": "serviceNotAvailable"}}
        uri = f"{self.base}/intune"
        if rule == "unreachable":
            uri = f"https://127.0.0.1:{self.dead_port}/intune"
        value = [{"id": str(uuid.uuid4()), "capability": "Intune", "providerId": str(uuid.uuid4()),
                  "providerName": "PkiConnectorFEService", "providerResourceId": INTUNE_APP_ID,
                  "uri": f"{self.base}/pki"}]
        if rule != "missing":  # the case differs from the name the libraries ask for
            value.append({"id": str(uuid.uuid4()), "capability": "Intune", "providerId": str(uuid.uuid4()),
                          "providerName": "scepRequestValidationFEService",
                          "providerResourceId": INTUNE_APP_ID, "uri": uri})
        return 200, {"@odata.context": f"{self.base}/v1.0/$metadata#servicePrincipals/endpoints", "value": value}

    def action(self, kind, headers, body):
        self._check_request_id(headers)
        if headers.get("api-version") != API_VERSION:
            self._violation(f"api-version {headers.get('api-version')!r}")
            return 400, {"code": "Unknown", "errorDescription": "api-version"}
        if not self._live_token(headers, RESOURCE + "/.default"):
            return 401, {"code": "Unknown", "errorDescription": "token missing, expired or for another scope"}
        key = {"validateRequest": "validate", "successNotification": "success",
               "failureNotification": "failure"}[kind]
        rule = self.rules[key].next()
        if rule == "500":
            return 500, {"code": "Unknown", "errorDescription": "internal"}
        if rule.startswith("deny:"):
            return 200, {"code": rule[5:], "errorDescription": "denied by the Intune stand-in"}
        return 200, {"code": "Success", "errorDescription": ""}

    def revocation(self, kind, headers, body, port):
        self._check_request_id(headers)
        if headers.get("api-version") != REVOCATION_API_VERSION:
            self._violation(f"revocation api-version {headers.get('api-version')!r}")
            return 400, {"error": {"code": "BadRequest", "message": "api-version"}}
        if not self._live_token(headers, RESOURCE + "/.default"):
            return 401, {"error": {"code": "Unauthorized"}}
        pid = re.search(r"\bpid (\d+)", headers.get("user-agent", ""))
        if not pid:
            self._violation(f"a revocation call whose User-Agent names no process: {headers.get('user-agent')!r}")
        who = int(pid.group(1)) if pid else None
        if kind == "downloadRevocationRequests":
            params = (body or {}).get("downloadParameters") or {}
            n = params.get("maxRequests")
            if not isinstance(n, int) or not 1 <= n <= 500 or not params.get("issuerName"):
                self._violation(f"downloadParameters {params!r}")
                return 400, {"error": {"code": "BadRequest"}}
            with self._lock:
                self.polls.append({"time": time.time(), "pid": who, "port": port,
                                   "issuer": params["issuerName"], "max": n})
                out, self.revocation_queue = self.revocation_queue[:n], self.revocation_queue[n:]
                for r in out:
                    self.handed_out[r["requestContext"]] = r
            return 200, {"value": out}
        results = (body or {}).get("results")
        if not isinstance(results, list):
            self._violation(f"upload without results: {body!r}")
            return 400, {"error": {"code": "BadRequest"}}
        for r in results:
            if r.get("requestContext") not in self.handed_out or not isinstance(r.get("succeeded"), bool) \
                    or r.get("errorCode") not in CA_REQUEST_ERROR_CODES:
                self._violation(f"upload result {r!r}")
        with self._lock:
            self.uploads.append({"time": time.time(), "pid": who, "results": results})
        return 200, {"value": True}

    def _handler_class(self):
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _record(self, method, raw):
                headers = {k.lower(): v for k, v in self.headers.items()}
                entry = {"time": time.time(), "method": method, "path": self.path.split("?", 1)[0],
                         "headers": headers, "raw": raw.decode("utf-8", "replace")}
                try:
                    entry["body"] = json.loads(raw) if raw and method == "POST" else None
                except ValueError:
                    entry["body"] = None
                with svc._lock:
                    svc.records.append(entry)
                return entry

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                e = self._record("GET", b"")
                if e["path"] == f"/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints":
                    self._send(*svc.discovery(e["headers"]))
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                e = self._record("POST", raw)
                path = e["path"]
                if path == f"/{svc.tenant}/oauth2/v2.0/token":
                    self._send(*svc.token(parse_qs(raw.decode(), keep_blank_values=True)))
                elif path.startswith("/intune/ScepActions/"):
                    self._send(*svc.action(path.rsplit("/", 1)[1], e["headers"], e["body"]))
                elif path in ("/pki/CertificateAuthorityRequests/downloadRevocationRequests",
                              "/pki/CertificateAuthorityRequests/uploadRevocationResults"):
                    self._send(*svc.revocation(path.rsplit("/", 1)[1], e["headers"], e["body"],
                                               self.client_address[1]))
                else:
                    self._send(404, {"code": "Unknown", "errorDescription": "no such path"})

        return Handler
