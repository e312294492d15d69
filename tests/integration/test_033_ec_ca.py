"""An ECDSA CA (`scepter init --ca-key ec:P-256|ec:P-384`), served by each
server: the CA certificate is ECDSA, the RA pairs stay RSA (clients encrypt
to the RA, the RA signs the CertReps), and real clients enroll against it:
micromdm's scepclient (on the same PKI with one RA pair, see test_033_004),
strongSwan's `pki --scep` and certmonger's scep-submit. What they are
issued, and the CRL, verify against ca.pem with ECDSA over the hash of the
curve's strength."""

import base64
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h
from test_020_scepclient import issued_cert, run_scepclient
from test_030_certmonger import ISSUED, decrypt_payload, submit

PKI_TOOL = shutil.which("pki") or "/usr/bin/pki"

# curve -> (OpenSSL's name in `x509 -text`, the signature algorithm)
CURVES = {
    "P-256": ("prime256v1", "ecdsa-with-SHA256"),
    "P-384": ("secp384r1", "ecdsa-with-SHA384"),
}


NDES_RAS = """ra:
  signing:
    cert: ra-sign.pem
    key: ra-sign.key
  encryption:
    cert: ra-enc.pem
    key: ra-enc.key
"""
ONE_RA = """ra:
  cert: ra-enc.pem
  key: ra-enc.key
"""


def one_ra_config(pki) -> Path:
    """The same PKI with one RA pair (ra-enc signs the CertReps too) and a
    store of its own: what micromdm's scepclient needs (test_033_004)."""
    text = pki.config.read_text()
    assert NDES_RAS in text, text
    text = text.replace(NDES_RAS, ONE_RA).replace("sqlite: state/scepter.db", "sqlite: state/one-ra.db")
    path = pki.dir / "one-ra.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module", params=list(CURVES))
def ec(request, server_class, workdir):
    curve = request.param
    pki = h.Pki.create(workdir / f"pki-ec-{curve}", "--ca-key", f"ec:{curve}")
    n = server_class(workdir / f"{server_class.kind}-ec-{curve}", pki.config)
    one_ra = server_class(workdir / f"{server_class.kind}-ec-{curve}-one-ra", one_ra_config(pki))
    try:
        n.start()
        one_ra.start()
        cacert = workdir / f"ec-{curve}-getcacert.der"
        r = h.get_op(n.port, "/scep", "GetCACert")
        assert r.status == 200, f"GetCACert: HTTP {r.status}"
        cacert.write_bytes(r.body)
        yield SimpleNamespace(curve=curve, pki=pki, server=n, port=n.port, one_ra=one_ra,
                              client=h.TestClient(cacert, pki.ca_cert))
    finally:
        n.discard()
        one_ra.discard()


def signature_algorithm(pem) -> str:
    text = h.run(["openssl", "x509", "-in", pem, "-noout", "-text"]).stdout
    return text.split("Signature Algorithm:", 1)[1].split("\n", 1)[0].strip()


def verify(ec, cert):
    out = h.run(["openssl", "verify", "-CAfile", ec.pki.ca_cert, cert]).stdout
    assert out.strip().endswith(": OK"), out
    assert signature_algorithm(cert) == CURVES[ec.curve][1], h.cert_text(cert)


def enroll(ec, devices_dir):
    device = h.Device.create(devices_dir, ec.pki.challenge)
    req = ec.client.request(device)
    r = h.send_pki(ec.port, "/scep-strict", req.der)
    assert r.status == 200, r.body[:300]
    return h.check_issued(h.Enrollment(r, req, ec.client.reply(device, req, r.body)), device,
                          ec.pki.ca_cert)


def test_033_001_ca_is_ecdsa_and_ras_stay_rsa(ec):
    curve_name, sig = CURVES[ec.curve]
    ca = h.run(["openssl", "x509", "-in", ec.pki.ca_cert, "-noout", "-text"]).stdout
    assert "Public Key Algorithm: id-ecPublicKey" in ca and f"ASN1 OID: {curve_name}" in ca, ca
    assert signature_algorithm(ec.pki.ca_cert) == sig
    key = h.run(["openssl", "pkey", "-in", ec.pki.dir / "ca.key", "-noout", "-text"]).stdout
    assert f"ASN1 OID: {curve_name}" in key
    for ra in ("ra-sign.pem", "ra-enc.pem"):
        text = h.run(["openssl", "x509", "-in", ec.pki.dir / ra, "-noout", "-text"]).stdout
        assert "rsaEncryption" in text and "Public-Key: (2048 bit)" in text, text
        verify(ec, ec.pki.dir / ra)  # signed by the EC CA


