"""scripts/demo as a new user runs it: the nginx and the Apache demo side by
side, each in its own directory, each stopped on its own by --stop."""

import base64
import os
import re
import shlex
import subprocess
import urllib.parse
from pathlib import Path

import pytest

import harness as h

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo"

pytestmark = pytest.mark.skipif(h.SANITIZE, reason="the demo starts the stock servers, not the sanitizer's")


def demo(base: Path, *args) -> dict:
    env = dict(os.environ, SCEPTER_DEMO_DIR=str(base))
    p = h.run(["bash", DEMO, *args], env=env, timeout=300)
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", p.stdout, re.M)) | {"_out": p.stdout}


def serving(port: int) -> bool:
    try:
        return h.get_op(port, "/scep", "GetCACaps").status == 200
    except OSError:
        return False


def check_metrics_url(url: str) -> None:
    """METRICS_URL carries the demo's admin credentials, as MSCEP_ADMIN_URL
    does; the demo enrolled one device (PKCSReq) before printing it."""
    u = urllib.parse.urlsplit(url)
    auth = base64.b64encode(f"{u.username}:{u.password}".encode()).decode()
    r = h.http_request(u.port, "GET", u.path, headers={"Authorization": "Basic " + auth})
    assert r.status == 200, (url, r.status, r.text()[:300])
    assert ('scepter_requests_total{operation="PKIOperation",message_type="PKCSReq",profile="legacy",'
            'outcome="success"} 1\n') in r.text(), r.text()[:3000]


def check_challenge_cmd_keeps_working(cmd: str, runs: int = 25) -> None:
    """Someone trying the demo runs CHALLENGE_CMD again and again without
    enrolling: far past NDES's PasswordMax of 5, each run still prints a
    fresh challenge."""
    seen = set()
    for i in range(runs):
        r = subprocess.run(shlex.split(cmd), capture_output=True, text=True, check=False)
        assert r.returncode == 0 and r.stdout.strip(), (i, r.stdout, r.stderr)
        seen.add(r.stdout.strip())
    assert len(seen) == runs, seen


def test_160_001_nginx_and_apache_demos_side_by_side(session_dir, built):
    base = session_dir / "demos"
    ports = {"nginx": h.free_port(), "apache": h.free_port()}
    started = {}
    try:
        for server, port in ports.items():
            started[server] = demo(base, "--server", server, "--port", str(port), "--detach")
        for server, port in ports.items():
            assert serving(port), f"{server} demo on {port} does not answer"
            assert started[server]["CONFIG"].startswith(str(base / f"{server}-{port}")), started[server]
            # the enrollments page, with the credentials the demo printed,
            # lists the demo device's enrollment
            url = urllib.parse.urlsplit(started[server]["ENROLLMENTS_URL"])
            auth = base64.b64encode(f"{url.username}:{url.password}".encode()).decode()
            page = h.http_request(port, "GET", url.path, headers={"Authorization": f"Basic {auth}"})
            assert page.status == 200 and "scepter-demo-device" in page.text(), (server, page)
        assert started["nginx"]["CA_CERT"] != started["apache"]["CA_CERT"]
        assert Path(started["nginx"]["CA_CERT"]).exists(), "the Apache demo wiped the nginx demo's PKI"
        for server in ports:
            check_metrics_url(started[server]["METRICS_URL"])
        check_challenge_cmd_keeps_working(started["nginx"]["CHALLENGE_CMD"])
        for server, port in ports.items():
            # the renewed certificate is good, the one it superseded revoked, both by OCSP
            out = started[server]
            assert out["OCSP_URL"] == f"http://127.0.0.1:{port}/ocsp", out["_out"]
            assert re.search(r"OCSP at:\s+" + re.escape(out["OCSP_URL"]), out["_out"]), out["_out"]
            assert re.search(r"^  0x\w+: good$", out["_out"], re.M), out["_out"]
            assert re.search(r"^  0x\w+: revoked$", out["_out"], re.M), out["_out"]

        out = demo(base, "--stop", "--server", "nginx", "--port", str(ports["nginx"]))["_out"]
        assert "stopped" in out, out
        assert not serving(ports["nginx"]) and serving(ports["apache"])
        out = demo(base, "--stop", "--server", "nginx", "--port", str(ports["nginx"]))["_out"]
        assert "no nginx demo server running" in out, out
        demo(base, "--stop", "--server", "apache", "--port", str(ports["apache"]))
        assert not serving(ports["apache"])
    finally:
        for server, port in ports.items():
            demo(base, "--stop", "--server", server, "--port", str(port))


def free_run_of_ports(n: int) -> int:
    """A base port whose next n-1 ports are free too (the fleet demo's
    nodes and PostgreSQL sit on consecutive ports)."""
    import socket

    for _ in range(50):
        base = h.free_port()
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError(f"no {n} consecutive free ports")


def listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_160_002_the_fleet_demo_and_its_stop(session_dir, built):
    """scripts/demo --fleet: a private PostgreSQL and three nodes on it (two
    nginx, one Apache); a device enrolls through one node and renews through
    another, so both certificates are in the one shared store."""
    base_dir = session_dir / "fleet-demo"
    port = free_run_of_ports(4)
    try:
        out = demo(base_dir, "--fleet", "--port", str(port), "--detach")
        urls = out["NODE_URLS"].split(" ")
        assert urls == [f"http://127.0.0.1:{port + i}/scep" for i in range(3)], out["_out"]
        assert out["PG_URL"] == f"postgresql://scepter@127.0.0.1:{port + 3}/scepter", out["_out"]
        assert all(serving(port + i) for i in range(3)) and listening(port + 3)
        assert "postgresql:" in Path(out["CONFIG"]).read_text() and "password" not in out["PG_URL"]
        # the certificate node a issued, revoked by the renewal through node c
        assert re.search(r"revoked \(superseded\)\s+CN=scepter-fleet-device", out["_out"]), out["_out"]
        assert len(re.findall(r"^\s+[0-9A-F]{32}\s+issued\s", out["_out"], re.M)) == 1, out["_out"]
        assert "fleet stopped" in demo(base_dir, "--fleet", "--stop")["_out"]
        assert not any(serving(port + i) for i in range(3)) and not listening(port + 3)
    finally:
        demo(base_dir, "--fleet", "--stop")
