"""CSRs an attacker builds on purpose: names with NUL bytes, names long
enough to blow a regex's stack, and public keys that must never be
certified. Each gets a signed FAILURE naming the problem, before its
one-time challenge is touched, and the server stays up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

import harness as h

STRICT = "/scep-strict"

pytestmark = pytest.mark.expect_log("SCP3003")  # every refusal is a failed step


def one_time_challenge(pki, requester, *claims) -> str:
    return h.run([h.SCEPTER, "challenge", "--config", pki.config, "--profile", "default",
                  "--user", "mallory", "--requester", requester, *claims]).stdout.strip()


def signed_by_other_key(d: Path, csr: Path) -> h.Device:
    """The SCEP message is signed with a separate RSA key, so the CSR's own
    key can be anything."""
    signer = d / "signer.key"
    h.generate_rsa_key(signer)
    h.run(["openssl", "req", "-x509", "-new", "-key", signer, "-subj", "/CN=signer", "-days", "1",
           "-out", d / "signer.pem"])
    return h.Device(d, "signer", signer, csr, 2048)


def raw_device(devices_dir: Path, name: str, key_path: Path, cn: str, challenge: str) -> h.Device:
    """A CSR built byte by byte (openssl req cannot put a NUL into a name)."""
    d = devices_dir / name
    d.mkdir(parents=True, exist_ok=True)
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    builder = builder.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    csr = d / "device.csr"
    csr.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return signed_by_other_key(d, csr)


def openssl_device(devices_dir: Path, name: str, key: Path, challenge: str) -> h.Device:
    """A CSR made by openssl req from any key openssl can make."""
    d = devices_dir / name
    d.mkdir(parents=True, exist_ok=True)
    cnf = d / "req.cnf"
    cnf.write_text("[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n"
                   f"[dn]\nCN = {name}.example\n[attrs]\nchallengePassword = {challenge}\n")
    csr = d / "device.csr"
    h.run(["openssl", "req", "-new", "-key", key, "-config", cnf, "-out", csr])  # default digest: Ed25519 takes none
    return signed_by_other_key(d, csr)


def enroll_other_key(client, port, device: h.Device) -> h.Enrollment:
    """Enrolls with the message signed by the device's signer certificate;
    a certificate in the CertRep is for the CSR's key, not the signer's."""
    req = client.request(device, signer_cert=device.dir / "signer.pem", signer_key=device.key)
    r = h.post_pki(port, STRICT, req.der)
    rep = client.reply(device, req, r.body, any_cert=True) if r.status == 200 else None
    return h.Enrollment(r, req, rep)


def odd_key(devices_dir: Path, name: str, genpkey_args: list) -> Path:
    path = devices_dir / f"{name}.key"
    h.run(["openssl", *genpkey_args, "-out", path])
    return path


def assert_nothing_issued(pki, transaction_id):
    steps = [r.get("step") for r in pki.audit_records() if r.get("transaction_id") == transaction_id]
    assert "cert_issued" not in steps and "challenge_password" not in steps, steps


def test_056_001_nul_in_cn_is_refused_before_the_challenge(devices_dir, pki, client, port):
    challenge = one_time_challenge(pki, "test-056-nul", "--subject-pattern", r"CN=.*\.evil\.example")
    key = h.generate_rsa_key(devices_dir / "nul.key")
    bad = raw_device(devices_dir, "nul", key, "www.bank.example\x00.evil.example", challenge)
    e = enroll_other_key(client, port, bad)
    rep = h.check_failure(e, "badRequest")
    assert "NUL or control character" in rep["fail_info_text"], rep
    assert_nothing_issued(pki, e.req.transaction_id)
    # The challenge was not consumed: an honest CSR still enrolls with it.
    good = raw_device(devices_dir, "honest", key, "www.shop.evil.example", challenge)
    rep = enroll_other_key(client, port, good).rep
    assert rep["status"] == "SUCCESS", rep
    assert "bank" not in rep["cert_subject"], rep


def test_056_002_huge_cn_against_a_subject_pattern(devices_dir, pki, server, client, port):
    challenge = one_time_challenge(pki, "test-056-long", "--subject-pattern", r"CN=(a|b)+x?")
    key = h.generate_rsa_key(devices_dir / "long.key")
    pids = server.worker_pids()
    e = enroll_other_key(client, port, raw_device(devices_dir, "long", key, "a" * 50000, challenge))
    rep = h.check_failure(e, "badRequest")
    assert "bytes long; the limit is" in rep["fail_info_text"], rep
    assert h.get_op(port, STRICT, "GetCACaps").status == 200
    assert server.worker_pids() == pids, "a worker died"


@pytest.mark.parametrize("name,args,fail_info,why", [
    ("rsa-e3", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-pkeyopt", "rsa_keygen_pubexp:3"], "badRequest", "exponent is weak"),
    ("p192", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime192v1"],
     "badAlg", "curve prime192v1 is not certified"),
    ("secp256k1", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
     "badAlg", "curve secp256k1 is not certified"),
    ("brainpool", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"],
     "badAlg", "curve brainpoolP256r1 is not certified"),
    ("explicit-p256", ["ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout"],
     "badAlg", "explicit curve parameters"),
    ("ed25519", ["genpkey", "-algorithm", "ED25519"], "badAlg", "signed with an unsupported algorithm"),
])
def test_056_003_unsafe_public_keys(devices_dir, pki, client, port, name, args, fail_info, why):
    challenge = one_time_challenge(pki, f"test-056-{name}")
    key = odd_key(devices_dir, name, args)
    e = enroll_other_key(client, port, openssl_device(devices_dir, name, key, challenge))
    rep = h.check_failure(e, fail_info)
    assert why in rep["fail_info_text"], rep
    assert_nothing_issued(pki, e.req.transaction_id)


def test_056_004_named_curves_pass_the_key_check(devices_dir, pki, client, port):
    """The demo's templates take RSA keys only: a P-256 or P-384 key passes
    csr_checked and is refused by the template, not as an unsafe key."""
    for curve in ("prime256v1", "secp384r1"):
        challenge = one_time_challenge(pki, f"test-056-{curve}")
        key = odd_key(devices_dir, curve, ["genpkey", "-algorithm", "EC", "-pkeyopt",
                                           f"ec_paramgen_curve:{curve}"])
        rep = h.check_failure(enroll_other_key(client, port, openssl_device(devices_dir, curve, key, challenge)),
                              "badRequest")
        assert "does not allow ec keys" in rep["fail_info_text"], rep


@pytest.mark.expect_log("SCP3002")  # the message is refused as unreadable
@pytest.mark.parametrize("field", ["transaction_id", "sender_nonce"])
def test_056_005_oversized_attributes_cost_nothing(make_device, client, port, pki, field):
    """An unauthenticated request with a wrong challenge and a 60 KB
    transactionID (or senderNonce) is refused at once: no audit line carries
    it, no store row keeps it."""
    d = make_device(challenge="definitely-wrong")
    huge = {"transaction_id": "T" * 60000} if field == "transaction_id" else {"sender_nonce": "ab" * 30000}
    before = pki.audit_log.stat().st_size
    req = client.request(d, **huge)
    r = h.post_pki(port, STRICT, req.der)
    assert r.status == 400, f"HTTP {r.status}: {r.body[:200]!r}"
    assert pki.audit_log.stat().st_size - before < 4096, "the audit trail grew by the attribute"
    db = pki.config.parent / h.yaml_scalar(pki.config.read_text(), "sqlite")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        longest = con.execute("SELECT max(length(transaction_id)) FROM transactions").fetchone()[0]
    assert (longest or 0) <= 128, longest
