"""The enrollments page of the admin face (`scepter_enrollments;`, `SetHandler
scepter-enrollments`), as an admin opens it: headless Chromium loads the
list and one transaction's page after a successful enrollment and a
wrong-challenge one; the rendered text must name the subject, the outcome,
the client OS, the failing step and its hint. A screenshot of each page is
written to the run's output directory (h.OUTPUT)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from types import SimpleNamespace

import pytest

import harness as h

ADMIN_USER, ADMIN_PASSWORD = "auditor", "s3cret-Pages"
PAGE = "/admin/enrollments"
OPEN_PAGE = "/admin/enrollments-open"  # no authentication: refused by the core
ANDROID = "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A)"


@pytest.fixture(scope="module")
def site(server_class, workdir, client):
    pki = h.Pki.create(workdir / "pki-enrollments")
    htpasswd = workdir / "enrollments.htpasswd"
    hashed = h.run(["openssl", "passwd", "-apr1", ADMIN_PASSWORD]).stdout.strip()
    htpasswd.write_text(f"{ADMIN_USER}:{hashed}\n")
    htpasswd.chmod(0o644)
    locations = [("/scep-strict", None),
                 h.AdminLocation(PAGE, "enrollments", None, htpasswd),
                 h.AdminLocation(OPEN_PAGE, "enrollments", None, None)]
    server = server_class(workdir / f"{server_class.kind}-enrollments", pki.config, locations=locations)
    server.start()
    cacert = workdir / "enrollments-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, "/scep-strict", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, client=h.TestClient(cacert, pki.ca_cert))
    server.discard()


@pytest.fixture(scope="module")
def story(site, workdir, server_kind):
    """A device that enrolls (after its GetCACaps and GetCACert), and one
    whose challenge is wrong and whose name holds markup."""
    base = workdir / "devices" / "test_155"
    base.mkdir(parents=True, exist_ok=True)
    port = site.server.port

    def send(device, name):
        req = site.client.request(device, name=name)
        r = h.http_request(port, "POST", "/scep-strict?operation=PKIOperation", req.der,
                           {"Content-Type": "application/x-pki-message", "User-Agent": ANDROID})
        rep = site.client.reply(device, req, r.body, name=f"{name}-reply") if r.status == 200 else None
        return h.Enrollment(r, req, rep)

    for op in ("GetCACaps", "GetCACert"):
        assert h.http_request(port, "GET", f"/scep-strict?operation={op}",
                              headers={"User-Agent": ANDROID}).status == 200
    ok_dev = h.Device.create(base, site.pki.challenge, cn=f"page-ok-{server_kind}")
    ok = send(ok_dev, "ok")
    h.check_issued(ok, ok_dev, site.pki.ca_cert)
    # Markup in the subject: the page must show it as text.
    wrong_dev = h.Device.create(base, "definitely-wrong", cn=f"page-wrong-{server_kind}-<i>x</i>")
    wrong = send(wrong_dev, "wrong")
    h.check_failure(wrong, "badRequest")
    return SimpleNamespace(ok=ok, ok_cn=ok_dev.cn, wrong=wrong, wrong_cn=wrong_dev.cn)


pytestmark = pytest.mark.expect_log("SCP3003")  # the wrong challenge


def chromium(workdir, url: str, *args) -> subprocess.CompletedProcess:
    exe = h.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed (scripts/test installs it)")
    profile = workdir / "chromium-profile-155"
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=120)


def page_url(site, query: str = "") -> str:
    return (f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{site.server.port}{PAGE}"
            + (f"?{query}" if query else ""))


def dom(site, workdir, query: str = "") -> str:
    p = chromium(workdir, page_url(site, query), "--dump-dom")
    assert "<html" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    return p.stdout


def text_of(html: str) -> str:
    """The rendered text, roughly: tags out, entities of the markup back."""
    text = re.sub(r"<[^>]+>", " ", html)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return re.sub(r"\s+", " ", text)


def screenshot(site, workdir, server_kind, query: str, name: str) -> h.Path:
    h.OUTPUT.mkdir(parents=True, exist_ok=True)
    out = h.OUTPUT / f"test_155-{server_kind}-{name}.png"
    out.unlink(missing_ok=True)
    p = chromium(workdir, page_url(site, query), f"--screenshot={out}", "--window-size=1280,900")
    assert out.exists() and out.stat().st_size > 5000, p.stdout[-1000:] + p.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def rfc2253(cn: str) -> str:
    """A CN as the trail's subject writes it (RFC 2253 escapes < and >)."""
    return cn.replace("<", "\\<").replace(">", "\\>")


