"""The CA key in a PKCS#11 token (SoftHSM2), served by each server.

A private SoftHSM2 token in the work directory (SOFTHSM2_CONF names a
softhsm2.conf whose tokendir is there; nginx passes the variable on to its
workers with `env SOFTHSM2_CONF;`, Apache's children inherit it). The CA key
pairs are generated inside the token by pkcs11-tool, which makes private
keys sensitive and never extractable; `scepter init --ca-key-uri` signs the
CA and RA certificates with them. Then micromdm's scepclient enrolls, the
certificate verifies against ca.pem, and `scepter certs revoke` publishes a
CRL signed inside the token that the server serves. A wrong PIN fails
closed: the configuration checks say why, and a server started anyway
issues nothing and logs SCP1003/SCP1004. The RA keys may be in the token
too (test_045_009 on): their certificates are issued by the token's CA key
through OpenSSL's pkcs11 engine, and the workers decrypt and sign CertReps
and GetNextCACert inside the token."""

import os
import re
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h
from test_020_scepclient import issued_cert, run_scepclient
from test_033_ec_ca import NDES_RAS, one_ra_config

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PKCS11_TOOL = shutil.which("pkcs11-tool") or "/usr/bin/pkcs11-tool"
SOFTHSM_UTIL = shutil.which("softhsm2-util") or "/usr/bin/softhsm2-util"
TOKEN = "scepter-test"
PIN = "271828"  # the test token's user PIN: only in the PIN file and pkcs11-tool's arguments
# key label -> pkcs11-tool's key type
KEYS = {"ca-rsa": "rsa:2048", "ca-ec": "EC:prime256v1", "ra-sign": "rsa:2048", "ra-enc": "rsa:2048"}


def key_uri(label: str) -> str:
    return f"pkcs11:token={TOKEN};object={label};type=private"


def p11(token, *args):
    return h.run([PKCS11_TOOL, "--module", SOFTHSM_MODULE, "--token-label", TOKEN,
                  "--login", "--pin", PIN, *args], env={**os.environ, "SOFTHSM2_CONF": str(token.conf)})


def with_token_env(server_class):
    """The server kind, passing SOFTHSM2_CONF on to nginx's workers (nginx
    clears its workers' environment but for what `env` names)."""
    if server_class.kind != "nginx":
        return server_class

    class TokenNginx(server_class):
        def render(self) -> str:
            return "env SOFTHSM2_CONF;\n" + super().render()
    return TokenNginx


@pytest.fixture(scope="module")
def token(workdir):
    d = workdir / "hsm"
    (d / "tokens").mkdir(parents=True, exist_ok=True)
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # the servers, the CLI and the tools below
    t = SimpleNamespace(dir=d, conf=conf, pin_file=d / "pin", wrong_pin_file=d / "wrong-pin")
    try:
        h.run([SOFTHSM_UTIL, "--init-token", "--free", "--label", TOKEN, "--so-pin", "31415926", "--pin", PIN])
        for i, (label, kind) in enumerate(KEYS.items(), start=1):
            p11(t, "--keypairgen", "--key-type", kind, "--label", label, "--id", f"{i:02x}")
        t.pin_file.write_text(PIN + "\n")
        t.wrong_pin_file.write_text("000000\n")
        for f in (t.pin_file, t.wrong_pin_file):
            f.chmod(0o600)
        # the workers (www-data) log in and sign: SoftHSM2 opens the token's files read-write
        h.make_traversable(d)
        h.chown_worker(d, recursive=True)
        yield t
    finally:
        if saved is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = saved


def token_pki(token, directory: Path, label: str) -> h.Pki:
    pki = h.Pki.create(directory, "--cn", f"Scepter HSM Test CA ({label})", "--ca-key-uri", key_uri(label),
                       "--pkcs11-module", SOFTHSM_MODULE, "--pin-file", token.pin_file)
    h.chown_worker(token.dir, recursive=True)  # what root's init may have touched
    return pki


@pytest.fixture(scope="module")
def hsm(token, server_class, workdir):
    pki = token_pki(token, workdir / "pki-hsm-rsa", "ca-rsa")
    port = h.free_port()
    url = f"http://127.0.0.1:{port}/ocsp"
    pki.config.write_text(pki.config.read_text() + f"\nocsp:\n  url: {url}\n")
    n = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm", pki.config, port=port,
                                     locations=[*h.DEFAULT_LOCATIONS, h.OcspLocation("/ocsp")])
    try:
        n.start()
        yield SimpleNamespace(pki=pki, server=n, port=n.port, ocsp_url=url)
    finally:
        n.discard()


