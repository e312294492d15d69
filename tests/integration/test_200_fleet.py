"""Several nodes, one truth: two nginx nodes and one Apache node, each its
own server process on its own port, all with one configuration whose store
is one PostgreSQL (a private cluster, see conftest's `postgres`). A
challenge made on one node redeems on another and only once; a race of 20
requests with one challenge across the nodes gives one certificate; a
revocation on one node is in every node's CRL; a request made PENDING on
one node, approved with the CLI, is collected on another; a PostgreSQL
restart costs the requests in between a FAILURE (never a crash or a 5xx
from a dead worker) and the nodes recover by themselves."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import time
from types import SimpleNamespace

import pytest

import harness as h

ADMIN_USER, ADMIN_PASSWORD = "fleet", "s3cret-Fleet"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()}



@pytest.fixture(scope="module")
def fleet(built, session_dir, postgres):
    base = session_dir / "fleet"
    pki = h.Pki.create(base / "pki")
    postgres.create_database("fleet")
    h.use_postgresql(pki.config, postgres, "fleet")
    text = pki.config.read_text().replace("max_per_requester: 5", "max_per_requester: 0")
    pki.config.write_text(h.with_manual_approval(text, pki.challenge))
    htpasswd = base / "admin.htpasswd"
    hashed = h.run(["openssl", "passwd", "-apr1", ADMIN_PASSWORD]).stdout.strip()
    htpasswd.write_text(f"{ADMIN_USER}:{hashed}\n")
    htpasswd.chmod(0o644)
    locations = [("/scep", None), ("/scep-manual", "manual"), h.AdminLocation("/admin", "admin", None, htpasswd)]
    # Node c is Apache; scripts/sanitize builds the instrumented nginx module
    # alone, so there node c is a third nginx.
    third = h.Nginx if h.SANITIZE else h.Apache
    nodes = [h.Nginx(base / "node-a-nginx", pki.config, locations=locations),
             h.Nginx(base / "node-b-nginx", pki.config, locations=locations),
             third(base / f"node-c-{third.kind}", pki.config, locations=locations)]
    for n in nodes:
        n.start()
    cacert = base / "getcacert.der"
    cacert.write_bytes(h.get_op(nodes[0].port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, nodes=nodes, pg=postgres, db="fleet", dir=base,
                          client=h.TestClient(cacert, pki.ca_cert))
    for n in nodes:
        n.discard()


def sql(fleet, query: str) -> str:
    return fleet.pg.psql(query, db=fleet.db)


def exchange(fleet, node, dev, path="/scep", name="req", **kw):
    req = fleet.client.request(dev, name=name, **kw)
    r = h.send_pki(node.port, path, req.der)
    assert r.status == 200, f"{node}: HTTP {r.status}: {r.body[:300]!r}"
    rep = fleet.client.reply(dev, req, r.body, name=f"{name}-reply")
    assert rep["_rc"] == 0, rep
    return req, rep


def admin_challenge(fleet, node, user) -> str:
    r = h.http_request(node.port, "GET", f"/admin?user={user}&profile=default", headers=AUTH)
    assert r.status == 200, (node, r.status, r.body[:300])
    return json.loads(r.body)["challenge"]


def crl_serials(fleet, node) -> tuple[set, int]:
    return h.served_crl(node.port, fleet.pki.ca_cert, fleet.dir / f"crl-{node.port}.der")


@pytest.mark.expect_log("SCP3003")  # C refuses the used challenge (a FAILURE CertRep)
def enrolls_again(fleet, node, name, within=10.0):
    """After an outage the node issues again by itself, within seconds."""
    deadline = time.monotonic() + within
    while True:
        _, rep = exchange(fleet, node, h.Device.create(fleet.dir / "devices", fleet.pki.challenge), name=name)
        if rep["status"] == "SUCCESS" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rep["status"] == "SUCCESS", (node, rep)


def assert_no_half_written(fleet):
    """Every certificate has its successful transaction."""
    assert sql(fleet, "SELECT count(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM transactions t"
                      " WHERE t.serial = c.serial AND t.status = 'success')") == "0"


@pytest.mark.expect_log("SCP3003")  # C refuses the used challenge
def test_200_001_challenge_from_a_enrolls_on_b_and_is_refused_on_c(fleet):
    a, b, c = fleet.nodes
    challenge = admin_challenge(fleet, a, "alice")
    first = h.Device.create(fleet.dir / "devices", challenge)
    _, rep = exchange(fleet, b, first)
    assert rep["status"] == "SUCCESS", rep
    second = h.Device.create(fleet.dir / "devices", challenge)
    _, again = exchange(fleet, c, second)
    assert again["status"] == "FAILURE" and again["fail_info"] == "badRequest", again
    cid = h.challenge_id(challenge)
    assert sql(fleet, f"SELECT status FROM challenges WHERE id = '{cid}'") == "consumed"
    # Only the hash is in the database, never the challenge itself.
    assert challenge not in sql(fleet, "SELECT string_agg(secret_sha256 || id, ',') FROM challenges")
    assert sql(fleet, f"SELECT requester FROM certificates WHERE serial = '{h.norm_serial(rep['cert_serial'])}'"
               " OR ltrim(serial, '0') = '" + h.norm_serial(rep["cert_serial"]) + "'") == "alice"


@pytest.mark.device_keys("fleet-race", 20)
@pytest.mark.expect_log("SCP3003")
def test_200_002_twenty_racing_requests_with_one_challenge_give_one_certificate(fleet, key_pool):
    challenge = admin_challenge(fleet, fleet.nodes[1], "racer")
    devices, reqs = h.prebuild_requests(fleet.client, fleet.dir / "race", challenge,
                                        key_pool.keys("fleet-race", 20), "fleet-race")

    def send(i):
        return h.post_pki(fleet.nodes[i % 3].port, "/scep", reqs[i].der)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(send, range(20)))
    statuses = []
    for i, r in enumerate(replies):
        assert r.status == 200, (i, r.status, r.body[:200])
        rep = fleet.client.reply(devices[i], reqs[i], r.body, name="race-reply")
        statuses.append(rep["status"])
    assert statuses.count("SUCCESS") == 1, statuses
    assert statuses.count("FAILURE") == 19, statuses
    assert sql(fleet, "SELECT count(*) FROM certificates WHERE subject LIKE '%fleet-race-%'") == "1"


def test_200_003_revocation_on_a_is_in_cs_crl(fleet):
    a, b, c = fleet.nodes
    dev = h.Device.create(fleet.dir / "devices", fleet.pki.challenge)
    _, rep = exchange(fleet, b, dev)
    assert rep["status"] == "SUCCESS", rep
    serial = h.norm_serial(rep["cert_serial"])
    before, number_before = crl_serials(fleet, c)  # C has served (and so has seen) a CRL already
    assert serial not in before
    r = h.http_request(a.port, "POST", "/admin?operation=revoke", headers={**AUTH, "Content-Type": "application/json"},
                       body=json.dumps({"serial": rep["cert_serial"], "reason": "keyCompromise"}).encode())
    assert r.status == 200, (r.status, r.body[:300])
    for node in (c, b, a):
        after, number = crl_serials(fleet, node)
        assert serial in after, node
        assert number > number_before, (node, number, number_before)


def test_200_004_pending_on_b_approved_with_the_cli_collected_on_a(fleet):
    a, b, c = fleet.nodes
    dev = h.Device.create(fleet.dir / "devices", fleet.pki.challenge)
    req, rep = exchange(fleet, b, dev, path="/scep-manual")
    assert rep["status"] == "PENDING", rep
    assert req.transaction_id in h.run([h.SCEPTER, "requests", "list", "--config", fleet.pki.config]).stdout
    h.run([h.SCEPTER, "requests", "approve", req.transaction_id, "--config", fleet.pki.config])
    _, polled = exchange(fleet, a, dev, path="/scep-manual", name="poll", message_type=20,
                         content="issuer-and-subject", transaction_id=req.transaction_id)
    assert polled["status"] == "SUCCESS", polled
    assert sql(fleet, f"SELECT status FROM pending_requests WHERE transaction_id = '{req.transaction_id}'") == "issued"


@pytest.mark.expect_log("SCP4001", "SCP1004", "SCP3003")
def test_200_005_postgresql_restart_costs_a_failure_and_the_nodes_recover(fleet):
    for i, node in enumerate(fleet.nodes):  # every worker has a live connection now
        _, rep = exchange(fleet, node, h.Device.create(fleet.dir / "devices", fleet.pki.challenge))
        assert rep["status"] == "SUCCESS", (node, rep)
    fleet.pg.stop()
    try:
        for node in fleet.nodes:
            dev = h.Device.create(fleet.dir / "devices", fleet.pki.challenge)
            req = fleet.client.request(dev)
            r = h.post_pki(node.port, "/scep", req.der)
            assert r.status in (200, 503), (node, r.status, r.body[:300])
            if r.status == 200:
                rep = fleet.client.reply(dev, req, r.body, name="down-reply")
                assert rep["status"] == "FAILURE", (node, rep)
            assert h.http_request(node.port, "GET", "/scep/ca.crl").status == 503, node
    finally:
        fleet.pg.start()
    started = time.monotonic()
    for node in fleet.nodes:
        enrolls_again(fleet, node, "back")
    assert time.monotonic() - started < 15
    assert_no_half_written(fleet)


def test_200_006_a_database_newer_than_the_node_is_refused(fleet):
    fleet.pg.create_database("fleet_future")
    config = fleet.pki.config.with_name("scepter-future.yaml")
    config.write_text(fleet.pki.config.read_text())
    h.use_postgresql(config, fleet.pg, "fleet_future")
    h.run([h.SCEPTER, "certs", "list", "--config", config])  # creates schema version 1
    fleet.pg.psql("UPDATE scepter_schema_version SET version = 99", db="fleet_future")
    p = h.run([h.SCEPTER, "certs", "list", "--config", config], check=False)
    assert p.returncode == 1, p
    assert "schema version 99 is newer than this build understands" in p.stderr, p.stderr
    assert h.PG_PASSWORD not in p.stdout + p.stderr


LOAD = 30  # enrollments spread over the three nodes


@pytest.mark.device_keys("fleet-load", LOAD)
@pytest.mark.expect_log("exited on signal 9", "SCP4001", "SCP1004", "SCP3003")
def test_200_007_kill_9_and_postgresql_restart_under_load(fleet, key_pool):
    import os
    import signal
    import threading
    devices, reqs = h.prebuild_requests(fleet.client, fleet.dir / "load", fleet.pki.challenge,
                                        key_pool.keys("fleet-load", LOAD), "fleet-load")
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    in_flight: set[int] = set()
    outcomes: list = [None] * LOAD

    def client():
        while True:
            with lock:
                i = state["next"]
                if i >= LOAD:
                    return
                state["next"] += 1
                in_flight.add(i)
            try:
                outcomes[i] = h.post_pki(fleet.nodes[i % 3].port, "/scep", reqs[i].der)
            except (OSError, h.httpclient.HTTPException) as exc:
                outcomes[i] = repr(exc)
            finally:
                with lock:
                    in_flight.discard(i)
                    state["done"] += 1

    def wait_done(n):
        deadline = time.monotonic() + 120
        while state["done"] < n and time.monotonic() < deadline:
            time.sleep(0.02)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    cut = 0
    wait_done(LOAD // 3)
    victim = sorted(fleet.nodes[0].worker_pids())[0]
    with lock:
        os.kill(victim, signal.SIGKILL)  # a worker of node A, our own server
        cut += len(in_flight)
    wait_done(2 * LOAD // 3)
    with lock:
        cut += len(in_flight)
    fleet.pg.restart()
    for t in threads:
        t.join(timeout=300)
    successes = 0
    for i, r in enumerate(outcomes):
        if isinstance(r, str):
            continue  # cut by the kill
        assert r.status in (200, 503), (i, r.status, r.body[:200])
        if r.status == 200:
            rep = fleet.client.reply(devices[i], reqs[i], r.body, name="load-reply")
            assert rep["status"] in ("SUCCESS", "FAILURE"), rep
            successes += rep["status"] == "SUCCESS"
    stored = int(sql(fleet, "SELECT count(*) FROM certificates WHERE subject LIKE '%fleet-load-%'"))
    assert successes <= stored <= successes + cut, (successes, stored, cut)
    assert sql(fleet, "SELECT count(*) - count(DISTINCT subject) FROM certificates"
                      " WHERE subject LIKE '%fleet-load-%'") == "0"
    assert_no_half_written(fleet)
    for node in fleet.nodes:  # every node answers again, without a restart
        enrolls_again(fleet, node, "after")
    print(f"load: {LOAD} sent, {successes} SUCCESS, {stored} stored, {cut} in flight at the kill and the restart")
