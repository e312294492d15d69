"""A profile's `intune:` block against a local stand-in of Entra ID, Graph
and Intune (intune_service.py) over HTTPS with a test CA made here: the
client-credentials token (secret and signed assertion), Graph discovery,
ScepActions with bearer token, api-version and a fresh client-request-id,
and the fail-closed cases. One worker per server, so a worker's caches
(token, endpoints) are the ones a test reasons about; each failure case has
its own stand-in, so no cache of another test hides it."""

from __future__ import annotations

import datetime
import hashlib
import re
import shutil
import subprocess
from types import SimpleNamespace

import pytest
from cryptography import x509

import harness as h
from harness_intune import INTUNE_CHALLENGE, SECRET, intune_files, intune_profile
from harness_intune import enroll as intune_enroll
from intune_service import RESOURCE, IntuneStandIn

SCEPCLIENT = shutil.which("scepclient") or "/usr/bin/scepclient"
FAILURE_CASES = {"nodisc": {"discovery": "500"}, "refused": {"token": "refuse"},
                 "dead": {"discovery": "unreachable"}}


@pytest.fixture(scope="module")
def it(server_class, workdir):
    pki = h.Pki.create(workdir / "pki-intune")
    files, secret_file = intune_files(pki)
    main = IntuneStandIn(files, client_secret=SECRET).start()
    failing = {}
    for name, rules in FAILURE_CASES.items():
        failing[name] = IntuneStandIn(files, client_secret=SECRET).start()
        failing[name].dead_port = h.free_port()
        failing[name].set(**rules)
    text = pki.config.read_text() + intune_profile("intune", main, files, secret_file) + \
        intune_profile("intune_cert", main, files) + \
        "".join(intune_profile(f"intune_{n}", s, files, secret_file) for n, s in failing.items())
    pki.config.write_text(text)
    locations = [("/scep", None), ("/scep-intune", "intune"), ("/scep-intune-cert", "intune_cert")]
    locations += [(f"/scep-intune-{n}", f"intune_{n}") for n in FAILURE_CASES]
    server = server_class(workdir / f"{server_class.kind}-intune", pki.config, locations=locations, workers=1)
    server.start()
    cacert = workdir / "intune-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, svc=main, failing=failing, files=files,
                          client=h.TestClient(cacert, pki.ca_cert), log_offset=server.log_size())
    server.discard()
    for s in [main, *failing.values()]:
        s.stop()


def run_scepclient(it, d, cn, path="/scep-intune"):
    d.mkdir(parents=True, exist_ok=True)
    cmd = [SCEPCLIENT, "-server-url", f"http://127.0.0.1:{it.server.port}{path}", "-challenge",
           INTUNE_CHALLENGE, "-private-key", d / "key.pem", "-cn", cn]
    return h.run(cmd, check=False, cwd=d, timeout=120)


def enroll(it, devices_dir, path, name="req"):
    return intune_enroll(it.client, it.server.port, devices_dir, path, name)


def no_certificate(rep, text):
    assert rep["status"] == "FAILURE" and rep["fail_info"] == "badRequest", rep
    assert re.search(text, rep["fail_info_text"]), rep


def token_calls(svc, scope=None):
    calls = [c for c in svc.calls("/oauth2/v2.0/token")]
    return [c for c in calls if scope is None or f"scope={scope}" in c["raw"].replace("%3A", ":").replace(
        "%2F", "/")]


