"""The body limit is the core's (limits.max_message_bytes), on both servers:
a body within it reaches the core however large (nginx's 1m default
client_max_body_size does not cap it), a body over it gets 413 from the
connector while it is read, before the rest of the body is sent: a
Content-Length over the limit at once, a chunked body as soon as its running
total passes the limit. The connector logs it as a warning with a Scepter ID
(nginx's own [error] line for client_max_body_size must not appear)."""

from __future__ import annotations

import http.client
import os
import re
import socket

import pytest

import harness as h

MiB = 1024 * 1024
# SCP3004: the connector's warning for a body over the limit
TOO_LARGE = "SCP3004"


def server_with_limit(server_class, workdir, pki, limit: int) -> h.Server:
    """A server of its own on a copy of the YAML with another
    limits.max_message_bytes (beside the real one, so relative paths and the
    store are the same)."""
    text = pki.config.read_text()
    assert re.search(r"^\s+max_message_bytes:\s*\d+\s*$", text, re.M), text
    text = re.sub(r"^(\s+max_message_bytes:).*$", rf"\g<1> {limit}", text, count=1, flags=re.M)
    yaml_path = pki.config.parent / f"limit-{limit}.yaml"
    yaml_path.write_text(text)
    n = server_class(workdir / f"limit-{limit}", yaml_path, workers=1)
    n.start()
    bad = n.unexpected_log_lines(n.log_since(0), [])
    if bad:
        n.discard()
        pytest.fail(f"{n.kind} logged errors while starting:\n" + "\n".join(bad), pytrace=False)
    return n


@pytest.fixture(scope="module")
def limit_4m(server_class, workdir, pki):
    n = server_with_limit(server_class, workdir, pki, 4 * MiB)
    yield n
    n.discard()


@pytest.fixture(scope="module")
def limit_1m(server_class, workdir, pki):
    n = server_with_limit(server_class, workdir, pki, 1 * MiB)
    yield n
    n.discard()


# --------------------------------------------------------------------------
# raw HTTP: a body sent in parts, the reply read before the rest is sent
# --------------------------------------------------------------------------

TARGET = "/scep?operation=PKIOperation"


def open_post(port: int, headers: dict, timeout: float = 20) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = [f"POST {TARGET} HTTP/1.1", "Host: 127.0.0.1",
            "Content-Type: application/x-pki-message",
            *[f"{k}: {v}" for k, v in headers.items()], "", ""]
    s.sendall("\r\n".join(head).encode())
    return s


def read_reply(s: socket.socket) -> h.Reply:
    """Reads the reply; a server that waits for the rest of the body first
    lets this time out."""
    resp = http.client.HTTPResponse(s)
    try:
        resp.begin()
        body = resp.read()
    except socket.timeout:
        raise AssertionError("no reply before the whole body was sent: the server "
                             "waits for (buffers) the body it should refuse") from None
    return h.Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def post_chunked(port: int, body: bytes, piece: int = 64 * 1024) -> h.Reply:
    s = open_post(port, {"Transfer-Encoding": "chunked"}, timeout=60)
    try:
        for i in range(0, len(body), piece):
            s.sendall(chunk(body[i:i + piece]))
        s.sendall(b"0\r\n\r\n")
        return read_reply(s)
    finally:
        s.close()


def connector_refused(server: h.Server, offset: int, how: str) -> list[str]:
    """The connector's SCP3004 lines since offset ("declared" for a
    Content-Length, "so far" for a running total)."""
    return [line for line in server.log_since(offset)
            if TOO_LARGE in line and "limits.max_message_bytes" in line and how in line]


# --------------------------------------------------------------------------
# within the limit: the body reaches the core
# --------------------------------------------------------------------------


def test_095_001_3mib_pkcsreq_within_4mib_limit(limit_4m, make_device, client, pki):
    """A real PKCSReq padded to about 3 MiB by a private CSR extension: the
    core decrypts and reads all of it and issues the certificate."""
    pad = "00" * (3 * MiB - 8 * 1024)
    d = make_device(extensions={"1.3.6.1.4.1.55555.95": f"ASN1:FORMAT:HEX,OCTETSTRING:{pad}"})
    req = client.request(d)
    assert 3 * MiB - 64 * 1024 < len(req.der) < 4 * MiB, len(req.der)
    r = h.post_pki(limit_4m.port, "/scep", req.der)
    assert r.status == 200, f"HTTP {r.status} {r.body[:300]!r}"
    assert r.content_type == "application/x-pki-message", r.headers
    rep = client.reply(d, req, r.body)
    h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)


