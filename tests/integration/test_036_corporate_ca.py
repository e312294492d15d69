"""A CA that chains to the company's root (openssl stands in for it here),
both ways an admin gets one: `scepter init --import-ca` takes an issuing
CA's key, certificate and chain from a PKCS#12 file (as AD CS or `openssl
pkcs12 -export` write it); `scepter init --subordinate` writes a key and a
request that the root signs, and `--install-ca-cert ... --chain root.pem`
takes the signed certificate. Either way the RA pairs are issued from it,
GetCACert serves the chain, real clients enroll, and what they get verifies
against the root with the issuing CA as the only intermediate."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h
from test_020_scepclient import issued_cert, run_scepclient

PKI_TOOL = shutil.which("pki") or "/usr/bin/pki"
PASSWORD = "corp p12 secret"


def openssl(*args, cwd):
    return h.run(["openssl", *args], cwd=cwd)


def corporate_pki(d: Path) -> SimpleNamespace:
    """A root, an issuing CA under it, and the issuing CA exported as PKCS#12
    (modern and -legacy encryption), plus a leaf exported the same way."""
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem",
            "-subj", "/O=Corp/CN=Corp Root", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                              "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    (d / "pw").write_text(PASSWORD + "\n")
    for name, ext in (("issuing", "ca.ext"), ("leaf", "leaf.ext")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/O=Corp/CN=Corp {name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
                "-days", "1000", "-extfile", ext, "-out", f"{name}.pem", cwd=d)
    openssl("pkcs12", "-export", "-inkey", "issuing.key", "-in", "issuing.pem", "-certfile", "root.pem",
            "-passout", "file:pw", "-out", "issuing.p12", cwd=d)
    openssl("pkcs12", "-export", "-legacy", "-inkey", "issuing.key", "-in", "issuing.pem", "-certfile", "root.pem",
            "-passout", "file:pw", "-out", "issuing-legacy.p12", cwd=d)
    openssl("pkcs12", "-export", "-inkey", "leaf.key", "-in", "leaf.pem", "-passout", "file:pw",
            "-out", "leaf.p12", cwd=d)
    return SimpleNamespace(dir=d, root=d / "root.pem", issuing=d / "issuing.pem")


def subordinate_pki(c, d: Path) -> h.Pki:
    """Step 1 (key + request), the root signs the request, step 2 (install)."""
    out = h.run([h.SCEPTER, "init", d, "--subordinate", "--cn", "Corp issuing SCEP"]).stdout
    request = out.split("CA_REQUEST=", 1)[1].strip()
    signed = c.dir / "subordinate-signed.pem"
    openssl("x509", "-req", "-in", request, "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
            "-days", "900", "-copy_extensions", "copyall", "-out", signed, cwd=c.dir)
    return h.Pki.create(d, "--install-ca-cert", signed, "--chain", c.root)


@pytest.fixture(scope="module", params=["import", "subordinate"])
def corp(request, server_class, workdir):
    c = corporate_pki(workdir / "corp")
    if request.param == "import":
        pki = h.Pki.create(workdir / "pki-imported", "--import-ca", c.dir / "issuing.p12",
                           "--password-file", c.dir / "pw")
    else:
        pki = subordinate_pki(c, workdir / "pki-subordinate")
    n = server_class(workdir / f"{server_class.kind}-{request.param}", pki.config)
    try:
        n.start()
        yield SimpleNamespace(corp=c, pki=pki, port=n.port, how=request.param)
    finally:
        n.discard()


def verify_to_root(corp, cert):
    out = h.run(["openssl", "verify", "-CAfile", corp.corp.root, "-untrusted", corp.pki.ca_cert, cert]).stdout
    assert out.strip().endswith(": OK"), out


def test_036_001_the_ca_and_its_chain_are_served(corp):
    if corp.how == "import":
        assert corp.pki.ca_cert.read_text() == corp.corp.issuing.read_text()
    r = h.get_op(corp.port, "/scep", "GetCACert")
    assert r.status == 200
    p7 = corp.pki.dir / "getcacert.p7"
    p7.write_bytes(r.body)
    listing = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", p7, "-print_certs", "-noout"]).stdout
    assert "CN = Corp issuing" in listing and "CN = Corp Root" in listing, listing
    for ra in ("ra-sign.pem", "ra-enc.pem"):
        verify_to_root(corp, corp.pki.dir / ra)
        # The RA certificates carry their CA's organisation, not the demo's.
        subject = h.run(["openssl", "x509", "-in", corp.pki.dir / ra, "-noout", "-subject"]).stdout
        assert "Scepter Demo" not in subject, subject
        if corp.how == "import":
            assert "O = Corp, CN = Corp issuing RA " in subject, subject


def test_036_002_scepclient_enrolls(corp, workdir):
    d = workdir / f"{corp.how}-scepclient"
    p = run_scepclient(corp.port, corp.pki, d, f"{corp.how}-scepclient")
    assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
    verify_to_root(corp, issued_cert(d))


def test_036_003_strongswan_enrolls(corp, workdir):
    d = workdir / f"{corp.how}-strongswan"
    d.mkdir(parents=True, exist_ok=True)
    key = d / "key.pem"
    key.write_text(h.run([PKI_TOOL, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"]).stdout)
    p = h.run([PKI_TOOL, "--scep", "--url", f"http://127.0.0.1:{corp.port}/scep", "--in", key,
               "--dn", "CN=imported-strongswan", "--password", corp.pki.challenge,
               "--cacert-enc", corp.pki.dir / "ra-enc.pem", "--cacert-sig", corp.pki.dir / "ra-sign.pem",
               "--cacert", corp.pki.ca_cert, "--cacert", corp.corp.root, "--cipher", "des3",
               "--outform", "pem", "--maxpolltime", "10"], check=False, cwd=d)
    assert p.returncode == 0, f"pki --scep failed:\n{p.stdout}\n{p.stderr}"
    cert = d / "cert.pem"
    cert.write_text(p.stdout)
    verify_to_root(corp, cert)


def test_036_004_legacy_encrypted_p12_and_refusals(corp, workdir):
    if corp.how != "import":
        pytest.skip("the PKCS#12 cases")
    c = corp.corp
    ok = h.run([h.SCEPTER, "init", workdir / "pki-imported-legacy", "--import-ca", c.dir / "issuing-legacy.p12",
                "--password-file", c.dir / "pw"])
    assert "CONFIG=" in ok.stdout
    wrong = h.run([h.SCEPTER, "init", workdir / "pki-wrong-pw", "--import-ca", c.dir / "issuing.p12"],
                  check=False, input="not the password\n")
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr, wrong.stderr
    assert not (workdir / "pki-wrong-pw").exists(), "a refused import wrote files"
    leaf = h.run([h.SCEPTER, "init", workdir / "pki-leaf", "--import-ca", c.dir / "leaf.p12",
                  "--password-file", c.dir / "pw"], check=False)
    assert leaf.returncode == 1 and "is not a CA certificate" in leaf.stderr, leaf.stderr
    arg = h.run([h.SCEPTER, "init", workdir / "pki-arg", "--import-ca", c.dir / "issuing.p12", "--password", "x"],
                check=False)
    assert arg.returncode == 2, arg.stderr  # no password on the command line


def test_036_005_a_signed_certificate_that_does_not_fit_is_refused(corp, workdir):
    if corp.how != "subordinate":
        pytest.skip("the subordinate cases")
    c = corp.corp
    other = workdir / "other-root"
    other.mkdir(exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "root.pem",
            "-subj", "/CN=Other Root", "-days", "30", cwd=other)
    d = workdir / "pki-subordinate-refused"
    h.run([h.SCEPTER, "init", d, "--subordinate"])
    stranger = h.run([h.SCEPTER, "init", d, "--install-ca-cert", c.dir / "subordinate-signed.pem",
                      "--chain", c.root], check=False)
    assert stranger.returncode == 1 and "the private key is not the certificate's" in stranger.stderr
    signed = d / "signed.pem"
    openssl("x509", "-req", "-in", d / "ca.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
            "-days", "900", "-copy_extensions", "copyall", "-out", signed, cwd=c.dir)
    wrong_root = h.run([h.SCEPTER, "init", d, "--install-ca-cert", signed, "--chain", other / "root.pem"],
                       check=False)
    assert wrong_root.returncode == 1 and "does not chain to the given root" in wrong_root.stderr
    assert not (d / "scepter.yaml").exists(), "a refused install wrote the configuration"
