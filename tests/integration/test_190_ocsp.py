"""The OCSP responder on the real servers (per server kind): `openssl ocsp`
as the client, by POST and by GET, with and without a nonce, each response
verified against the CA (-CAfile, -issuer: the delegated responder must
chain to the CA and carry id-kp-OCSPSigning); a certificate fresh from
enrollment (good), a revoked one (revoked, with its reason), one never
issued and one of another CA (unknown); malformed requests (malformedRequest,
HTTP 200); the caching headers; and a real relying party, nginx with
`ssl_ocsp on`, that accepts a client certificate Scepter issued until
`scepter certs revoke` revokes it."""

from __future__ import annotations

import base64
import re
import subprocess
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h

LOCATIONS = [("/scep", "legacy"), ("/scep-strict", None), h.OcspLocation("/ocsp")]


@pytest.fixture(scope="module")
def ocsp(server_class, workdir):
    pki = h.Pki.create(workdir / "pki-ocsp")
    port = h.free_port()
    url = f"http://127.0.0.1:{port}/ocsp"
    pki.config.write_text(pki.config.read_text() + f"\nocsp:\n  url: {url}\n")
    n = server_class(workdir / f"{server_class.kind}-ocsp", pki.config, port=port, locations=LOCATIONS)
    n.start()
    cacert = workdir / "ocsp-getcacert.der"
    cacert.write_bytes(h.get_op(n.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=n, url=url, client=h.TestClient(cacert, pki.ca_cert),
                          dir=workdir / "ocsp-files")
    n.discard()


@pytest.fixture
def issued(ocsp, devices_dir):
    """issued() -> (device, certificate path, serial): a fresh enrollment."""
    def enroll():
        dev = h.Device.create(devices_dir, ocsp.pki.challenge)
        req = ocsp.client.request(dev)
        r = h.send_pki(ocsp.server.port, "/scep", req.der)
        rep = ocsp.client.reply(dev, req, r.body) if r.status == 200 else None
        cert = h.check_issued(h.Enrollment(r, req, rep), dev, ocsp.pki.ca_cert)
        return dev, cert, rep["cert_serial"]
    return enroll


def revoke(ocsp, serial, reason="keyCompromise"):
    h.run([h.SCEPTER, "certs", "revoke", "--config", ocsp.pki.config, serial, "--reason", reason])


def ocsp_cli(ocsp, *args, check=True) -> str:
    """`openssl ocsp` verifying against the CA; stdout and stderr together."""
    p = h.run(["openssl", "ocsp", "-CAfile", ocsp.pki.ca_cert, *args], check=False)
    out = p.stdout + p.stderr
    if check:
        assert p.returncode == 0, out
    return out


def target(ocsp, cert=None, serial=None, issuer=None) -> list:
    who = ["-cert", cert] if cert else ["-serial", "0x" + serial]
    return ["-issuer", issuer or ocsp.pki.ca_cert, *who]


def post(ocsp, *who, nonce=True) -> str:
    return ocsp_cli(ocsp, *who, "-url", ocsp.url, *([] if nonce else ["-no_nonce"]))


def get(ocsp, tmp: Path, *who, nonce=True, escape=True) -> tuple[str, h.Reply]:
    """The request made by openssl ocsp, sent by GET (RFC 6960 appendix A),
    the answer verified by openssl ocsp (the nonce too, with -reqin)."""
    tmp.mkdir(parents=True, exist_ok=True)
    req, resp = tmp / "req.der", tmp / "resp.der"
    ocsp_cli(ocsp, *who, "-reqout", req, *([] if nonce else ["-no_nonce"]))
    b64 = base64.b64encode(req.read_bytes()).decode()
    path = "/ocsp/" + (urllib.parse.quote(b64, safe="") if escape else b64)
    r = h.http_request(ocsp.server.port, "GET", path)
    assert r.status == 200, (r.status, r.body[:200])
    assert r.content_type == "application/ocsp-response", r.headers
    resp.write_bytes(r.body)
    # -reqin checks the nonce against the request sent (and the signature);
    # the statuses are printed for the certificates named with -cert/-serial,
    # which would make a new request (with a new nonce), hence two runs.
    checked = ocsp_cli(ocsp, "-reqin", req, "-respin", resp)
    assert "Response verify OK" in checked, checked
    assert "WARNING: no nonce in response" not in checked, checked
    return ocsp_cli(ocsp, *who, "-respin", resp, "-no_nonce"), r


def wait_for_status(fn, wanted, timeout=5.0):
    """A revocation reaches every worker within ocsp.revocation_check_ms."""
    deadline = time.monotonic() + timeout
    while True:
        out = fn()
        if h.ocsp_status_line(out) == wanted or time.monotonic() > deadline:
            return out
        time.sleep(0.3)


def test_190_001_issued_certificates_name_the_responder(ocsp, issued):
    _, cert, _ = issued()
    aia = h.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "authorityInfoAccess"]).stdout
    assert f"OCSP - URI:{ocsp.url}" in aia, aia


