"""A worker that could not build what its profiles need (the store, the
status records, a validation service's client) fails closed: it stays up,
answers GetCACaps, and refuses every enrollment with a CertRep FAILURE (or
HTTP 503 where no CertRep fits), logging SCP1003 once and SCP1004 per
refused request - it never issues. The configuration tests (`nginx -t`,
`apache2 -t`, `scepter config check`) refuse what they can see in advance:
a header that is not "Name: value", a status_dir or a store the workers'
user cannot write.

The workers run as www-data. The masters check with owner, group and mode
bits; a directory that carries an ACL gets the benefit of the doubt there
(the master cannot tell without becoming www-data). The tests use such ACLs
to get a configuration past the master that each worker then finds it
cannot use, which is what SELinux, AppArmor, NFS or a later chmod do in
the field."""

from __future__ import annotations

import os
import pwd
import re
import struct
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h
from validation_service import ValidationService

RETRY_SECONDS = 5  # the core tries a failed start-up again at most this often

# POSIX ACL entry tags and the xattr layout (linux/posix_acl_xattr.h)
_ACL_USER_OBJ, _ACL_USER, _ACL_GROUP_OBJ, _ACL_MASK, _ACL_OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_ACL_UNDEFINED_ID = 0xFFFFFFFF


def deny_worker_by_acl(directory: Path) -> None:
    """rwx for everyone by the mode (what the master sees), nothing for
    www-data by an ACL entry (what its worker meets)."""
    os.chown(directory, 0, 0)
    os.chmod(directory, 0o777)
    uid = pwd.getpwnam(h.WORKER_USER).pw_uid
    entries = [(_ACL_USER_OBJ, 7, _ACL_UNDEFINED_ID), (_ACL_USER, 0, uid),
               (_ACL_GROUP_OBJ, 7, _ACL_UNDEFINED_ID), (_ACL_MASK, 7, _ACL_UNDEFINED_ID),
               (_ACL_OTHER, 7, _ACL_UNDEFINED_ID)]
    data = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(directory, "system.posix_acl_access", data)


def drop_acl(directory: Path) -> None:
    os.removexattr(directory, "system.posix_acl_access")


def extval_profile(challenge: str, validate_url: str, headers: list[str] | None = None) -> str:
    text = ("  extval:\n    templates_by_key_usage:\n      signature: signature\n"
            "      encryption: encryption\n      general_purpose: general_purpose\n"
            f"    challenge:\n      static: {challenge}\n"
            f"    external_validation:\n      validate_url: {validate_url}\n"
            "      timeout_ms: 2000\n      retries: 0\n")
    if headers is not None:
        text += "      headers:\n" + "".join(f"        - \"{x}\"\n" for x in headers)
    return text


@pytest.fixture(scope="module")
def fc(server_class, workdir):
    if os.geteuid() != 0:
        pytest.skip("needs root: the workers must run as another user than the master")
    svc = ValidationService().start()
    pki = h.Pki.create(workdir / "pki-fail-closed")
    yield SimpleNamespace(pki=pki, svc=svc, base=pki.config.read_text())
    svc.stop()


def write_config(fc, name: str, status_dir: Path | None = None, sqlite: Path | None = None,
                 headers: list[str] | None = None) -> Path:
    text = fc.base
    if sqlite is not None:
        text = re.sub(r"^(\s+sqlite:).*$", rf"\1 {sqlite}", text, count=1, flags=re.M)
    text += extval_profile(fc.pki.challenge, fc.svc.urls()["validate_url"], headers)
    if status_dir is not None:
        text += f"status_dir: {status_dir}\n"
    path = fc.pki.dir / f"{name}.yaml"
    path.write_text(text)
    return path


def start(server_class, workdir, config: Path, name: str) -> h.Server:
    n = server_class(workdir / f"{server_class.kind}-{name}", config,
                     locations=[("/scep", "extval"), ("/scep-default", None)])
    n.start()
    return n


def enroll(n: h.Server, workdir, devices_dir, fc, name: str):
    cacert = workdir / f"{name}-getcacert.der"
    r = h.get_op(n.port, "/scep", "GetCACert")
    assert r.status == 200, r
    cacert.write_bytes(r.body)
    client = h.TestClient(cacert, fc.pki.ca_cert)
    dev = h.Device.create(devices_dir, fc.pki.challenge)
    req = client.request(dev)
    reply = h.send_pki(n.port, "/scep", req.der)
    rep = client.reply(dev, req, reply.body) if reply.status == 200 else None
    return SimpleNamespace(http=reply, req=req, rep=rep, dev=dev)


def assert_refused_and_nothing_issued(e, fc) -> None:
    assert e.http.status == 200, f"HTTP {e.http.status}: {e.http.body[:300]!r}"
    assert e.rep["status"] == "FAILURE", e.rep
    assert e.rep["fail_info"] == "badRequest", e.rep
    assert "service_unavailable" in e.rep["fail_info_text"], e.rep
    records = [r for r in fc.pki.audit_records() if r.get("transaction_id") == e.req.transaction_id]
    steps = [r["step"] for r in records]
    assert "cert_issued" not in steps and "template_chosen" not in steps, steps
    # a failed step like every other FAILURE, so trace --failed and the enrollments page count it
    sent = [r for r in records if r["step"] == "response_sent"]
    assert len(sent) == 1 and sent[0]["outcome"] == "failed", records
    assert sent[0]["detail"].startswith("service_unavailable: "), sent
    assert not e.rep.get("cert_serial"), e.rep


def assert_alive(n: h.Server, workers: set) -> None:
    assert n.worker_pids() == workers and len(workers) == n.workers, (
        f"workers {sorted(workers)} -> {sorted(n.worker_pids())}\n{n.tail_log()}")
    caps = h.get_op(n.port, "/scep", "GetCACaps")
    assert caps.status == 200 and b"POSTPKIOperation" in caps.body, caps


