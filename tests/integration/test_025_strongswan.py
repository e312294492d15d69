"""strongSwan's `pki --scepca` and `pki --scep` (Debian strongswan-pki with
libstrongswan-extra-plugins) against the legacy profile. Triple DES: the
tool's own AES capability check is broken, so --cipher des3. Both signature
paddings it offers enroll: PKCS#1 v1.5 and RSASSA-PSS."""

import shutil

import pytest

import harness as h

PKI_TOOL = shutil.which("pki") or "/usr/bin/pki"


def pki_tool(*args, cwd=None):
    return h.run([PKI_TOOL, *args], check=False, cwd=cwd, timeout=120)


@pytest.fixture
def strongswan_dir(workdir, request):
    d = workdir / "strongswan" / request.node.name.replace("[", "-").replace("]", "")
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_025_001_scepca_fetches_the_ca_and_the_ra(port, pki, strongswan_dir):
    p = pki_tool("--scepca", "--url", f"http://127.0.0.1:{port}/scep", "--caout", "ca.der",
                 "--raout", "ra.der", "--force", cwd=strongswan_dir)
    assert p.returncode == 0, f"pki --scepca failed:\n{p.stdout}\n{p.stderr}"
    ca_pem = h.run(["openssl", "x509", "-inform", "DER", "-in", strongswan_dir / "ca.der"]).stdout
    assert ca_pem.strip() == pki.ca_cert.read_text().strip()
    assert list(strongswan_dir.glob("ra*.der")), list(strongswan_dir.iterdir())


@pytest.mark.parametrize("padding", ["pkcs1", "pss"])
def test_025_002_scep_enrolls(port, pki, strongswan_dir, padding):
    key = strongswan_dir / "key.pem"
    key.write_text(h.run([PKI_TOOL, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"]).stdout)
    cn = f"strongswan-{padding}"
    p = pki_tool("--scep", "--url", f"http://127.0.0.1:{port}/scep", "--in", key,
                 "--dn", f"CN={cn}, O=Example", "--password", pki.challenge,
                 "--cacert-enc", pki.dir / "ra-enc.pem", "--cacert-sig", pki.dir / "ra-sign.pem",
                 "--cacert", pki.ca_cert, "--cipher", "des3", "--rsa-padding", padding,
                 "--outform", "pem", "--maxpolltime", "10", cwd=strongswan_dir)
    assert p.returncode == 0, f"pki --scep ({padding}) failed:\n{p.stdout}\n{p.stderr}"
    cert = strongswan_dir / "cert.pem"
    cert.write_text(p.stdout)
    h.run(["openssl", "verify", "-CAfile", pki.ca_cert, cert])
    assert f"CN={cn}" in h.cert_summary(cert)["subject"]