def test_033_002_getcacaps_unchanged_by_the_ca_key(ec, port):
    """The capabilities are the RA's and the profile's: the same bytes as
    the RSA CA's server serves."""
    for path in ("/scep", "/scep-strict"):
        mine = h.get_op(ec.port, path, "GetCACaps")
        rsa = h.get_op(port, path, "GetCACaps")
        assert mine.status == 200 and mine.body == rsa.body, (path, mine.body, rsa.body)


def test_033_003_test_client_enrolls(ec, devices_dir):
    verify(ec, enroll(ec, devices_dir))


def test_033_004_scepclient_enrolls(ec, workdir):
    """scepclient (2.1.0) encrypts to every certificate of GetCACert unless
    -ca-fingerprint names one, and its PKCS#7 library encrypts to RSA keys
    only, so against an ECDSA CA it must name the RA certificate. It then
    checks the CertRep's signature against that certificate alone: the RA
    that decrypts must also sign, one RA pair (`ra.cert`/`ra.key`)."""
    d = workdir / "scepclient" / f"ec-{ec.curve}"
    p = run_scepclient(ec.one_ra.port, ec.pki, d, f"scepclient-ec-{ec.curve}",
                       recipient=ec.pki.dir / "ra-enc.pem")
    assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
    cert = issued_cert(d)
    assert cert is not None, list(d.iterdir())
    verify(ec, cert)


def test_033_005_strongswan_enrolls(ec, workdir):
    d = workdir / "strongswan" / f"ec-{ec.curve}"
    d.mkdir(parents=True, exist_ok=True)
    key = d / "key.pem"
    key.write_text(h.run([PKI_TOOL, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"]).stdout)
    cn = f"strongswan-ec-{ec.curve}"
    p = h.run([PKI_TOOL, "--scep", "--url", f"http://127.0.0.1:{ec.port}/scep", "--in", key,
               "--dn", f"CN={cn}, O=Example", "--password", ec.pki.challenge,
               "--cacert-enc", ec.pki.dir / "ra-enc.pem", "--cacert-sig", ec.pki.dir / "ra-sign.pem",
               "--cacert", ec.pki.ca_cert, "--cipher", "des3", "--outform", "pem",
               "--maxpolltime", "10"], check=False, cwd=d, timeout=120)
    assert p.returncode == 0, f"pki --scep failed:\n{p.stdout}\n{p.stderr}"
    cert = d / "cert.pem"
    cert.write_text(p.stdout)
    verify(ec, cert)
    assert f"CN={cn}" in h.cert_summary(cert)["subject"]


def test_033_006_certmonger_enrolls(ec, devices_dir):
    device = h.Device.create(devices_dir, ec.pki.challenge)
    req = ec.client.request(device)
    msg = device.dir / "pkcsreq.b64"
    msg.write_text(base64.b64encode(req.der).decode() + "\n")
    url = f"http://127.0.0.1:{ec.port}/scep-strict"
    caps = submit(["-u", url, "-c"])
    assert caps.returncode == ISSUED and "SCEPStandard" in caps.stdout, caps.stdout
    p = submit(["-u", url, "-p", "-r", ec.pki.dir / "ra-enc.pem", "-N", ec.pki.ca_cert, msg])
    assert p.returncode == ISSUED, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    certs = decrypt_payload(p.stdout, device, req, device.dir, "certmonger-ec")
    assert certs, "no certificate in the CertRep payload"
    issued = device.dir / "certmonger-ec-issued.pem"
    issued.write_text(certs[0])
    verify(ec, issued)


def test_033_007_crl_verifies_and_names_the_revoked(ec, workdir, devices_dir):
    cert = enroll(ec, devices_dir)
    serial = h.cert_summary(cert)["serial"]
    h.run([h.SCEPTER, "certs", "revoke", "--config", ec.pki.config, serial, "--reason", "keyCompromise"])
    r = h.http_request(ec.port, "GET", "/scep/ca.crl")
    assert r.status == 200 and r.content_type.startswith("application/pkix-crl"), r.status
    der = workdir / f"ec-{ec.curve}.crl"
    der.write_bytes(r.body)
    out = h.run(["openssl", "crl", "-inform", "DER", "-in", der, "-CAfile", ec.pki.ca_cert,
                 "-noout", "-text"])
    assert "verify OK" in out.stderr + out.stdout, out.stderr
    assert f"Signature Algorithm: {CURVES[ec.curve][1]}" in out.stdout, out.stdout
    assert h.norm_serial(serial) in out.stdout.upper().replace(":", ""), out.stdout
    pem = workdir / f"ec-{ec.curve}.crl.pem"
    h.run(["openssl", "crl", "-inform", "DER", "-in", der, "-out", pem])
    bad = h.run(["openssl", "verify", "-crl_check", "-CAfile", ec.pki.ca_cert, "-CRLfile", pem, cert],
                check=False)
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr, bad.stdout
