"""A CA or RA certificate within 30 days of its end is named, with SCP1005,
wherever a configuration is checked or loaded: `scepter config check`, the
server's configuration test, and its error log at start and reload."""

import re
import time

import pytest

import harness as h


def reissue_for_days(pki: h.Pki, name: str, days: int) -> None:
    """The RA pair `name` again, same key and extensions, valid `days` days."""
    cert, key, req = pki.dir / f"{name}.pem", pki.dir / f"{name}.key", pki.dir / f"{name}.req"
    h.run(["openssl", "x509", "-x509toreq", "-copy_extensions", "copyall", "-in", cert,
           "-signkey", key, "-out", req])
    h.run(["openssl", "x509", "-req", "-in", req, "-copy_extensions", "copyall", "-CA", pki.ca_cert,
           "-CAkey", pki.dir / "ca.key", "-set_serial", "0x4242", "-days", str(days), "-sha256",
           "-out", cert])


@pytest.fixture(scope="module")
def expiring(workdir):
    pki = h.Pki.create(workdir / "pki-expiring-ra")
    reissue_for_days(pki, "ra-enc", 10)
    return pki


def assert_warned(text: str) -> int:
    """How many SCP1005 lines text holds (at least one, each the RA's)."""
    lines = [line for line in text.splitlines() if "SCP1005" in line]
    assert lines, text
    for line in lines:
        assert "the RA encryption certificate" in line, line
        assert re.search(r"\(in (9|10) days\): renew it before then", line), line
    return len(lines)


def test_092_001_config_check_warns_and_passes(expiring):
    p = h.run([h.SCEPTER, "config", "check", expiring.config])
    assert p.stdout.strip().endswith(": ok"), p.stdout
    assert_warned(p.stderr)


@pytest.mark.expect_log("SCP1005")
def test_092_002_server_warns_at_configtest_start_and_reload(expiring, server_class, workdir):
    n = server_class(workdir / f"{server_class.kind}-expiring", expiring.config, locations=[("/scep", None)])
    n.write_conf()
    t = n.config_test()
    assert t.returncode == 0, t.stderr
    assert_warned(t.stderr)
    n.start()
    try:
        started = assert_warned(n.error_log.read_text())
        assert h.get_op(n.port, "/scep", "GetCACaps").status == 200  # a warning, not a refusal
        n.ctl_reload()
        deadline = time.time() + 15
        while n.error_log.read_text().count("SCP1005") <= started and time.time() < deadline:
            time.sleep(0.1)
        assert assert_warned(n.error_log.read_text()) > started, n.tail_log()
    finally:
        n.stop()


def test_092_003_ra_renew_ends_the_warning_and_devices_enroll(expiring, server_class, workdir, devices_dir):
    before = h.cert_summary(expiring.dir / "ra-enc.pem")["serial"]
    out = h.run([h.SCEPTER, "ra", "renew", "--config", expiring.config]).stdout
    assert "ra-enc.pem: renewed until" in out and "ra-sign.pem: renewed until" in out, out
    assert h.cert_summary(expiring.dir / "ra-enc.pem")["serial"] != before
    assert (expiring.dir / "ra-enc.pem.prev").exists()
    check = h.run([h.SCEPTER, "config", "check", expiring.config])
    assert "SCP1005" not in check.stderr, check.stderr
    n = server_class(workdir / f"{server_class.kind}-renewed-ra", expiring.config, locations=[("/scep", None)])
    n.start()
    try:
        assert "SCP1005" not in n.error_log.read_text()
        cacert = workdir / f"{server_class.kind}-renewed-getcacert.der"
        cacert.write_bytes(h.get_op(n.port, "/scep", "GetCACert").body)
        client = h.TestClient(cacert, expiring.ca_cert)
        dev = h.Device.create(devices_dir, expiring.challenge)
        req = client.request(dev)
        rep = client.reply(dev, req, h.send_pki(n.port, "/scep", req.der).body)
        assert rep["status"] == "SUCCESS", rep
    finally:
        n.stop()
