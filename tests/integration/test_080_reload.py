"""A reload (`nginx -s reload`, `apache2 -k graceful`) while devices enroll:
no request fails, new workers serve the new generation."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness as h

COUNT = 30
RELOADS = 3


@pytest.mark.device_keys("reload", COUNT)
def test_080_001_reload_during_enrollments(server, port, client, devices_dir, pki, key_pool):
    devices, reqs = h.prebuild_requests(client, devices_dir, pki.challenge,
                                        key_pool.keys("reload", COUNT), "reload")

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
        # not yet: the server still serves the old generation
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
    """A broken YAML never replaces a working generation: the server's
    reload command (`nginx -s reload`, `apache2 -k graceful`, which parse
    the configuration themselves) refuses it naming the file. On nginx a
    reload signal sent straight to the master (kill -HUP) is refused by the
    master too (SCP1002), which stays up and whose old workers keep serving.
    httpd's parent exits on any configuration error after a raw SIGUSR1,
    whichever module reports it: on Apache the supported reload is the
    command, checked here, and the old generation must still serve after it."""
    expect_log("SCP1002")
    original = pki.config.read_text()
    workers = server.worker_pids()
    master = server.master_pid()
    try:
        pki.config.write_text(original + "\nthis is: [not yaml\n")
        p = server.ctl_reload(check=False)
        assert p.returncode != 0, p.stderr
        assert "SCP1002" in p.stderr and str(pki.config) in p.stderr, p.stderr

        if server.kind == "apache":
            assert server.master_pid() == master and server.worker_pids() == workers
            d = make_device()
            h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)
            return
        offset = server.log_size()
        os.kill(master, server.RELOAD_SIGNAL)
        deadline = time.time() + 10
        while time.time() < deadline and not any(
                "SCP1002" in line for line in server.log_since(offset)):
            time.sleep(0.05)
        lines = server.log_since(offset)
        assert any("SCP1002" in line and str(pki.config) in line for line in lines), lines
        time.sleep(0.5)  # what the master does next, if anything
        assert server.master_pid() == master, \
            f"the {server.kind} master died of the broken configuration:\n" + \
            "\n".join(server.log_since(offset))
        assert server.worker_pids() == workers, "workers were replaced by a broken config"
        d = make_device()
        h.check_issued(enroll(d, "/scep"), d, pki.ca_cert)
    finally:
        pki.config.write_text(original)
        server.reload_or_start()


GRACEFUL_COUNT = 200


@pytest.mark.device_keys("graceful", GRACEFUL_COUNT)
def test_080_004_graceful_restart_during_200_concurrent_enrollments(
        server, port, client, devices_dir, pki, key_pool):
    """200 distinct enrollments in flight at once while the server reloads
    gracefully: every one is answered SUCCESS, by whichever generation.

    Each request is sent but for the last byte of its body, so all 200 are
    accepted and being read when the reload begins; the last bytes go out
    once the new generation's workers run, while the old ones still hold
    their 200 requests, and the old workers must finish them."""
    devices, reqs = h.prebuild_requests(client, devices_dir, pki.challenge,
                                        key_pool.keys("graceful", GRACEFUL_COUNT), "graceful")

    master = server.master_pid()
    held = [h.HeldPost(port, "/scep-strict", r.der) for r in reqs]
    all_sent = threading.Barrier(GRACEFUL_COUNT + 1, timeout=120)
    go = threading.Event()

    def one(i):
        try:
            held[i].send()
            all_sent.wait()
            go.wait(timeout=120)
            return held[i].finish()
        except BaseException:
            all_sent.abort()  # nobody waits for a request that is not there
            held[i].close()
            raise

    with ThreadPoolExecutor(max_workers=GRACEFUL_COUNT) as pool:
        futures = [pool.submit(one, i) for i in range(GRACEFUL_COUNT)]
        try:
            try:
                all_sent.wait()  # all 200 requests are in the server's hands
            except threading.BrokenBarrierError:
                go.set()
                failed = [f"request {i}: {f.exception(timeout=180)!r}"
                          for i, f in enumerate(futures) if f.exception(timeout=180)]
                raise AssertionError(f"not all {GRACEFUL_COUNT} requests could be sent "
                                     "before the reload:\n" + "\n".join(failed[:20])) from None
            old = server.begin_reload()
            deadline = time.time() + 30
            while not server.new_generation_started(old):
                assert time.time() < deadline, \
                    f"no new generation 30 s after the reload:\n{server.tail_log()}"
                time.sleep(0.05)
            time.sleep(0.2)  # the old workers have had their stop signal
            old_still_there = old & server.worker_pids()
        finally:
            go.set()
        outcomes = []
        for i, f in enumerate(futures):
            try:
                outcomes.append(f.result(timeout=180))
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)
        server.wait_reloaded(old)

    errors = [f"request {i} ({devices[i].cn}): {o!r}"
              for i, o in enumerate(outcomes) if isinstance(o, Exception)]
    assert not errors, f"{len(errors)} of {GRACEFUL_COUNT} enrollments failed:\n" + \
        "\n".join(errors[:20])
    assert old_still_there, "the old workers had gone before the requests completed: " \
        "the requests were not in flight across the reload"
    assert server.master_pid() == master

    def check(i):
        r = outcomes[i]
        rep = client.reply(devices[i], reqs[i], r.body) if r.status == 200 else None
        cert = h.check_issued(h.Enrollment(r, reqs[i], rep), devices[i], pki.ca_cert)
        return h.norm_serial(h.cert_summary(cert)["serial"])

    with ThreadPoolExecutor(max_workers=8) as pool:  # 600 short subprocesses
        serials = list(pool.map(check, range(GRACEFUL_COUNT)))
    assert len(set(serials)) == GRACEFUL_COUNT, f"duplicate serials: {sorted(serials)}"

    # the new generation serves
    d = h.Device.create(devices_dir, pki.challenge, cn="after-graceful")
    req = client.request(d)
    r = h.post_pki(port, "/scep-strict", req.der)
    rep = client.reply(d, req, r.body) if r.status == 200 else None
    h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)