def test_190_002_fresh_certificate_is_good_by_post_and_get(ocsp, issued, tmp_path):
    _, cert, _ = issued()
    for nonce in (True, False):
        out = post(ocsp, *target(ocsp, cert=cert), nonce=nonce)
        assert "Response verify OK" in out and h.ocsp_status_line(out) == "good", out
        assert ("WARNING: no nonce in response" in out) is False, out
        out, _ = get(ocsp, tmp_path / f"get-{nonce}", *target(ocsp, cert=cert), nonce=nonce)
        assert "Response verify OK" in out and h.ocsp_status_line(out) == "good", out
        # thisUpdate / nextUpdate: 24 hours apart by default
        m = re.search(r"This Update: (.*)\n\s*Next Update: (.*)", out)
        assert m, out


def test_190_003_revoked_certificate_is_revoked_with_its_reason(ocsp, issued, tmp_path):
    _, cert, serial = issued()
    assert h.ocsp_status_line(post(ocsp, *target(ocsp, cert=cert), nonce=False)) == "good"  # cached now
    get(ocsp, tmp_path / "before", *target(ocsp, cert=cert), nonce=False)
    revoke(ocsp, serial, "keyCompromise")
    for nonce in (True, False):
        out = wait_for_status(lambda: post(ocsp, *target(ocsp, cert=cert), nonce=nonce), "revoked")
        assert "Response verify OK" in out and h.ocsp_status_line(out) == "revoked", out
        assert "Reason: keyCompromise" in out and "Revocation Time:" in out, out
        out = wait_for_status(lambda: get(ocsp, tmp_path / f"get-{nonce}", *target(ocsp, cert=cert),
                                          nonce=nonce)[0], "revoked")
        assert "Response verify OK" in out and h.ocsp_status_line(out) == "revoked", out
        assert "Reason: keyCompromise" in out, out


def test_190_004_unknown_serial_and_foreign_certificate(ocsp, tmp_path):
    # ours as issuer, never issued: verified like any answer
    out = post(ocsp, *target(ocsp, serial="1234ABCD"))
    assert "Response verify OK" in out and h.ocsp_status_line(out) == "unknown", out
    out, _ = get(ocsp, tmp_path / "never", *target(ocsp, serial="1234ABCD"), escape=False)
    assert h.ocsp_status_line(out) == "unknown", out
    # another CA's certificate: unknown, signed by our responder, which is
    # authorised for our CA only, so it is checked against our CA directly
    d = tmp_path / "foreign"
    d.mkdir()
    h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", d / "ca.key", "-out", d / "ca.pem", "-subj", "/CN=Foreign CA", "-days", "2"])
    h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", d / "leaf.key", "-out", d / "leaf.pem", "-subj", "/CN=foreign",
           "-CA", d / "ca.pem", "-CAkey", d / "ca.key", "-days", "1"])
    out = ocsp_cli(ocsp, *target(ocsp, cert=d / "leaf.pem", issuer=d / "ca.pem"), "-url", ocsp.url,
                   "-resp_text", "-respout", d / "resp.der", check=False)
    assert h.ocsp_status_line(out) == "unknown", out
    responder = d / "responder.pem"
    responder.write_text(h.split_pem(out)[0])
    h.run(["openssl", "verify", "-CAfile", ocsp.pki.ca_cert, "-purpose", "ocsphelper", responder])
    out = ocsp_cli(ocsp, *target(ocsp, cert=d / "leaf.pem", issuer=d / "ca.pem"), "-respin", d / "resp.der",
                   "-VAfile", responder, "-no_nonce")
    assert "Response verify OK" in out and h.ocsp_status_line(out) == "unknown", out


def test_190_005_the_delegated_responder_certificate(ocsp, tmp_path):
    out = ocsp_cli(ocsp, *target(ocsp, serial="01"), "-url", ocsp.url, "-resp_text")
    responder = tmp_path / "responder.pem"
    responder.write_text(h.split_pem(out)[0])
    text = h.cert_text(responder)
    assert "OCSP Signing" in text, text
    assert "OCSP No Check" in text, text
    assert "CA:FALSE" in text, text
    h.run(["openssl", "verify", "-CAfile", ocsp.pki.ca_cert, "-purpose", "ocsphelper", responder])


def same_connection_gets(port, path, n) -> list:
    """n GETs on one keep-alive connection: one worker (each process keeps
    its own cache and its own responder certificate)."""
    conn = h.httpclient.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        out = []
        for _ in range(n):
            conn.request("GET", path)
            resp = conn.getresponse()
            out.append(h.Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()))
        return out
    finally:
        conn.close()


