"""Requests the server must refuse with a signed CertRep FAILURE (or, for
messages that cannot be trusted at all, an HTTP 400)."""

import pytest

import harness as h

LEGACY = "/scep"
STRICT = "/scep-strict"

pytestmark = pytest.mark.expect_log("SCP3003")  # every refusal is a failed step


def test_050_001_wrong_challenge(make_device, enroll, pki):
    d = make_device(challenge="definitely-wrong")
    rep = h.check_failure(enroll(d, STRICT), "badRequest")
    assert rep["fail_info_text"].strip(), f"no failInfoText: {rep}"
    # the audit log says why
    failed = [r for r in pki.audit_records()
              if r.get("transaction_id") == rep["transaction_id"] and r.get("outcome") == "failed"]
    assert failed, "the refusal is not in the audit log"


def test_050_002_missing_challenge(make_device, enroll):
    d = make_device(challenge="")
    h.check_failure(enroll(d, LEGACY), "badRequest")


@pytest.mark.expect_log("SCP3002")
@pytest.mark.parametrize("where", ["signature", "content"])
def test_050_003_tampered_message(make_device, client, port, pki, where):
    d = make_device()
    req = client.request(d)
    bad = client.tamper(req, where)
    assert bad != req.der
    r = h.post_pki(port, STRICT, bad)
    if r.status == 400:
        return
    assert r.status == 200, f"HTTP {r.status}: {r.body[:200]!r}"
    rep = client.reply(d, req, r.body, name="tampered-reply")
    assert rep.get("status") == "FAILURE", rep
    assert rep["fail_info"] == "badMessageCheck", rep
    assert rep["signer_trusted"] is True, rep
    assert "cert_serial" not in rep


@pytest.mark.parametrize("cipher,digest", [
    ("des", "sha256"),
    ("des3", "sha256"),
    ("aes256", "sha1"),
    ("aes256", "md5"),
])
def test_050_004_weak_algorithms_on_strict_profile(make_device, enroll, cipher, digest):
    d = make_device()
    h.check_failure(enroll(d, STRICT, cipher=cipher, digest=digest), "badAlg")


def test_050_005_md5_even_on_legacy_profile(make_device, enroll):
    d = make_device()
    h.check_failure(enroll(d, LEGACY, digest="md5"), "badAlg")


def test_050_006_csr_asking_for_ca_true(make_device, enroll, pki):
    d = make_device(extensions={"basicConstraints": "critical,CA:TRUE"})
    rep = h.check_failure(enroll(d, STRICT), "badRequest")
    assert rep["fail_info_text"].strip(), rep


def test_050_007_subject_attribute_not_allowed(make_device, enroll):
    d = make_device(subject_extra={"title": "Overlord"})
    h.check_failure(enroll(d, STRICT), "badRequest")


def test_050_008_rsa_key_below_minimum(make_device, enroll):
    d = make_device(bits=1024)
    h.check_failure(enroll(d, STRICT), "badRequest")


@pytest.mark.expect_log("SCP3002")
def test_050_009_unknown_message_type(make_device, enroll):
    d = make_device()
    e = enroll(d, STRICT, message_type=99)
    if e.http.status == 400:
        return
    h.check_failure(e, "badRequest")


def test_050_010_server_still_issues_after_refusals(make_device, enroll, pki):
    d = make_device()
    h.check_issued(enroll(d, STRICT), d, pki.ca_cert)
