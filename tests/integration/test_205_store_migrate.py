"""`scepter store migrate`: a site that started on SQLite moves to
PostgreSQL without re-issuing anything. A server runs on SQLite and
issues, revokes, parks a request and hands out a challenge; the store is
migrated; the same server on PostgreSQL then renews the certificate issued
before the move, redeems the challenge, collects the approved request and
serves a CRL that goes on from the old number."""

from __future__ import annotations

import re
import shutil

import pytest

import harness as h

LOCATIONS = [("/scep", None), ("/scep-manual", "manual")]


def exchange(node, client, dev, path="/scep", name="req", **kw):
    req = client.request(dev, name=name, **kw)
    r = h.send_pki(node.port, path, req.der)
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = client.reply(dev, req, r.body, name=f"{name}-reply")
    assert rep["_rc"] == 0, rep
    return req, rep


def crl(node, pki, where) -> tuple[set, int]:
    r = h.http_request(node.port, "GET", "/scep/ca.crl")
    assert r.status == 200, r.status
    where.write_bytes(r.body)
    text = h.run(["openssl", "crl", "-inform", "DER", "-in", where, "-noout", "-text",
                  "-CAfile", pki.ca_cert]).stdout
    number = int(re.search(r"X509v3 CRL Number:\s*\n\s*(\d+)", text).group(1))
    return {h.norm_serial(s) for s in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}, number


def scepter(*args, check=True):
    return h.run([h.SCEPTER, *map(str, args)], check=check)


def test_205_001_sqlite_store_moves_to_postgresql_and_its_certificate_renews(server_class, workdir, postgres):
    pki = h.Pki.create(workdir / "pki-migrate")
    text = pki.config.read_text().replace("window_days: 30", "window_days: 400")
    pki.config.write_text(h.with_manual_approval(text, pki.challenge))
    devices = workdir / "devices-migrate"

    # ---- before: SQLite ----
    node = server_class(workdir / f"{server_class.kind}-migrate-sqlite", pki.config, locations=LOCATIONS)
    node.start()
    cacert = workdir / "migrate-getcacert.der"
    cacert.write_bytes(h.get_op(node.port, "/scep", "GetCACert").body)
    client = h.TestClient(cacert, pki.ca_cert)
    keeper = h.Device.create(devices, pki.challenge)
    _, rep = exchange(node, client, keeper)
    assert rep["status"] == "SUCCESS", rep
    old_cert = shutil.copy(rep["_cert_path"], devices / "keeper-old.pem")
    gone = h.Device.create(devices, pki.challenge)
    _, gone_rep = exchange(node, client, gone)
    scepter("certs", "revoke", "--config", pki.config, gone_rep["cert_serial"])
    _, crl_before = crl(node, pki, workdir / "migrate-crl-before.der")
    parked = h.Device.create(devices, pki.challenge)
    parked_req, parked_rep = exchange(node, client, parked, path="/scep-manual")
    assert parked_rep["status"] == "PENDING", parked_rep
    challenge = scepter("challenge", "--config", pki.config, "--profile", "default", "--user", "bob").stdout.strip()
    node.discard()

    # ---- the move ----
    db = f"migrate_{server_class.kind}"
    postgres.create_database(db)
    pg_config = pki.config.with_name("scepter-pg.yaml")
    shutil.copy(pki.config, pg_config)
    h.use_postgresql(pg_config, postgres, db)
    out = scepter("store", "migrate", "--from", pki.config, "--to", pg_config).stdout
    assert re.search(r"^certificates: 2 \(revoked: 1\)$", out, re.M), out
    assert re.search(r"^pending requests: 1$", out, re.M), out
    assert re.search(r"^unused challenges: 1$", out, re.M), out
    # again into the now populated store: refused, nothing doubled
    again = scepter("store", "migrate", "--from", pki.config, "--to", pg_config, check=False)
    assert again.returncode == 1 and "migrate into an empty store" in again.stderr, again.stderr
    assert postgres.psql("SELECT count(*) FROM certificates", db=db) == "2"

    # ---- after: PostgreSQL ----
    node = server_class(workdir / f"{server_class.kind}-migrate-pg", pg_config, locations=LOCATIONS)
    node.start()
    try:
        _, renewed = exchange(node, client, keeper, name="renew", message_type=17, signer_cert=old_cert,
                              signer_key=keeper.key)
        assert renewed["status"] == "SUCCESS", renewed
        assert h.norm_serial(renewed["cert_serial"]) != h.norm_serial(rep["cert_serial"])
        _, redeemed = exchange(node, client, h.Device.create(devices, challenge), name="redeem")
        assert redeemed["status"] == "SUCCESS", redeemed
        scepter("requests", "approve", parked_req.transaction_id, "--config", pg_config)
        _, polled = exchange(node, client, parked, path="/scep-manual", name="poll", message_type=20,
                             content="issuer-and-subject", transaction_id=parked_req.transaction_id)
        assert polled["status"] == "SUCCESS", polled
        revoked, number = crl(node, pki, workdir / "migrate-crl-after.der")
        assert h.norm_serial(gone_rep["cert_serial"]) in revoked
        # renewal revoked the old certificate (revoke_old): a new CRL, numbered on from the old
        assert h.norm_serial(rep["cert_serial"]) in revoked
        assert number > crl_before, (number, crl_before)
    finally:
        node.discard()
