"""Prometheus metrics, scraped by a real Prometheus (Debian's `prometheus`)
from the metrics location of each server: nginx with 2 workers, Apache with
its children. After N enrollments and M wrong-challenge failures the scraped
counters equal N and M exactly; after a reload (`nginx -s reload`,
`apache2 -k graceful`) and more enrollments, they keep counting from there.
`promtool check metrics` accepts what the location serves, and the location
follows the admin faces' access rule."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness as h

USER, PASSWORD = "prom", "Scrape-s3cret"
N1, M1 = 3, 2   # before the reload: enrollments, wrong-challenge failures
N2, M2 = 2, 1   # after it

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None or shutil.which("promtool") is None,
                                reason="Debian's prometheus is not installed (scripts/lib/deps.sh)")


class Prometheus:
    """A Prometheus of our own: a port chosen now, its own data directory,
    scraping one target every second."""

    def __init__(self, directory: Path, target_port: int, metrics_path: str):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = h.free_port()
        self.config = directory / "prometheus.yml"
        self.config.write_text(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: scepter
    metrics_path: {metrics_path}
    basic_auth: {{username: {USER}, password: {PASSWORD}}}
    static_configs:
      - targets: ['127.0.0.1:{target_port}']
""")
        self.log = directory / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout=30) -> "Prometheus":
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={self.dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "prometheus exited:\n" + self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus did not become ready:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def value(self, query: str) -> float | None:
        """The instant value of a query that yields one series (None: none)."""
        result = self.api("query", query=query)["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list:
        return [(t["health"], t.get("lastError", "")) for t in self.api("targets")["activeTargets"]]

    def wait_for(self, expected: dict[str, float], timeout=40) -> dict:
        """Waits until every query has its expected value; returns the last values."""
        deadline = time.monotonic() + timeout
        while True:
            got = {q: self.value(q) for q in expected}
            if got == expected:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"scraped values {got}, expected {expected}; targets {self.targets()}")
            time.sleep(0.5)


def queries(n: int, m: int) -> dict[str, float]:
    pki = 'scepter_requests_total{operation="PKIOperation",message_type="PKCSReq",profile="legacy"'
    return {
        f'sum({pki},outcome="success"}})': float(n),
        f'sum({pki},outcome="failure"}})': float(m),
        'sum(scepter_certificates_issued_total{profile="legacy"})': float(n),
        'sum(scepter_failures_total{step="challenge_password",reason="ChallengePasswordMismatch"})': float(m),
        # every PKIOperation timed once end to end
        'sum(scepter_request_duration_seconds_count{operation="PKIOperation"})': float(n + m),
    }


@pytest.fixture(scope="module")
def scraped(server_class, workdir, pki):
    htpasswd = workdir / "metrics.htpasswd"
    hashed = h.run(["openssl", "passwd", "-apr1", PASSWORD]).stdout.strip()
    htpasswd.write_text(f"{USER}:{hashed}\n")
    htpasswd.chmod(0o644)
    locations = list(h.DEFAULT_LOCATIONS) + [h.AdminLocation("/metrics", "metrics", None, htpasswd),
                                             h.AdminLocation("/metrics-open", "metrics", None, None),
                                             h.AdminLocation("/admin/challenge", "admin", "default", htpasswd)]
    server = server_class(workdir / f"{server_class.kind}-metrics", pki.config, locations=locations)
    server.start()
    prom = Prometheus(workdir / f"prometheus-{server_class.kind}", server.port, "/metrics").start()
    yield SimpleNamespace(server=server, prom=prom)
    prom.stop()
    server.discard()


def scrape(port: int, path="/metrics", auth=True) -> h.Reply:
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return h.http_request(port, "GET", path, headers=headers)


def enroll_some(port, client, make_device, pki, successes: int, failures: int, tag: str) -> None:
    for i in range(successes):
        dev = make_device(cn=f"metrics-{tag}-ok-{i}")
        req = client.request(dev, name=f"ok{i}")
        rep = client.reply(dev, req, h.send_pki(port, "/scep", req.der).body, name=f"ok{i}-reply")
        assert rep["status"] == "SUCCESS", rep
    for i in range(failures):
        dev = make_device(cn=f"metrics-{tag}-bad-{i}", challenge="not-the-challenge")
        req = client.request(dev, name=f"bad{i}")
        rep = client.reply(dev, req, h.send_pki(port, "/scep", req.der).body, name=f"bad{i}-reply")
        assert rep["status"] == "FAILURE", rep


@pytest.mark.expect_log("SCP3003")
def test_180_001_prometheus_counts_exactly_across_workers_and_a_reload(scraped, client, make_device, pki):
    server, prom = scraped.server, scraped.prom
    assert server.kind != "nginx" or server.workers == 2
    enroll_some(server.port, client, make_device, pki, N1, M1, "before")
    prom.wait_for(queries(N1, M1))
    started = prom.value("scepter_metrics_start_time_seconds")
    assert started is not None

    old_workers = server.begin_reload()
    server.wait_reloaded(old_workers)
    assert not (server.worker_pids() & old_workers), "the reload kept old workers"

    enroll_some(server.port, client, make_device, pki, N2, M2, "after")
    prom.wait_for(queries(N1 + N2, M1 + M2))
    # The same block: the counts began when they began, not at the reload,
    # and Prometheus saw no counter reset.
    assert prom.value("scepter_metrics_start_time_seconds") == started
    assert prom.value('sum(resets(scepter_certificates_issued_total{profile="legacy"}[10m]))') == 0.0
    assert [health for health, _ in prom.targets()] == ["up"]


def test_180_002_promtool_accepts_the_text(scraped, tmp_path):
    r = scrape(scraped.server.port)
    assert r.status == 200, r.text()
    assert r.content_type.startswith("text/plain; version=0.0.4"), r.content_type
    text = r.text()
    for family in ("scepter_requests_total", "scepter_failures_total", "scepter_step_duration_seconds",
                   "scepter_pending_requests", "scepter_store_errors_total"):
        assert f"# TYPE {family} " in text, family
    assert 'le="+Inf"' in text
    p = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode() + "\n" + text[:3000]


@pytest.mark.expect_log("SCP3007")
def test_180_003_the_admin_faces_access_rule(scraped):
    port = scraped.server.port
    # the web server's own authentication
    assert scrape(port, auth=False).status == 401
    # a location the web server does not authenticate: the core refuses it
    # (admin.allow_without_authentication is not set)
    r = scrape(port, "/metrics-open", auth=False)
    assert r.status == 403, r.text()
    assert "scepter_requests_total" not in r.text()


def series(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


@pytest.mark.expect_log("SCP3003")
def test_180_004_challenges_issued_refused_and_consumed(scraped, client, make_device):
    """The profile's quota is 5 unused challenges per requester: the admin
    face issues 5, refuses the 6th (429), and one is consumed by an enrollment."""
    port = scraped.server.port
    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    issued = []
    for _ in range(6):
        r = h.http_request(port, "GET", "/admin/challenge", headers=auth)
        if r.status == 200:
            issued.append(json.loads(r.body)["challenge"])
    assert len(issued) == 5, issued
    dev = make_device(cn="metrics-one-time", challenge=issued[0])
    req = client.request(dev, name="one-time")
    rep = client.reply(dev, req, h.send_pki(port, "/scep-strict", req.der).body, name="one-time-reply")
    assert rep["status"] == "SUCCESS", rep
    got = series(scrape(port).text())
    want = {
        'scepter_challenges_total{profile="default",event="issued"}': 5,
        'scepter_challenges_total{profile="default",event="refused_quota"}': 1,
        'scepter_challenges_total{profile="default",event="consumed"}': 1,
        'scepter_failures_total{step="challenge_issued",reason="ChallengeQuotaFull"}': 1,
        'scepter_requests_total{operation="admin",message_type="",profile="default",outcome="success"}': 5,
        'scepter_requests_total{operation="admin",message_type="",profile="default",outcome="rejected"}': 1,
        'scepter_certificates_issued_total{profile="default"}': 1,
    }
    assert {k: got.get(k) for k in want} == want
