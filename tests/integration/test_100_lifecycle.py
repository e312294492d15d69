"""The certificate lifecycle on the real servers: RenewalReq, PENDING with
approval and CertPoll, GetCert, GetCRL, revocation with the CRL served over
HTTP, and GetNextCACert. One PKI and one server for the module (per server
kind: nginx, Apache httpd), with a lifecycle configuration: renewal
accepted at once (window 400 days), and a profile whose template needs an
administrator's approval."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h


LOCATIONS = [("/scep", "legacy"), ("/scep-strict", None), ("/scep-manual", "manual")]


@pytest.fixture(scope="module", params=h.STORES)
def life(request, server_class, workdir):
    store = request.param  # the whole lifecycle on each store backend
    pki = h.Pki.create(workdir / f"pki-lifecycle-{store}")
    if store == "postgresql":
        cluster = request.getfixturevalue("postgres")
        cluster.create_database(f"lifecycle_{server_class.kind}")
        h.use_postgresql(pki.config, cluster, f"lifecycle_{server_class.kind}")
    text = pki.config.read_text().replace("window_days: 30", "window_days: 400")
    pki.config.write_text(h.with_manual_approval(text, pki.challenge))
    n = server_class(workdir / f"{server_class.kind}-lifecycle-{store}", pki.config, locations=LOCATIONS)
    n.start()
    cacert = workdir / f"lifecycle-getcacert-{store}.der"
    cacert.write_bytes(h.get_op(n.port, "/scep-strict", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=n, client=h.TestClient(cacert, pki.ca_cert))
    n.discard()


@pytest.fixture
def device(life, devices_dir):
    def make(cn=None):
        return h.Device.create(devices_dir, life.pki.challenge, cn=cn)
    return make


def exchange(life, device, path="/scep-strict", name="req", any_cert=False, **kw) -> tuple:
    req = life.client.request(device, name=name, **kw)
    r = h.send_pki(life.server.port, path, req.der)
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = life.client.reply(device, req, r.body, name=f"{name}-reply",
                            signer_key=kw.get("signer_key"), any_cert=any_cert)
    assert rep["_rc"] == 0, rep
    return req, rep


def enrolled(life, device, path="/scep-strict"):
    req, rep = exchange(life, device, path=path)
    assert rep["status"] == "SUCCESS", rep
    return rep["_cert_path"], rep["cert_serial"]


def scepter(life, *args, check=True):
    return h.run([h.SCEPTER, *args[:1], *args[1:2], "--config", life.pki.config, *args[2:]],
                 check=check)


def failure(rep, fail_info, text):
    assert rep["status"] == "FAILURE", rep
    assert rep["fail_info"] == fail_info, rep
    assert re.search(text, rep["fail_info_text"]), rep


# ---- capabilities -------------------------------------------------------

@pytest.mark.expect_log("SCP3001")  # GetNextCACert without a next CA: 404
def test_100_001_caps_advertise_renewal_but_no_rollover(life):
    caps = h.get_op(life.server.port, "/scep-strict", "GetCACaps").text().split()
    assert "Renewal" in caps and "GetNextCACert" not in caps
    assert "Renewal" not in h.get_op(life.server.port, "/scep-manual", "GetCACaps").text().split()
    assert h.get_op(life.server.port, "/scep-strict", "GetNextCACert").status == 404


# ---- RenewalReq ---------------------------------------------------------

@pytest.mark.expect_log("SCP3003")
def test_100_002_renewal_succeeds_and_supersedes_the_old_certificate(life, device, devices_dir):
    dev = device()
    old_cert, old_serial = enrolled(life, dev)
    _, rep = exchange(life, dev, name="renew", message_type=17, signer_cert=old_cert,
                      signer_key=dev.key)
    assert rep["status"] == "SUCCESS", rep
    assert h.norm_serial(rep["cert_serial"]) != h.norm_serial(old_serial)
    shown = scepter(life, "certs", "show", old_serial).stdout
    assert re.search(r"status:\s+revoked", shown), shown
    steps = [r for r in life.pki.audit_records() if r.get("step") == "renewal_checked"]
    assert any(h.norm_serial(r.get("old_serial", "")) == h.norm_serial(old_serial) for r in steps)
    # The very same renewal again (a device that missed the answer, or a
    # copy) gets the certificate it was issued, not a second one ...
    _, again = exchange(life, dev, name="renew-again", message_type=17, signer_cert=old_cert,
                        signer_key=dev.key)
    assert again["status"] == "SUCCESS", again
    assert h.norm_serial(again["cert_serial"]) == h.norm_serial(rep["cert_serial"])
    # ... and the superseded certificate cannot renew anything new.
    rekeyed = h.Device.create(devices_dir / "rekeyed", life.pki.challenge, cn=dev.cn)  # a new key
    _, other = exchange(life, rekeyed, name="renew-other", message_type=17, signer_cert=old_cert,
                        signer_key=dev.key)
    failure(other, "badCertID", "renewal_checked: .*revoked")


@pytest.mark.expect_log("SCP3003")
def test_100_003_renewal_signed_by_a_stranger_is_refused(life, device):
    _, rep = exchange(life, device(), name="stranger", message_type=17)
    failure(rep, "badCertID", "renewal_checked: .*did not issue")


@pytest.mark.expect_log("SCP3003")
def test_100_004_renewal_with_an_expired_certificate_is_bad_time(life, device):
    dev = device()
    expired = dev.dir / "expired.pem"
    h.run(["openssl", "x509", "-req", "-in", dev.csr, "-CA", life.pki.ca_cert,
           "-CAkey", life.pki.dir / "ca.key", "-days", "-1", "-out", expired])
    _, rep = exchange(life, dev, name="expired", message_type=17, signer_cert=expired,
                      signer_key=dev.key)
    failure(rep, "badTime", "renewal_checked: .*expired")


@pytest.mark.expect_log("SCP3003")
def test_100_005_renewal_for_another_subject_is_refused(life, device):
    owner = device()
    cert, _ = enrolled(life, owner)
    other = device()
    _, rep = exchange(life, other, name="other-subject", message_type=17, signer_cert=cert,
                      signer_key=owner.key)
    failure(rep, "badRequest", "renewal_checked: .*subject differs")


@pytest.mark.expect_log("SCP3003")
def test_100_006_renewal_where_the_profile_does_not_enable_it(life, device):
    dev = device()
    cert, _ = enrolled(life, dev)
    _, rep = exchange(life, dev, path="/scep-manual", name="renew-manual", message_type=17,
                      signer_cert=cert, signer_key=dev.key)
    failure(rep, "badRequest", "RenewalReq is not enabled")


# ---- PENDING, approval, CertPoll ----------------------------------------

def poll(life, dev, txid, name="poll"):
    return exchange(life, dev, path="/scep-manual", name=name, message_type=20,
                    content="issuer-and-subject", transaction_id=txid)[1]


def test_100_007_pending_then_approved_then_polled(life, device):
    dev = device()
    req, rep = exchange(life, dev, path="/scep-manual")
    assert rep["status"] == "PENDING", rep
    listed = scepter(life, "requests", "list").stdout
    assert req.transaction_id in listed
    assert poll(life, dev, req.transaction_id, "poll-1")["status"] == "PENDING"
    scepter(life, "requests", "approve", req.transaction_id, "--reason", "tested")
    decided = [r for r in life.pki.audit_records()
               if r.get("step") == "request_decided" and r.get("transaction_id") == req.transaction_id]
    assert [(r.get("decision"), r.get("reason"), r.get("operation")) for r in decided] == \
        [("approved", "tested", "cli")], decided
    got = poll(life, dev, req.transaction_id, "poll-2")
    assert got["status"] == "SUCCESS", got
    h.run(["openssl", "verify", "-CAfile", life.pki.ca_cert, got["_cert_path"]])
    again = poll(life, dev, req.transaction_id, "poll-3")
    assert again["status"] == "SUCCESS" and again["cert_serial"] == got["cert_serial"]


@pytest.mark.expect_log("SCP3003")
def test_100_008_denied_request_fails_on_poll(life, device):
    dev = device()
    req, rep = exchange(life, dev, path="/scep-manual")
    assert rep["status"] == "PENDING", rep
    scepter(life, "requests", "deny", req.transaction_id, "--reason", "not ours")
    failure(poll(life, dev, req.transaction_id), "badRequest", "denied.*not ours")


def test_100_009_resent_request_is_a_poll(life, device):
    dev = device()
    req, rep = exchange(life, dev, path="/scep-manual", name="first")
    assert rep["status"] == "PENDING", rep
    _, resent = exchange(life, dev, path="/scep-manual", name="resent")
    assert resent["status"] == "PENDING", resent
    scepter(life, "requests", "approve", req.transaction_id)
    _, issued = exchange(life, dev, path="/scep-manual", name="resent-approved")
    assert issued["status"] == "SUCCESS", issued


def test_100_010_pending_survives_a_restart(life, device):
    dev = device()
    req, rep = exchange(life, dev, path="/scep-manual")
    assert rep["status"] == "PENDING", rep
    life.server.stop()
    life.server.start()
    assert poll(life, dev, req.transaction_id, "after-restart")["status"] == "PENDING"
    scepter(life, "requests", "approve", req.transaction_id)
    assert poll(life, dev, req.transaction_id, "approved")["status"] == "SUCCESS"


@pytest.mark.expect_log("SCP3003")
def test_100_011_poll_signed_with_another_key_is_refused(life, device):
    owner = device()
    req, rep = exchange(life, owner, path="/scep-manual")
    assert rep["status"] == "PENDING", rep
    failure(poll(life, device(), req.transaction_id, "thief"), "badRequest", "key of the pending")


@pytest.mark.expect_log("SCP3003")
def test_100_012_poll_for_an_unknown_transaction(life, device):
    failure(poll(life, device(), "no-such-transaction"), "badCertID", "no pending request")


# ---- GetCert ------------------------------------------------------------

@pytest.mark.expect_log("SCP3003")
def test_100_013_get_cert_answers_the_holder_only(life, device):
    dev = device()
    _, serial = enrolled(life, dev)
    _, rep = exchange(life, dev, name="getcert", message_type=21,
                      content=f"issuer-and-serial={serial}")
    assert rep["status"] == "SUCCESS" and h.norm_serial(rep["cert_serial"]) == h.norm_serial(serial)
    _, stranger = exchange(life, device(), name="getcert-stranger", message_type=21,
                           content=f"issuer-and-serial={serial}")
    failure(stranger, "badRequest", "holder")
    _, unknown = exchange(life, dev, name="getcert-unknown", message_type=21,
                          content="issuer-and-serial=0123456789ABCDEF")
    failure(unknown, "badCertID", "no certificate")


# ---- revocation, CRL over HTTP, GetCRL ----------------------------------

def test_100_014_revoked_certificate_fails_crl_check_with_the_served_crl(life, device):
    revoked_cert, serial = enrolled(life, device())
    good_cert, _ = enrolled(life, device())
    out = scepter(life, "certs", "revoke", serial, "--reason", "keyCompromise").stdout
    assert "revoked" in out
    audited = [r for r in life.pki.audit_records()
               if r.get("step") == "cert_revoked" and h.norm_serial(r.get("serial", "")) == h.norm_serial(serial)]
    assert len(audited) == 1 and audited[0].get("reason") == "1", audited
    r = h.http_request(life.server.port, "GET", "/scep/ca.crl")
    assert r.status == 200 and r.content_type.startswith("application/pkix-crl"), r.status
    crl_der = life.pki.dir / "served.crl"
    crl_der.write_bytes(r.body)
    crl_pem = life.pki.dir / "served.crl.pem"
    h.run(["openssl", "crl", "-inform", "DER", "-in", crl_der, "-out", crl_pem])
    bad = h.run(["openssl", "verify", "-crl_check", "-CAfile", life.pki.ca_cert, "-CRLfile", crl_pem,
                 revoked_cert], check=False)
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr
    h.run(["openssl", "verify", "-crl_check", "-CAfile", life.pki.ca_cert, "-CRLfile", crl_pem,
           good_cert])


def test_100_015_get_crl_returns_the_current_crl(life, device):
    dev = device()
    _, serial = enrolled(life, dev)
    scepter(life, "certs", "revoke", serial)
    req, rep = exchange(life, dev, name="getcrl", message_type=22,
                        content=f"issuer-and-serial={serial}")
    assert rep["status"] == "SUCCESS", rep
    assert rep["crl_revoked"] >= 1, rep
    text = h.run(["openssl", "crl", "-in", dev.dir / "getcrl-reply.crl.pem", "-noout", "-text"]).stdout
    assert h.norm_serial(serial) in text.replace(":", "").upper()


# ---- GetNextCACert (CA rollover) ----------------------------------------

def test_100_016_next_ca_is_announced_while_configured(life, workdir):
    snippet = h.run([h.SCEPTER, "init", life.pki.dir, "--next-ca"]).stdout
    assert "next_ca:" in snippet
    next_ca_cert = life.pki.dir / "next" / "ca.pem"
    original = life.pki.config.read_text()
    life.pki.config.write_text(original + snippet)
    try:
        life.server.reload()
        caps = h.get_op(life.server.port, "/scep-strict", "GetCACaps").text().split()
        assert "GetNextCACert" in caps
        r = h.get_op(life.server.port, "/scep-strict", "GetNextCACert")
        assert r.status == 200 and r.content_type == "application/x-x509-next-ca-cert"
        signed = life.pki.dir / "next.der"
        signed.write_bytes(r.body)
        inner = life.pki.dir / "next-inner.der"
        # Signed by the current RA, which chains to the current CA.
        h.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", signed, "-binary",
               "-CAfile", life.pki.ca_cert, "-purpose", "any", "-out", inner])
        certs = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", inner, "-print_certs"]).stdout
        next_subject = h.run(["openssl", "x509", "-in", next_ca_cert, "-noout", "-subject"]).stdout
        assert next_subject.split("=", 1)[1].strip().replace(" ", "") in certs.replace(" ", "")
        assert certs.count("BEGIN CERTIFICATE") == 3
    finally:
        life.pki.config.write_text(original)
        life.server.reload()
    assert "GetNextCACert" not in h.get_op(life.server.port, "/scep-strict", "GetCACaps").text().split()


# ---- real clients driving the lifecycle ---------------------------------

def serial_of(cert: Path) -> str:
    out = h.run(["openssl", "x509", "-in", cert, "-noout", "-serial"]).stdout
    return h.norm_serial(out.split("=", 1)[1])


def test_100_017_scepclient_renews_with_its_certificate(life, workdir):
    """micromdm's scepclient sends RenewalReq, signed with its certificate,
    when it already has one."""
    d = life.pki.dir / "scepclient-renewal"
    d.mkdir()
    url = f"http://127.0.0.1:{life.server.port}/scep"
    h.run(["scepclient", "-server-url", url, "-challenge", life.pki.challenge,
           "-private-key", d / "key.pem", "-cn", "renewer"])
    first = serial_of(d / "client.pem")
    h.run(["scepclient", "-server-url", url, "-private-key", d / "key.pem",
           "-certificate", d / "client.pem", "-cn", "renewer"])
    second = serial_of(d / "client.pem")
    assert first != second
    h.run(["openssl", "verify", "-CAfile", life.pki.ca_cert, d / "client.pem"])
    renewals = [r for r in life.pki.audit_records()
                if r.get("step") == "renewal_checked" and h.norm_serial(r.get("old_serial", "")) == first]
    assert renewals and renewals[0]["message_type"] == "RenewalReq"


def test_100_018_certmonger_waits_then_gets_the_approved_certificate(life, device, workdir):
    """certmonger's scep-submit reports PENDING as 'wait'; after approval the
    same request, submitted again, is answered with the certificate."""
    import base64
    dev = device()
    req = life.client.request(dev, name="certmonger")
    msg = dev.dir / "certmonger.b64"
    msg.write_text(base64.b64encode(req.der).decode() + "\n")
    certs = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", life.client.cacert,
                   "-print_certs"]).stdout
    ra = dev.dir / "ra-enc.pem"
    ra.write_text(h.split_pem(certs)[1])  # RA signing, RA encryption, CA
    submit = ["/usr/lib/certmonger/scep-submit", "-u",
              f"http://127.0.0.1:{life.server.port}/scep-manual", "-p", "-r", ra,
              "-N", life.pki.ca_cert, msg]
    waiting = h.run(submit, check=False, timeout=60)
    assert waiting.returncode in (1, 5), f"rc={waiting.returncode}\n{waiting.stdout}\n{waiting.stderr}"
    scepter(life, "requests", "approve", req.transaction_id)
    issued = h.run(submit, check=False, timeout=60)
    assert issued.returncode == 0, f"rc={issued.returncode}\n{issued.stdout}\n{issued.stderr}"
    assert "-----BEGIN PKCS7-----" in issued.stdout
