"""A store that cannot be written fails closed and heals; a store that
disappeared is never silently replaced by an empty one.

- The store made unwritable while the server runs (immutable files: the
  workers' open descriptors see it at once, unlike a chmod, which only
  affects the next open) or the disk under it full (once a commit needs a
  block the disk no longer has): PKIOperation gets a
  signed CertRep FAILURE (badRequest, "store_unavailable"), never HTTP 500,
  the error log carries SCP4001, the workers stay up; once the store is
  writable again the next enrollment succeeds without a restart.
- The store file deleted while the server runs: enrollments are refused the
  same way (writes would land in an unlinked file), and the configuration
  tests (`nginx -t`, `apache2 -t`, `scepter config check`) refuse to start
  an empty store in its place, naming the marker that shows one existed."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h


@pytest.fixture
def sf(server_class, workdir, request):
    if os.geteuid() != 0:
        pytest.skip("needs root: chattr, mount and a worker user")
    name = request.node.name.split("[")[0].replace("test_", "")
    pki = h.Pki.create(workdir / f"pki-{name}-{server_class.kind}")
    return SimpleNamespace(pki=pki, name=name, store=pki.state_dir / "scepter.db")


def use_state_dir(sf, state: Path) -> None:
    """Points the PKI's configuration at a store in `state`."""
    text = re.sub(r"^(\s+sqlite:).*$", rf"\1 {state}/scepter.db", sf.pki.config.read_text(),
                  count=1, flags=re.M)
    sf.pki.config.write_text(text)
    sf.store = state / "scepter.db"


def enroll(n: h.Server, workdir, devices_dir, sf, label: str):
    cacert = workdir / f"{sf.name}-{n.kind}-{label}-getcacert.der"
    r = h.get_op(n.port, "/scep", "GetCACert")
    assert r.status == 200, r
    cacert.write_bytes(r.body)
    client = h.TestClient(cacert, sf.pki.ca_cert)
    dev = h.Device.create(devices_dir, sf.pki.challenge)
    req = client.request(dev)
    reply = h.send_pki(n.port, "/scep", req.der)
    assert reply.status == 200, f"HTTP {reply.status}: {reply.body[:300]!r}\n{n.tail_log()}"
    return SimpleNamespace(req=req, rep=client.reply(dev, req, reply.body))


def enroll_until_refused(n: h.Server, workdir, devices_dir, sf, most: int = 40):
    """Enrolls until the full disk refuses one. A worker's background
    checkpoint resets the write-ahead log, so the next few commits may still
    fit into blocks SQLite already holds: those succeed, durably. The first
    that needs a new block must be refused as a whole."""
    for i in range(most):
        e = enroll(n, workdir, devices_dir, sf, f"full-{i}")
        if e.rep["status"] != "SUCCESS":
            return e
    raise AssertionError(f"{most} enrollments on a full disk all succeeded")


def assert_store_refused(e, n: h.Server, since: int) -> None:
    assert e.rep["status"] == "FAILURE", e.rep
    assert e.rep["fail_info"] == "badRequest", e.rep
    assert "store_unavailable: the certificate store cannot be written" in e.rep["fail_info_text"], e.rep
    assert not e.rep.get("cert_serial"), e.rep
    log = "\n".join(n.log_since(since))
    assert re.search(r"SCP4001 .*PKIOperation answered FAILURE: the store cannot be written", log), log


def assert_alive(n: h.Server, workers: set) -> None:
    assert n.worker_pids() == workers, f"{sorted(workers)} -> {sorted(n.worker_pids())}\n{n.tail_log()}"


def chattr(flag: str, *paths: Path) -> None:
    h.run(["chattr", flag, *[str(p) for p in paths if p.exists()]])


def store_files(store: Path) -> list[Path]:
    return [store, Path(f"{store}-wal")]


@pytest.mark.expect_log("SCP4001", "SCP3003")
def test_135_001_unwritable_store_fails_closed_and_heals(sf, server_class, workdir, devices_dir):
    n = server_class(workdir / f"{server_class.kind}-{sf.name}", sf.pki.config)
    n.start()
    try:
        first = enroll(n, workdir, devices_dir, sf, "before")
        assert first.rep["status"] == "SUCCESS", first.rep
        workers = n.worker_pids()
        since = n.log_size()
        chattr("+i", *store_files(sf.store))
        try:
            e = enroll(n, workdir, devices_dir, sf, "immutable")
            assert_store_refused(e, n, since)
            crl = h.http_request(n.port, "GET", "/scep/ca.crl")
            assert crl.status in (200, 503), crl  # 200 when a current CRL needs no write
            assert_alive(n, workers)
        finally:
            chattr("-i", *store_files(sf.store))
        e = enroll(n, workdir, devices_dir, sf, "healed")
        assert e.rep["status"] == "SUCCESS", e.rep
        assert_alive(n, workers)
    finally:
        n.discard()