def served_crl(hsm, name: str) -> Path:
    """The CRL the server serves, as PEM, its signature checked against ca.pem."""
    r = h.http_request(hsm.port, "GET", "/scep/ca.crl")
    assert r.status == 200 and r.content_type.startswith("application/pkix-crl"), r.status
    der, pem = hsm.pki.dir / f"{name}.crl", hsm.pki.dir / f"{name}.crl.pem"
    der.write_bytes(r.body)
    h.run(["openssl", "crl", "-inform", "DER", "-in", der, "-out", pem])
    check = h.run(["openssl", "crl", "-in", pem, "-CAfile", hsm.pki.ca_cert, "-noout", "-verify"])
    assert "verify OK" in check.stdout + check.stderr, check.stdout + check.stderr
    return pem


def ocsp_status(hsm, cert) -> str:
    """The answer verifies: its responder certificate was issued by the
    token's key in the worker."""
    return h.ocsp_status(hsm.pki.ca_cert, cert, hsm.ocsp_url)


def serial_of(cert) -> str:
    return h.run(["openssl", "x509", "-in", cert, "-noout", "-serial"]).stdout.strip().split("=", 1)[1]


def enroll_with_scepclient(port, pki, d: Path, cn: str, recipient=None) -> Path:
    p = run_scepclient(port, pki, d, cn, recipient=recipient)
    assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
    cert = issued_cert(d)
    assert cert is not None, f"no certificate in {d}: {list(d.iterdir())}\n{p.stderr}"
    out = h.run(["openssl", "verify", "-CAfile", pki.ca_cert, cert]).stdout
    assert out.strip().endswith(": OK"), out
    return cert


def test_045_001_the_key_stays_in_the_token(token, hsm):
    objects = p11(token, "--list-objects", "--type", "privkey").stdout
    for label in KEYS:
        block = objects.split(f"label:      {label}", 1)[1].split("Object;", 1)[0]
        assert "sensitive" in block and "never extractable" in block, objects
    assert not (hsm.pki.dir / "ca.key").exists()
    config = hsm.pki.config.read_text()
    assert key_uri("ca-rsa") in config and PIN not in config, config
    # ca.pem is the token's key's: signed by it, and its public key is the token's
    h.run(["openssl", "verify", "-CAfile", hsm.pki.ca_cert, hsm.pki.ca_cert])
    out = h.run([h.SCEPTER, "config", "check", hsm.pki.config]).stdout
    assert out.strip().endswith(": ok"), out


def test_045_002_scepclient_enrolls_and_the_revocation_crl_is_signed_in_the_token(hsm, workdir):
    cert = enroll_with_scepclient(hsm.port, hsm.pki, workdir / "hsm-scepclient" / "one", "hsm-device-1")
    served_crl(hsm, "before")  # the worker signed it with the token's key
    assert ocsp_status(hsm, cert) == "good"
    serial = serial_of(cert)
    out = h.run([h.SCEPTER, "certs", "revoke", "--config", hsm.pki.config, serial,
                 "--reason", "keyCompromise"]).stdout
    assert "revoked" in out, out
    crl_pem = served_crl(hsm, "after")  # the CLI signed it with the token's key
    text = h.run(["openssl", "crl", "-in", crl_pem, "-noout", "-text"]).stdout
    assert re.search(rf"Serial Number: {serial}\b", text, re.I), text
    bad = h.run(["openssl", "verify", "-crl_check", "-CAfile", hsm.pki.ca_cert, "-CRLfile", crl_pem, cert],
                check=False)
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr
    deadline = time.monotonic() + 5  # ocsp.revocation_check_ms
    while ocsp_status(hsm, cert) != "revoked":
        assert time.monotonic() < deadline, "OCSP still says good"
        time.sleep(0.2)


