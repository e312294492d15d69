"""GetCACaps and GetCACert (RFC 8894 §3.5), on both profiles."""

import pytest

import harness as h


def caps_of(port, path):
    r = h.get_op(port, path, "GetCACaps")
    assert r.status == 200, f"{path} GetCACaps: HTTP {r.status} {r.body[:200]!r}"
    assert r.content_type.startswith("text/plain"), r.content_type
    return r, {line.strip() for line in r.text().splitlines() if line.strip()}


def test_010_001_getcacaps_legacy(port):
    r, caps = caps_of(port, "/scep")
    for cap in ("POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"):
        assert cap in caps, f"{cap} missing from GetCACaps of /scep: {sorted(caps)}"
    # the legacy profile is there for old clients: it accepts SHA-1
    assert "SHA-1" in caps, sorted(caps)


def test_010_002_getcacaps_strict(port):
    r, caps = caps_of(port, "/scep-strict")
    for cap in ("POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"):
        assert cap in caps, f"{cap} missing from GetCACaps of /scep-strict: {sorted(caps)}"
    assert "DES3" not in caps, sorted(caps)
    assert "SHA-1" not in caps, sorted(caps)


def test_010_003_getcacaps_is_a_plain_list(port):
    r, caps = caps_of(port, "/scep-strict")
    # one capability per line, no blanks, no HTML around it (certmonger
    # gives up on answers over 1 KiB)
    assert len(r.body) < 1024
    assert all(" " not in c for c in caps), caps


def test_010_004_getcacert(port, workdir):
    r = h.get_op(port, "/scep", "GetCACert")
    assert r.status == 200
    assert r.content_type == "application/x-x509-ca-ra-cert", r.content_type
    der = workdir / "t010-getcacert.der"
    der.write_bytes(r.body)
    out = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", der, "-print_certs"]).stdout
    pems = h.split_pem(out)
    assert len(pems) == 3, f"expected CA + 2 RA certificates, got {len(pems)}:\n{out}"
    kinds = []
    for i, pem in enumerate(pems):
        p = workdir / f"t010-cert-{i}.pem"
        p.write_text(pem)
        kinds.append(h.cert_summary(p))
    assert sum(k["ca"] for k in kinds) == 1, kinds
    ras = [k for k in kinds if not k["ca"]]
    assert any(k["key_encipherment"] for k in ras), f"no RA encryption cert: {kinds}"
    assert any(k["digital_signature"] and not k["key_encipherment"] for k in ras), \
        f"no RA signing cert: {kinds}"


def test_010_005_getcacert_ca_is_the_configured_one(port, pki, ca_certs):
    served = h.run(["openssl", "x509", "-in", ca_certs["ca"], "-noout", "-fingerprint",
                    "-sha256"]).stdout
    configured = h.run(["openssl", "x509", "-in", pki.ca_cert, "-noout", "-fingerprint",
                        "-sha256"]).stdout
    assert served == configured
    for name in ("ra_enc", "ra_sign"):
        h.run(["openssl", "verify", "-CAfile", pki.ca_cert, ca_certs[name]])


def test_010_006_getcacert_same_on_both_locations(port):
    a = h.get_op(port, "/scep", "GetCACert")
    b = h.get_op(port, "/scep-strict", "GetCACert")
    assert a.status == b.status == 200
    assert a.body == b.body


def test_010_007_repeat_is_stable(port):
    # the answers are precomputed per configuration generation: several
    # workers and repeated calls give the same bytes
    bodies = {h.get_op(port, "/scep", "GetCACert").body for _ in range(6)}
    assert len(bodies) == 1
    caps = {h.get_op(port, "/scep", "GetCACaps").body for _ in range(6)}
    assert len(caps) == 1


@pytest.mark.expect_log("SCP3001")
def test_010_008_head_reads_like_get_without_a_body(port):
    """Monitors and load balancers probe with HEAD: the GET operations answer
    it with GET's status and headers; a PKIOperation never does."""
    for op in ("GetCACaps", "GetCACert"):
        got = h.get_op(port, "/scep", op)
        head = h.http_request(port, "HEAD", f"/scep?operation={op}")
        assert head.status == 200, f"HEAD {op}: HTTP {head.status}"
        assert head.body == b""
        assert head.content_type == got.content_type
        assert int(head.headers.get("content-length", "-1")) == len(got.body)
    r = h.http_request(port, "HEAD", "/scep?operation=PKIOperation&message=AAAA")
    assert r.status == 405, f"HEAD PKIOperation: HTTP {r.status}"


def test_010_009_windows_scep_client_is_recognised(port, pki):
    ua = "Mozilla/4.0 (compatible; Win32; NDES client)"
    r = h.http_request(port, "GET", "/scep?operation=GetCACaps", headers={"User-Agent": ua})
    assert r.status == 200
    seen = [rec for rec in pki.audit_records() if rec.get("user_agent") == ua]
    assert seen and seen[-1]["client_os"] == "Windows", seen[-1:]