def test_210_001_scepclient_enrolls_with_an_intune_validated_challenge(it, workdir):
    it.svc.clear()
    d = workdir / "intune-scepclient"
    p = run_scepclient(it, d, "intune-device-1")
    assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
    cert = x509.load_pem_x509_certificate((d / "client.pem").read_bytes())
    validate = it.svc.calls("/ScepActions/validateRequest")
    success = it.svc.calls("/ScepActions/successNotification")
    assert len(validate) == 1 and len(success) == 1, [c["path"] for c in it.svc.calls()]
    # validateRequest carries the CSR with Intune's challenge in it
    body = validate[0]["body"]["request"]
    assert body["callerInfo"] == "Scepter-test/1.0" and body["transactionId"]
    assert INTUNE_CHALLENGE.encode() in __import__("base64").b64decode(body["certificateRequest"])
    # the success notification describes the very certificate scepclient got
    n = success[0]["body"]["notification"]
    der = cert.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.DER)
    assert n["certificateThumbprint"].lower() == hashlib.sha1(der).hexdigest()
    assert h.norm_serial(n["certificateSerialNumber"]) == h.norm_serial(format(cert.serial_number, "X"))
    expiry = datetime.datetime.strptime(n["certificateExpirationDateUtc"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expiry == cert.not_valid_after.replace(microsecond=0)
    assert n["transactionId"] == body["transactionId"] and n["issuingCertificateAuthority"]
    # headers the libraries send, on every ScepActions call
    for c in validate + success:
        assert c["headers"]["authorization"].startswith("Bearer ")
        assert c["headers"]["api-version"] == "2018-02-20"
        assert c["headers"]["useragent"] == "Scepter-test/1.0"
    # the discovery map was read case-insensitively; the token scopes are the libraries'
    assert len(it.svc.calls("/endpoints")) == 1
    assert token_calls(it.svc, RESOURCE + "/.default") and token_calls(it.svc, it.svc.base + "/.default")
    assert not it.svc.violations, it.svc.violations


def test_210_002_client_assertion_flow(it, devices_dir):
    it.svc.clear()
    _, rep = enroll(it, devices_dir, "/scep-intune-cert")
    assert rep["status"] == "SUCCESS", rep
    forms = [c["raw"] for c in token_calls(it.svc)]
    assert forms and all("client_assertion=" in f and "client_secret" not in f for f in forms), forms
    assert not it.svc.violations, it.svc.violations


@pytest.mark.expect_log("SCP3003")
def test_210_003_validate_refusal_names_intunes_code(it, devices_dir):
    it.svc.clear()
    it.svc.set(validate="deny:ChallengeExpired")
    try:
        req, rep = enroll(it, devices_dir, "/scep-intune")
    finally:
        it.svc.set(validate="allow")
    no_certificate(rep, r"^external_validation: ChallengeExpired: denied by the Intune stand-in")
    told = it.svc.calls("/ScepActions/failureNotification")
    assert len(told) == 1 and told[0]["body"]["notification"]["transactionId"] == req.transaction_id
    assert told[0]["body"]["notification"]["hResult"] > 0
    assert not it.svc.calls("/ScepActions/successNotification")
    failed = [r for r in it.pki.audit_records() if r.get("transaction_id") == req.transaction_id
              and r.get("outcome") == "failed"]
    assert failed and "ChallengeExpired" in str(failed), failed
    assert not it.svc.violations, it.svc.violations


def test_210_004_expired_token_is_refreshed_once(it, devices_dir):
    _, rep = enroll(it, devices_dir, "/scep-intune", name="warm")  # a cached token
    assert rep["status"] == "SUCCESS", rep
    it.svc.clear()
    it.svc.expire_tokens()
    _, rep = enroll(it, devices_dir, "/scep-intune")
    assert rep["status"] == "SUCCESS", rep
    seq = [(c["path"].rsplit("/", 1)[1]) for c in it.svc.calls() if c["method"] == "POST"]
    assert seq == ["validateRequest", "token", "validateRequest", "successNotification"], seq
    assert not it.svc.violations, it.svc.violations


@pytest.mark.parametrize("case,text,log_id", [
    ("nodisc", r"^external_validation: IntuneDiscoveryFailed: GET https://127\.0\.0\.1:\d+/v1\.0/servicePrincipals/"
               r"appId=0000000a-0000-0000-c000-000000000000/endpoints: HTTP 500", "SCP3014"),
    ("refused", r"^external_validation: IntuneTokenRefused: POST .*/oauth2/v2\.0/token .*HTTP 400: invalid_client: "
                r"AADSTS7000215", "SCP3013"),
    ("dead", r"^external_validation: ServiceUnavailable: POST https://127\.0\.0\.1:\d+/intune/ScepActions/"
             r"validateRequest", None),
])
def test_210_005_no_answer_from_intune_no_certificate(it, devices_dir, expect_log, case, text, log_id):
    expect_log("SCP3003", "SCP3009", *([log_id] if log_id else []))
    svc = it.failing[case]
    _, rep = enroll(it, devices_dir, f"/scep-intune-{case}")
    no_certificate(rep, text)
    assert not svc.calls("/ScepActions/successNotification")
    assert not svc.violations, svc.violations
    if log_id:
        assert any(log_id in line for line in it.server.log_since(0))


def test_210_006_no_token_or_secret_in_any_log(it):
    tokens = set(it.svc.tokens) | {t for s in it.failing.values() for t in s.tokens}
    assert tokens
    seen = it.pki.audit_log.read_text() + "\n".join(it.server.log_since(0))
    for p in (it.server.prefix / "logs").iterdir():
        seen += p.read_text(errors="replace")
    leaked = [t for t in tokens | {SECRET} if t in seen or t[8:24] in seen]
    assert not leaked


def test_210_007_config_check_refuses_a_secret_in_the_yaml(it, workdir):
    bad = it.pki.dir / "intune-bad.yaml"  # beside the original: its relative paths hold
    text = it.pki.config.read_text().replace(f"      client_secret_file: {it.pki.dir / 'intune-secret'}\n",
                                             "      client_secret: inline-secret-value\n", 1)
    bad.write_text(text)
    p = h.run([h.SCEPTER, "config", "check", bad], check=False)
    assert p.returncode != 0
    assert "profiles.intune.intune.client_secret" in p.stderr + p.stdout
    assert "inline-secret-value" not in p.stderr + p.stdout
    good = h.run([h.SCEPTER, "config", "check", it.pki.config], check=False)
    assert good.returncode == 0 and SECRET not in good.stdout + good.stderr, good


@pytest.mark.parametrize("profile,failed", [("intune", None), ("intune_cert", None), ("intune_refused", "token"),
                                            ("intune_nodisc", "discovery"), ("intune_dead", "validateRequest")])
def test_210_008_intune_check_prints_each_stage(it, profile, failed):
    p = h.run([h.SCEPTER, "intune", "check", "--config", it.pki.config, "--profile", profile], check=False)
    stages = re.findall(r"^(token|discovery|validateRequest): (ok|FAILED): ", p.stdout, re.M)
    if failed is None:
        assert p.returncode == 0, p.stdout + p.stderr
        assert stages == [("token", "ok"), ("discovery", "ok"), ("validateRequest", "ok")], p.stdout
        assert "Intune answered Success" in p.stdout
        # the revocation sync is on by default: discovery names its service too
        assert re.search(r"^discovery: ok: .*PkiConnectorFEService = https://", p.stdout, re.M), p.stdout
    else:
        assert p.returncode == 1, p.stdout + p.stderr
        assert stages[-1] == (failed, "FAILED") and all(ok == "ok" for _, ok in stages[:-1]), p.stdout
        assert f"intune check failed at stage '{failed}'" in p.stderr
    tokens = set(it.svc.tokens) | {t for s in it.failing.values() for t in s.tokens}
    assert not [t for t in tokens | {SECRET} if t in p.stdout + p.stderr]


@pytest.mark.expect_log("SCP3003")
@pytest.mark.parametrize("rule,text", [({"validate": "500"}, r"^external_validation: ServiceUnavailable: .*HTTP 500"),
                                       ({"success": "500"}, r"NotificationFailed: .*HTTP 500")])
def test_210_009_a_500_from_intune_means_no_certificate(it, devices_dir, rule, text):
    """Microsoft's test matrix: a 500 on validateRequest or on the success
    notification stops issuance (a certificate already signed is withdrawn)."""
    it.svc.clear()
    it.svc.set(**rule)
    try:
        _, rep = enroll(it, devices_dir, "/scep-intune")
    finally:
        it.svc.set(validate="allow", success="ok")
    no_certificate(rep, text)
    _, rep = enroll(it, devices_dir, "/scep-intune", name="after")  # endpoints found again, enrollments go on
    assert rep["status"] == "SUCCESS", rep
    seq = [c["path"].rsplit("/", 1)[1] for c in it.svc.calls()]
    failed_call = "validateRequest" if "validate" in rule else "successNotification"
    assert "endpoints" in seq[seq.index(failed_call) + 1:], seq  # the error cleared the cached endpoints
    assert not it.svc.violations, it.svc.violations