def test_045_003_ec_p256_ca_in_the_token(token, server_class, workdir):
    """An EC P-256 key in the token; scepclient encrypts to RSA keys only and
    checks the CertRep against the certificate it encrypted to, so it names
    the RA of the one-RA configuration (as test_033_004 does)."""
    pki = token_pki(token, workdir / "pki-hsm-ec", "ca-ec")
    text = h.run(["openssl", "x509", "-in", pki.ca_cert, "-noout", "-text"]).stdout
    assert "ecdsa-with-SHA256" in text and "prime256v1" in text, text
    n = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-ec", one_ra_config(pki))
    try:
        n.start()
        cert = enroll_with_scepclient(n.port, pki, workdir / "hsm-scepclient" / "ec", "hsm-device-ec",
                                      recipient=pki.dir / "ra-enc.pem")
        text = h.run(["openssl", "x509", "-in", cert, "-noout", "-text"]).stdout
        assert "ecdsa-with-SHA256" in text, text  # signed inside the token with the EC key
    finally:
        n.discard()


def wrong_pin_config(hsm, token) -> Path:
    text = hsm.pki.config.read_text()
    text = text.replace(str(token.pin_file), str(token.wrong_pin_file))
    text = text.replace("sqlite: state/scepter.db", "sqlite: state/wrong-pin.db")
    path = hsm.pki.dir / "wrong-pin.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.expect_log("SCP1003", "SCP1004")
def test_045_004_wrong_pin_fails_closed(hsm, token, server_class, workdir):
    config = wrong_pin_config(hsm, token)
    check = h.run([h.SCEPTER, "config", "check", config], check=False)
    assert check.returncode != 0 and "ca.key (pkcs11)" in check.stderr, check.stdout + check.stderr
    assert "000000" not in check.stdout + check.stderr
    n = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-wrong-pin", config)
    try:
        t = n.config_test()
        assert t.returncode != 0, t.stdout + t.stderr
        assert "SCP1002" in t.stderr and "ca.key (pkcs11)" in t.stderr, t.stderr
        # started anyway: the master never opens the token; each worker
        # tries once, and answers without issuing anything
        n.start()
        d = workdir / "hsm-scepclient" / "wrong-pin"
        p = run_scepclient(n.port, hsm.pki, d, "hsm-device-wrong-pin")
        assert p.returncode != 0 and issued_cert(d) is None, p.stdout + p.stderr
        log = n.error_log.read_text()
        assert re.search(r"SCP1003 .*ca\.key \(pkcs11\)", log), log
        assert "SCP1004" in log and "000000" not in log, log
    finally:
        n.discard()


def test_045_005_ra_renew_signs_in_the_token(token, workdir):
    pki = token_pki(token, workdir / "pki-hsm-renew", "ca-rsa")
    before = serial_of(pki.dir / "ra-sign.pem")
    out = h.run([h.SCEPTER, "ra", "renew", "--config", pki.config]).stdout
    h.chown_worker(token.dir, recursive=True)
    assert "renewed" in out, out
    assert serial_of(pki.dir / "ra-sign.pem") != before and (pki.dir / "ra-sign.pem.prev").exists()
    for ra in ("ra-sign.pem", "ra-enc.pem"):
        done = h.run(["openssl", "verify", "-CAfile", pki.ca_cert, pki.dir / ra]).stdout
        assert done.strip().endswith(": OK"), done


def test_045_006_a_reload_loads_the_key_in_the_new_workers(hsm, workdir):
    old = hsm.server.worker_pids()
    hsm.server.reload()
    assert hsm.server.worker_pids().isdisjoint(old)
    enroll_with_scepclient(hsm.port, hsm.pki, workdir / "hsm-scepclient" / "after-reload", "hsm-device-reload")


def test_045_007_a_token_key_that_is_not_the_certificates_is_refused(hsm, token, server_class, workdir):
    text = hsm.pki.config.read_text().replace(key_uri("ca-rsa"), key_uri("ca-ec"))
    config = hsm.pki.dir / "other-key.yaml"
    config.write_text(text)
    check = h.run([h.SCEPTER, "config", "check", config], check=False)
    assert check.returncode != 0 and "is not the key of ca.cert" in check.stderr, check.stdout + check.stderr
    t = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-other-key", config, gated=False).config_test()
    assert t.returncode != 0 and "is not the key of ca.cert" in t.stderr, t.stderr


