"""Revocation that follows the MDM, on the real servers (per server kind):
the admin location's ?operation=revoke (JSON) revokes by subject and by
device identifier (a SAN value), and the CRL (`openssl crl`) and the OCSP
responder (`openssl ocsp`) both say revoked right after; `scepter certs
revoke --subject` does the same from the command line; the Jamf-style
?operation=challenge_webhook returns a one-time challenge that enrolls; bad
JSON and unknown fields are 400 with a precise message, and an
unauthenticated caller is refused."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

import harness as h

ADMIN_USER, ADMIN_PASSWORD = "mdm", "s3cret-Revoke"
AUTH = {"Authorization": "Basic " + __import__("base64").b64encode(
    f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()}

WEBHOOK_PROFILE = ("  webhook:\n    templates_by_key_usage:\n      signature: signature\n"
                   "      encryption: encryption\n      general_purpose: general_purpose\n"
                   "    challenge:\n      one_time: {validity_minutes: 60, max_per_requester: 0}\n")


@pytest.fixture(scope="module")
def mdm(server_class, workdir):
    pki = h.Pki.create(workdir / "pki-mdm")
    port = h.free_port()
    url = f"http://127.0.0.1:{port}/ocsp"
    text = pki.config.read_text()
    pki.config.write_text(text.replace("profiles:\n", "profiles:\n" + WEBHOOK_PROFILE, 1)
                          + f"\nocsp:\n  url: {url}\n")
    htpasswd = workdir / "mdm.htpasswd"
    hashed = h.run(["openssl", "passwd", "-apr1", ADMIN_PASSWORD]).stdout.strip()
    htpasswd.write_text(f"{ADMIN_USER}:{hashed}\n")
    htpasswd.chmod(0o644)
    locations = [("/scep", "legacy"), ("/scep-webhook", "webhook"), h.OcspLocation("/ocsp"),
                 h.AdminLocation("/admin", "admin", None, htpasswd),
                 h.AdminLocation("/admin-webhook", "admin", "webhook", htpasswd),
                 h.AdminLocation("/admin-open", "admin", None, None)]
    server = server_class(workdir / f"{server_class.kind}-mdm", pki.config, port=port, locations=locations)
    server.start()
    cacert = workdir / "mdm-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, url=url, client=h.TestClient(cacert, pki.ca_cert))
    server.discard()


def enroll(mdm, devices_dir, path="/scep", challenge=None, **kw):
    """(certificate path, serial) of a fresh enrollment."""
    dev = h.Device.create(devices_dir, challenge or mdm.pki.challenge, **kw)
    req = mdm.client.request(dev)
    r = h.send_pki(mdm.server.port, path, req.der)
    rep = mdm.client.reply(dev, req, r.body) if r.status == 200 else None
    cert = h.check_issued(h.Enrollment(r, req, rep), dev, mdm.pki.ca_cert)
    return cert, rep["cert_serial"]


def admin(mdm, operation, body: bytes | None, auth=True, method="POST", path="/admin"):
    headers = dict(AUTH) if auth else {}
    headers["Content-Type"] = "application/json"
    return h.http_request(mdm.server.port, method, f"{path}?operation={operation}", body=body, headers=headers)


def revoke_json(mdm, order: dict):
    r = admin(mdm, "revoke", json.dumps(order).encode())
    assert r.status == 200, (r.status, r.body[:300])
    assert r.content_type == "application/json", r.headers
    return json.loads(r.body)


def crl_serials(mdm) -> set[str]:
    return h.served_crl(mdm.server.port, mdm.pki.ca_cert, mdm.pki.dir / "mdm-served.crl")[0]


def ocsp_status(mdm, cert) -> str:
    return h.ocsp_status(mdm.pki.ca_cert, cert, mdm.url)


def wait_ocsp(mdm, cert, wanted, timeout=5.0) -> str:
    """A revocation reaches every worker within ocsp.revocation_check_ms."""
    deadline = time.monotonic() + timeout
    while True:
        status = ocsp_status(mdm, cert)
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def audited_revocations(mdm, serial) -> list[dict]:
    return [r for r in mdm.pki.audit_records()
            if r.get("step") == "cert_revoked" and h.norm_serial(r.get("serial", "")) == h.norm_serial(serial)]


def test_195_001_revoke_by_subject_crl_and_ocsp_agree(mdm, devices_dir):
    cn = "mdm-laptop-subject"
    first, s1 = enroll(mdm, devices_dir, cn=cn)
    kept, s_kept = enroll(mdm, devices_dir, cn=cn + "-other")
    assert ocsp_status(mdm, first) == "good"
    # a second certificate of the same device (a re-enrollment) goes too
    dev2 = h.Device.create(devices_dir / "again", mdm.pki.challenge, cn=cn)
    req = mdm.client.request(dev2)
    rep = mdm.client.reply(dev2, req, h.send_pki(mdm.server.port, "/scep", req.der).body)
    second, s2 = rep["_cert_path"], rep["cert_serial"]
    answer = revoke_json(mdm, {"subject": cn, "reason": "cessationOfOperation"})
    assert {h.norm_serial(s) for s in answer["revoked"]} == {h.norm_serial(s1), h.norm_serial(s2)}, answer
    assert answer["reason"] == "cessationOfOperation" and isinstance(answer["crl_number"], int), answer
    listed = crl_serials(mdm)
    assert h.norm_serial(s1) in listed and h.norm_serial(s2) in listed and h.norm_serial(s_kept) not in listed
    assert wait_ocsp(mdm, first, "revoked") == "revoked"
    assert wait_ocsp(mdm, second, "revoked") == "revoked"
    assert ocsp_status(mdm, kept) == "good"
    records = audited_revocations(mdm, s1)
    assert len(records) == 1 and records[0].get("reason") == "5", records
    # again: nothing left to revoke, still 200
    assert revoke_json(mdm, {"subject": cn})["revoked"] == []


def test_195_002_revoke_by_device_id_and_by_serial(mdm, devices_dir):
    device_id = "dev-4711.mdm.example"
    cert, serial = enroll(mdm, devices_dir, extensions={"subjectAltName": f"DNS:{device_id}"})
    near, s_near = enroll(mdm, devices_dir, extensions={"subjectAltName": f"DNS:x{device_id}"})
    answer = revoke_json(mdm, {"device_id": device_id})
    assert [h.norm_serial(s) for s in answer["revoked"]] == [h.norm_serial(serial)], answer
    assert h.norm_serial(serial) in crl_serials(mdm)
    assert wait_ocsp(mdm, cert, "revoked") == "revoked"
    assert ocsp_status(mdm, near) == "good"  # exact on one SAN entry, never a substring
    by_serial = revoke_json(mdm, {"serial": s_near, "reason": "keyCompromise"})
    assert [h.norm_serial(s) for s in by_serial["revoked"]] == [h.norm_serial(s_near)], by_serial
    assert wait_ocsp(mdm, near, "revoked") == "revoked"
    assert revoke_json(mdm, {"serial": s_near})["already_revoked"] != []
    unknown = admin(mdm, "revoke", b'{"serial": "0DEADBEEF0"}')
    assert unknown.status == 404, (unknown.status, unknown.body)


def test_195_003_cli_revokes_by_subject(mdm, devices_dir):
    cn = "mdm-cli-subject"
    cert, serial = enroll(mdm, devices_dir, cn=cn)
    out = h.run([h.SCEPTER, "certs", "revoke", "--config", mdm.pki.config, "--subject", cn,
                 "--reason", "affiliationChanged"]).stdout
    assert h.norm_serial(out.split(":")[0]) == h.norm_serial(serial), out
    assert "1 revoked; CRL" in out, out
    assert h.norm_serial(serial) in crl_serials(mdm)
    assert wait_ocsp(mdm, cert, "revoked") == "revoked"
    assert len(audited_revocations(mdm, serial)) == 1


@pytest.mark.expect_log("SCP3003")  # the challenge used a second time
def test_195_004_webhook_challenge_enrolls(mdm, devices_dir):
    # Jamf Pro posts a JSON description of the device; the answer is the challenge.
    r = admin(mdm, "challenge_webhook", b'{"device": {"serialNumber": "C02XYZ"}}', path="/admin-webhook")
    assert r.status == 200, (r.status, r.body)
    assert r.content_type.startswith("text/plain"), r.headers
    challenge = r.text().strip()
    assert challenge and "\n" not in challenge
    cert, serial = enroll(mdm, devices_dir, path="/scep-webhook", challenge=challenge)
    issued = [x for x in mdm.pki.audit_records() if x.get("step") == "challenge_issued"]
    assert issued and issued[-1].get("operation") == "challenge_webhook", issued[-1:]
    # one time only
    dev = h.Device.create(devices_dir, challenge)
    req = mdm.client.request(dev)
    rep = mdm.client.reply(dev, req, h.send_pki(mdm.server.port, "/scep-webhook", req.der).body)
    assert rep.get("status") == "FAILURE", rep
    # who enrolled (the webhook's authenticated caller) revokes by requester
    out = h.run([h.SCEPTER, "certs", "revoke", "--config", mdm.pki.config, "--requester", ADMIN_USER]).stdout
    assert h.norm_serial(out.split(":")[0]) == h.norm_serial(serial) and "1 revoked" in out, out
    assert wait_ocsp(mdm, cert, "revoked") == "revoked"


@pytest.mark.expect_log("SCP3011")
@pytest.mark.parametrize("body, words", [
    (b"{", "not a flat JSON object"),
    (b'{"subject": "a", "colour": "red"}', 'unknown field "colour"'),
    (b'{"subject": 7}', 'field "subject" must be a string'),
    (b'{"subject": "a", "serial": "01"}', "give one of serial, subject and device_id"),
    (b'{"reason": "keyCompromise"}', "names no serial, subject or device_id"),
    (b'{"subject": "a", "reason": "removeFromCRL"}', "reason must be one of"),
    (b'[]', "not a flat JSON object"),
])
def test_195_005_bad_json_is_400_with_a_precise_message(mdm, body, words):
    offset = mdm.server.log_size()
    r = admin(mdm, "revoke", body)
    assert r.status == 400, (r.status, r.body)
    assert words in json.loads(r.body)["error"], r.body
    assert any("SCP3011" in line for line in mdm.server.log_since(offset))


@pytest.mark.expect_log("SCP3007", "SCP3011", "no user")
def test_195_006_refusals(mdm):
    offset = mdm.server.log_size()
    # the web server's authentication: 401; a location without any: the core's 403
    assert admin(mdm, "revoke", b'{"subject": "x"}', auth=False).status == 401
    assert admin(mdm, "challenge_webhook", b"{}", auth=False, path="/admin-webhook").status == 401
    assert admin(mdm, "revoke", b'{"subject": "x"}', auth=False, path="/admin-open").status == 403
    assert admin(mdm, "challenge_webhook", b"{}", auth=False, path="/admin-open").status == 403
    assert admin(mdm, "revoke", None, method="GET").status == 405
    big = admin(mdm, "revoke", b'{"subject": "' + b"a" * 5000 + b'"}')
    assert big.status == 413, big.status
    assert admin(mdm, "frobnicate", b"{}").status == 400
    assert mdm.server.log_since(offset)  # the refusals were logged (SCP3011), no 5xx