def test_190_006_cacheable_answers_carry_http_caching_headers(ocsp, issued, tmp_path):
    _, cert, _ = issued()
    get(ocsp, tmp_path / "a", *target(ocsp, cert=cert), nonce=False)
    b64 = base64.b64encode((tmp_path / "a" / "req.der").read_bytes()).decode()
    first, second = same_connection_gets(ocsp.server.port, "/ocsp/" + urllib.parse.quote(b64, safe=""), 2)
    assert first.body == second.body, "one signature, served from memory"
    cc = first.headers.get("cache-control", "")
    m = re.match(r"max-age=(\d+), public, no-transform, must-revalidate$", cc)
    assert m and 0 < int(m.group(1)) <= 24 * 3600, first.headers
    for name in ("last-modified", "expires", "etag"):
        assert first.headers.get(name), first.headers
    assert first.headers["etag"] == second.headers["etag"]
    _, with_nonce = get(ocsp, tmp_path / "c", *target(ocsp, cert=cert), nonce=True)
    assert with_nonce.headers.get("cache-control") == "no-store", with_nonce.headers


def ocsp_status_of(body: bytes, tmp: Path) -> str:
    tmp.write_bytes(body)
    out = h.run(["openssl", "ocsp", "-respin", tmp, "-resp_text", "-noverify"], check=False)
    m = re.search(r"(?:OCSP Response Status|Responder Error): (\w+)", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    return m.group(1).lower()


@pytest.mark.expect_log("SCP7202", "SCP7205", "AH10244")  # AH10244: Apache refusing "%%%%" itself
def test_190_007_malformed_requests_get_malformedRequest_never_5xx(ocsp, tmp_path):
    cases = [
        ("POST", "/ocsp", b"not an OCSP request"),
        ("POST", "/ocsp", b""),
        ("POST", "/ocsp", b"\x30\x03\x02\x01\x00"),
        ("GET", "/ocsp/", None),
        ("GET", "/ocsp/MEIwQDA%2B", None),
        ("GET", "/ocsp/%%%%", None),  # a broken escape: the web server may refuse it itself (400)
        ("GET", "/ocsp/" + "A" * 2000, None),
    ]
    for i, (method, path, body) in enumerate(cases):
        r = h.http_request(ocsp.server.port, method, path, body,
                           {"Content-Type": "application/ocsp-request"} if body is not None else None)
        assert r.status < 500, (method, path, r.status, r.body[:200])
        if r.status != 200 and "%%" in path:
            continue
        assert r.status == 200, (method, path, r.status, r.body[:200])
        assert r.content_type == "application/ocsp-response", r.headers
        assert ocsp_status_of(r.body, tmp_path / f"bad-{i}.der") == "malformedrequest", (method, path)
    r = h.http_request(ocsp.server.port, "PUT", "/ocsp", b"x")
    assert r.status == 405, r.status


# ---- a real relying party -----------------------------------------------

def relying_party_conf(port: int, ocsp_url: str, ca: Path, cert: Path, key: Path) -> str:
    return h.nginx_conf(1, f"""    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        ssl_ocsp on;
        ssl_ocsp_responder {ocsp_url};
        location / {{ return 200 "hello $ssl_client_s_dn\\n"; }}
    }}
""", connections=64)


def curl(port, dev, cert) -> subprocess.CompletedProcess:
    return h.run(["curl", "-sk", "--max-time", "20", "-o", "-", "-w", "\\n%{http_code}",
                  "--cert", cert, "--key", dev.key, f"https://127.0.0.1:{port}/"], check=False)


def test_190_008_nginx_with_ssl_ocsp_accepts_then_refuses_after_revoke(ocsp, issued, tmp_path):
    dev, cert, serial = issued()
    prefix = tmp_path / "relying-party"
    for d in ("conf", "logs", "tmp"):
        (prefix / d).mkdir(parents=True)
    h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", prefix / "conf" / "srv.key", "-out", prefix / "conf" / "srv.pem",
           "-subj", "/CN=127.0.0.1", "-days", "1"])
    h.make_traversable(prefix)
    for f in (prefix / "conf").iterdir():
        f.chmod(0o644)
    port = h.free_port()
    (prefix / "conf" / "nginx.conf").write_text(relying_party_conf(
        port, ocsp.url, ocsp.pki.ca_cert, prefix / "conf" / "srv.pem", prefix / "conf" / "srv.key"))
    cmd = [h.NGINX, "-p", f"{prefix}/", "-c", "conf/nginx.conf"]
    h.run(cmd)
    try:
        for _ in range(50):
            if not h.port_free(port):
                break
            time.sleep(0.1)
        ok = curl(port, dev, cert)
        assert ok.stdout.endswith("\n200") and f"CN={dev.cn}" in ok.stdout, (ok.stdout, ok.stderr)
        revoke(ocsp, serial, "keyCompromise")
        deadline = time.monotonic() + 10
        while True:
            refused = curl(port, dev, cert)
            if not refused.stdout.endswith("\n200") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert refused.stdout.endswith("\n400"), (refused.stdout, refused.stderr)
        log = (prefix / "logs" / "error.log").read_text()
        assert "certificate revoked" in log, log[-2000:]
    finally:
        h.run(cmd + ["-s", "stop"], check=False)
