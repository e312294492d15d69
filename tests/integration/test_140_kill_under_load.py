"""Workers killed with kill -9 and the server reloaded while 8 clients
enroll thousands of devices: nothing is lost that was answered, nothing is
stored twice or half-way, and the server serves on.

SCEPTER_KILL_LOAD_COUNT enrollments (default 10,000), distinct requests
built by one `scepter-testclient batch` run (16 keys, a CN each), sent by 8
threads over fresh connections. Meanwhile a random worker gets SIGKILL every
0.5-1 s, and the server reloads (the harness's reload) at a quarter, half and
three quarters of the run. At each kill the requests in flight are counted:
a request whose worker dies may have stored its certificate without
answering, or may get no reply (reset, empty answer), and nothing else may.

Then, with the store read-only through sqlite3:
- SUCCESS replies <= certificates stored <= SUCCESS + in flight at kills;
  every SUCCESS reply's serial is stored under its transaction;
- no serial twice, among the replies nor in the store;
- no half-written record: each certificate has its transaction row, each
  transaction that says success has its certificate;
- the server alive, a fresh enrollment issued;
- every line of the audit log is JSON, none blank (workers appending to it
  were killed mid-request);
- the error log has nothing but the kill notices (nginx's "worker process N
  exited on signal 9", for the pids killed; Apache logs no line for a child
  killed with SIGKILL).

Runs last (140): a fault test should not leave its storm to the others.
The figures are printed (pytest -s) for the notes."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path

import harness as h

COUNT = int(os.environ.get("SCEPTER_KILL_LOAD_COUNT", "10000"))
CLIENTS = 8
KEYS = 16  # device keys, reused: the requests differ by CN, signer and nonce
RELOADS = 3
KILL_EVERY = (0.5, 1.0)  # seconds between kills, uniformly
PATH = "/scep-strict"
# What a worker killed with SIGKILL makes the server log, and nothing else.
KILL_NOTICE = {"nginx": re.compile(r"\[alert\] .*worker process (\d+) exited on signal 9\b")}
KILL_NOTICE_TEXT = "exited on signal 9"


class Load:
    """8 clients sending the batch's messages in order; the in-flight set is
    what a kill may cut."""

    def __init__(self, port: int, bodies: list[bytes]):
        self.port = port
        self.bodies = bodies
        self.lock = threading.Lock()
        self.next = 0
        self.done = 0
        self.in_flight: set[int] = set()
        self.outcomes: list = [None] * len(bodies)  # Reply, or the exception's repr

    def client(self) -> None:
        while True:
            with self.lock:
                i = self.next
                if i >= len(self.bodies):
                    return
                self.next += 1
                self.in_flight.add(i)
            try:
                self.outcomes[i] = h.post_pki(self.port, PATH, self.bodies[i])
            except (OSError, h.httpclient.HTTPException) as exc:  # reset, empty reply
                self.outcomes[i] = repr(exc)
            finally:
                with self.lock:
                    self.in_flight.discard(i)
                    self.done += 1


class Killer:
    """kill -9 of a random worker every 0.5-1 s; records how many requests
    were in flight at each kill (counted under the load's lock, so no
    request starts or ends between the count and the signal)."""

    def __init__(self, server: h.Server, load: Load):
        self.server = server
        self.load = load
        self.stop = threading.Event()
        self.kills: list[tuple[int, int]] = []  # (pid, in flight)

    def run(self) -> None:
        rnd = random.Random(140)
        while not self.stop.wait(rnd.uniform(*KILL_EVERY)):
            pids = sorted(self.server.worker_pids())
            if not pids:
                continue
            pid = rnd.choice(pids)
            with self.load.lock:
                try:
                    os.kill(pid, signal.SIGKILL)  # a worker of our own server
                except ProcessLookupError:
                    continue
                self.kills.append((pid, len(self.load.in_flight)))


def store_path(pki: h.Pki) -> Path:
    rel = h.yaml_scalar(pki.config.read_text(), "sqlite")
    assert rel, f"no sqlite: in {pki.config}"
    return pki.config.parent / rel


def build_batch(workdir: Path, key_dir: Path, getcacert: Path, challenge: str, kind: str):
    out = workdir / "kill-load-batch"
    h.run([h.TESTCLIENT, "batch", "--cacert", getcacert, "--challenge", challenge,
           "--count", COUNT, "--keys", KEYS, "--keydir", key_dir, "--out", out,
           "--tag", f"kill-{kind}-{os.getpid()}"], timeout=600)
    data = (out / "bodies.bin").read_bytes()
    bodies, txids = [], []
    for line in (out / "index.tsv").read_text().splitlines():
        i, offset, length, txid = line.split("\t")[:4]
        assert int(i) == len(bodies)
        bodies.append(data[int(offset):int(offset) + int(length)])
        txids.append(txid)
    assert len(set(txids)) == COUNT
    return out, bodies, txids


def read_replies(workdir: Path, batch: Path, ca_pem: Path, outcomes: list) -> list[dict]:
    """Decodes every HTTP 200 answer with one `scepter-testclient
    batch-replies` run."""
    rdir = workdir / "kill-load-replies"
    rdir.mkdir(exist_ok=True)
    offset, index = 0, []
    with open(rdir / "bodies.bin", "wb") as f:
        for i, o in enumerate(outcomes):
            if isinstance(o, h.Reply) and o.status == 200:
                f.write(o.body)
                index.append(f"{i}\t{offset}\t{len(o.body)}\n")
                offset += len(o.body)
    (rdir / "index.tsv").write_text("".join(index))
    p = h.run([h.TESTCLIENT, "batch-replies", "--batch", batch, "--replies", rdir,
               "--ca", ca_pem], timeout=600)
    return [json.loads(line) for line in p.stdout.splitlines()]


def audit_lines_not_json(audit_log: Path) -> list[str]:
    bad = []
    with open(audit_log, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:  # a blank line is bad too: the writers never make one
                json.loads(raw)
            except ValueError:
                bad.append(f"line {n}: {raw[:200]!r}")
    return bad


def test_140_001_kill_9_and_reloads_under_load(server, port, client, workdir, devices_dir, pki,
                                               getcacert, key_pool, expect_log):
    expect_log(KILL_NOTICE_TEXT)  # nginx, per kill; checked against the pids below
    started = time.monotonic()
    batch, bodies, txids = build_batch(workdir, key_pool.dir / "kill-load", getcacert,
                                       pki.challenge, server.kind)
    built = time.monotonic()

    log_offset = server.log_size()
    master = server.master_pid()
    load = Load(port, bodies)
    killer = Killer(server, load)
    clients = [threading.Thread(target=load.client, name=f"client-{c}") for c in range(CLIENTS)]
    kill_thread = threading.Thread(target=killer.run, name="killer")
    for t in clients:
        t.start()
    kill_thread.start()
    reloads = 0
    try:
        for k in range(1, RELOADS + 1):
            while load.done < COUNT * k // (RELOADS + 1) and any(t.is_alive() for t in clients):
                time.sleep(0.05)
            server.reload()
            reloads += 1
        for t in clients:
            t.join(timeout=600)
    finally:
        killer.stop.set()
        kill_thread.join()
    assert not any(t.is_alive() for t in clients), "the clients did not finish in 10 minutes"
    loaded = time.monotonic()

    # the server is alive: the same master, a full set of workers, and a
    # fresh enrollment is issued
    assert server.master_pid() == master, f"the master died:\n{server.tail_log()}"
    deadline = time.time() + 30
    while len(server.worker_pids()) < server.workers:
        assert time.time() < deadline, f"workers not replaced:\n{server.tail_log()}"
        time.sleep(0.05)
    d = h.Device.create(devices_dir, pki.challenge, cn=f"after-kills-{server.kind}")
    req = client.request(d)
    r = h.post_pki(port, PATH, req.der)
    h.check_issued(h.Enrollment(r, req, client.reply(d, req, r.body) if r.status == 200 else None),
                   d, pki.ca_cert)

    # what the clients got
    no_reply = [i for i, o in enumerate(load.outcomes) if isinstance(o, str)]
    http_errors = [f"{i}: HTTP {o.status} {o.body[:200]!r}" for i, o in enumerate(load.outcomes)
                   if isinstance(o, h.Reply) and o.status != 200]
    assert not http_errors, f"{len(http_errors)} HTTP errors:\n" + "\n".join(http_errors[:20])
    replies = read_replies(workdir, batch, pki.ca_cert, load.outcomes)
    bad = [r for r in replies
           if r.get("status") != "SUCCESS" or "error" in r or not r["transaction_id_ok"]
           or not r["recipient_nonce_ok"] or not r["signer_trusted"]
           or r["cert_subject"] != f"CN=kill-{server.kind}-{os.getpid()}-{r['i']}"]
    assert not bad, f"{len(bad)} replies not a checked SUCCESS:\n" + \
        "\n".join(json.dumps(r) for r in bad[:20])
    successes = {txids[r["i"]]: h.norm_serial(r["cert_serial"]) for r in replies}
    reply_serials = list(successes.values())
    assert len(set(reply_serials)) == len(reply_serials), "a serial came twice in the replies"

    # what the store holds, read-only
    ours = set(txids)
    with sqlite3.connect(f"file:{store_path(pki)}?mode=ro", uri=True) as db:
        certs = [(h.norm_serial(s), t) for s, t in
                 db.execute("SELECT serial, transaction_id FROM certificates")]
        txs = db.execute("SELECT transaction_id, status, serial FROM transactions").fetchall()
    db.close()
    stored = {s: t for s, t in certs if t in ours}
    stored_count = sum(1 for _, t in certs if t in ours)
    all_serials = [s for s, _ in certs]
    assert len(set(all_serials)) == len(all_serials), "a serial is stored twice"
    assert len(set(stored.values())) == len(stored), "a request got two certificates"
    success_rows = {(t, h.norm_serial(s) if s else None) for t, st, s in txs if st == "success"}
    cert_set = set(all_serials)
    orphans = [(t, s) for t, s in success_rows if s is None or s not in cert_set]
    assert not orphans, f"transactions that say success without their certificate: {orphans[:10]}"
    untracked = [(s, t) for s, t in stored.items() if (t, s) not in success_rows]
    assert not untracked, f"certificates without their transaction row: {untracked[:10]}"
    lost = [(t, s) for t, s in successes.items() if stored.get(s) != t]
    assert not lost, f"SUCCESS replies whose certificate is not stored: {lost[:10]}"

    in_flight_at_kills = sum(n for _, n in killer.kills)
    figures = {
        "server": server.kind, "enrollments": COUNT, "clients": CLIENTS,
        "success_replies": len(successes), "stored": stored_count,
        "in_flight_at_kills": in_flight_at_kills, "kills": len(killer.kills),
        "reloads": reloads, "no_reply": len(no_reply),
        "build_seconds": round(built - started, 1), "load_seconds": round(loaded - built, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(f"\nkill-under-load figures: {json.dumps(figures)}")
    (workdir / "kill-load-figures.json").write_text(json.dumps(figures) + "\n")
    assert len(successes) + len(no_reply) == COUNT
    assert len(successes) <= stored_count <= len(successes) + in_flight_at_kills, figures
    assert len(no_reply) <= in_flight_at_kills, figures
    # a run of the default size lasts long enough for ten kills at least
    assert reloads == RELOADS and len(killer.kills) >= (10 if COUNT >= 10000 else 1), figures

    # every audit line whole
    bad_audit = audit_lines_not_json(pki.audit_log) if pki.audit_log else []
    assert not bad_audit, f"{len(bad_audit)} audit lines are not JSON:\n" + "\n".join(bad_audit[:10])

    # the error log: kill notices for the pids killed, nothing else (the
    # gate, after the test, fails any other gated line)
    killed = {pid for pid, _ in killer.kills}
    notice = KILL_NOTICE.get(server.kind)
    for line in server.log_since(log_offset):
        if KILL_NOTICE_TEXT in line:
            m = notice.search(line) if notice else None
            assert m and int(m.group(1)) in killed, f"a kill notice for no kill of ours: {line}"
