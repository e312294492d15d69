"""Enrollment with the project's test client: transports, ciphers, digests,
key sizes and the options real clients use."""

import base64
import json
import sqlite3
import subprocess

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


RAW_PLACEHOLDER = b"RAWBYTESRAWBYTES"
# Bytes that are not UTF-8 (a stray byte, an overlong '/', a surrogate, a cut
# sequence), a quote and a backslash: as many bytes as the placeholder, so
# that no DER length changes. Control characters and NUL are refused in names
# before anything is logged (test_056); the transaction ID below carries one.
RAW_SUBJECT_BYTES = b"\xff\xc0\xaf\"\\\xed\xa0\x80\xe2\x82\xfe\x80\xc3\x28\xa0\xa1"


def openssl_bytes(*args) -> bytes:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, check=True).stdout


def raw_subject_csr(device: h.Device) -> None:
    """Puts RAW_SUBJECT_BYTES into the device's CN, made a TeletexString, and
    signs the CSR again: openssl req writes no raw bytes, and OpenSSL refuses
    to decode a UTF8String that is not UTF-8 (so an 8-bit string type is how
    raw bytes get into a subject)."""
    der = bytearray(openssl_bytes("req", "-in", device.csr, "-outform", "DER"))
    assert len(RAW_SUBJECT_BYTES) == len(RAW_PLACEHOLDER)
    at = der.index(RAW_PLACEHOLDER)
    der[at:at + len(RAW_PLACEHOLDER)] = RAW_SUBJECT_BYTES
    assert der[at - 2:at] == bytes([0x0C, len(RAW_PLACEHOLDER)])  # UTF8String, short length
    der[at - 2] = 0x14  # TeletexString

    def tlv_end(start: int) -> int:  # the end of the DER element at start
        n = der[start + 1]
        if n < 0x80:
            return start + 2 + n
        k = n & 0x7F
        return start + 2 + k + int.from_bytes(der[start + 2:start + 2 + k], "big")

    outer_len_bytes = der[1] & 0x7F if der[1] & 0x80 else 0
    info_start = 2 + outer_len_bytes
    info = bytes(der[info_start:tlv_end(info_start)])
    (device.dir / "info.der").write_bytes(info)
    sig = openssl_bytes("dgst", "-sha256", "-sign", device.key, device.dir / "info.der")
    assert len(sig) == device.bits // 8
    der[len(der) - len(sig):] = sig
    device.csr.write_bytes(bytes(der))  # the test client reads DER as well as PEM


@pytest.mark.expect_log("SCP3003", "SCP3002")  # a refused CSR is a failed step; the raw transaction ID an unreadable message
@pytest.mark.parametrize("path", [LEGACY, STRICT])
def test_040_015_raw_bytes_in_the_subject_keep_the_audit_log_json(make_device, enroll, pki, path):
    """The raw bytes of a subject, and a transaction ID with JSON's special
    characters, leave every audit line strict JSON. A transaction ID with
    raw bytes (invalid UTF-8, control characters) is refused as unreadable
    before any line names it."""
    d = make_device(cn=RAW_PLACEHOLDER.decode())
    raw_subject_csr(d)
    raw_tid = "tx-raw-\udcff\x01-" + path.strip("/")  # \udcff: the byte 0xFF in argv
    assert enroll(d, path, transaction_id=raw_tid, name="raw-tid").http.status == 400
    tid = "tx-raw-\"\\-" + path.strip("/")
    e = enroll(d, path, transaction_id=tid)
    assert e.http.status == 200, e.http.text
    # Every line, read as strict UTF-8 and parsed on its own.
    lines = [line for line in pki.audit_log.read_bytes().split(b"\n") if line.strip()]
    records = [json.loads(line.decode("utf-8")) for line in lines]
    mine = [r for r in records if r.get("transaction_id") == tid]
    assert mine, records[-5:]
    assert any("subject" in r for r in mine), mine  # the CSR was read


def certificates_of(pki, transaction_id):
    with sqlite3.connect(f"file:{pki.state_dir / 'scepter.db'}?mode=ro", uri=True) as con:
        return con.execute("SELECT serial FROM certificates WHERE transaction_id = ?",
                           (transaction_id,)).fetchall()


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_040_016_exact_replay_gets_the_same_certificate_not_a_second(make_device, enroll, client, port, pki,
                                                                     method):
    """The static challenge lets anyone re-send a captured PKCSReq: the very
    same request is answered like a poll, with the certificate it got."""
    d = make_device()
    first = enroll(d, STRICT)
    h.check_issued(first, d, pki.ca_cert)
    for n in range(2):
        r = h.send_pki(port, STRICT, first.req.der, method=method)
        rep = client.reply(d, first.req, r.body, name=f"replay-{n}") if r.status == 200 else None
        again = h.Enrollment(r, first.req, rep)
        h.check_issued(again, d, pki.ca_cert)
        assert h.norm_serial(again.rep["cert_serial"]) == h.norm_serial(first.rep["cert_serial"])
    assert len(certificates_of(pki, first.req.transaction_id)) == 1
    answered = [rec for rec in pki.audit_records() if rec.get("transaction_id") == first.req.transaction_id
                and rec.get("step") == "replay_answered"]
    assert len(answered) == 2 and all(rec.get("outcome") == "ok" for rec in answered), answered


def test_040_017_new_request_under_an_issued_transaction_id_is_issued(make_device, enroll, pki):
    """Clients derive the transaction ID from the key, so a second request
    from the same key (a re-enrollment) arrives under an ID that succeeded
    before: it is not a replay and gets a certificate of its own."""
    d = make_device()
    first = enroll(d, STRICT)
    h.check_issued(first, d, pki.ca_cert)
    second = enroll(d, STRICT, name="again")
    h.check_issued(second, d, pki.ca_cert)
    assert second.req.transaction_id == first.req.transaction_id
    assert h.norm_serial(second.rep["cert_serial"]) != h.norm_serial(first.rep["cert_serial"])
    assert len(certificates_of(pki, first.req.transaction_id)) == 2
