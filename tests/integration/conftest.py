"""Fixtures of the integration suite: one demo PKI (`scepter init`) and one
nginx with the module per session, devices, the test client, and the
error-log gate.

Error-log gate: while a test runs, every new line of every nginx error.log
that has [error], [alert], [crit] or [emerg] (or [warn] with a Scepter ID)
fails the test, unless the test declared it:
    @pytest.mark.expect_log("SCP3002", "SCP3001")   # IDs or literal text
or, inside the test, expect_log("SCP3003").

Environment: SCEPTER_BUILD_DIR (default build/), SCEPTER_KEEP_TMP=1 keeps the
work directory, SCEPTER_TEST_TMP chooses where it goes (default /tmp).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import harness as h

# IDs every test may produce without declaring them: none yet. Add here only
# what is benign by design, with the reason.
ALWAYS_EXPECTED: list[str] = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "expect_log(*ids): error-log IDs or texts this test is expected to produce")


# --------------------------------------------------------------------------
# the error-log gate
# --------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    offsets = {id(n): n.log_size() for n in h.Nginx.instances}
    outcome = yield
    if outcome.excinfo is not None:
        return  # the test failed already; its own message matters more
    expected = list(ALWAYS_EXPECTED) + list(getattr(item, "_scepter_expected", []))
    for mark in item.iter_markers("expect_log"):
        expected += list(mark.args)
    problems = []
    for n in h.Nginx.instances:
        lines = n.log_since(offsets.get(id(n), 0))
        bad = h.unexpected_log_lines(lines, expected)
        if bad:
            problems.append(f"{n.error_log}:\n  " + "\n  ".join(bad))
    if problems:
        raise AssertionError("unexpected error-log lines (declare them with expect_log if "
                             "the test provokes them):\n" + "\n".join(problems))


@pytest.fixture
def expect_log(request):
    """expect_log("SCP3003", ...) declares log IDs (or texts) this test provokes."""
    def declare(*ids):
        request.node._scepter_expected = getattr(request.node, "_scepter_expected", []) + list(ids)
    return declare


# --------------------------------------------------------------------------
# session: build outputs, PKI, server
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def built():
    missing = [str(p) for p in (h.SCEPTER, h.TESTCLIENT, h.MODULE, Path(h.NGINX)) if not p.exists()]
    if missing:
        pytest.fail("missing build outputs / tools (build first, or set SCEPTER_BUILD_DIR): "
                    + ", ".join(missing), pytrace=False)
    return True


@pytest.fixture(scope="session")
def workdir(request, built):
    base = os.environ.get("SCEPTER_TEST_TMP", "/tmp")
    d = Path(tempfile.mkdtemp(prefix="scepter-it-", dir=base))
    os.chmod(d, 0o755)
    yield d
    keep = os.environ.get("SCEPTER_KEEP_TMP") == "1" or request.session.testsfailed
    if keep:
        print(f"\nintegration work directory kept: {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(workdir) -> h.Pki:
    return h.Pki.create(workdir / "pki")


@pytest.fixture(scope="session")
def server(workdir, pki):
    n = h.Nginx(workdir / "nginx", pki.config)
    n.start()
    bad = h.unexpected_log_lines(n.log_since(0), ALWAYS_EXPECTED)
    if bad:
        n.stop()
        pytest.fail("nginx logged errors while starting:\n" + "\n".join(bad), pytrace=False)
    yield n
    n.stop()
    h.Nginx.instances.remove(n)


@pytest.fixture(scope="session")
def port(server) -> int:
    return server.port


@pytest.fixture(scope="session")
def getcacert(workdir, server) -> Path:
    """The GetCACert answer of /scep, as served (DER)."""
    r = h.get_op(server.port, "/scep", "GetCACert")
    assert r.status == 200, f"GetCACert: HTTP {r.status}: {r.body[:300]!r}"
    p = workdir / "getcacert.der"
    p.write_bytes(r.body)
    return p


@pytest.fixture(scope="session")
def ca_certs(workdir, getcacert) -> dict:
    """The certificates of GetCACert as PEM files: 'ca', 'ra_enc', 'ra_sign'
    (the RA entries are absent when the CA acts as RA), plus 'all'."""
    out = h.run(["openssl", "pkcs7", "-inform", "DER", "-in", getcacert, "-print_certs"]).stdout
    pems = h.split_pem(out)
    certs = {"all": []}
    for i, pem in enumerate(pems):
        p = workdir / f"getcacert-{i}.pem"
        p.write_text(pem)
        certs["all"].append(p)
        s = h.cert_summary(p)
        if s["ca"]:
            certs.setdefault("ca", p)
        elif s["key_encipherment"]:
            certs.setdefault("ra_enc", p)
        else:
            certs.setdefault("ra_sign", p)
    return certs


@pytest.fixture(scope="session")
def client(getcacert, pki) -> h.TestClient:
    return h.TestClient(getcacert, pki.ca_cert)


@pytest.fixture
def devices_dir(workdir, request) -> Path:
    d = workdir / "devices" / request.node.name.replace("/", "_")[:80]
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def make_device(devices_dir, pki):
    """make_device(bits=2048, challenge=None, extensions=None, cn=None)"""
    def make(bits=2048, challenge=None, extensions=None, cn=None, subject_extra=None):
        return h.Device.create(devices_dir, pki.challenge if challenge is None else challenge,
                               cn=cn, bits=bits, extensions=extensions,
                               subject_extra=subject_extra)
    return make


@pytest.fixture
def enroll(port, client):
    """enroll(device, path="/scep", method="POST"|"GET"|"GET-raw", **request options)
    -> Enrollment(http=reply, req=request, rep=decoded CertRep or None when not HTTP 200)."""
    def do(device, path="/scep", method="POST", name="req", **kw):
        req = client.request(device, name=name, **kw)
        r = h.send_pki(port, path, req.der, method)
        rep = client.reply(device, req, r.body, name=f"{name}-reply") if r.status == 200 else None
        return h.Enrollment(r, req, rep)
    return do