@pytest.mark.expect_log("SCP4001", "SCP3003")
def test_135_002_full_disk_fails_closed_and_heals(sf, server_class, workdir, devices_dir):
    state = workdir / f"tmpfs-{server_class.kind}"
    state.mkdir()
    h.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(state)])
    try:
        h.chown_worker(state)
        use_state_dir(sf, state)
        n = server_class(workdir / f"{server_class.kind}-{sf.name}", sf.pki.config)
        n.start()
        try:
            first = enroll(n, workdir, devices_dir, sf, "before")
            assert first.rep["status"] == "SUCCESS", first.rep
            workers = n.worker_pids()
            since = n.log_size()
            filler = state / "filler"
            h.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], check=False)
            e = enroll_until_refused(n, workdir, devices_dir, sf)
            assert_store_refused(e, n, since)
            assert_alive(n, workers)
            filler.unlink()
            e = enroll(n, workdir, devices_dir, sf, "healed")
            assert e.rep["status"] == "SUCCESS", e.rep
            assert_alive(n, workers)
        finally:
            n.discard()
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def config_refusals(n: h.Server, sf) -> list[str]:
    test = n.config_test()
    check = h.run([h.SCEPTER, "config", "check", sf.pki.config], check=False)
    assert test.returncode != 0 and check.returncode != 0, (test, check)
    return [test.stdout + test.stderr, check.stdout + check.stderr]


@pytest.mark.expect_log("SCP4001", "SCP3003", "SCP1002", "is missing")
def test_135_003_deleted_store_is_refused_not_recreated(sf, server_class, workdir, devices_dir):
    n = server_class(workdir / f"{server_class.kind}-{sf.name}", sf.pki.config)
    n.start()
    try:
        first = enroll(n, workdir, devices_dir, sf, "before")
        assert first.rep["status"] == "SUCCESS", first.rep
        workers = n.worker_pids()
        marker = Path(f"{sf.store}-created")
        assert marker.exists()
        since = n.log_size()
        sf.store.unlink()
        e = enroll(n, workdir, devices_dir, sf, "deleted")
        assert_store_refused(e, n, since)
        assert_alive(n, workers)
        expected = (f"the store {sf.store} is missing, but {marker} shows one was created there; "
                    "refusing to start an empty store")
        for out in config_refusals(n, sf):
            assert expected in out, out
        # the reload is refused too: the old generation keeps running, no empty store appears
        n.ctl_reload(check=False)
        time.sleep(1)
        assert not sf.store.exists()
        assert n.worker_pids() == workers, n.tail_log()
    finally:
        n.discard()


def test_135_004_fresh_state_directory_creates_the_store(sf, server_class, workdir, devices_dir):
    state = workdir / f"fresh-{server_class.kind}"
    state.mkdir()
    h.chown_worker(state)
    use_state_dir(sf, state)
    n = server_class(workdir / f"{server_class.kind}-{sf.name}", sf.pki.config)
    n.start()
    try:
        e = enroll(n, workdir, devices_dir, sf, "fresh")
        assert e.rep["status"] == "SUCCESS", e.rep
        assert sf.store.exists() and Path(f"{sf.store}-created").exists()
    finally:
        n.discard()


@pytest.mark.expect_log("SCP3005", "SCP3003")
def test_135_005_an_internal_failure_keeps_what_was_logged(sf, server_class, workdir, devices_dir):
    """A fault that is nobody's to expect (here the store refusing the
    certificate row by a trigger, as a broken database would) answers 500,
    and what the enrollment logged up to then is not lost with it: the audit
    trail names the step that failed, the error log says why with SCP3005,
    and nothing was stored."""
    import sqlite3
    n = server_class(workdir / f"{server_class.kind}-{sf.name}", sf.pki.config)
    n.start()
    try:
        assert enroll(n, workdir, devices_dir, sf, "before").rep["status"] == "SUCCESS"
        since = n.log_size()
        with sqlite3.connect(sf.store) as db:
            count = db.execute("SELECT COUNT(*) FROM certificates").fetchone()[0]
            db.execute("CREATE TRIGGER broken BEFORE INSERT ON certificates "
                       "BEGIN SELECT RAISE(ABORT, 'the test breaks this table'); END")
        try:
            cacert = workdir / f"{sf.name}-{n.kind}-getcacert.der"
            cacert.write_bytes(h.get_op(n.port, "/scep", "GetCACert").body)
            client = h.TestClient(cacert, sf.pki.ca_cert)
            req = client.request(h.Device.create(devices_dir, sf.pki.challenge))
            reply = h.send_pki(n.port, "/scep", req.der)
            assert reply.status == 500, reply
        finally:
            with sqlite3.connect(sf.store) as db:
                db.execute("DROP TRIGGER broken")
        log = "\n".join(n.log_since(since))
        assert re.search(r"SCP3005 .*PKIOperation failed in step cert_issued: .*the test breaks this table", log), log
        steps = [(r["step"], r["outcome"]) for r in sf.pki.audit_records() if r.get("transaction_id") == req.transaction_id]
        assert ("template_chosen", "ok") in steps and steps[-1] == ("cert_issued", "failed"), steps
        with sqlite3.connect(sf.store) as db:
            assert db.execute("SELECT COUNT(*) FROM certificates").fetchone()[0] == count
        assert enroll(n, workdir, devices_dir, sf, "after").rep["status"] == "SUCCESS"
    finally:
        n.discard()
