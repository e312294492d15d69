"""micromdm's scepclient (Debian package `scep`) enrolls against the legacy
profile: it signs with SHA-1 and encrypts with single DES."""

import json
import shutil

import pytest

import harness as h

SCEPCLIENT = shutil.which("scepclient") or "/usr/bin/scepclient"


def run_scepclient(port, pki, d, cn, challenge=None, path="/scep", recipient=None):
    """recipient: the certificate to encrypt to (-ca-fingerprint); without
    it scepclient encrypts to every certificate of GetCACert."""
    d.mkdir(parents=True, exist_ok=True)
    cmd = [SCEPCLIENT, "-server-url", f"http://127.0.0.1:{port}{path}",
           "-challenge", pki.challenge if challenge is None else challenge,
           "-private-key", d / "key.pem", "-cn", cn]
    if recipient is not None:
        fingerprint = h.run(["openssl", "x509", "-in", recipient, "-noout", "-fingerprint", "-sha256"]).stdout
        cmd += ["-ca-fingerprint", fingerprint.split("=", 1)[1].strip().replace(":", "")]
    return h.run(cmd, check=False, cwd=d, timeout=120)


def issued_cert(d):
    """scepclient writes the certificate beside the key (client.pem)."""
    p = d / "client.pem"
    return p if p.exists() else None


def test_020_001_scepclient_enrolls(port, pki, workdir):
    d = workdir / "scepclient" / "ok"
    cn = "scepclient-device-1"
    p = run_scepclient(port, pki, d, cn)
    assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
    cert = issued_cert(d)
    assert cert is not None, f"no certificate written in {d}: {list(d.iterdir())}\n{p.stderr}"

    # it chains to the CA
    h.run(["openssl", "verify", "-CAfile", pki.ca_cert, cert])
    summary = h.cert_summary(cert)
    assert f"CN={cn}" in summary["subject"], summary
    assert not summary["ca"]

    # the AD CS template name extension (1.3.6.1.4.1.311.20.2) names a
    # template of the configuration
    text = h.cert_text(cert)
    assert "1.3.6.1.4.1.311.20.2" in text or "Certificate Template Name" in text, text
    name = h.template_name_of(cert)
    assert name, f"template name extension not readable:\n{text}"
    assert f"\n  {name}:" in pki.config.read_text(), f"template {name!r} not in {pki.config}"

    # the audit log holds this transaction from request to certificate
    serial = h.norm_serial(summary["serial"])
    records = pki.audit_records()
    mine = [r for r in records
            if any(serial in v.upper().replace(":", "") for v in h.flat_values(r))]
    assert mine, f"no audit line mentions serial {serial}:\n" + \
        "\n".join(json.dumps(r) for r in records[-20:])
    tx = mine[0].get("transaction_id")
    assert tx, mine[0]
    steps = [r for r in records if r.get("transaction_id") == tx]
    ids = {r.get("id") for r in steps}
    for step_id in ("SCP2004", "SCP2005", "SCP2007", "SCP2009"):
        assert step_id in ids, f"audit step {step_id} missing for {tx}: " + \
            "\n".join(json.dumps(r) for r in steps)
    assert all(r.get("outcome") == "ok" for r in steps), steps
    assert all(r.get("profile") == "legacy" for r in steps), steps


def new_audit_records(pki, before):
    return pki.audit_records()[before:]


@pytest.mark.expect_log("SCP3003")
def test_020_002_scepclient_wrong_challenge_is_refused(port, pki, workdir):
    d = workdir / "scepclient" / "wrong-challenge"
    before = len(pki.audit_records())
    p = run_scepclient(port, pki, d, "scepclient-device-2", challenge="not-the-challenge")
    assert p.returncode != 0, f"scepclient succeeded with a wrong challenge:\n{p.stderr}"
    assert "badRequest" in p.stdout + p.stderr, p.stdout + p.stderr
    assert issued_cert(d) is None
    # the refusal is audited as the failed challenge step
    failed = [r for r in new_audit_records(pki, before) if r.get("outcome") == "failed"]
    assert [r.get("id") for r in failed] == ["SCP2007"], failed


@pytest.mark.expect_log("SCP3003")
def test_020_003_scepclient_on_strict_profile_gets_badalg(port, pki, workdir):
    """scepclient signs with SHA-1 whatever GetCACaps says: the strict
    profile refuses it, and says why."""
    d = workdir / "scepclient" / "strict"
    before = len(pki.audit_records())
    p = run_scepclient(port, pki, d, "scepclient-device-3", path="/scep-strict")
    assert p.returncode != 0, f"scepclient succeeded on the strict profile:\n{p.stderr}"
    assert "badAlg" in p.stdout + p.stderr, p.stdout + p.stderr
    assert issued_cert(d) is None
    failed = [r for r in new_audit_records(pki, before) if r.get("outcome") == "failed"]
    assert failed and all(r.get("fail_info") == "badAlg" for r in failed), failed
