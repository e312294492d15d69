"""Enrollment with the project's test client: transports, ciphers, digests,
key sizes and the options real clients use."""

import base64

import pytest

import harness as h

LEGACY = "/scep"
STRICT = "/scep-strict"


def test_040_001_post_legacy(make_device, enroll, pki):
    d = make_device()
    e = enroll(d, LEGACY)
    cert = h.check_issued(e, d, pki.ca_cert)
    assert h.template_name_of(cert), h.cert_text(cert)
    assert e.rep["digest"] == "sha256", e.rep  # response_digest
    assert e.rep["certs_in_reply"] >= 1


def test_040_002_post_strict(make_device, enroll, pki):
    d = make_device()
    h.check_issued(enroll(d, STRICT), d, pki.ca_cert)


@pytest.mark.parametrize("path", [LEGACY, STRICT])
def test_040_003_get_escaped(make_device, enroll, pki, path):
    d = make_device()
    h.check_issued(enroll(d, path, method="GET"), d, pki.ca_cert)


def test_040_004_get_unescaped_plus_and_slash(make_device, client, pki, port):
    """macOS/iOS put the base64 into the query without escaping + and /."""
    d = make_device()
    for attempt in range(8):
        req = client.request(d, name=f"raw{attempt}")
        b64 = base64.b64encode(req.der).decode()
        if "+" in b64 and "/" in b64:
            break
    else:
        pytest.fail("could not build a message whose base64 has both + and /")
    r = h.send_pki(port, STRICT, req.der, "GET-raw")
    rep = client.reply(d, req, r.body, name="raw-reply") if r.status == 200 else None
    h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)


@pytest.mark.parametrize("cipher", ["des", "des3", "aes128", "aes192", "aes256"])
def test_040_005_ciphers_legacy(make_device, enroll, pki, cipher):
    d = make_device()
    h.check_issued(enroll(d, LEGACY, cipher=cipher), d, pki.ca_cert)


@pytest.mark.parametrize("cipher", ["aes128", "aes192", "aes256"])
def test_040_006_ciphers_strict(make_device, enroll, pki, cipher):
    d = make_device()
    h.check_issued(enroll(d, STRICT, cipher=cipher), d, pki.ca_cert)


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha384", "sha512"])
def test_040_007_digests_legacy(make_device, enroll, pki, digest):
    d = make_device()
    h.check_issued(enroll(d, LEGACY, digest=digest, cipher="aes128"), d, pki.ca_cert)


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_040_008_digests_strict(make_device, enroll, pki, digest):
    d = make_device()
    h.check_issued(enroll(d, STRICT, digest=digest), d, pki.ca_cert)


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_040_009_rsa_key_sizes(make_device, enroll, pki, bits):
    d = make_device(bits=bits)
    cert = h.check_issued(enroll(d, STRICT), d, pki.ca_cert)
    assert f"({bits} bit)" in h.cert_text(cert)


@pytest.mark.parametrize("path", [LEGACY, STRICT])
def test_040_010_oaep(make_device, enroll, pki, path):
    d = make_device()
    h.check_issued(enroll(d, path, oaep=True), d, pki.ca_cert)


def test_040_011_windows_style_signer(make_device, enroll, pki):
    """Windows' self-signed signer carries a critical AuthorityKeyIdentifier."""
    d = make_device()
    h.check_issued(enroll(d, STRICT, windows_aki=True), d, pki.ca_cert)


def test_040_012_encrypted_to_every_certificate(make_device, enroll, pki):
    """Some clients encrypt to every certificate of GetCACert."""
    d = make_device()
    e = enroll(d, STRICT, recipient="all")
    assert e.req.info["recipients"] == 3, e.req.info
    h.check_issued(e, d, pki.ca_cert)


def test_040_013_issued_cert_is_in_the_store(make_device, enroll, pki):
    d = make_device()
    e = enroll(d, STRICT)
    h.check_issued(e, d, pki.ca_cert)
    out = h.run([h.SCEPTER, "certs", "list", "--config", pki.config]).stdout
    assert h.norm_serial(e.rep["cert_serial"]) in out.upper().replace(":", ""), out


def test_040_014_subject_and_extensions(make_device, enroll, pki):
    d = make_device(subject_extra={"OU": "Fleet", "C": "DE"})
    cert = h.check_issued(enroll(d, STRICT), d, pki.ca_cert)
    subject = h.cert_summary(cert)["subject"]
    assert "OU=Fleet" in subject and "C=DE" in subject, subject
    text = h.cert_text(cert)
    assert "TLS Web Client Authentication" in text, text
    assert "CA:FALSE" in text or "Basic Constraints" not in text, text