def test_045_008_concurrent_enrollments_sign_in_the_token(hsm, devices_dir):
    """Many requests at once: every worker (and Apache's threads) signs
    through its own PKCS#11 session, and each answer is a good certificate."""
    cacert = devices_dir / "getcacert.der"
    cacert.write_bytes(h.get_op(hsm.port, "/scep", "GetCACert").body)
    client = h.TestClient(cacert, hsm.pki.ca_cert)
    devices = [h.Device.create(devices_dir / f"d{i}", hsm.pki.challenge) for i in range(16)]
    reqs = [client.request(d) for d in devices]
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda r: h.send_pki(hsm.port, "/scep-strict", r.der), reqs))
    for device, req, r in zip(devices, reqs, replies):
        rep = client.reply(device, req, r.body) if r.status == 200 else None
        h.check_issued(h.Enrollment(r, req, rep), device, hsm.pki.ca_cert)


# ---- RA keys in the token ----------------------------------------------

RA_KEY_USAGE = {"ra-sign": "critical,digitalSignature", "ra-enc": "critical,digitalSignature,keyEncipherment"}


def engine_key(label: str) -> str:
    """The key for OpenSSL's command line (the test's own tooling): the
    engine takes the PIN in the URI, which scepter.yaml refuses."""
    return key_uri(label) + f";pin-value={PIN}"


def token_ra_cert(pki, label: str) -> Path:
    """A certificate for the token's RA key `label`, issued by the token's CA
    key: the request and the certificate are both signed inside the token."""
    csr, ext, cert = pki.dir / f"token-{label}.csr", pki.dir / f"token-{label}.ext", pki.dir / f"token-{label}.pem"
    ext.write_text(f"[ra]\nbasicConstraints=critical,CA:FALSE\nkeyUsage={RA_KEY_USAGE[label]}\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    engine = ["-engine", "pkcs11"]
    h.run(["openssl", "req", "-new", *engine, "-keyform", "engine", "-key", engine_key(label),
           "-subj", f"/CN=Scepter HSM Test RA ({label})", "-out", csr])
    h.run(["openssl", "x509", "-req", "-in", csr, *engine, "-CA", pki.ca_cert, "-CAkeyform", "engine",
           "-CAkey", engine_key("ca-rsa"), "-set_serial", f"0x{secrets.token_hex(16)}", "-days", "365",
           "-extfile", ext, "-extensions", "ra", "-out", cert])
    return cert


def ra_section(sign: str = "ra-sign", enc: str = "ra-enc") -> str:
    """ra: with both keys in the token; sign/enc: the token objects named."""
    return (f"ra:\n  signing:\n    cert: token-ra-sign.pem\n    key: \"{key_uri(sign)}\"\n"
            f"  encryption:\n    cert: token-ra-enc.pem\n    key: \"{key_uri(enc)}\"\n")


def one_ra_section(key: str = "ra-enc") -> str:
    """One RA pair in the token (micromdm's scepclient checks the CertRep
    against the certificate it encrypted to)."""
    return f"ra:\n  cert: token-ra-enc.pem\n  key: \"{key_uri(key)}\"\n"


@pytest.fixture(scope="module")
def ra_pki(token, workdir):
    pki = token_pki(token, workdir / "pki-hsm-ra", "ca-rsa")
    for label in RA_KEY_USAGE:
        cert = token_ra_cert(pki, label)
        out = h.run(["openssl", "verify", "-CAfile", pki.ca_cert, cert]).stdout
        assert out.strip().endswith(": OK"), out
    h.chown_worker(token.dir, recursive=True)
    return pki


def ra_config(pki, name: str, ra: str) -> Path:
    """The token PKI's configuration with `ra` instead of its RA key files,
    and a store of its own."""
    text = pki.config.read_text()
    assert NDES_RAS in text, text
    text = text.replace(NDES_RAS, ra).replace("sqlite: state/scepter.db", f"sqlite: state/{name}.db")
    path = pki.dir / f"{name}.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_045_009_ra_keys_in_the_token_decrypt_and_sign(ra_pki, server_class, workdir, devices_dir):
    """CA, RA signing and RA encryption keys all in the token: requests are
    opened and CertReps signed inside it, with two RA pairs (the project's
    client) and with one (micromdm's scepclient); GetNextCACert is signed by
    the token's RA key after the worker loaded it."""
    config = ra_config(ra_pki, "token-ras", ra_section())
    snippet = h.run([h.SCEPTER, "init", ra_pki.dir, "--next-ca"]).stdout
    config.write_text(config.read_text() + snippet)
    out = h.run([h.SCEPTER, "config", "check", config]).stdout
    assert out.strip().endswith(": ok"), out
    n = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-ras", config)
    try:
        n.start()
        r = h.get_op(n.port, "/scep", "GetNextCACert")
        assert r.status == 200 and r.content_type == "application/x-x509-next-ca-cert", (r.status, r.body)
        signed, inner = ra_pki.dir / "next.der", ra_pki.dir / "next-inner.der"
        signed.write_bytes(r.body)
        h.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", signed, "-binary", "-CAfile", ra_pki.ca_cert,
               "-purpose", "any", "-out", inner])
        signer = ra_pki.dir / "next-signer.pem"
        h.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", signed, "-binary", "-noverify",
               "-signer", signer, "-out", "/dev/null"])
        assert h.run(["openssl", "x509", "-in", signer, "-noout", "-subject"]).stdout.strip().endswith("(ra-sign)")
        cacert = devices_dir / "token-ras-getcacert.der"
        cacert.write_bytes(h.get_op(n.port, "/scep", "GetCACert").body)
        client = h.TestClient(cacert, ra_pki.ca_cert)
        for i, oaep in enumerate((False, False, True)):  # RSA-OAEP key transport: CKM_RSA_PKCS_OAEP in the token
            device = h.Device.create(devices_dir / f"token-ra-{i}", ra_pki.challenge)
            req = client.request(device, oaep=oaep)
            reply = h.send_pki(n.port, "/scep-strict", req.der)
            rep = client.reply(device, req, reply.body) if reply.status == 200 else None
            h.check_issued(h.Enrollment(reply, req, rep), device, ra_pki.ca_cert)
    finally:
        n.discard()
    one = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-one-ra",
                                       ra_config(ra_pki, "token-one-ra", one_ra_section()))
    try:
        one.start()
        enroll_with_scepclient(one.port, ra_pki, workdir / "hsm-scepclient" / "token-ra", "hsm-device-token-ra",
                               recipient=ra_pki.dir / "token-ra-enc.pem")
    finally:
        one.discard()


