"""The hostile-input suite, continued from test_056: what an attacker sends
at every layer, one case each. HTTP (methods, operations, query strings,
GET messages, framing, huge headers, slow bodies), the signed message
(truncated and wrong CMS, transactionID, senderNonce, messageType), the
envelope, and the CSR inside it, built byte by byte (names with NUL and
control characters, invalid strings, thousands of SANs, odd keys and
curves, CA powers, duplicate extensions, bad signatures, odd challenges).

Every case asserts the exact answer (an HTTP status, or a signed CertRep
FAILURE with its failInfo and failInfoText), that the server is alive with
the same workers, that the error log holds no unexpected line (the suite's
gate: nothing at [error] or above, no undeclared ID) and no control
character or forged line from the request, and that nothing was stored: no
certificate, no pending request, no successful transaction, no consumed
one-time challenge."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, padding, rsa, x25519

import harness as h

LEGACY, STRICT = "/scep", "/scep-strict"
MARK = "FORGED-LOG-LINE"  # what an injection attempt would put at the start of a log line

# Refusals are warnings with these IDs: SCP3001 not SCEP (4xx), SCP3002 not a
# pkiMessage, SCP3003 a failed step, SCP3004 a body over the limit.
pytestmark = pytest.mark.expect_log("SCP3001", "SCP3002", "SCP3003", "SCP3004")


# --------------------------------------------------------------------------
# DER, by hand: openssl and cryptography refuse to build most of these
# --------------------------------------------------------------------------


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(0x31, b"".join(parts))


def integer(n: int) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, raw)


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def bit_string(data: bytes) -> bytes:
    return tlv(0x03, b"\x00" + data)


def octets(data: bytes) -> bytes:
    return tlv(0x04, data)


NULL = b"\x05\x00"
TRUE = b"\x01\x01\xff"
UTF8, PRINTABLE, IA5, BMP, UNIVERSAL = 0x0C, 0x13, 0x16, 0x1E, 0x1C
CN, O, OU, L, ST, C = "2.5.4.3", "2.5.4.10", "2.5.4.11", "2.5.4.7", "2.5.4.8", "2.5.4.6"
SERIAL_NUMBER, EMAIL = "2.5.4.5", "1.2.840.113549.1.9.1"
SHA256_RSA = "1.2.840.113549.1.1.11"
RSA_OID, RSA_PSS_OID, EC_OID = "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10", "1.2.840.10045.2.1"
CHALLENGE_OID, EXT_REQ_OID = "1.2.840.113549.1.9.7", "1.2.840.113549.1.9.14"
SAN_OID, BC_OID, KU_OID, NC_OID = "2.5.29.17", "2.5.29.19", "2.5.29.15", "2.5.29.30"


def name(*rdns) -> bytes:
    """rdns: (oid, tag, value bytes or str), one attribute per RDN."""
    out = []
    for attr_oid, tag, value in rdns:
        value = value.encode() if isinstance(value, str) else value
        out.append(set_of(seq(oid(attr_oid), tlv(tag, value))))
    return seq(*out)


def ext(ext_oid: str, value: bytes, critical=False) -> bytes:
    return seq(oid(ext_oid), TRUE if critical else b"", octets(value))


def sans(*names) -> bytes:
    """names: (context tag number, value bytes) as GeneralNames."""
    return seq(*[tlv(0x80 | tag, v.encode() if isinstance(v, str) else v) for tag, v in names])


def rsa_spki(n: int, e: int, alg_oid=RSA_OID) -> bytes:
    params = NULL if alg_oid == RSA_OID else b""
    return seq(seq(oid(alg_oid), params), bit_string(seq(integer(n), integer(e))))


@pytest.fixture(scope="module")
def device_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def spki_of(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def csr_der(key, subject: bytes | None = None, spki: bytes | None = None, extensions=(),
            challenge: bytes | None = None, attributes=(), bad_signature=False,
            sig_alg: bytes | None = None, trailing=b"") -> bytes:
    """A PKCS#10 request, signed by key (sha256WithRSAEncryption) over
    whatever subject, key and attributes it is given. challenge is the whole
    DER value of challengePassword (tag included)."""
    subject = subject if subject is not None else name((CN, UTF8, "hostile.example"))
    spki = spki if spki is not None else spki_of(key.public_key())
    attrs = list(attributes)
    if challenge is not None:
        attrs.append(seq(oid(CHALLENGE_OID), set_of(challenge)))
    if extensions:
        attrs.append(seq(oid(EXT_REQ_OID), set_of(seq(*extensions))))
    info = seq(integer(0), subject, spki, tlv(0xA0, b"".join(attrs)))
    signature = key.sign(info, padding.PKCS1v15(), hashes.SHA256())
    if bad_signature:
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    return seq(info, sig_alg or seq(oid(SHA256_RSA), NULL), bit_string(signature)) + trailing


# --------------------------------------------------------------------------
# the guard: alive, nothing stored, nothing forged in the log
# --------------------------------------------------------------------------


def store_path(pki) -> Path:
    return pki.config.parent / h.yaml_scalar(pki.config.read_text(), "sqlite")


def store_snapshot(pki) -> dict:
    if not store_path(pki).exists():  # made by the first PKIOperation that gets that far
        return dict.fromkeys(("certificates", "pending", "successes", "consumed",
                              "longest_transaction_id", "longest_fail_text"), 0)
    with sqlite3.connect(f"file:{store_path(pki)}?mode=ro", uri=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0] or 0  # noqa: E731
        return {
            "certificates": one("SELECT count(*) FROM certificates"),
            "pending": one("SELECT count(*) FROM pending_requests"),
            "successes": one("SELECT count(*) FROM transactions WHERE status = 'success'"),
            "consumed": one("SELECT count(*) FROM challenges WHERE status = 'consumed'"),
            "longest_transaction_id": one("SELECT max(length(transaction_id)) FROM transactions"),
            "longest_fail_text": one("SELECT max(length(fail_text)) FROM transactions"),
        }


def challenge_status(pki, challenge: str) -> str | None:
    with sqlite3.connect(f"file:{store_path(pki)}?mode=ro", uri=True) as con:
        row = con.execute("SELECT status FROM challenges WHERE id = ?",
                          (h.challenge_id(challenge),)).fetchone()
    return row[0] if row else None


class Guard:
    def __init__(self, server: h.Server, pki, port: int):
        self.server, self.pki, self.port = server, pki, port
        self.pids = server.worker_pids()
        self.store = store_snapshot(pki)
        self.log_offset = server.log_size()
        self.challenges: list[str] = []

    def verify(self) -> None:
        r = h.get_op(self.port, LEGACY, "GetCACaps")
        assert r.status == 200, f"the server stopped serving: HTTP {r.status}"
        assert self.server.worker_pids() == self.pids, "a worker was replaced (crash?)"
        now = store_snapshot(self.pki)
        for k in ("certificates", "pending", "successes", "consumed"):
            assert now[k] == self.store[k], f"something was stored: {k} {self.store[k]} -> {now[k]}"
        assert now["longest_transaction_id"] <= 128, now
        assert now["longest_fail_text"] <= 1024, now
        for c in self.challenges:
            assert challenge_status(self.pki, c) == "active", "the one-time challenge was consumed"
        with open(self.server.error_log, "rb") as f:
            f.seek(self.log_offset)
            new = f.read()
        for line in new.split(b"\n"):
            assert not line.startswith(MARK.encode()), f"a forged log line: {line[:200]!r}"
            bad = [c for c in line if c < 0x20 and c != 0x09 or c == 0x7F]
            assert not bad, f"a control character reached the error log: {line[:300]!r}"
            assert len(line) < 8192, f"an unbounded log line ({len(line)} bytes): {line[:200]!r}"


@pytest.fixture
def guard(server, pki, port):
    return Guard(server, pki, port)


def expect_status(r: h.Reply, want, kind: str) -> None:
    want = want[kind] if isinstance(want, dict) else want
    assert r.status == want, f"HTTP {r.status} (want {want}): {r.body[:300]!r}"


# --------------------------------------------------------------------------
# HTTP: methods, operations, query strings, GET messages
# --------------------------------------------------------------------------

LONG_OP = "GetCACaps" * 450  # 4 KB

HTTP_CASES = {
    # method, target, expected status (per server where the servers differ)
    "put": ("PUT", "/scep?operation=GetCACaps", 405),
    "delete": ("DELETE", "/scep?operation=GetCACaps", 405),
    "patch": ("PATCH", "/scep?operation=GetCACaps", 405),
    "options": ("OPTIONS", "/scep?operation=GetCACaps", 405),
    # Apache answers TRACE itself (TraceEnable is on by default): the echo
    # never reaches the module.
    "trace": ("TRACE", "/scep?operation=GetCACaps", {"nginx": 405, "apache": 200}),
    "unknown-method": ("FROB", "/scep?operation=GetCACaps", 405),
    "post-getcacaps": ("POST", "/scep?operation=GetCACaps", 405),
    "post-getcacert": ("POST", "/scep?operation=GetCACert", 405),
    "put-pkioperation": ("PUT", "/scep?operation=PKIOperation", 405),
    "put-long-operation": ("PUT", f"/scep?operation={LONG_OP}", 405),
    "put-operation-with-newline": ("PUT", f"/scep?operation=x%0A{MARK}%20[alert]", 405),
    "op-unknown": ("GET", "/scep?operation=GetEverything", 400),
    "op-lower-case": ("GET", "/scep?operation=getcacaps", 400),
    "op-upper-case": ("GET", "/scep?operation=PKIOPERATION", 400),
    "op-empty": ("GET", "/scep?operation=", 400),
    "op-no-equals": ("GET", "/scep?operation", 400),
    "op-nul": ("GET", "/scep?operation=GetCACaps%00", 400),
    "op-newline-forged": ("GET", f"/scep?operation=%0A{MARK}%20[alert]%0D%0A", 400),
    "op-escape": ("GET", "/scep?operation=%1B%5B31mGetCACaps", 400),
    "op-4kb": ("GET", f"/scep?operation={LONG_OP}", 400),
    "op-utf8": ("GET", "/scep?operation=G%C3%A9tCACaps", 400),
    "op-invalid-utf8": ("GET", "/scep?operation=%FF%FEGetCACaps", 400),
    "op-trailing-space": ("GET", "/scep?operation=GetCACaps%20", 400),
    "op-getcrl-is-no-operation": ("GET", "/scep?operation=GetCRL", 400),
    "no-operation": ("GET", "/scep?message=abc", 400),
    "empty-query": ("GET", "/scep?", 400),
    "only-ampersands": ("GET", "/scep?&&&", 400),
    "duplicate-operation-first-wins": ("GET", "/scep?operation=GetCACaps&operation=Bogus", 200),
    "ampersands-around": ("GET", "/scep?&&operation=GetCACaps&&", 200),
    "pkioperation-get-without-message": ("GET", "/scep?operation=PKIOperation", 400),
    "pkioperation-get-empty-message": ("GET", "/scep?operation=PKIOperation&message=", 400),
    "message-not-base64": ("GET", "/scep?operation=PKIOperation&message=%21%21%21%2A%2A", 400),
    "message-url-safe-alphabet": ("GET", "/scep?operation=PKIOperation&message=-_-_-_-_", 400),
    "message-padding-only": ("GET", "/scep?operation=PKIOperation&message=%3D%3D%3D%3D", 400),
    "message-one-char": ("GET", "/scep?operation=PKIOperation&message=A", 400),
    "message-nul": ("GET", "/scep?operation=PKIOperation&message=MII%00AAAA", 400),
    "message-base64-garbage": ("GET", "/scep?operation=PKIOperation&message="
                               + base64.b64encode(b"\x30\x03\x02\x01\x00" * 50).decode(), 400),
    "uri-too-long": ("GET", "/scep?operation=PKIOperation&message=" + "A" * 20000, 414),
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_057_001_http(guard, port, server_kind, case):
    method, target, want = HTTP_CASES[case]
    r = h.http_request(port, method, target, b"x" if method in ("PUT", "PATCH", "POST") else None)
    expect_status(r, want, server_kind)
    assert len(r.body) < 4096, f"an unbounded answer ({len(r.body)} bytes)"
    assert MARK.encode() not in r.body or r.status == 200, r.body[:300]
    guard.verify()


# --------------------------------------------------------------------------
# the message itself: truncated, wrong, not CMS at all
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_req(workdir, client, pki):
    """One well-formed PKCSReq (with a wrong challenge, so it could never
    enroll) that the cases cut and bend."""
    d = h.Device.create(workdir / "devices" / "test_057", "definitely-wrong", cn="hostile-057")
    return client.request(d, transaction_id="hostile-057-template")


def body_cases(der: bytes, getcacert: bytes, ca_pem: bytes) -> dict:
    ca_der = base64.b64decode(b"".join(ca_pem.split(b"\n")[1:-2]))
    return {
        "cut-at-1": der[:1],
        "cut-at-2": der[:2],
        "cut-at-4": der[:4],
        "cut-at-16": der[:16],
        "cut-at-64": der[:64],
        "cut-at-256": der[:256],
        "cut-at-half": der[:len(der) // 2],
        "cut-64-before-end": der[:-64],
        "cut-1-before-end": der[:-1],
        "one-zero-byte": b"\x00",
        "certs-only-pkcs7": getcacert,
        "a-certificate": ca_der,
        "pem-text": b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n",
        "deep-nesting": b"\x30\x80" * 5000,
        "indefinite-length-garbage": b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80" + b"\x00" * 8,
        "length-bomb": b"\x30\x84\x7f\xff\xff\xff\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",
        "pkcs7-data": seq(oid("1.2.840.113549.1.7.1"), tlv(0xA0, octets(b"hello"))),
        "signed-data-empty": seq(oid("1.2.840.113549.1.7.2"), tlv(0xA0, seq())),
        "enveloped-data-oid-only": seq(oid("1.2.840.113549.1.7.3")),
        "nul-bytes-4k": b"\x00" * 4096,
    }


BODY_CASES = list(body_cases(b"x" * 600, b"", b"-\nAAAA\n-\n"))


@pytest.mark.parametrize("case", BODY_CASES)
def test_057_002_post_body(guard, port, valid_req, getcacert, pki, case):
    body = body_cases(valid_req.der, getcacert.read_bytes(), pki.ca_cert.read_bytes())[case]
    r = h.post_pki(port, STRICT, body)
    assert r.status == 400, f"HTTP {r.status}: {r.body[:300]!r}"
    assert r.body.startswith(b"the message is not a SCEP pkiMessage"), r.body[:300]
    assert len(r.body) < 1024, r.body[:300]
    guard.verify()


def test_057_003_get_with_truncated_message(guard, port, valid_req):
    b64 = base64.b64encode(valid_req.der[: len(valid_req.der) // 3]).decode()
    r = h.http_request(port, "GET", f"{STRICT}?operation=PKIOperation&message={b64.replace('+', '%2B').replace('/', '%2F')}")
    assert r.status == 400, f"HTTP {r.status}: {r.body[:300]!r}"
    guard.verify()


def test_057_004_wrong_content_type_header_changes_nothing(guard, port):
    r = h.http_request(port, "POST", f"{STRICT}?operation=PKIOperation", os.urandom(300),
                       {"Content-Type": "text/html; charset=\x01"})
    assert r.status == 400, f"HTTP {r.status}: {r.body[:300]!r}"
    guard.verify()


# --------------------------------------------------------------------------
# HTTP framing: chunked garbage, bad lengths, huge headers, a slow body
# --------------------------------------------------------------------------


def raw_exchange(port: int, data: bytes, timeout: float = 20) -> h.Reply:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        resp = http.client.HTTPResponse(s)
        resp.begin()
        body = resp.read()
        return h.Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        s.close()


def head(extra: str, method="POST", target=f"{STRICT}?operation=PKIOperation") -> bytes:
    return (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/x-pki-message\r\n{extra}\r\n").encode()


FRAMING_CASES = {
    "chunk-size-not-hex": (head("Transfer-Encoding: chunked\r\n") + b"zz\r\nabc\r\n0\r\n\r\n", 400),
    "chunk-size-overflow": (head("Transfer-Encoding: chunked\r\n") + b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
                            {"nginx": 400, "apache": 413}),
    "chunked-garbage-content": (head("Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n3\r\n\x00\x01\x02\r\n0\r\n\r\n", 400),
    "content-length-negative": (head("Content-Length: -5\r\n") + b"hello", 400),
    "content-length-not-a-number": (head("Content-Length: 12abc\r\n") + b"hello", 400),
    "content-length-twice": (head("Content-Length: 5\r\nContent-Length: 7\r\n") + b"hello", 400),
    "huge-header": (head("X-Filler: " + "a" * 100000 + "\r\nContent-Length: 5\r\n") + b"hello",
                    {"nginx": 400, "apache": 400}),
    "header-with-nul": (head("X-Evil: a\x00b\r\nContent-Length: 5\r\n") + b"hello", 400),
}


@pytest.mark.parametrize("case", list(FRAMING_CASES))
def test_057_005_framing(guard, port, server_kind, expect_log, case):
    data, want = FRAMING_CASES[case]
    if server_kind == "nginx" and case.startswith("chunk-size"):
        # nginx's own chunked parser logs this at [error] for any location
        expect_log("client sent invalid chunked body")
    r = raw_exchange(port, data)
    expect_status(r, want, server_kind)
    guard.verify()


@pytest.fixture(scope="module")
def slow_server(server_class, workdir, pki):
    """A server of its own whose body timeout is 2 s (nginx
    client_body_timeout, Apache Timeout), so a stalled body is given up on
    quickly."""
    n = server_class(workdir / f"{server_class.kind}-slow", pki.config, workers=1)
    text = n.conf.read_text()
    if n.kind == "nginx":
        text = text.replace("http {", "http {\n    client_body_timeout 2s;", 1)
    else:
        text += "\nTimeout 2\n"
    n.conf.write_text(text)
    n.start()
    yield n
    n.discard()


# nginx gives up on a stalled body by closing the connection without an
# answer (its 408 is never sent); Apache answers 408.
SLOW_BODY_ANSWER = {"nginx": None, "apache": 408}


def read_status_or_close(s: socket.socket) -> int | None:
    resp = http.client.HTTPResponse(s)
    try:
        resp.begin()
    except http.client.RemoteDisconnected:
        return None
    return resp.status


def test_057_006_slow_body(slow_server, valid_req, pki):
    """Half the body, then nothing: 408 after the timeout, and the worker
    serves on. Nothing reached the core (no audit line for it)."""
    g = Guard(slow_server, pki, slow_server.port)
    s = socket.create_connection(("127.0.0.1", slow_server.port), timeout=30)
    try:
        der = valid_req.der
        s.sendall(head(f"Content-Length: {len(der)}\r\n") + der[: len(der) // 2])
        started = time.monotonic()
        status = read_status_or_close(s)
        waited = time.monotonic() - started
    finally:
        s.close()
    assert status == SLOW_BODY_ANSWER[slow_server.kind], status
    assert waited < 20, waited
    g.verify()


def test_057_007_slowloris_bytes_one_at_a_time_then_stall(slow_server, valid_req, pki):
    g = Guard(slow_server, pki, slow_server.port)
    s = socket.create_connection(("127.0.0.1", slow_server.port), timeout=30)
    try:
        der = valid_req.der
        s.sendall(head(f"Content-Length: {len(der)}\r\n"))
        for b in der[:20]:
            s.sendall(bytes([b]))
            time.sleep(0.05)
        status = read_status_or_close(s)
    finally:
        s.close()
    assert status == SLOW_BODY_ANSWER[slow_server.kind], status
    g.verify()


# --------------------------------------------------------------------------
# the signed message's attributes
# --------------------------------------------------------------------------


def raw_request(client, device: h.Device, out_name: str, *args) -> h.Request:
    """scepter-testclient request with any arguments (empty values too)."""
    out = device.dir / f"{out_name}.der"
    cmd = [h.TESTCLIENT, "request", "--csr", device.csr, "--key", device.key,
           "--cacert", client.cacert, "--out", out, *args]
    info = json.loads(h.run(cmd).stdout)
    return h.Request(out, Path(info["signer"]), info["transaction_id"], info["sender_nonce"], info)


@pytest.fixture(scope="module")
def wrong_challenge_device(workdir):
    return h.Device.create(workdir / "devices" / "test_057", "definitely-wrong", cn="hostile-057-attrs")


MISMATCH = "challenge_password: ChallengePasswordMismatch: the challenge password is not valid"
ATTRIBUTE_CASES = {
    # testclient arguments, expected: HTTP status or (failInfo, failInfoText)
    "transaction-id-129-bytes": (["--transaction-id", "T" * 129], 400),
    "transaction-id-60k": (["--transaction-id", "T" * 60000], 400),
    "transaction-id-128-bytes": (["--transaction-id", "T" * 128], ("badRequest", MISMATCH)),
    "transaction-id-empty": (["--transaction-id", ""],
                             ("badRequest", "message_parsed: the transactionID attribute is missing")),
    "transaction-id-newline": (["--transaction-id", f"x\n{MARK} [alert] y"], 400),
    "transaction-id-cr": (["--transaction-id", "x\ry"], 400),
    "transaction-id-escape": (["--transaction-id", "x\x1b[2Jy"], 400),
    "transaction-id-del": (["--transaction-id", "x\x7fy"], 400),
    "transaction-id-tab": (["--transaction-id", "x\ty"], 400),
    "transaction-id-utf8": (["--transaction-id", "tränsäction"], 400),
    "nonce-empty": (["--sender-nonce", ""],
                    ("badRequest", "message_parsed: the senderNonce attribute is missing")),
    "nonce-65-bytes": (["--sender-nonce", "ab" * 65], 400),
    "nonce-30000-bytes": (["--sender-nonce", "ab" * 30000], 400),
    "nonce-64-bytes": (["--sender-nonce", "ab" * 64], ("badRequest", MISMATCH)),
    "nonce-1-byte": (["--sender-nonce", "00"], ("badRequest", MISMATCH)),
    "message-type-0": (["--message-type", "0"],
                       ("badRequest", "message_parsed: message type 0 is not a request")),
    "message-type-certrep": (["--message-type", "3"],
                             ("badRequest", "message_parsed: message type 3 is not a request")),
    "message-type-18": (["--message-type", "18"],
                        ("badRequest", "message_parsed: message type 18 is not a request")),
    "message-type-23": (["--message-type", "23"],
                        ("badRequest", "message_parsed: message type 23 is not a request")),
    "message-type-negative": (["--message-type", "-19"],
                              ("badRequest", "message_parsed: message type -1 is not a request")),
    "message-type-huge": (["--message-type", "1900000"],
                          ("badRequest", "message_parsed: message type -1 is not a request")),
}


@pytest.mark.parametrize("case", list(ATTRIBUTE_CASES))
def test_057_008_attributes(guard, port, client, wrong_challenge_device, case):
    args, want = ATTRIBUTE_CASES[case]
    if "--transaction-id" not in args:
        args = [*args, "--transaction-id", f"hostile-057-{case}"]
    req = raw_request(client, wrong_challenge_device, case, *args)
    r = h.post_pki(port, STRICT, req.der)
    check_answer(client, wrong_challenge_device, req, r, want)
    guard.verify()


def check_answer(client, device, req, r: h.Reply, want, any_cert=False) -> None:
    if isinstance(want, int):
        assert r.status == want, f"HTTP {r.status} (want {want}): {r.body[:300]!r}"
        assert len(r.body) < 1024, r.body[:300]
        return
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = client.reply(device, req, r.body, name=f"{req.der_path.stem}-reply", any_cert=any_cert)
    e = h.Enrollment(r, req, rep)
    h.check_failure(e, want[0])
    assert rep["fail_info_text"] == want[1], rep["fail_info_text"]


# --------------------------------------------------------------------------
# the envelope and the content
# --------------------------------------------------------------------------


def content_cases(csr: bytes) -> dict:
    return {
        "no-envelope-bare-csr": (["--no-envelope"], None,
                                 ("badRequest", "envelope_decrypted: the content is not a CMS EnvelopedData")),
        "random-bytes-enveloped": (["--content-file"], os.urandom(300),
                                   ("badRequest", "csr_checked: the decrypted content is not a PKCS#10 request")),
        "csr-with-trailing-bytes": (["--content-file"], csr + b"\x00\x00",
                                    ("badRequest", "csr_checked: the decrypted content is not a PKCS#10 request")),
        "half-a-csr": (["--content-file"], csr[: len(csr) // 2],
                       ("badRequest", "csr_checked: the decrypted content is not a PKCS#10 request")),
        "garbage-no-envelope": (["--no-envelope", "--content-file"], os.urandom(200),
                                ("badRequest", "envelope_decrypted: the content is not a CMS EnvelopedData")),
        "certpoll-garbage": (["--message-type", "20", "--content-file"], os.urandom(100),
                             ("badCertID", "poll_answered: no pending request has this transaction ID")),
        "getcert-garbage": (["--message-type", "21", "--content-file"], os.urandom(100),
                            ("badRequest", "cert_sent: the content is not an IssuerAndSerialNumber")),
        "getcrl-garbage": (["--message-type", "22", "--content-file"], os.urandom(100),
                           ("badRequest", "crl_sent: the content is not an IssuerAndSerialNumber")),
    }


CONTENT_CASES = list(content_cases(b""))


@pytest.mark.parametrize("case", CONTENT_CASES)
def test_057_009_content(guard, port, client, wrong_challenge_device, case):
    d = wrong_challenge_device
    args, data, want = content_cases(pem_to_der(d.csr))[case]
    args = list(args)
    if data is not None:
        f = d.dir / f"{case}.bin"
        f.write_bytes(data)
        args.append(f)
    req = raw_request(client, d, case, *args, "--transaction-id", f"hostile-057-{case}")
    r = h.post_pki(port, STRICT, req.der)
    check_answer(client, d, req, r, want)
    guard.verify()


def pem_to_der(p: Path) -> bytes:
    return x509.load_pem_x509_csr(p.read_bytes()).public_bytes(serialization.Encoding.DER)


def test_057_010_envelope_to_a_stranger(guard, port, client, wrong_challenge_device, workdir):
    """Encrypted to a certificate that is not the RA's: nobody here can open it."""
    d = wrong_challenge_device
    stranger = d.dir / "stranger.pem"
    if not stranger.exists():
        h.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d.dir / "stranger.key",
               "-subj", "/CN=stranger", "-days", "1", "-out", stranger])
    req = raw_request(client, d, "stranger", "--recipient", stranger, "--transaction-id", "hostile-057-stranger")
    r = h.post_pki(port, STRICT, req.der)
    check_answer(client, d, req, r, ("badMessageCheck", "envelope_decrypted: the envelope cannot be decrypted with our RA key"))
    guard.verify()