def trace_json(site, tx: str) -> dict:
    return json.loads(h.run([h.SCEPTER, "trace", "--config", site.pki.config, tx, "--json"]).stdout)


@pytest.mark.expect_log("favicon.ico")  # the browser asks for one; no such file is served
def test_155_001_the_list_shows_both_enrollments(site, story, workdir, server_kind):
    html = dom(site, workdir)
    text = text_of(html)
    for cn, outcome, tx in [(story.ok_cn, "issued", story.ok.req.transaction_id),
                            (story.wrong_cn, "failed", story.wrong.req.transaction_id)]:
        row = re.search(rf"<tr>.*?{re.escape(tx)}.*?</tr>", html, re.S)
        assert row, html[-3000:]
        row_text = text_of(row.group(0))
        assert f"CN={rfc2253(cn)}" in row_text and outcome in row_text and "Android" in row_text, row_text
    assert "challenge_password" in text
    # the subject's markup is text, not an element
    assert r"\&lt;i\&gt;x\&lt;/i\&gt;" in html and "<i>" not in html
    screenshot(site, workdir, server_kind, "", "enrollments")


@pytest.mark.expect_log("favicon.ico")
def test_155_002_failures_only(site, story, workdir):
    html = dom(site, workdir, "failed=1&since=1h")
    assert story.wrong.req.transaction_id in html
    assert story.ok.req.transaction_id not in html
    assert re.search(r'name="failed" value="1" checked', html), html[:2000]


@pytest.mark.expect_log("favicon.ico")
def test_155_003_one_transaction_with_its_failing_step_and_hint(site, story, workdir, server_kind):
    tx = story.wrong.req.transaction_id
    query = "tx=" + urllib.parse.quote(tx, safe="")
    html = dom(site, workdir, query)
    text = text_of(html)
    traced = trace_json(site, tx)  # the CLI reads the same trail through the same code
    failed = [row for row in traced["timeline"] if row["failure"]]
    assert failed and failed[0]["entry"]["step"] == "challenge_password", traced
    hint = failed[0]["hint"]
    assert f"Enrollment {tx}" in text
    assert f"CN={rfc2253(story.wrong_cn)}" in text
    assert "outcome failed" in text and "failed step challenge_password" in text, text[:3000]
    fail_row = re.search(r'<tr class="fail">.*?</tr>', html, re.S)
    assert fail_row, html[-3000:]
    row_text = text_of(fail_row.group(0))
    assert "challenge_password" in row_text
    assert hint["key"] == "ChallengePasswordMismatch" and hint["key"] in row_text, row_text
    assert hint["cause"] in row_text and hint["check"] in row_text, row_text
    # the steps drawn as bars
    assert len(re.findall(r'class="bar"', html)) >= 4, html
    screenshot(site, workdir, server_kind, query, "transaction")

    # the successful one, with the GETs the device sent before it
    query = "tx=" + urllib.parse.quote(story.ok.req.transaction_id, safe="")
    html = dom(site, workdir, query)
    text = text_of(html)
    assert "outcome issued" in text and f"CN={story.ok_cn}" in text, text[:3000]
    assert '<tr class="fail">' not in html
    linked = re.findall(r'<tr class="linked">.*?</tr>', html, re.S)
    assert any("GetCACaps" in l for l in linked) and any("GetCACert" in l for l in linked), html
    assert "cert_issued" in text and "response_sent" in text
    screenshot(site, workdir, server_kind, query, "transaction-issued")


def test_155_004_access_and_bounds(site, story, expect_log):
    port = site.server.port
    # the web server asks for the password; the core refuses what nobody authenticated
    assert h.http_request(port, "GET", PAGE).status == 401
    expect_log("SCP3007")
    r = h.http_request(port, "GET", OPEN_PAGE)
    assert r.status == 403 and b"authentication" in r.body, r
    auth = {"Authorization": "Basic " + __import__("base64").b64encode(
        f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()}
    r = h.http_request(port, "GET", PAGE + "?tx=no-such-transaction", headers=auth)
    assert r.status == 404 and r.content_type.startswith("text/html"), r
    r = h.http_request(port, "GET", PAGE + "?tx=%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=auth)
    assert r.status == 404 and b"<script>" not in r.body and b"&lt;script&gt;" in r.body, r.body
    r = h.http_request(port, "POST", PAGE, b"x", headers=auth)
    assert r.status == 405, r
    expect_log("SCP3001")
    # no script, no external asset
    r = h.http_request(port, "GET", PAGE, headers=auth)
    assert r.status == 200 and r.content_type == "text/html; charset=utf-8", r
    body = r.text()
    assert "<script" not in body and "src=" not in body and "http://" not in body and "https://" not in body