def test_045_010_a_missing_ra_object_is_named(ra_pki, server_class, workdir):
    config = ra_config(ra_pki, "missing-ra", ra_section(enc="ra-missing"))
    check = h.run([h.SCEPTER, "config", "check", config], check=False)
    assert check.returncode != 0 and "ra.encryption.key (pkcs11)" in check.stderr, check.stdout + check.stderr
    assert "ra-missing" in check.stderr and PIN not in check.stdout + check.stderr
    t = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-missing-ra", config, gated=False).config_test()
    assert t.returncode != 0 and "ra.encryption.key (pkcs11)" in t.stderr, t.stderr


@pytest.mark.expect_log("SCP1003", "SCP1004")
def test_045_011_a_token_ra_key_that_is_not_the_certificates_is_refused(ra_pki, server_class, workdir):
    """Refused by the checks; a server started anyway issues nothing: each
    worker refuses to load the key, and answers without a CertRep it could
    not sign."""
    config = ra_config(ra_pki, "other-ra-key", one_ra_section(key="ra-sign"))
    check = h.run([h.SCEPTER, "config", "check", config], check=False)
    assert check.returncode != 0 and "ra.key (pkcs11)" in check.stderr, check.stdout + check.stderr
    assert "is not the key of ra.cert" in check.stderr, check.stderr
    n = with_token_env(server_class)(workdir / f"{server_class.kind}-hsm-other-ra", config)
    try:
        t = n.config_test()
        assert t.returncode != 0 and "is not the key of ra.cert" in t.stderr, t.stderr
        n.start()
        d = workdir / "hsm-scepclient" / "other-ra"
        p = run_scepclient(n.port, ra_pki, d, "hsm-device-other-ra", recipient=ra_pki.dir / "token-ra-enc.pem")
        assert p.returncode != 0 and issued_cert(d) is None, p.stdout + p.stderr
        log = n.error_log.read_text()
        assert re.search(r"SCP1003 .*ra\.key \(pkcs11\): the token's key .* is not the key of ra\.cert", log), log
        assert "SCP1004" in log, log
        assert h.get_op(n.port, "/scep", "GetCACert").status == 200  # what needs no key still answers
    finally:
        n.discard()


def test_045_012_ra_renew_leaves_a_token_key_alone(ra_pki):
    config = ra_config(ra_pki, "renew-token-ra", ra_section())
    r = h.run([h.SCEPTER, "ra", "renew", "--config", config], check=False)
    assert r.returncode != 0 and "ra.signing.key is in a token" in r.stderr, r.stdout + r.stderr
