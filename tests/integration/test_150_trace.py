"""`scepter trace` on the trail the real servers wrote: enrollments that
succeed and fail in the ways admins meet (wrong challenge, expired
challenge, tampered signature, a request encrypted to a certificate that is
not our RA's), each traced by its transaction ID (text and --json), found
by subject, serial and address, and grouped by --failed. The GetCACaps and
GetCACert before an enrollment appear in its timeline."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

import pytest

import harness as h

STRICT = "/scep-strict"  # the default profile: one-time challenges and a static one


def trace(pki, *args, check=True):
    return h.run([h.SCEPTER, "trace", "--config", pki.config, *args], check=check)


def trace_json(pki, *args) -> dict:
    return json.loads(trace(pki, *args, "--json").stdout)


@pytest.fixture(scope="module")
def story(pki, port, client, workdir, server_kind):
    """The enrollments every test here traces, sent once per server."""
    base = workdir / "devices" / "test_150"
    base.mkdir(parents=True, exist_ok=True)

    def send(device, name, **kw):
        req = client.request(device, name=name, **kw)
        r = h.send_pki(port, STRICT, req.der)
        rep = client.reply(device, req, r.body, name=f"{name}-reply") if r.status == 200 else None
        return h.Enrollment(r, req, rep)

    def one_time():
        return h.run([h.SCEPTER, "challenge", "--config", pki.config, "--profile", "default",
                      "--user", "trace-test"]).stdout.strip()

    # A device asks for the CA's capabilities and certificates, then enrolls.
    assert h.get_op(port, STRICT, "GetCACaps").status == 200
    assert h.get_op(port, STRICT, "GetCACert").status == 200
    ok_dev = h.Device.create(base, pki.challenge, cn=f"trace-ok-{server_kind}")
    ok = send(ok_dev, "ok")
    cert = h.check_issued(ok, ok_dev, pki.ca_cert)

    wrong = send(h.Device.create(base, "definitely-wrong", cn=f"trace-wrong-{server_kind}"), "wrong")
    h.check_failure(wrong, "badRequest")

    expired_challenge = one_time()
    with sqlite3.connect(pki.state_dir / "scepter.db") as db:
        db.execute("UPDATE challenges SET expires_at = 1 WHERE id = ?", (h.challenge_id(expired_challenge),))
    expired = send(h.Device.create(base, expired_challenge, cn=f"trace-expired-{server_kind}"), "expired")
    h.check_failure(expired, "badRequest")

    stale = send(h.Device.create(base, pki.challenge, cn=f"trace-stale-{server_kind}"), "stale",
                 recipient=pki.ca_cert)
    h.check_failure(stale, "badMessageCheck")

    tampered_dev = h.Device.create(base, pki.challenge, cn=f"trace-tampered-{server_kind}")
    req = client.request(tampered_dev, name="tampered")
    r = h.post_pki(port, STRICT, client.tamper(req, "signature"))
    assert r.status == 200, f"HTTP {r.status}: {r.body[:200]!r}"

    return SimpleNamespace(ok=ok, cert=cert, ok_dev=ok_dev, wrong=wrong, expired=expired, stale=stale,
                           tampered_id=req.transaction_id)


# Sending the story's failures logs SCP3003 in whichever test uses it first.
pytestmark = pytest.mark.expect_log("SCP3003")


def test_150_001_success_timeline_with_the_requests_before_it(pki, story):
    out = trace(pki, story.ok.req.transaction_id).stdout
    assert "outcome:       issued" in out, out
    assert "(same client, before)" in out, out
    for step in ("get_ca_caps", "get_ca_cert", "message_parsed", "envelope_decrypted", "csr_checked",
                 "template_chosen", "cert_issued", "response_sent"):
        assert step in out, f"{step} missing:\n{out}"
    assert f"CN={story.ok_dev.cn}" in out, out
    assert "FAILED" not in out and ">>" not in out, out

    doc = trace_json(pki, story.ok.req.transaction_id)
    s = doc["summary"]
    assert s["outcome"] == "issued" and s["client_ip"] == "127.0.0.1", s
    assert h.norm_serial(s["serial"]) == h.norm_serial(story.ok.rep["cert_serial"]), s
    assert s["template"], s
    rows = doc["timeline"]
    linked = [r["entry"]["operation"] for r in rows if r["linked"]]
    assert linked[-2:] == ["GetCACaps", "GetCACert"], rows
    assert rows[0]["offset_ms"] == 0 and all(r["offset_ms"] >= 0 for r in rows), rows
    steps = [r for r in rows if not r["linked"]]
    assert steps[0]["entry"]["step"] == "message_parsed" and steps[0]["duration_ms"] is None, steps[0]
    assert all(r["duration_ms"] is not None and r["duration_ms"] >= 0 for r in steps[1:]), steps
    assert not any(r["failure"] for r in rows), rows


@pytest.mark.parametrize("case,step,key,cause", [
    ("wrong", "challenge_password", "ChallengePasswordMismatch", "The challenge password is wrong"),
    ("expired", "challenge_lookup", "ChallengeExpired", "after the challenge's lifetime"),
    ("stale", "envelope_decrypted", "DecryptFailed", "stale GetCACert"),
    ("tampered", "message_parsed", "SignatureInvalid", "signature does not verify"),
])
def test_150_002_the_failing_step_and_its_hint(pki, story, case, step, key, cause):
    tx = story.tampered_id if case == "tampered" else getattr(story, case).req.transaction_id
    out = trace(pki, tx).stdout
    assert f"outcome:       failed at {step}:" in out, out
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and f" {step} " in failed[0], out
    assert f">> {key}: " in out and cause in out and ">> check: " in out, out

    doc = trace_json(pki, tx)
    assert doc["summary"]["outcome"] == "failed" and doc["summary"]["failed_step"] == step, doc["summary"]
    bad = [r for r in doc["timeline"] if r["failure"]]
    assert len(bad) == 1 and bad[0]["entry"]["step"] == step, bad
    assert bad[0]["hint"]["key"] == key and cause in bad[0]["hint"]["cause"], bad[0]
    last = doc["timeline"][-1]["entry"]
    assert last["step"] == "response_sent" and last["fields"]["pki_status"] == "FAILURE", last


def test_150_003_failed_groups_by_step_and_reason(pki, story):
    doc = trace_json(pki, "--failed", "--since", "1h")
    groups = {(g["step"], g["reason"]): g for g in doc["groups"]}
    for (step, reason, tx) in [("challenge_password", "ChallengePasswordMismatch", story.wrong.req.transaction_id),
                               ("challenge_lookup", "ChallengeExpired", story.expired.req.transaction_id),
                               ("envelope_decrypted", "DecryptFailed", story.stale.req.transaction_id),
                               ("message_parsed", "SignatureInvalid", story.tampered_id)]:
        g = groups.get((step, reason))
        assert g is not None, f"no group {step}/{reason} in {list(groups)}"
        assert g["count"] >= 1 and g["hint"]["key"] == reason, g
        assert tx in g["transaction_ids"] or g["count"] > 3, g
    assert doc["failures"] >= 4, doc
    counts = [g["count"] for g in doc["groups"]]
    assert counts == sorted(counts, reverse=True), counts
    out = trace(pki, "--failed", "--since", "1h").stdout
    assert "challenge_lookup: ChallengeExpired (badRequest)" in out, out
    assert "cause:" in out and "check:" in out, out


def test_150_004_find_by_subject_serial_and_client(pki, story):
    ok_tx = story.ok.req.transaction_id
    by_subject = trace_json(pki, "--subject", f"CN={story.ok_dev.cn}")
    assert [e["transaction_id"] for e in by_subject["enrollments"]] == [ok_tx], by_subject
    assert by_subject["enrollments"][0]["outcome"] == "issued", by_subject

    serial = story.ok.rep["cert_serial"].lower().lstrip("0")
    by_serial = trace_json(pki, "--serial", serial)
    assert ok_tx in [e["transaction_id"] for e in by_serial["enrollments"]], by_serial

    by_client = trace_json(pki, "--client", "127.0.0.1", "--since", "1h", "--limit", "1000")
    found = {e["transaction_id"]: e for e in by_client["enrollments"]}
    assert found[ok_tx]["outcome"] == "issued", found[ok_tx]
    assert found[story.wrong.req.transaction_id]["failed_step"] == "challenge_password", found
    out = trace(pki, "--subject", story.ok_dev.cn).stdout
    assert ok_tx in out and "issued" in out, out


def test_150_005_unknown_id_and_usage(pki, story):
    p = trace(pki, "no-such-transaction", check=False)
    assert p.returncode == 1 and "no audit line" in p.stderr, p
    p = trace(pki, "--failed", "--since", "yesterday", check=False)
    assert p.returncode == 2 and "--since" in p.stderr, p
    p = h.run([h.SCEPTER, "trace", story.ok.req.transaction_id], check=False)
    assert p.returncode == 2 and "--config" in p.stderr, p
    # --audit-log reads the same trail without the configuration
    p = h.run([h.SCEPTER, "trace", "--audit-log", pki.audit_log, story.ok.req.transaction_id])
    assert "outcome:       issued" in p.stdout, p.stdout
