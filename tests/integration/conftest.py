"""Fixtures of the integration suite: one set of tests, run against each
server. Per server kind (nginx, Apache httpd) and session: one demo PKI
(`scepter init`) and one server with the module; devices, the test client,
and the error-log gate.

Servers: every test that uses a server (or anything made per server: the
PKI, the work directory, ...) runs once per kind, as test_x[nginx] and
test_x[apache]. All of one kind's tests run, then all of the other's. One
kind only: `-k nginx` / `-k apache`, or `--server apache`, or
SCEPTER_SERVERS=apache.

Error-log gate: while a test runs, every new line of every server's
error.log at an error level or above ([error], [crit], [alert], [emerg];
Apache's [core:error], [scepter:crit], ...), a warning carrying a Scepter
ID, and what the server marks as a crashed worker fail the test, unless the
test declared it:
    @pytest.mark.expect_log("SCP3002", "SCP3001")   # IDs or literal text
or, inside the test, expect_log("SCP3003").

Sanitizer gate (scripts/sanitize): when SCEPTER_SANITIZER_LOGS names the
directory the ASan/UBSan runtimes write their reports to (log_path), a
report appearing while a test runs fails that test, and any report at all
fails the session.

Environment: SCEPTER_BUILD_DIR (default build/), SCEPTER_KEEP_TMP=1 keeps the
work directory, SCEPTER_TEST_TMP chooses where it goes (default /tmp),
SCEPTER_SERVERS (comma-separated kinds, default all), SCEPTER_SERVER_ENV
(extra environment of the server processes, see harness.py),
SCEPTER_SANITIZE=1 and SCEPTER_SANITIZER_LOGS (scripts/sanitize).
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


def pytest_addoption(parser):
    parser.addoption("--server", action="append", choices=list(h.SERVER_KINDS), default=None,
                     help="run the integration tests against this server only (repeatable; "
                          "default: SCEPTER_SERVERS or all of " + ", ".join(h.SERVER_KINDS) + ")")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "expect_log(*ids): error-log IDs or texts this test is expected to produce")
    config.addinivalue_line(
        "markers", "device_keys(name, count): the test takes `count` keys named `name` from "
                   "key_pool (generated in the background from the start of the session)")


def server_kinds(config) -> list[str]:
    # default: the option is not registered when this conftest is not an
    # initial one (pytest run on a parent directory)
    kinds = config.getoption("--server", default=None)
    if not kinds:
        env = os.environ.get("SCEPTER_SERVERS", "")
        kinds = [k.strip() for k in env.split(",") if k.strip()] or list(h.SERVER_KINDS)
    unknown = [k for k in kinds if k not in h.SERVER_CLASSES]
    if unknown:
        raise pytest.UsageError(f"unknown server kind(s) {unknown}; known: {list(h.SERVER_KINDS)}")
    # The very string objects of h.SERVER_KINDS: pytest 7 keeps a session
    # fixture's value only while its param `is` the cached one, and strings
    # split from SCEPTER_SERVERS are new objects on every call, which made
    # the PKI and the server start again for every test.
    canonical = {k: k for k in h.SERVER_KINDS}
    return list(dict.fromkeys(canonical[k] for k in kinds))


def pytest_generate_tests(metafunc):
    # Everything made per server depends on server_kind: parametrizing it at
    # session scope runs each such test once per kind, grouped by kind.
    if "server_kind" in metafunc.fixturenames:
        metafunc.parametrize("server_kind", server_kinds(metafunc.config), indirect=True,
                             scope="session")


# --------------------------------------------------------------------------
# the error-log gate
# --------------------------------------------------------------------------


SANITIZER_LOGS = os.environ.get("SCEPTER_SANITIZER_LOGS")


def sanitizer_reports() -> set[Path]:
    if not SANITIZER_LOGS:
        return set()
    return {p for p in Path(SANITIZER_LOGS).glob("*") if p.is_file()}


def describe_reports(paths) -> str:
    return "\n".join(f"--- {p} ---\n{p.read_text(errors='replace')[:6000]}"
                     for p in sorted(paths))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    offsets = {id(n): n.log_size() for n in h.Server.instances}
    reports_before = sanitizer_reports()
    outcome = yield
    new_reports = sanitizer_reports() - reports_before
    if new_reports:  # whatever the test's own outcome: this matters more
        raise AssertionError("sanitizer report(s) while this test ran:\n"
                             + describe_reports(new_reports))
    if outcome.excinfo is not None:
        return  # the test failed already; its own message matters more
    expected = list(ALWAYS_EXPECTED) + list(getattr(item, "_scepter_expected", []))
    for mark in item.iter_markers("expect_log"):
        expected += list(mark.args)
    problems = []
    for n in h.Server.instances:
        lines = n.log_since(offsets.get(id(n), 0))
        bad = n.unexpected_log_lines(lines, expected)
        if bad:
            problems.append(f"{n.error_log}:\n  " + "\n  ".join(bad))
    if problems:
        raise AssertionError("unexpected error-log lines (declare them with expect_log if "
                             "the test provokes them):\n" + "\n".join(problems))


def pytest_sessionfinish(session, exitstatus):
    # Reports made outside a test's call (server start in a fixture, stop at
    # the end) fail the session too.
    reports = sanitizer_reports()
    if reports:
        print("\nsanitizer report(s):\n" + describe_reports(reports))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def expect_log(request):
    """expect_log("SCP3003", ...) declares log IDs (or texts) this test provokes."""
    def declare(*ids):
        request.node._scepter_expected = getattr(request.node, "_scepter_expected", []) + list(ids)
    return declare


# --------------------------------------------------------------------------
# session: build outputs, work directories, PKI, server (per server kind)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def built():
    missing = [str(p) for p in (h.SCEPTER, h.TESTCLIENT) if not p.exists()]
    if missing:
        pytest.fail("missing build outputs (build first, or set SCEPTER_BUILD_DIR): "
                    + ", ".join(missing), pytrace=False)
    return True


@pytest.fixture(scope="session")
def server_kind(request, built) -> str:
    """"nginx" or "apache" (parametrized by pytest_generate_tests). A server
    whose module or binary is missing fails its tests: the suite is the same
    for both."""
    kind = request.param
    missing = [str(p) for p in h.server_outputs(kind) if not p.exists()]
    if missing:
        pytest.fail(f"{kind}: missing build outputs / tools (build first, or set "
                    "SCEPTER_BUILD_DIR): " + ", ".join(missing), pytrace=False)
    return kind


@pytest.fixture(scope="session")
def server_class(server_kind) -> type:
    """h.Nginx or h.Apache, for tests that make servers of their own."""
    return h.SERVER_CLASSES[server_kind]


@pytest.fixture(scope="session")
def session_dir(request, built):
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
def workdir(session_dir, server_kind) -> Path:
    """The work directory of one server kind's run: everything a test
    writes lands under it, so the runs never see each other's files."""
    d = session_dir / server_kind
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="session", autouse=True)
def key_pool(request, session_dir) -> h.KeyPool:
    """RSA keys shared by both servers' runs (see h.KeyPool). What the
    selected tests declare with @pytest.mark.device_keys(name, count) is
    generated in the background from the start of the session."""
    pool = h.KeyPool(session_dir / "keys")
    wanted: dict = {}
    for item in request.session.items:
        for mark in item.iter_markers("device_keys"):
            name, count = mark.args
            wanted[name] = max(wanted.get(name, 0), count)
    pool.prefetch(wanted)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def pki(workdir) -> h.Pki:
    return h.Pki.create(workdir / "pki")


@pytest.fixture(scope="session")
def server(server_class, workdir, pki) -> h.Server:
    n = server_class(workdir / server_class.kind, pki.config)
    n.start()
    bad = n.unexpected_log_lines(n.log_since(0), ALWAYS_EXPECTED)
    if bad:
        n.discard()
        pytest.fail(f"{n.kind} logged errors while starting:\n" + "\n".join(bad), pytrace=False)
    yield n
    n.discard()


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


@pytest.fixture(scope="session")
def postgres(session_dir) -> h.PostgresCluster:
    """One private PostgreSQL cluster for the session (initdb + pg_ctl as a
    non-root account, 127.0.0.1 and a port chosen at run time); each user
    makes a database of its own with create_database."""
    cluster = h.PostgresCluster(session_dir / "postgresql").init().start()
    yield cluster
    cluster.stop()