# --------------------------------------------------------------------------
# the CSR, byte by byte, each with a fresh one-time challenge it must not burn
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(workdir):
    """The SCEP message is signed by this separate key and certificate, so
    the CSR inside may carry any key at all."""
    d = workdir / "devices" / "test_057-signer"
    d.mkdir(parents=True, exist_ok=True)
    key = d / "signer.key"
    if not key.exists():
        h.generate_rsa_key(key)
        h.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=signer", "-days", "1",
               "-out", d / "signer.pem"])
        h.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=signer", "-out", d / "signer.csr"])
    return d


def one_time_challenge(pki, requester: str) -> str:
    return h.run([h.SCEPTER, "challenge", "--config", pki.config, "--profile", "default",
                  "--user", "mallory", "--requester", requester]).stdout.strip()


def send_csr(client, port, signer: Path, case: str, csr: bytes) -> tuple:
    """The CSR goes in as raw bytes (--content-file): the test client could
    not parse most of them."""
    d = signer / case
    d.mkdir(parents=True, exist_ok=True)
    (d / "content.der").write_bytes(csr)
    dev = h.Device(d, case, signer / "signer.key", signer / "signer.csr", 2048)
    req = raw_request(client, dev, "req", "--signer-cert", signer / "signer.pem",
                      "--content-file", d / "content.der", "--transaction-id", f"hostile-057-{case}")
    return dev, req, h.post_pki(port, STRICT, req.der)


