"""`nginx -s reload` while devices enroll: no request fails, new workers
serve the new generation."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness as h

COUNT = 30
RELOADS = 3


def test_080_001_reload_during_enrollments(server, port, client, devices_dir, pki):
    with ThreadPoolExecutor(max_workers=4) as pool:
        devices = list(pool.map(
            lambda i: h.Device.create(devices_dir, pki.challenge, cn=f"reload-{i:02d}"),
            range(COUNT)))
        reqs = list(pool.map(lambda d: client.request(d), devices))

    replies = [None] * COUNT
    errors = []
    done = threading.Event()

    def stream():
        # a steady stream, two at a time, across the reloads
        def one(i):
            try:
                replies[i] = h.post_pki(port, "/scep-strict", reqs[i].der)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                errors.append(f"request {i}: {exc!r}")
        with ThreadPoolExecutor(max_workers=2) as pool:
            for i in range(COUNT):
                pool.submit(one, i)
                time.sleep(0.05)
        done.set()

    t = threading.Thread(target=stream)
    t.start()
    old_master = server.master_pid()
    for _ in range(RELOADS):
        time.sleep(0.3)
        server.reload()
    t.join(timeout=300)
    assert done.is_set(), "the enrollment stream did not finish"
    assert not errors, errors
    assert server.master_pid() == old_master

    for d, req, r in zip(devices, reqs, replies):
        rep = client.reply(d, req, r.body) if r.status == 200 else None
        h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)

    # and the new generation serves
    d = h.Device.create(devices_dir, pki.challenge, cn="after-reload")
    req = client.request(d)
    r = h.post_pki(port, "/scep", req.der)
    rep = client.reply(d, req, r.body) if r.status == 200 else None
    h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)


def test_080_002_reload_applies_config_changes(server, port, make_device, enroll, pki,
                                               expect_log):
    """A new challenge in the YAML takes effect on HUP, and only then."""
    expect_log("SCP3003")  # the old challenge is refused after the change
    original = pki.config.read_text()
    old = pki.challenge
    new = "reloaded-" + old[::-1]
    assert original.count(f"static: {old}") >= 1
    try:
        pki.config.write_text(original.replace(f"static: {old}", f"static: {new}"))
        # not yet: nginx still serves the old generation
        d = make_device(challenge=old)
        h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)
        server.reload()
        d = make_device(challenge=new)
        h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)
        d = make_device(challenge=old)
        h.check_failure(enroll(d, "/scep"), "badRequest")
    finally:
        pki.config.write_text(original)
        server.reload()
    d = make_device(challenge=old)
    h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)


def test_080_003_broken_config_on_reload_keeps_old_generation(server, port, make_device,
                                                              enroll, pki, expect_log):
    """A broken YAML never replaces a working generation: `nginx -s reload`
    (which parses the configuration itself) refuses it naming the file, and
    a HUP sent straight to the master (kill -HUP) is refused by the master
    (SCP1002), whose old workers keep serving."""
    expect_log("SCP1002")
    original = pki.config.read_text()
    workers = server.worker_pids()
    master = server.master_pid()
    try:
        pki.config.write_text(original + "\nthis is: [not yaml\n")
        p = h.run(server.cmd("-s", "reload"), check=False)
        assert p.returncode != 0, p.stderr
        assert "SCP1002" in p.stderr and str(pki.config) in p.stderr, p.stderr

        offset = server.log_size()
        os.kill(master, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not any(
                "SCP1002" in line for line in server.log_since(offset)):
            time.sleep(0.05)
        lines = server.log_since(offset)
        assert any("SCP1002" in line and str(pki.config) in line for line in lines), lines
        assert server.worker_pids() == workers, "workers were replaced by a broken config"
        d = make_device()
        h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)
    finally:
        pki.config.write_text(original)
        server.reload()