# ---- the worker fails closed -------------------------------------------------

@pytest.mark.expect_log("SCP1003", "SCP1004")
def test_130_001_unwritable_status_dir_refuses_enrollment(fc, server_class, workdir, devices_dir):
    status = fc.pki.dir / "status-denied"
    status.mkdir()
    deny_worker_by_acl(status)
    fc.svc.clear()
    n = start(server_class, workdir, write_config(fc, "status-denied", status_dir=status), "status-denied")
    try:
        time.sleep(0.5)  # a worker that gives up exits right after its start-up
        workers = n.worker_pids()
        e = enroll(n, workdir, devices_dir, fc, "status-denied")
        assert_refused_and_nothing_issued(e, fc)
        # the validation service was never asked: the worker has no client for it
        assert not fc.svc.requests("validateRequest")
        log = "\n".join(n.log_since(0))
        assert re.search(rf"SCP1003 .*status_dir.*{re.escape(str(status))}", log), log
        assert re.search(rf"SCP1004 transaction {re.escape(e.req.transaction_id)}: "
                         r"PKIOperation answered FAILURE", log), log
        assert_alive(n, workers)
    finally:
        n.discard()


@pytest.mark.expect_log("SCP1003", "SCP1004")
def test_130_002_unreachable_store_refuses_and_heals(fc, server_class, workdir, devices_dir):
    state = fc.pki.dir / "state-denied"
    state.mkdir()
    deny_worker_by_acl(state)
    cfg = write_config(fc, "store-denied", sqlite=state / "scepter.db")
    n = start(server_class, workdir, cfg, "store-denied")
    try:
        time.sleep(0.5)
        workers = n.worker_pids()
        e = enroll(n, workdir, devices_dir, fc, "store-denied")
        assert_refused_and_nothing_issued(e, fc)
        log = "\n".join(n.log_since(0))
        assert re.search(rf"SCP1003 .*key 'store.sqlite': user '{h.WORKER_USER}' cannot write to "
                         rf"'{re.escape(str(state))}'", log), log
        # what has no CertRep is refused with 503: the CRL, here
        crl = h.http_request(n.port, "GET", "/scep/ca.crl")
        assert crl.status == 503, crl
        assert_alive(n, workers)

        # the problem goes away: the next request after the retry interval
        # builds everything and enrolls
        drop_acl(state)
        time.sleep(RETRY_SECONDS + 0.5)
        fc.svc.clear()
        e = enroll(n, workdir, devices_dir, fc, "store-healed")
        assert e.http.status == 200 and e.rep["status"] == "SUCCESS", e.rep
        assert len(fc.svc.requests("validateRequest")) == 1
        assert_alive(n, workers)
    finally:
        n.discard()


# ---- the configuration tests refuse what they can see ------------------------

def config_test(server_class, workdir, config: Path, name: str):
    n = server_class(workdir / f"configtest-{name}", config, gated=False,
                     locations=[("/scep", "extval")])
    p = n.config_test()
    return p.returncode, p.stdout + p.stderr


def scepter_check(config: Path, *options):
    p = h.run([h.SCEPTER, "config", "check", *options, config], check=False)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("header, why", [
    ("X-Api-Key 12345", "has no colon"),
    (": value", "has no name before the colon"),
    ("X Api: 1", "has a name that is not an HTTP token"),
])
def test_130_003_header_that_is_not_name_colon_value(fc, server_class, workdir, header, why):
    cfg = write_config(fc, "bad-header", headers=["Authorization: Bearer t0ken", header])
    line = cfg.read_text().splitlines().index(f"        - \"{header}\"") + 1
    expected = (f"{cfg.name}:{line}: key 'profiles.extval.external_validation.headers': "
                f"entry 2 {why}")
    for rc, out in (config_test(server_class, workdir, cfg, "bad-header"), scepter_check(cfg)):
        assert rc != 0, out
        assert expected in out, out
        assert "t0ken" not in out and "12345" not in out, "a header value was echoed:\n" + out


def test_130_004_status_dir_the_workers_cannot_write(fc, server_class, workdir):
    status = fc.pki.dir / "status-root-only"
    status.mkdir(exist_ok=True)
    os.chown(status, 0, 0)
    os.chmod(status, 0o555)
    cfg = write_config(fc, "status-root-only", status_dir=status)
    line = cfg.read_text().splitlines().index(f"status_dir: {status}") + 1
    for rc, out in (config_test(server_class, workdir, cfg, "status-root-only"),
                    scepter_check(cfg, "--worker-user", h.WORKER_USER)):
        assert rc != 0, out
        assert (f"{cfg.name}:{line}: key 'status_dir': user '{h.WORKER_USER}' cannot write to "
                f"'{status}'") in out, out


def test_130_005_store_behind_a_directory_the_workers_cannot_enter(fc, server_class, workdir):
    locked = fc.pki.dir / "locked"
    (locked / "state").mkdir(parents=True, exist_ok=True)
    h.chown_worker(locked / "state")
    os.chown(locked, 0, 0)
    os.chmod(locked, 0o700)
    cfg = write_config(fc, "store-locked", sqlite=locked / "state" / "scepter.db")
    for rc, out in (config_test(server_class, workdir, cfg, "store-locked"),
                    scepter_check(cfg, "--worker-user", h.WORKER_USER)):
        assert rc != 0, out
        assert (f"key 'store.sqlite': user '{h.WORKER_USER}' cannot enter '{locked}' on the way to "
                f"'{locked / 'state'}'") in out, out
    rc, out = scepter_check(cfg)  # root can: without --worker-user the check is the current user's
    assert rc == 0, out