def utf8(s: str) -> bytes:
    return tlv(UTF8, s.encode())


def long_rdns(n: int) -> bytes:
    return name((CN, UTF8, "many.example"), *[(OU, UTF8, f"u{i}") for i in range(n)])


def many_sans(n: int) -> bytes:
    return ext(SAN_OID, sans(*[(2, f"h{i}.example") for i in range(n)]))


CSR_FAIL = "csr_checked: "
ISSUE = "cert_issued: template 'general_purpose' "
LEAF_ONLY = ISSUE + "issues leaf certificates only; the CSR asks for "
NOT_PKCS10 = "the decrypted content is not a PKCS#10 request"
OTHER_STEPS = ("cert_issued: ", "challenge_")


def csr_cases(key) -> dict:
    """case -> (csr builder(challenge) -> DER, failInfo, failInfoText)."""
    n = key.public_key().public_numbers().n

    def c(**kw):
        return lambda ch: csr_der(key, challenge=utf8(ch), **kw)

    def nm(*rdns):
        return c(subject=name(*rdns))

    nul = "the subject's {} holds a NUL or control character"
    cases = {
        # names: lengths
        "cn-257-bytes": (nm((CN, UTF8, "a" * 257)), "badRequest", "the subject's CN is 257 bytes long; the limit is 256"),
        "o-257-bytes": (nm((CN, UTF8, "x"), (O, UTF8, "o" * 257)), "badRequest", "the subject's O is 257 bytes long; the limit is 256"),
        "ou-5000-bytes": (nm((CN, UTF8, "x"), (OU, UTF8, "u" * 5000)), "badRequest", "the subject is 5008 bytes long; the limit is 1024"),
        "cn-40000-bytes": (nm((CN, UTF8, "a" * 40000)), "badRequest", "the subject is 40003 bytes long; the limit is 1024"),
        "many-rdns": (c(subject=long_rdns(300)), "badRequest", "the subject is 2305 bytes long; the limit is 1024"),
        # names: NUL and control characters in every component
        "nul-in-cn": (nm((CN, UTF8, "www.bank.example\x00.evil.example")), "badRequest", nul.format("CN")),
        "nul-in-o": (nm((CN, UTF8, "x"), (O, UTF8, "Bank\x00Evil")), "badRequest", nul.format("O")),
        "nul-in-ou": (nm((CN, UTF8, "x"), (OU, UTF8, "\x00")), "badRequest", nul.format("OU")),
        "nul-in-l": (nm((CN, UTF8, "x"), (L, UTF8, "a\x00b")), "badRequest", nul.format("L")),
        "nul-in-st": (nm((CN, UTF8, "x"), (ST, UTF8, "a\x00b")), "badRequest", nul.format("ST")),
        "nul-in-c": (nm((CN, UTF8, "x"), (C, PRINTABLE, "D\x00")), "badRequest", nul.format("C")),
        "nul-in-serial": (nm((CN, UTF8, "x"), (SERIAL_NUMBER, PRINTABLE, "1\x002")), "badRequest", nul.format("serialNumber")),
        "nul-in-email": (nm((CN, UTF8, "x"), (EMAIL, IA5, "a@b\x00c")), "badRequest", nul.format("emailAddress")),
        "nul-in-cn-bmp": (nm((CN, BMP, "ab\x00c".encode("utf-16-be"))), "badRequest", nul.format("CN")),
        "newline-in-cn": (nm((CN, UTF8, f"x\n{MARK} [alert]")), "badRequest", nul.format("CN")),
        "cr-in-o": (nm((CN, UTF8, "x"), (O, UTF8, "a\rb")), "badRequest", nul.format("O")),
        "escape-in-ou": (nm((CN, UTF8, "x"), (OU, UTF8, "\x1b[31mred")), "badRequest", nul.format("OU")),
        "del-in-cn": (nm((CN, UTF8, "x\x7f")), "badRequest", nul.format("CN")),
        "tab-in-cn": (nm((CN, UTF8, "x\ty")), "badRequest", nul.format("CN")),
        "bell-in-cn-printable": (nm((CN, PRINTABLE, "x\x07")), "badRequest", nul.format("CN")),
        # names: strings that are no strings
        "invalid-utf8-cn": (nm((CN, UTF8, b"\xff\xfe\xc3")), "badRequest", "the decrypted content is not a PKCS#10 request"),
        "bmp-odd-length": (nm((CN, BMP, b"\x00a\x00")), "badRequest", "the decrypted content is not a PKCS#10 request"),
        "universal-bad-length": (nm((CN, UNIVERSAL, b"\x00\x00\x00a\x00")), "badRequest", "the decrypted content is not a PKCS#10 request"),
        "overlong-utf8-nul": (nm((CN, UTF8, b"a\xc0\x80b")), "badRequest", "the decrypted content is not a PKCS#10 request"),
        "empty-subject": (c(subject=seq()), "badRequest", ISSUE + "requires the subject attribute CN"),
        "cn-wrong-tag-integer": (c(subject=seq(set_of(seq(oid(CN), integer(5))))), "badRequest", NOT_PKCS10),
        # SANs
        "33-sans": (c(extensions=[many_sans(33)]), "badRequest", "the CSR asks for 33 subject alternative names; the limit is 32"),
        "3000-sans": (c(extensions=[many_sans(3000)]), "badRequest", "the CSR asks for 3000 subject alternative names; the limit is 32"),
        "dns-san-nul": (c(extensions=[ext(SAN_OID, sans((2, "www.bank.example\x00.evil.example")))]), "badRequest", "the dns SAN holds a NUL or control character"),
        "dns-san-newline": (c(extensions=[ext(SAN_OID, sans((2, f"a\n{MARK}")))]), "badRequest", "the dns SAN holds a NUL or control character"),
        "email-san-nul": (c(extensions=[ext(SAN_OID, sans((1, "a@b\x00c")))]), "badRequest", "the email SAN holds a NUL or control character"),
        "uri-san-300-bytes": (c(extensions=[ext(SAN_OID, sans((6, "https://" + "u" * 292)))]), "badRequest", "the uri SAN is 300 bytes long; the limit is 256"),
        "upn-san-nul": (c(extensions=[ext(SAN_OID, seq(tlv(0xA0, oid("1.3.6.1.4.1.311.20.2.3") + tlv(0xA0, utf8("a\x00@b")))))]), "badRequest", "the upn SAN holds a NUL or control character"),
        "san-not-der": (c(extensions=[ext(SAN_OID, b"\x30\x05\x82\x03ab")]), "badRequest", "the CSR's subjectAltName extension cannot be read"),
        # keys
        "rsa-e-1": (c(spki=rsa_spki(n, 1)), "badRequest", "the CSR's RSA public exponent is weak (an odd exponent of at least 65537 is required)"),
        "rsa-e-even": (c(spki=rsa_spki(n, 65536)), "badRequest", "the CSR's RSA public exponent is weak (an odd exponent of at least 65537 is required)"),
        "rsa-e-17": (c(spki=rsa_spki(n, 17)), "badRequest", "the CSR's RSA public exponent is weak (an odd exponent of at least 65537 is required)"),
        "rsa-16400-bits": (c(spki=rsa_spki((1 << 16399) | 1, 65537)), "badRequest", "the CSR's RSA key is larger than 16384 bits"),
        "rsa-16384-bits-forged": (c(spki=rsa_spki((1 << 16383) | 12345, 65537)), "badMessageCheck", "the CSR's signature does not verify"),
        "rsa-modulus-15": (c(spki=rsa_spki(15, 65537)), "badMessageCheck", "the CSR's signature does not verify"),
        "rsa-pss-key": (c(spki=rsa_spki(n, 65537, RSA_PSS_OID)), "badAlg", "the CSR's key type RSA-PSS is not certified (rsa, ec)"),
        "ec-p224": (c(spki=spki_of(ec.generate_private_key(ec.SECP224R1()).public_key())), "badAlg", "the CSR's EC curve secp224r1 is not certified (P-256, P-384, P-521)"),
        "ec-sect283k1": (c(spki=spki_of(ec.generate_private_key(ec.SECT283K1()).public_key())), "badAlg", "the CSR's EC curve sect283k1 is not certified (P-256, P-384, P-521)"),
        "ec-point-not-on-curve": (c(spki=seq(seq(oid(EC_OID), oid("1.2.840.10045.3.1.7")), bit_string(b"\x04" + b"\x01" * 64))), "badRequest", "the CSR's public key cannot be read"),
        "ec-unknown-curve-oid": (c(spki=seq(seq(oid(EC_OID), oid("1.3.6.1.4.1.55555.1")), bit_string(b"\x04" + b"\x01" * 64))), "badRequest", "the CSR's public key cannot be read"),
        "x25519-key": (c(spki=spki_of(x25519.X25519PrivateKey.generate().public_key())), "badAlg", "the CSR's key type X25519 is not certified (rsa, ec)"),
        "ed448-key": (c(spki=spki_of(ed448.Ed448PrivateKey.generate().public_key())), "badAlg", "the CSR's key type ED448 is not certified (rsa, ec)"),
        "unknown-key-oid": (c(spki=seq(seq(oid("1.3.6.1.4.1.55555.2")), bit_string(b"\x01" * 32))), "badRequest", "the CSR's public key cannot be read"),
        # CA powers and odd extensions
        "ca-true-not-critical": (c(extensions=[ext(BC_OID, seq(TRUE))]), "badRequest", LEAF_ONLY + "CA:TRUE"),
        "ca-true-pathlen": (c(extensions=[ext(BC_OID, seq(TRUE, integer(5)), True)]), "badRequest", LEAF_ONLY + "CA:TRUE"),
        "key-cert-sign": (c(extensions=[ext(KU_OID, tlv(0x03, b"\x02\x04"), True)]), "badRequest", LEAF_ONLY + "keyCertSign"),
        "crl-sign": (c(extensions=[ext(KU_OID, tlv(0x03, b"\x01\x02"), True)]), "badRequest", LEAF_ONLY + "cRLSign"),
        "name-constraints": (c(extensions=[ext(NC_OID, seq(tlv(0xA0, seq(tlv(0x82, b"evil.example")))), True)]), "badRequest", LEAF_ONLY + "nameConstraints"),
        "duplicate-basic-constraints": (c(extensions=[ext(BC_OID, seq()), ext(BC_OID, seq(TRUE), True)]), "badRequest", "the CSR repeats the basicConstraints extension"),
        "duplicate-san": (c(extensions=[ext(SAN_OID, sans((2, "a.example"))), ext(SAN_OID, sans((2, "b.example")))]), "badRequest", "the CSR repeats the subjectAltName extension"),
        "extension-request-garbage": (lambda ch: csr_der(key, challenge=utf8(ch), attributes=[seq(oid(EXT_REQ_OID), set_of(octets(b"garbage")))]), "badRequest", "the CSR's extensionRequest attribute cannot be read"),
        # signatures
        "bad-csr-signature": (c(bad_signature=True), "badMessageCheck", "the CSR's signature does not verify"),
        "csr-md5-signature-oid": (c(sig_alg=seq(oid("1.2.840.113549.1.1.4"), NULL)), "badMessageCheck", "the CSR's signature does not verify"),
        "csr-unknown-signature-oid": (c(sig_alg=seq(oid("1.3.6.1.4.1.55555.3"))), "badAlg", "the CSR is signed with an unsupported algorithm (1.3.6.1.4.1.55555.3)"),
        "csr-ecdsa-oid-rsa-key": (c(sig_alg=seq(oid("1.2.840.10045.4.3.2"))), "badMessageCheck", "the CSR's signature does not verify"),
        # RSASSA-PSS names its digest in parameters the reader must parse
        "csr-pss-garbage-parameters": (c(sig_alg=seq(oid(RSA_PSS_OID), octets(b"\x30\x03garbage"))), "badAlg", "the CSR is signed with an unsupported algorithm (rsassaPss)"),
        "csr-pss-unknown-digest": (c(sig_alg=seq(oid(RSA_PSS_OID), seq(tlv(0xA0, seq(oid("1.3.6.1.4.1.55555.4")))))), "badAlg", "the CSR is signed with an unsupported algorithm (rsassaPss)"),
        "csr-pss-sha256-bad-signature": (c(sig_alg=seq(oid(RSA_PSS_OID), seq(tlv(0xA0, seq(oid("2.16.840.1.101.3.4.2.1")))))), "badMessageCheck", "the CSR's signature does not verify"),
    }
    return {k: (b, fi, t if t.startswith(OTHER_STEPS) else CSR_FAIL + t) for k, (b, fi, t) in cases.items()}


