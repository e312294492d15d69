"""Operating the audit trail: logrotate's rename, then the server's reopen
(`nginx -s reopen`, Apache's graceful restart), loses no line, even with
requests arriving while it happens; and `audit: get_requests:` thins out
GetCACaps/GetCACert lines while every PKIOperation step is still written."""

from __future__ import annotations

import json
import pwd
import re
import threading
import time
from pathlib import Path

import pytest

import harness as h

PATH = "/scep-strict"


@pytest.fixture(scope="module")
def rot(server_class, workdir, client):
    pki = h.Pki.create(workdir / "pki-audit-ops")
    server = server_class(workdir / f"{server_class.kind}-audit-ops", pki.config,
                          locations=[(PATH, None)])
    server.start()
    cacert = workdir / "audit-ops-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, PATH, "GetCACert").body)
    yield type("Rot", (), {"pki": pki, "server": server, "client": h.TestClient(cacert, pki.ca_cert)})
    server.discard()


def lines_of(path: Path) -> list[str]:
    return [l for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def enroll(rot, devices_dir, name) -> str:
    dev = h.Device.create(devices_dir, rot.pki.challenge, cn=name)
    req = rot.client.request(dev)
    r = h.send_pki(rot.server.port, PATH, req.der)
    h.check_issued(h.Enrollment(r, req, rot.client.reply(dev, req, r.body)), dev, rot.pki.ca_cert)
    return req.transaction_id


def reopen_command(server: h.Server) -> list[str]:
    """What logrotate's postrotate runs for this server: `nginx -s reopen`
    (invoke-rc.d nginx rotate), `apache2 -k graceful` (invoke-rc.d apache2
    reload)."""
    return server.cmd("-s", "reopen") if server.kind == "nginx" else server.cmd("-k", "graceful")


def reopened(server: h.Server, send) -> None:
    """Runs send(), which makes the server reopen, and waits until it has."""
    before, old = server.log_size(), server.worker_pids()
    send()
    if server.kind == "apache":
        server.wait_reloaded(old)  # a new generation opens the file afresh
        return
    # the master, then every worker: each says so once it has reopened
    deadline = time.time() + 15
    while time.time() < deadline:
        if sum("SCP7102" in l for l in server.log_since(before)) >= server.workers + 1:
            return
        time.sleep(0.05)
    raise AssertionError("no reopen in every nginx process:\n" + server.tail_log())


def reopen(server: h.Server) -> None:
    reopened(server, lambda: h.run(reopen_command(server), env=h.server_env()))


def test_157_001_rename_and_reopen_lose_no_line(rot, devices_dir):
    audit = rot.pki.audit_log
    rotated = audit.with_name(audit.name + ".1")
    k_before = len(lines_of(audit))
    assert not rotated.exists()
    tx_before = [enroll(rot, devices_dir, f"rotate-before-{i}") for i in range(2)]

    # GetCACaps all along, while the file is renamed and reopened: each
    # answer wrote one line, to the old file or to the new one.
    answered, uncertain = [0], [0]  # a connection cut mid-answer may or may not have its line
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                ok = h.get_op(rot.server.port, PATH, "GetCACaps").status == 200
            except OSError:
                uncertain[0] += 1
                continue
            if ok:
                answered[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        audit.rename(rotated)  # what logrotate does first
        time.sleep(0.2)        # lines keep going to the renamed file meanwhile
        reopen(rot.server)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    tx_after = [enroll(rot, devices_dir, f"rotate-after-{i}") for i in range(2)]

    old, new = lines_of(rotated), lines_of(audit)
    records = [json.loads(l) for l in old + new]  # every line whole
    assert answered[0] > 20, answered
    caps = sum(1 for r in records if r["operation"] == "GetCACaps")
    assert answered[0] <= caps <= answered[0] + uncertain[0], (caps, answered[0], uncertain[0])
    for tx in tx_before + tx_after:
        steps = [r["step"] for r in records if r.get("transaction_id") == tx]
        assert steps.count("response_sent") == 1 and "cert_issued" in steps, (tx, steps)
    # the enrollments after the reopen are in the new file only
    for tx in tx_after:
        assert not any(tx in l for l in old) and any(tx in l for l in new)
    print(f"\n{rot.server.kind}: {len(old)} lines in {rotated.name}, {len(new)} in {audit.name}, "
          f"{answered[0]} GetCACaps answered during the rotation, none lost")
    # the new file is the workers' (nginx's master gives it to them; Apache's
    # parent hands the file it created to the User)
    assert audit.stat().st_uid == pwd.getpwnam(h.WORKER_USER).pw_uid
    rotated.unlink()


def test_157_002_logrotate_with_the_shipped_example(rot, devices_dir, workdir):
    """examples/scepter.logrotate as logrotate runs it, pointed at this
    trail and this server (no `su`: the test's directory is root's)."""
    if h.which("logrotate") is None:
        pytest.fail("logrotate is not installed (scripts/test installs it)")
    audit = rot.pki.audit_log
    for old in audit.parent.glob(audit.name + ".*"):
        old.unlink()
    example = (h.REPO / "examples" / "scepter.logrotate").read_text()
    assert "copytruncate" not in example.replace("copytruncate would", "")
    conf = example.replace("/var/log/scepter/audit.log", str(audit))
    conf = re.sub(r"^\s*su .*\n", "", conf, flags=re.M)
    conf = re.sub(r"postrotate\n.*?endscript",
                  "postrotate\n\t\t" + " ".join(reopen_command(rot.server)) + "\n\tendscript",
                  conf, flags=re.S)
    (workdir / "scepter.logrotate").write_text(conf)
    before = [enroll(rot, devices_dir, f"logrotate-before-{i}") for i in range(2)]
    lines_before = len(lines_of(audit))
    reopened(rot.server, lambda: h.run(["logrotate", "-f", "-s", workdir / "logrotate.state",
                                        workdir / "scepter.logrotate"], env=h.server_env()))
    after = [enroll(rot, devices_dir, f"logrotate-after-{i}") for i in range(2)]
    rotated = audit.with_name(audit.name + ".1")  # delaycompress: the first rotation stays plain
    old, new = lines_of(rotated), lines_of(audit)
    assert len(old) == lines_before, (len(old), lines_before)
    for tx in before:
        assert any(tx in l for l in old) and not any(tx in l for l in new)
    for tx in after:
        assert any(tx in l for l in new) and not any(tx in l for l in old)
    st = audit.stat()
    assert st.st_uid == pwd.getpwnam(h.WORKER_USER).pw_uid and oct(st.st_mode & 0o777) == "0o640", st
    # scepter trace reads both files as one trail
    out = h.run([h.SCEPTER, "trace", "--config", rot.pki.config, before[0]]).stdout
    assert "issued" in out, out
    print(f"\n{rot.server.kind}: logrotate left {len(old)} lines in {rotated.name}, "
          f"{len(new)} in {audit.name}")
    rotated.unlink()


def test_157_003_get_requests_first_per_client_per_minute(rot, devices_dir):
    cfg = rot.pki.config
    original = cfg.read_text()
    try:
        cfg.write_text(original + "audit:\n  get_requests: first_per_client_per_minute\n")
        rot.server.reload()
        before = len(lines_of(rot.pki.audit_log))
        for _ in range(40):
            assert h.get_op(rot.server.port, PATH, "GetCACaps").status == 200
            assert h.get_op(rot.server.port, PATH, "GetCACert").status == 200
        tx = enroll(rot, devices_dir, "sampled-gets")
        records = [json.loads(l) for l in lines_of(rot.pki.audit_log)[before:]]
        caps = sum(1 for r in records if r["operation"] == "GetCACaps")
        certs = sum(1 for r in records if r["operation"] == "GetCACert")
        # one per worker process and minute (a minute may turn during the loop)
        assert 1 <= caps <= 2 * rot.server.workers and 1 <= certs <= 2 * rot.server.workers, (caps, certs)
        steps = [r["step"] for r in records if r.get("transaction_id") == tx]
        assert "message_parsed" in steps and "cert_issued" in steps and "response_sent" in steps, steps

        cfg.write_text(original + "audit:\n  get_requests: none\n")
        rot.server.reload()
        before = len(lines_of(rot.pki.audit_log))
        for _ in range(5):
            assert h.get_op(rot.server.port, PATH, "GetCACaps").status == 200
        assert not [l for l in lines_of(rot.pki.audit_log)[before:] if "GetCACaps" in l]
    finally:
        cfg.write_text(original)
        rot.server.reload()


def test_157_004_get_requests_is_strict(rot):
    cfg = rot.pki.dir / "bad-audit.yaml"
    cfg.write_text(rot.pki.config.read_text() + "audit:\n  get_requests: some\n")
    p = h.run([h.SCEPTER, "config", "check", cfg], check=False)
    assert p.returncode != 0 and "get_requests" in p.stdout + p.stderr, p
    assert "all, none or first_per_client_per_minute" in p.stdout + p.stderr, p