@pytest.mark.expect_log("SCP3002", "SCP3003")
@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_095_002_3mib_garbage_reaches_the_core(limit_4m, transfer):
    """3 MiB that are no pkiMessage: the core's own 400, not a 413 from the
    connector, with either framing."""
    body = os.urandom(3 * MiB)
    if transfer == "chunked":
        r = post_chunked(limit_4m.port, body)
    else:
        r = h.post_pki(limit_4m.port, "/scep", body)
    assert r.status == 400, f"HTTP {r.status} {r.body[:300]!r}"
    assert b"not a SCEP pkiMessage" in r.body, r.body[:300]


# --------------------------------------------------------------------------
# over the limit: 413 from the connector, before the rest is sent
# --------------------------------------------------------------------------


@pytest.mark.expect_log(TOO_LARGE)
def test_095_003_declared_length_over_limit_refused_before_the_body(limit_1m):
    """Content-Length: 2 MiB against a 1 MiB limit, only 64 KiB of it sent:
    the 413 arrives without the rest."""
    offset = limit_1m.log_size()
    s = open_post(limit_1m.port, {"Content-Length": str(2 * MiB)})
    try:
        s.sendall(os.urandom(64 * 1024))
        r = read_reply(s)
    finally:
        s.close()
    assert r.status == 413, f"HTTP {r.status} {r.body[:300]!r}"
    assert connector_refused(limit_1m, offset, "declared"), limit_1m.tail_log()


@pytest.mark.expect_log(TOO_LARGE)
def test_095_004_expect_continue_over_limit_gets_413_not_100(limit_1m):
    """A client that waits for "100 Continue" is told 413 instead, and never
    sends the body."""
    s = open_post(limit_1m.port, {"Content-Length": str(2 * MiB), "Expect": "100-continue"})
    try:
        r = read_reply(s)
    finally:
        s.close()
    assert r.status == 413, f"HTTP {r.status} {r.body[:300]!r}"


@pytest.mark.expect_log(TOO_LARGE)
def test_095_005_chunked_body_cut_off_once_past_limit(limit_1m):
    """A chunked body that never ends: 413 once 1 MiB has passed, with the
    terminating chunk never sent."""
    offset = limit_1m.log_size()
    s = open_post(limit_1m.port, {"Transfer-Encoding": "chunked"})
    try:
        piece = os.urandom(64 * 1024)
        for _ in range(MiB // len(piece) + 2):  # 1 MiB + 128 KiB
            s.sendall(chunk(piece))
        r = read_reply(s)
    finally:
        s.close()
    assert r.status == 413, f"HTTP {r.status} {r.body[:300]!r}"
    assert connector_refused(limit_1m, offset, "so far"), limit_1m.tail_log()


@pytest.mark.expect_log(TOO_LARGE)
def test_095_006_2mib_post_gets_413_and_server_keeps_serving(limit_1m):
    """The plain case, a whole 2 MiB POST: 413 (or the connection closed
    while the client still sends), and the worker serves on."""
    before = limit_1m.worker_pids()
    try:
        r = h.post_pki(limit_1m.port, "/scep", os.urandom(2 * MiB))
    except (ConnectionError, OSError):
        pass  # closed after the 413 while the client was still sending
    else:
        assert r.status == 413, f"HTTP {r.status} {r.body[:300]!r}"
    r = h.get_op(limit_1m.port, "/scep", "GetCACaps")
    assert r.status == 200, f"HTTP {r.status}"
    assert limit_1m.worker_pids() == before, "a worker was replaced (crash?)"


@pytest.mark.expect_log("SCP3002", "SCP3003")
def test_095_007_exactly_the_limit_passes(limit_1m):
    """1 MiB exactly, chunked: within the limit, the core's 400."""
    r = post_chunked(limit_1m.port, os.urandom(MiB))
    assert r.status == 400, f"HTTP {r.status} {r.body[:300]!r}"