def challenge_cases(key) -> dict:
    """The challengePassword itself: case -> (builder(challenge), failInfo, text)."""
    def ch(value):
        return lambda good: csr_der(key, challenge=value(good))
    return {
        "challenge-integer": (ch(lambda g: integer(42)), "badRequest",
                              CSR_FAIL + "the challengePassword attribute is not a string"),
        "challenge-octet-string": (ch(lambda g: octets(g.encode())), "badRequest",
                                   CSR_FAIL + "the challengePassword attribute is not a string"),
        "challenge-10k": (ch(lambda g: utf8("c" * 10000)), "badRequest", MISMATCH),
        "challenge-with-nul": (ch(lambda g: utf8(g + "\x00")), "badRequest", MISMATCH),
        "challenge-with-newline": (ch(lambda g: utf8(g[:4] + "\n" + MARK)), "badRequest", MISMATCH),
        "challenge-empty": (ch(lambda g: utf8("")), "badRequest", "challenge_lookup: ChallengePasswordMissing: the CSR carries no challengePassword"),
        "challenge-prefix-of-the-real-one": (ch(lambda g: utf8(g[:10])), "badRequest", MISMATCH),
        "challenge-bmp-odd": (ch(lambda g: tlv(BMP, b"\x00a\x00")), "badRequest",
                              CSR_FAIL + "the decrypted content is not a PKCS#10 request"),
        "challenge-twice": (lambda g: csr_der(key, challenge=utf8(g), attributes=[seq(oid(CHALLENGE_OID), set_of(utf8("other")))]),
                            "badRequest", MISMATCH),
    }


