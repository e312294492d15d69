"""certmonger's SCEP helper, /usr/lib/certmonger/scep-submit: GetCACaps,
GetCACert and a PKIOperation built by the project's test client, both with
command-line options and the way the certmonger daemon calls it (env vars)."""

import base64
import os

import harness as h

SCEP_SUBMIT = "/usr/lib/certmonger/scep-submit"
# certmonger's submit-helper exit codes (src/submit-e.h)
ISSUED, WAIT, REJECTED, UNREACHABLE, UNCONFIGURED = 0, 1, 2, 3, 4


def submit(args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return h.run([SCEP_SUBMIT, *args], check=False, env=e, timeout=60)


def url(port, path="/scep-strict"):
    return f"http://127.0.0.1:{port}{path}"


def decrypt_payload(pem_text, device, req, workdir, name):
    """scep-submit prints the CertRep's EnvelopedData; open it with the
    device key and list the certificates in the degenerate PKCS#7."""
    env_pem = workdir / f"{name}.p7.pem"
    env_pem.write_text(pem_text)
    inner = workdir / f"{name}.inner.der"
    h.run(["openssl", "cms", "-decrypt", "-provider", "default", "-provider", "legacy",
           "-inform", "PEM", "-in", env_pem, "-recip", req.signer, "-inkey", device.key,
           "-binary", "-out", inner])
    out = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", inner, "-print_certs"]).stdout
    return h.split_pem(out)


def test_030_001_getcacaps(port):
    p = submit(["-u", url(port), "-c"])
    assert p.returncode == ISSUED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    assert "POSTPKIOperation" in p.stdout and "SCEPStandard" in p.stdout, p.stdout


def test_030_002_getcacert(port, ca_certs):
    p = submit(["-u", url(port), "-C"])
    assert p.returncode == ISSUED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    pems = h.split_pem(p.stdout)
    assert len(pems) >= 2, p.stdout
    # certmonger takes the leaf that can encrypt as its RA certificate
    assert pems[0] == ca_certs["ra_enc"].read_text(), "first cert is not the RA encryption cert"
    assert ca_certs["ca"].read_text() in pems


def test_030_003_pkcsreq_by_options(port, client, make_device, ca_certs, pki, workdir):
    device = make_device()
    req = client.request(device)
    msg = device.dir / "pkcsreq.b64"
    msg.write_text(base64.b64encode(req.der).decode() + "\n")
    p = submit(["-u", url(port), "-p", "-r", ca_certs["ra_enc"], "-N", ca_certs["ca"], msg])
    assert p.returncode == ISSUED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    assert "-----BEGIN PKCS7-----" in p.stdout, p.stdout
    certs = decrypt_payload(p.stdout, device, req, device.dir, "certmonger")
    assert certs, "no certificate in the CertRep payload"
    issued = device.dir / "certmonger-issued.pem"
    issued.write_text(certs[0])
    h.run(["openssl", "verify", "-CAfile", pki.ca_cert, issued])
    assert f"CN={device.cn}" in h.cert_summary(issued)["subject"]


def test_030_004_pkcsreq_as_certmonger_daemon(port, client, make_device, ca_certs, pki):
    """certmonger itself passes everything in CERTMONGER_* variables."""
    device = make_device()
    req = client.request(device)
    env = {
        "CERTMONGER_OPERATION": "SUBMIT",
        "CERTMONGER_SCEP_RA_CERTIFICATE": ca_certs["ra_enc"].read_text(),
        "CERTMONGER_SCEP_CA_CERTIFICATE": ca_certs["ca"].read_text(),
        "CERTMONGER_PKCSREQ": base64.b64encode(req.der).decode(),
    }
    p = submit(["-u", url(port)], env)
    assert p.returncode == ISSUED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    certs = decrypt_payload(p.stdout, device, req, device.dir, "certmonger-env")
    issued = device.dir / "certmonger-env-issued.pem"
    issued.write_text(certs[0])
    h.run(["openssl", "verify", "-CAfile", pki.ca_cert, issued])


def test_030_005_wrong_challenge_is_rejected(port, client, make_device, ca_certs, expect_log):
    expect_log("SCP3003")
    device = make_device(challenge="wrong-challenge")
    req = client.request(device)
    msg = device.dir / "pkcsreq.b64"
    msg.write_text(base64.b64encode(req.der).decode() + "\n")
    p = submit(["-u", url(port), "-p", "-r", ca_certs["ra_enc"], "-N", ca_certs["ca"], msg])
    assert p.returncode == REJECTED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
