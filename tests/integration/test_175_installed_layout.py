"""The installed packages as an admin uses them (SCEPTER_INSTALLED=1, set by
scripts/test's package stage after `apt-get install ./*.deb`): the README's
production quick start with /usr/bin/scepter, a configuration under
/etc/scepter, the store in the package's /var/lib/scepter and the audit trail
in /var/log/scepter; nginx loads the module through its modules-enabled
snippet and Apache through what a2enmod enabled (the harness renders both),
and a real client enrolls."""

import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

import harness as h
from test_020_scepclient import issued_cert, run_scepclient

pytestmark = pytest.mark.skipif(not h.INSTALLED, reason="runs against the installed packages only")


def mapped_files(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split()[-1] for line in lines if "/" in line}


@pytest.fixture
def etc_pki():
    """A PKI under /etc/scepter whose store and trail live where the package
    put their directories; removed afterwards (the admin's files are not
    touched: the names are fresh)."""
    name = f"it-{secrets.token_hex(4)}"
    d = Path("/etc/scepter") / name
    store = Path("/var/lib/scepter") / f"{name}.db"
    trail = Path("/var/log/scepter") / f"{name}.log"
    try:
        pki = h.Pki.create(d)
        text = pki.config.read_text()
        text = re.sub(r"(?m)^  sqlite: state/scepter\.db$", f"  sqlite: {store}", text)
        text = re.sub(r"(?m)^audit_log: audit\.log$", f"audit_log: {trail}", text)
        assert str(store) in text and str(trail) in text, text
        pki.config.write_text(text)
        yield pki, store, trail
    finally:
        shutil.rmtree(d, ignore_errors=True)
        for f in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), trail):
            f.unlink(missing_ok=True)


def test_175_001_quick_start_with_the_installed_layout(server_class, workdir, etc_pki):
    pki, store, trail = etc_pki
    assert h.SCEPTER == Path("/usr/bin/scepter")
    h.run([h.SCEPTER, "config", "check", "--worker-user", h.WORKER_USER, pki.config])

    n = server_class(workdir / f"installed-{server_class.kind}", pki.config)
    try:
        n.start()
        # The workers run the packaged module, not one from a build tree.
        module = str(h.NGINX_MODULE if server_class.kind == "nginx" else h.APACHE_MODULE)
        assert module.startswith("/usr/lib/")
        for pid in n.worker_pids():
            assert module in mapped_files(pid), f"worker {pid} has not mapped {module}"

        d = workdir / f"installed-{server_class.kind}-client"
        p = run_scepclient(n.port, pki, d, f"installed-{server_class.kind}")
        assert p.returncode == 0, f"scepclient failed:\n{p.stdout}\n{p.stderr}"
        h.run(["openssl", "verify", "-CAfile", pki.ca_cert, issued_cert(d)])

        # State and trail where the package made room for them, written by
        # the web server's user.
        assert store.exists() and store.owner() == h.WORKER_USER
        assert '"step":"cert_issued"' in trail.read_text().replace(" ", "")
        listed = h.run([h.SCEPTER, "certs", "list", "--config", pki.config]).stdout
        assert f"installed-{server_class.kind}" in listed, listed
    finally:
        n.discard()
    assert os.path.isdir("/var/lib/scepter")
