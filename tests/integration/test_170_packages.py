"""The Debian packages (scripts/build-debs) as an admin installs them:
`apt-get install ./*.deb` enables the nginx module through modules-enabled
and the Apache module through a2enmod, the scepter package makes its state
directory for the web server's user, removal disables both modules, and
purge removes what the packages made but keeps the store.

Skipped unless SCEPTER_DEB_DIR names the directory of the built .debs: it
installs packages on the machine (and purges them afterwards), so it only
runs when asked. Also skipped when any of the packages is already installed:
an admin's installation is not ours to purge."""

import os
import subprocess
from pathlib import Path

import pytest

import harness as h

DEB_DIR = os.environ.get("SCEPTER_DEB_DIR")
PACKAGES = ["scepter", "libnginx-mod-http-scepter", "libapache2-mod-scepter"]
NGINX_LINK = Path("/etc/nginx/modules-enabled/50-mod-http-scepter.conf")
NGINX_SNIPPET = Path("/usr/share/nginx/modules-available/mod-http-scepter.conf")
POLICY_RC = Path("/usr/sbin/policy-rc.d")


def installed(pkg: str) -> bool:
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.endswith(" installed")


pytestmark = [
    pytest.mark.skipif(not DEB_DIR, reason="SCEPTER_DEB_DIR (built .debs) not set"),
    pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: needs root"),
]


def apt(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return h.run(["apt-get", "-y", "-q", *args], env=env, timeout=600)


@pytest.fixture
def no_service_restarts():
    """Package scripts must not (re)start the machine's nginx and httpd:
    a policy-rc.d that says no, only if the machine has none of its own."""
    own = not POLICY_RC.exists()
    if own:
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    yield
    if own:
        POLICY_RC.unlink()


def nginx_loads(tmp: Path):
    """nginx -t with only the enabled snippet: the module loads (its ABI
    matches the nginx it was built for)."""
    conf = tmp / "nginx.conf"
    conf.write_text(f"include {NGINX_LINK};\nevents {{}}\n")
    h.run(["nginx", "-t", "-q", "-g", "error_log /dev/null; pid /dev/null;", "-c", conf])


def apache_loads(tmp: Path):
    conf = tmp / "httpd.conf"
    conf.write_text(
        f"ServerRoot {tmp}\nServerName 127.0.0.1\nErrorLog /dev/null\nPidFile {tmp}/httpd.pid\n"
        "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"
        "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n"
        "Include /etc/apache2/mods-enabled/scepter.load\n")
    h.run(["apache2", "-t", "-f", conf])


def test_170_001_install_enable_remove_purge(tmp_path, no_service_restarts):
    debs = sorted(Path(DEB_DIR).glob("*.deb"))
    names = {d.name.split("_")[0] for d in debs}
    assert set(PACKAGES) <= names, f"{DEB_DIR} lacks some of {PACKAGES}: {sorted(names)}"
    if any(installed(p) for p in PACKAGES):
        pytest.skip("a scepter package is installed on this machine already")
    if os.path.lexists("/var/lib/scepter"):
        pytest.skip("/var/lib/scepter exists: not ours to remove")
    try:
        apt("install", *[str(d) for d in debs if d.name.split("_")[0] in PACKAGES])

        # nginx: snippet, enabled through modules-enabled, loads.
        assert NGINX_SNIPPET.read_text().strip() == \
            "load_module modules/ngx_http_scepter_module.so;"
        assert NGINX_LINK.is_symlink() and NGINX_LINK.resolve() == NGINX_SNIPPET
        nginx_loads(tmp_path)

        # Apache: enabled by a2enmod, loads.
        h.run(["a2query", "-q", "-m", "scepter"])
        assert Path("/etc/apache2/mods-available/scepter.conf").exists()
        apache_loads(tmp_path)

        # scepter: the CLI, the commented configuration, the state directory.
        assert "0.1.0" in h.run(["scepter", "--version"]).stdout
        conf = Path("/etc/scepter/scepter.yaml").read_text()
        assert all(not l.strip() or l.startswith("#") for l in conf.splitlines()), \
            "the packaged configuration must be commented out"
        st = Path("/var/lib/scepter").stat()
        assert (st.st_mode & 0o777) == 0o750
        assert Path("/var/lib/scepter").owner() == "www-data"
        assert Path("/usr/share/scepter/policies/ndes.lua").exists()
        assert Path("/etc/logrotate.d/scepter").exists()

        # Removal disables both modules; nothing of ours stays enabled.
        apt("remove", "libnginx-mod-http-scepter", "libapache2-mod-scepter")
        assert not NGINX_LINK.exists()
        assert h.run(["a2query", "-q", "-m", "scepter"], check=False).returncode != 0
        assert not Path("/etc/apache2/mods-enabled/scepter.load").exists()

        # Purge keeps the store (and whatever an admin put next to it).
        store = Path("/var/lib/scepter/scepter.db")
        store.write_text("kept")
        Path("/var/log/scepter/audit.log").write_text("{}\n")
        apt("purge", *PACKAGES)
        assert store.read_text() == "kept"
        for gone in ["/etc/scepter/scepter.yaml", "/var/log/scepter", "/etc/logrotate.d/scepter",
                     "/usr/lib/nginx/modules/ngx_http_scepter_module.so",
                     "/usr/lib/apache2/modules/mod_scepter.so", str(NGINX_SNIPPET),
                     "/etc/apache2/mods-available/scepter.load",
                     str(NGINX_LINK) + ".removed"]:
            assert not os.path.lexists(gone), f"{gone} left after purge"
    finally:
        left = [p for p in PACKAGES if installed(p) or subprocess.run(
            ["dpkg-query", "-W", p], capture_output=True).returncode == 0]
        if left:
            apt("purge", *left)
        h.run(["rm", "-rf", "/var/lib/scepter"])