def all_csr_cases(key) -> dict:
    return {**csr_cases(key), **challenge_cases(key)}


CSR_CASES = list(all_csr_cases(rsa.generate_private_key(public_exponent=65537, key_size=1024)))


@pytest.mark.parametrize("case", CSR_CASES)
def test_057_011_csr(guard, port, pki, client, signer, device_key, case):
    build, fail_info, text = all_csr_cases(device_key)[case]
    challenge = one_time_challenge(pki, f"hostile-057-{case}")
    guard.challenges.append(challenge)
    dev, req, r = send_csr(client, port, signer, case, build(challenge))
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = client.reply(dev, req, r.body, name="reply", any_cert=True)
    h.check_failure(h.Enrollment(r, req, rep), fail_info)
    assert rep["fail_info_text"] == text, rep["fail_info_text"]
    guard.verify()


# --------------------------------------------------------------------------
# a message whose signature does not verify: its attributes get the same
# bounds before anything echoes them
# --------------------------------------------------------------------------

UNVERIFIED_CASES = {
    "tampered-with-newline-transaction-id": (["--transaction-id", f"x\n{MARK} [alert]"], 400),
    "tampered-with-60k-transaction-id": (["--transaction-id", "T" * 60000], 400),
    "tampered-with-65-byte-nonce": (["--sender-nonce", "ab" * 65, "--transaction-id", "hostile-057-t65"], 400),
    "tampered-plain": (["--transaction-id", "hostile-057-tampered"],
                       ("badMessageCheck", "message_parsed: the message signature does not verify")),
}


@pytest.mark.parametrize("case", list(UNVERIFIED_CASES))
def test_057_012_unverified_attributes(guard, port, client, wrong_challenge_device, case):
    args, want = UNVERIFIED_CASES[case]
    req = raw_request(client, wrong_challenge_device, case, *args)
    bad = client.tamper(req, "signature")
    r = h.post_pki(port, STRICT, bad)
    check_answer(client, wrong_challenge_device, req, r, want)
    guard.verify()


def test_057_013_bytes_after_the_message_are_ignored(guard, port, client, wrong_challenge_device):
    """Pinned: what follows the pkiMessage's DER is not read; the message is
    answered as it is (here: the wrong challenge)."""
    req = raw_request(client, wrong_challenge_device, "trailing", "--transaction-id", "hostile-057-trailing")
    r = h.post_pki(port, STRICT, req.der + b"\x00" * 64)
    check_answer(client, wrong_challenge_device, req, r, ("badRequest", MISMATCH))
    guard.verify()
