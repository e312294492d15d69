"""Intune's revocation sync (PkiConnectorFEService) against the stand-in
(intune_service.py): the revocation requests Intune holds are downloaded,
the certificates they name revoked through the admin path (store, CRL),
and the results uploaded with CARequestErrorCode names; one poller at a
time, on one node with SQLite (the workers of the node) and on a fleet of
nodes sharing PostgreSQL, where killing the polling worker hands the lease
to another within a few intervals."""

from __future__ import annotations

import os
import re
import signal
import time
from types import SimpleNamespace

import pytest

import harness as h
from harness_intune import SECRET, enroll, intune_files, intune_profile
from intune_service import IntuneStandIn

POLL = "      revocation_poll_seconds: 1\n      revocation_max_requests: 2\n"
UNKNOWN_SERIAL = "0DEADBEEF0CAFE"


def wait_for(what, check, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def node_setup(pki, svc, files, secret_file):
    pki.config.write_text(pki.config.read_text() + intune_profile("intune", svc, files, secret_file, POLL))
    return [("/scep", None), ("/scep-intune", "intune")]


@pytest.fixture(scope="module")
def rv(server_class, workdir):
    pki = h.Pki.create(workdir / "pki-intune-rev")
    files, secret_file = intune_files(pki)
    svc = IntuneStandIn(files, client_secret=SECRET).start()
    locations = node_setup(pki, svc, files, secret_file)
    server = server_class(workdir / f"{server_class.kind}-intune-rev", pki.config, locations=locations, workers=2)
    server.start()
    cacert = workdir / "intune-rev-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, svc=svc, dir=workdir, client=h.TestClient(cacert, pki.ca_cert))
    server.discard()
    svc.stop()


def revoke_two_and_an_unknown(rv, port, devices_dir):
    """Enrolls two devices, queues their revocation and one of a serial
    nobody issued; returns the serials and the request contexts."""
    serials = []
    for i in range(2):
        _, rep = enroll(rv.client, port, devices_dir, "/scep-intune", name=f"rev-{i}")
        assert rep["status"] == "SUCCESS", rep
        serials.append(rep["cert_serial"])
    issuer = rv.svc.calls("/ScepActions/successNotification")[-1]["body"]["notification"][
        "issuingCertificateAuthority"]
    contexts = [rv.svc.queue_revocation(s, issuer) for s in serials]
    unknown = rv.svc.queue_revocation(UNKNOWN_SERIAL, issuer)
    wait_for("three uploaded results", lambda: set(contexts + [unknown]) <= set(rv.svc.results()))
    return serials, contexts, unknown


def check_results(svc, contexts, unknown):
    results = svc.results()
    for c in contexts:
        assert results[c]["succeeded"] is True and results[c]["errorCode"] == "None", results[c]
    assert results[unknown]["succeeded"] is False, results[unknown]
    assert results[unknown]["errorCode"] == "CertificateNotFoundError", results[unknown]


def test_215_001_requested_revocations_reach_the_store_and_the_crl(rv, devices_dir):
    serials, contexts, unknown = revoke_two_and_an_unknown(rv, rv.server.port, devices_dir)
    check_results(rv.svc, contexts, unknown)
    for s in serials:
        out = h.run([h.SCEPTER, "certs", "show", "--config", rv.pki.config, s]).stdout
        assert re.search(r"^status:\s+revoked$", out, re.M), out
        assert re.search(r"^revocation_reason:\s+cessationOfOperation$", out, re.M), out
    listed, _ = h.served_crl(rv.server.port, rv.pki.ca_cert, rv.dir / "intune-rev.crl")
    assert {h.norm_serial(s) for s in serials} <= listed, listed
    # maxRequests 2: three requests took two downloads
    assert [p["max"] for p in rv.svc.polls] and all(p["max"] == 2 for p in rv.svc.polls)
    assert not rv.svc.violations, rv.svc.violations


def test_215_002_the_audit_trail_tells_each_result(rv):
    records = rv.pki.audit_records()
    answered = [r for r in records if r.get("step") == "intune_revocation_answered"]
    assert {r.get("error_code") for r in answered} >= {"None", "CertificateNotFoundError"}, answered
    revoked = [r for r in records if r.get("step") == "cert_revoked" and r.get("operation") == "IntuneRevocationSync"]
    assert len(revoked) >= 2 and all(r.get("transaction_id") for r in revoked), revoked
    # the enrollment's own trace shows its revocation
    tx = revoked[0]["transaction_id"]
    out = h.run([h.SCEPTER, "trace", "--audit-log", rv.pki.audit_log, tx]).stdout
    assert "cert_issued" in out and "cert_revoked" in out and "intune_revocation_answered" in out, out


def test_215_003_revoked_already_other_issuer_and_not_hex(rv, devices_dir):
    """The other answers: a certificate revoked before counts as done (None:
    the state Intune asked for holds), a request for another CA's issuer is
    not ours (CertificateNotFoundError), a serial that is not hex is
    ParameterDataInvalidError."""
    _, rep = enroll(rv.client, rv.server.port, devices_dir, "/scep-intune", name="rev-before")
    assert rep["status"] == "SUCCESS", rep
    h.run([h.SCEPTER, "certs", "revoke", "--config", rv.pki.config, rep["cert_serial"], "--reason", "superseded"])
    issuer = rv.svc.calls("/ScepActions/successNotification")[-1]["body"]["notification"][
        "issuingCertificateAuthority"]
    before = rv.svc.queue_revocation(rep["cert_serial"], issuer)
    other = rv.svc.queue_revocation(rep["cert_serial"], "/CN=Some Other CA")
    not_hex = rv.svc.queue_revocation("not-a-serial", issuer)
    results = wait_for("three uploaded results", lambda: {before, other, not_hex} <= set(rv.svc.results())
                       and rv.svc.results())
    assert (results[before]["succeeded"], results[before]["errorCode"]) == (True, "None"), results[before]
    assert (results[other]["succeeded"], results[other]["errorCode"]) == (False, "CertificateNotFoundError")
    assert (results[not_hex]["succeeded"], results[not_hex]["errorCode"]) == (False, "ParameterDataInvalidError")
    out = h.run([h.SCEPTER, "certs", "show", "--config", rv.pki.config, rep["cert_serial"]]).stdout
    assert re.search(r"^revocation_reason:\s+superseded$", out, re.M), out  # the first revocation stands
    assert not rv.svc.violations, rv.svc.violations


def test_215_004_one_worker_of_the_node_polls(rv):
    rv.svc.polls.clear()
    wait_for("several polls", lambda: len(rv.svc.polls) >= 4)
    pids = {p["pid"] for p in rv.svc.polls}
    assert len(pids) == 1 and pids <= rv.server.worker_pids(), (pids, rv.server.worker_pids())


def test_215_005_a_reload_stops_the_old_poller_and_a_new_worker_polls(rv):
    old = rv.server.worker_pids()
    started = time.time()
    rv.server.reload(timeout=20)  # old workers exit: their poller threads stop with them
    took = time.time() - started
    new = rv.server.worker_pids()
    polled = wait_for("a poll from the new generation",
                      lambda: [p for p in list(rv.svc.polls) if p["pid"] in new and p["time"] > started])
    assert not [p for p in rv.svc.polls if p["pid"] in old and p["time"] > started + took]
    assert polled[0]["time"] - started < 10, polled[0]["time"] - started


def test_215_006_no_token_or_secret_in_any_log(rv):
    seen = rv.pki.audit_log.read_text() + "\n".join(rv.server.log_since(0))
    for p in (rv.server.prefix / "logs").iterdir():
        seen += p.read_text(errors="replace")
    tokens = set(rv.svc.tokens)
    assert tokens
    assert not [t for t in tokens | {SECRET} if t in seen or t[8:24] in seen]


# ---- a fleet on one PostgreSQL ----

@pytest.fixture(scope="module")
def fleet(built, session_dir, postgres):
    base = session_dir / "intune-rev-fleet"
    pki = h.Pki.create(base / "pki")
    postgres.create_database("intune_rev")
    h.use_postgresql(pki.config, postgres, "intune_rev")
    files, secret_file = intune_files(pki)
    svc = IntuneStandIn(files, client_secret=SECRET).start()
    locations = node_setup(pki, svc, files, secret_file)
    nodes = [h.Nginx(base / f"node-{n}", pki.config, locations=locations, workers=2) for n in "ab"]
    for n in nodes:
        n.start()
    cacert = base / "getcacert.der"
    cacert.write_bytes(h.get_op(nodes[0].port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, nodes=nodes, svc=svc, dir=base, pg=postgres,
                          client=h.TestClient(cacert, pki.ca_cert))
    for n in nodes:
        n.discard()
    svc.stop()


def pollers(polls):
    """The polling processes in the order they polled, each once."""
    out = []
    for p in polls:
        if not out or out[-1] != p["pid"]:
            out.append(p["pid"])
    return out


@pytest.mark.expect_log("exited on signal 9")
def test_215_010_one_poller_in_the_fleet_and_a_successor_after_kill_9(fleet):
    a, b = fleet.nodes
    workers = a.worker_pids() | b.worker_pids()
    assert len(workers) == 4
    serials, contexts, unknown = revoke_two_and_an_unknown(fleet, b.port, fleet.dir / "devices")
    check_results(fleet.svc, contexts, unknown)
    listed, _ = h.served_crl(a.port, fleet.pki.ca_cert, fleet.dir / "node-a.crl")
    assert {h.norm_serial(s) for s in serials} <= listed, listed
    # several seconds of polls every second: one process polled them all
    fleet.svc.polls.clear()
    time.sleep(5)
    polls = list(fleet.svc.polls)
    assert len(polls) >= 3, polls
    assert len(pollers(polls)) == 1 and polls[0]["pid"] in workers, pollers(polls)
    leader = polls[0]["pid"]
    # kill -9 the polling worker: another (a new one of its master, or a
    # worker of the other node) takes over within a few intervals
    os.kill(leader, signal.SIGKILL)
    killed_at = time.time()
    wait_for("a new poller", lambda: [p for p in fleet.svc.polls if p["pid"] != leader], timeout=15)
    after = [p for p in fleet.svc.polls if p["pid"] != leader]
    assert after[0]["time"] - killed_at < 6, after[0]["time"] - killed_at
    print(f"\nkill -9 of poller {leader}: pid {after[0]['pid']} polled {after[0]['time'] - killed_at:.2f} s later")
    assert not [p for p in fleet.svc.polls if p["pid"] == leader and p["time"] > killed_at]
    time.sleep(3)
    tail = [p for p in fleet.svc.polls if p["time"] > after[0]["time"]]
    assert len(pollers(tail)) <= 1, pollers(tail)  # still one at a time
    assert not fleet.svc.violations, fleet.svc.violations


@pytest.mark.expect_log("SCP7302")
def test_215_011_a_leader_whose_lease_connection_ends_steps_down(fleet):
    """PostgreSQL ends the leader's lease session (a failover, an admin's
    pg_terminate_backend): the lock is gone with it, the leader says so
    (SCP7302) and stops polling until it wins the lease again; meanwhile at
    most one process polls."""
    holder = fleet.pg.psql("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted", db="intune_rev")
    assert holder and "\n" not in holder, holder  # exactly one session holds a lease
    before = len(fleet.svc.polls)
    ended_at = time.time()
    fleet.pg.psql(f"SELECT pg_terminate_backend({holder})")
    wait_for("SCP7302 from the old leader",
             lambda: any("SCP7302" in line for n in fleet.nodes for line in n.log_since(0)), timeout=10)
    wait_for("polls after the lease moved", lambda: len([p for p in fleet.svc.polls if p["time"] > ended_at + 2]) >= 3,
             timeout=15)
    assert len(fleet.svc.polls) > before
    later = [p for p in fleet.svc.polls if p["time"] > ended_at + 2]
    assert len(pollers(later)) == 1, pollers(later)
    assert not fleet.svc.violations, fleet.svc.violations
