"""Building blocks of the integration suite: the demo PKI, the servers (nginx
and Apache httpd, each in a private prefix, behind one interface), devices
(key + CSR), the project's test client and HTTP.

Standard library only (plus pytest in conftest.py): PyPI is not reachable.
"""

from __future__ import annotations

import base64
import hashlib
import http.client as httpclient
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SCEPTER_BUILD_DIR", REPO / "build")).resolve()
SCEPTER = BUILD / "scepter"
TESTCLIENT = BUILD / "scepter-testclient"
NGINX_MODULE = BUILD / "modules" / "nginx" / "ngx_http_scepter_module.so"
APACHE_MODULE = BUILD / "modules" / "apache" / "mod_scepter.so"
# SCEPTER_INSTALLED=1: run against the installed Debian packages instead of
# the build tree (scripts/test's package stage): /usr/bin/scepter, nginx
# loading the module through its modules-enabled snippet, Apache through
# what a2enmod enabled. The test client still comes from the build.
INSTALLED = os.environ.get("SCEPTER_INSTALLED") == "1"
NGINX_ENABLED_SNIPPET = Path("/etc/nginx/modules-enabled/50-mod-http-scepter.conf")
APACHE_ENABLED = Path("/etc/apache2/mods-enabled")
if INSTALLED:
    SCEPTER = Path("/usr/bin/scepter")
    NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_http_scepter_module.so")
    APACHE_MODULE = Path("/usr/lib/apache2/modules/mod_scepter.so")
NGINX = os.environ.get("SCEPTER_NGINX", "/usr/sbin/nginx")
APACHE = os.environ.get("SCEPTER_APACHE", "/usr/sbin/apache2")
APACHE_MODULES_DIR = os.environ.get("SCEPTER_APACHE_MODULES", "/usr/lib/apache2/modules")
WORKER_USER = "www-data"
# What a run leaves for people to look at (the enrollments page's
# screenshots): kept after the run, unlike the work directory.
OUTPUT = Path(os.environ.get("SCEPTER_TEST_OUTPUT", BUILD / "test-output")).resolve()
# Extra environment of the server processes only (start, -t, reload), as
# shell-style NAME=VALUE words: scripts/sanitize preloads the ASan runtime
# into the uninstrumented nginx this way, which must not reach python,
# openssl or the other tools the suite runs.
SERVER_ENV = os.environ.get("SCEPTER_SERVER_ENV", "")
# Set by scripts/sanitize: the build is instrumented (ASan + UBSan). No test
# needs scaling down for it so far: the 50 and 200 concurrent enrollments of
# test_070/test_080 pass under ASan on 2 loaded cores.
SANITIZE = os.environ.get("SCEPTER_SANITIZE") == "1"
# What a sanitizer prints. gcc 12's UBSan, combined with ASan, ignores
# log_path and always writes to stderr: that of a tool run() captures, that of
# nginx is its error.log. Both are searched for these in sanitize mode.
SANITIZER_TEXT = ("runtime error:", "Sanitizer:") if SANITIZE else ()

# Lines that fail a test unless declared (see unexpected_log_lines): errors
# and worse; warnings only when they carry one of our IDs (a server's own
# warnings, such as nginx buffering a body to a temp file, are not the
# project's business).
SCEPTER_ID = re.compile(r"\bSCP\d{4}\b")


def run(cmd, check=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output; a failure shows everything."""
    cmd = [str(c) for c in cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if any(t in p.stderr for t in SANITIZER_TEXT):
        raise AssertionError(f"sanitizer report from {' '.join(cmd)}:\n{p.stderr}")
    if check and p.returncode != 0:
        raise AssertionError(
            f"command failed ({p.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"
        )
    return p


def server_env() -> dict | None:
    """The environment of a server process: ours plus SCEPTER_SERVER_ENV
    (None when that is empty: inherit as is)."""
    if not SERVER_ENV.strip():
        return None
    extra = {}
    for word in shlex.split(SERVER_ENV):
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise ValueError(f"SCEPTER_SERVER_ENV: {word!r} is not NAME=VALUE")
        extra[name] = value
    return {**os.environ, **extra}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chown_worker(path: Path, recursive=False) -> None:
    """Hands a path to the servers' worker user (only possible as root)."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(WORKER_USER)
    paths = [path]
    if recursive and path.is_dir():
        paths += list(path.rglob("*"))
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def make_traversable(path: Path) -> None:
    """Workers run as www-data: every directory above a file they open must
    be searchable (pytest's own tmp dirs are 0700)."""
    for p in [path, *path.parents]:
        if p == Path("/"):
            break
        mode = p.stat().st_mode
        if mode & 0o001 == 0:
            os.chmod(p, mode | 0o011)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http_request(port: int, method: str, target: str, body: bytes | None = None,
         headers: dict | None = None, timeout: float = 60) -> Reply:
    """One request on a fresh connection. target is sent as is, so a test can
    put unescaped characters into the query string."""
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def get_op(port: int, path: str, operation: str, message: str | None = None) -> Reply:
    q = {"operation": operation}
    if message is not None:
        q["message"] = message
    return http_request(port, "GET", f"{path}?{urllib.parse.urlencode(q)}")


def post_pki(port: int, path: str, der: bytes) -> Reply:
    return http_request(port, "POST", f"{path}?operation=PKIOperation", der,
                {"Content-Type": "application/x-pki-message"})


class HeldPost:
    """A PKIOperation POST sent in two parts: send() delivers the request
    line, the headers and all of the body but its last byte, so the server
    has accepted the connection and is reading the request; finish() sends
    the last byte and reads the reply. Lets a test have many requests in
    flight at a moment it chooses (a reload, say)."""

    def __init__(self, port: int, path: str, der: bytes, timeout: float = 120):
        assert len(der) > 1
        self.der = der
        self.conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.target = f"{path}?operation=PKIOperation"

    def send(self) -> None:
        self.conn.putrequest("POST", self.target, skip_accept_encoding=True)
        self.conn.putheader("Content-Type", "application/x-pki-message")
        self.conn.putheader("Content-Length", str(len(self.der)))
        self.conn.endheaders()
        self.conn.send(self.der[:-1])

    def finish(self) -> Reply:
        try:
            self.conn.send(self.der[-1:])
            resp = self.conn.getresponse()
            data = resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            self.conn.close()

    def close(self) -> None:
        self.conn.close()


def get_pki(port: int, path: str, der: bytes, escape=True) -> Reply:
    """PKIOperation by GET. escape=False sends '+' and '/' raw, as macOS and
    iOS do."""
    b64 = base64.b64encode(der).decode()
    msg = urllib.parse.quote(b64, safe="") if escape else b64
    return http_request(port, "GET", f"{path}?operation=PKIOperation&message={msg}")


# --------------------------------------------------------------------------
# PKI made by `scepter init`
# --------------------------------------------------------------------------


def yaml_scalar(text: str, key: str) -> str | None:
    """First `key: value` in a YAML text (enough for the flat keys we need;
    the suite may use no YAML library)."""
    m = re.search(rf"^\s*{re.escape(key)}:\s*['\"]?([^'\"#\s]+)", text, re.M)
    return m.group(1) if m else None


@dataclass
class Pki:
    dir: Path
    config: Path
    ca_cert: Path
    challenge: str
    audit_log: Path | None
    state_dir: Path | None
    init_output: str

    @classmethod
    def create(cls, directory: Path, *init_args) -> "Pki":
        """`scepter init directory *init_args` (e.g. "--ca-key", "ec:P-256")."""
        p = run([SCEPTER, "init", directory, *init_args])
        values = dict(re.findall(r"^([A-Z_]+)=(.*)$", p.stdout, re.M))
        for k in ("CONFIG", "CA_CERT", "CHALLENGE"):
            assert k in values, f"`scepter init` printed no {k}= line:\n{p.stdout}"
        config = Path(values["CONFIG"])
        text = config.read_text()
        audit = yaml_scalar(text, "audit_log")
        sqlite = yaml_scalar(text, "sqlite")
        audit_path = (config.parent / audit) if audit else None
        state = (config.parent / sqlite).parent if sqlite else None
        pki = cls(directory, config, Path(values["CA_CERT"]), values["CHALLENGE"],
                  audit_path, state, p.stdout)
        pki.hand_to_workers()
        return pki

    def hand_to_workers(self) -> None:
        make_traversable(self.dir)
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            chown_worker(self.state_dir, recursive=True)
        if self.audit_log is not None:
            self.audit_log.parent.mkdir(parents=True, exist_ok=True)
            self.audit_log.touch()
            chown_worker(self.audit_log)

    def audit_records(self) -> list[dict]:
        if self.audit_log is None or not self.audit_log.exists():
            return []
        out = []
        for line in self.audit_log.read_text().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out


def challenge_id(challenge: str) -> str:
    """The ID a one-time challenge is stored and logged under: derived one
    way (core/src/challenge/challenge.cc), never a part of the challenge."""
    return hashlib.sha256(b"scepter challenge id\n" + challenge.encode()).hexdigest()[:20]


def ocsp_status_line(out: str) -> str:
    """The certificate status in `openssl ocsp` output: good, revoked or
    unknown."""
    m = re.search(r"^\S+: (good|revoked|unknown)$", out, re.M)
    assert m, out
    return m.group(1)


def ocsp_status(ca_cert, cert, url) -> str:
    """`openssl ocsp` for one certificate issued by ca_cert: the answer must
    verify against that CA; returns good, revoked or unknown."""
    p = run(["openssl", "ocsp", "-CAfile", ca_cert, "-issuer", ca_cert, "-cert", cert, "-url", url], check=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Response verify OK" in out, out
    return ocsp_status_line(out)


def norm_serial(s: str) -> str:
    """Serials compare as numbers: any case, with or without colons or
    leading zeros."""
    s = s.replace(":", "").strip().upper()
    if s.startswith("0X"):
        s = s[2:]
    return s.lstrip("0") or "0"


def served_crl(port: int, ca_cert: Path, out: Path, path: str = "/scep/ca.crl") -> tuple[set, int]:
    """The CRL a node serves over HTTP, checked against the CA with openssl:
    its revoked serials (norm_serial) and its CRL number. Keeps the DER in out."""
    r = http_request(port, "GET", path)
    assert r.status == 200, (port, r.status)
    out.write_bytes(r.body)
    text = run(["openssl", "crl", "-inform", "DER", "-in", out, "-noout", "-text", "-CAfile", ca_cert]).stdout
    number = int(re.search(r"X509v3 CRL Number:\s*\n\s*(\d+)", text).group(1))
    return {norm_serial(s) for s in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}, number


def flat_values(obj) -> list[str]:
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in flat_values(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in flat_values(x)]
    return [str(obj)]


# --------------------------------------------------------------------------
# The servers: nginx and Apache httpd, each in a private prefix
# --------------------------------------------------------------------------

# Where a Scepter profile is served: (URL path, profile name or None for the
# default profile). Rendered per server: `location PATH { scepter PROFILE; }`
# for nginx, `<Location PATH> SetHandler scepter / ScepterProfile PROFILE`
# for Apache.
Location = tuple[str, "str | None"]
DEFAULT_LOCATIONS: list[Location] = [("/scep", "legacy"), ("/scep-strict", None)]


@dataclass
class AdminLocation:
    """An admin face: route "admin" (the JSON challenge API), "mscep_admin"
    (NDES's page), "enrollments" (the enrollments page) or "metrics"
    (Prometheus; no profile), for a profile, behind basic auth when htpasswd
    is given: the directives and handlers of ADMIN_DIRECTIVES, with
    auth_basic (nginx) or AuthType Basic (Apache)."""
    path: str
    route: str
    profile: "str | None" = None
    htpasswd: "Path | None" = None


# route: (nginx directive, Apache handler)
ADMIN_DIRECTIVES = {"admin": ("scepter_admin", "scepter-admin"),
                    "mscep_admin": ("scepter_mscep_admin", "scepter-mscep-admin"),
                    "enrollments": ("scepter_enrollments", "scepter-enrollments"),
                    "metrics": ("scepter_metrics", "scepter-metrics")}


@dataclass
class OcspLocation:
    """The CA's OCSP responder: nginx `location PATH { scepter_ocsp; }`,
    Apache `SetHandler scepter-ocsp` (with AllowEncodedSlashes NoDecode, so
    that a GET's %2F reaches it)."""
    path: str


def nginx_location(loc) -> str:
    if isinstance(loc, OcspLocation):
        return f"        location {loc.path} {{ scepter_ocsp; }}\n"
    if not isinstance(loc, AdminLocation):
        path, profile = loc
        return f"        location {path} {{ scepter{' ' + profile if profile else ''}; }}\n"
    directive = ADMIN_DIRECTIVES[loc.route][0]
    auth = (f" auth_basic \"scepter\"; auth_basic_user_file {loc.htpasswd};" if loc.htpasswd else "")
    return (f"        location = {loc.path} {{{auth} {directive}"
            f"{' ' + loc.profile if loc.profile else ''}; }}\n")


def apache_location(loc) -> str:
    if isinstance(loc, OcspLocation):
        return (f"AllowEncodedSlashes NoDecode\n<Location {loc.path}>\n    SetHandler scepter-ocsp\n"
                "    Require all granted\n</Location>\n")
    if not isinstance(loc, AdminLocation):
        path, profile = loc
        handler, auth = "scepter", "    Require all granted\n"
    else:
        path, profile = loc.path, loc.profile
        handler = ADMIN_DIRECTIVES[loc.route][1]
        auth = (f"    AuthType Basic\n    AuthName scepter\n    AuthUserFile {loc.htpasswd}\n"
                "    Require valid-user\n" if loc.htpasswd else "    Require all granted\n")
    return (f"<Location {path}>\n    SetHandler {handler}\n"
            + (f"    ScepterProfile {profile}\n" if profile else "") + auth + "</Location>\n")

# A line is gated when it has one of these levels: nginx writes `[error]`,
# Apache `[module:error]` (`[core:alert]`, `[scepter:error]`, `[:crit]` for
# a message without a module).
_LEVEL = r"\[(?:[\w.-]*:)?{}\]"
GATED_LEVEL = re.compile(_LEVEL.format("(?:error|alert|crit|emerg)"))
WARN_LEVEL = re.compile(_LEVEL.format("warn"))
ANY_LEVEL = re.compile(_LEVEL.format(
    r"(?:debug|info|notice|warn|error|alert|crit|emerg|trace\d)"))


class Server:
    """One server (master/parent plus workers/children) started from the
    Debian binary with our module, in a private prefix. Every gated instance
    registers itself so the error-log gate can read its error.log.

    Subclasses: Nginx, Apache. The interface the tests use is the same:
    start, stop, reload (begin_reload + new_generation_started +
    wait_reloaded), ctl_reload, config_test, master_pid, worker_pids, port,
    error_log, log_size/log_since/tail_log, locations.
    """

    instances: list["Server"] = []

    kind = "?"
    DEFAULT_WORKERS = 2
    # what config_test prints when the configuration is fine
    CONFIG_TEST_OK = ""
    # what ctl_reload sends: a reload sent straight to the master with kill
    RELOAD_SIGNAL = signal.SIGHUP
    # the server's own "where in my configuration file" in its messages (so
    # a test can look for the YAML's line numbers without finding these)
    OWN_POSITION = re.compile(r"(?!)")
    # lines that fail a test whatever their level (a crashed worker, where
    # the server logs it below [error])
    GATED_TEXT: tuple = ()

    def __init__(self, prefix: Path, config_yaml: Path, port: int | None = None,
                 workers: int | None = None, locations: list[Location] | None = None,
                 gated: bool = True):
        self.prefix = prefix
        self.config_yaml = config_yaml
        self.port = port or free_port()
        self.workers = workers or self.DEFAULT_WORKERS
        self.locations = list(locations if locations is not None else DEFAULT_LOCATIONS)
        for d in ("conf", "logs", "tmp", "run"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        make_traversable(prefix)
        self.error_log = prefix / "logs" / "error.log"
        self.write_conf()
        if gated:  # config-test instances fail on purpose and are not gated
            Server.instances.append(self)

    def __repr__(self) -> str:
        return f"<{self.kind} on 127.0.0.1:{self.port}, {self.prefix}>"

    # ---- configuration ----

    conf: Path
    pid_file: Path

    def render(self) -> str:
        raise NotImplementedError

    def write_conf(self) -> None:
        self.conf.write_text(self.render())

    def cmd(self, *args) -> list[str]:
        raise NotImplementedError

    def config_test(self) -> subprocess.CompletedProcess:
        raise NotImplementedError

    def ctl_reload(self, check=True) -> subprocess.CompletedProcess:
        """The server's own reload command (`nginx -s reload`, `apache2 -k
        graceful`): parses the configuration, then signals the master."""
        raise NotImplementedError

    def _start_cmd(self) -> list[str]:
        raise NotImplementedError

    # ---- processes ----

    def master_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def worker_pids(self) -> set[int]:
        pid = self.master_pid()
        if pid is None:
            return set()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return set()
        return {int(c) for c in children}

    def accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self, timeout=15) -> None:
        p = run(self._start_cmd(), env=server_env())
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.master_pid() and len(self.worker_pids()) >= self.workers and self.accepting():
                return
            time.sleep(0.05)
        log = self.tail_log()
        self.stop()  # a half-started master must not outlive the test run
        raise AssertionError(f"{self.kind} did not come up on port {self.port}:\n"
                             f"{' '.join(self._start_cmd())}: {p.stdout}{p.stderr}\n{log}")

    def stop(self, timeout=15) -> None:
        pid = self.master_pid()
        if pid is None:
            return
        # TERM to our own master (what `nginx -s stop` / `apache2 -k stop`
        # send) rather than those commands, which parse the configuration
        # first and so fail while a test has the YAML broken on purpose.
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, 9)  # our own master, by its pid

    def discard(self) -> None:
        """Stops a server made by a test and takes it off the gate's list."""
        self.stop()
        if self in Server.instances:
            Server.instances.remove(self)

    # ---- reload ----

    def begin_reload(self) -> set[int]:
        """Sends the reload; returns the old generation's workers (the token
        for new_generation_started / wait_reloaded)."""
        old = self.worker_pids()
        self.ctl_reload()
        return old

    def new_generation_started(self, old: set[int]) -> bool:
        """A full set of new workers runs (old ones may still drain)."""
        return len(self.worker_pids() - old) >= self.workers

    def wait_reloaded(self, old: set[int], timeout=60) -> None:
        """Until a full set of new workers runs and the old ones are gone:
        until an old worker has stopped it may still accept a connection and
        answer from the old generation."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = self.worker_pids()
            if len(now - old) >= self.workers and not (now & old):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.kind} reload did not complete (old workers "
                             f"{sorted(old & self.worker_pids())} still there):\n"
                             f"{self.tail_log()}")

    def reload(self, timeout=60) -> None:
        self.wait_reloaded(self.begin_reload(), timeout)

    def reload_or_start(self, timeout=15) -> None:
        """Reloads, or starts the server again if it died: a test that may
        have killed it must not take the rest of the session with it."""
        if self.master_pid() is not None:
            self.reload()
            return
        # Until the dead master is reaped it is a zombie, and `apache2 -k
        # start` takes the pid in its PidFile for a running server; its
        # orphaned workers may still hold the port.
        try:
            dead = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            dead = None
        deadline = time.time() + timeout
        while time.time() < deadline and not (
                (dead is None or not Path(f"/proc/{dead}").exists()) and port_free(self.port)):
            time.sleep(0.05)
        if dead is not None and not _alive(dead):
            self.pid_file.unlink(missing_ok=True)
        self.start()

    # ---- error log ----

    def log_size(self) -> int:
        try:
            return self.error_log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> list[str]:
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def tail_log(self, n=40) -> str:
        return "\n".join(self.log_since(0)[-n:])

    def unexpected_log_lines(self, lines: list[str], expected: list[str]) -> list[str]:
        return unexpected_log_lines(lines, expected, self.GATED_TEXT + SANITIZER_TEXT)


def port_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (a server could bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _alive(pid: int) -> bool:
    """Running (a zombie, which only waits for its parent to reap it, is
    not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def nginx_conf(workers: int, http_body: str, head: str = "", connections: int = 512) -> str:
    """An nginx.conf for a prefix laid out as Server makes it (conf/, logs/,
    tmp/): its pid file, logs and temporary paths there, the workers' user
    when run as root, then `http_body` inside the http block."""
    user = f"user {WORKER_USER};" if os.geteuid() == 0 else ""
    return f"""# written by tests/integration/harness.py
{head}
master_process on;
worker_processes {workers};
{user}
pid logs/nginx.pid;
error_log logs/error.log info;
events {{ worker_connections {connections}; }}
http {{
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
{http_body}}}
"""


class Nginx(Server):
    """nginx: `nginx -p PREFIX -c conf/nginx.conf`, master plus `workers`
    worker processes."""

    kind = "nginx"
    DEFAULT_WORKERS = 2
    CONFIG_TEST_OK = "test is successful"
    RELOAD_SIGNAL = signal.SIGHUP
    OWN_POSITION = re.compile(r" in \S*nginx\.conf:\d+")

    def __init__(self, prefix: Path, config_yaml: Path, **kw):
        self.conf = prefix / "conf" / "nginx.conf"
        self.pid_file = prefix / "logs" / "nginx.pid"
        super().__init__(prefix, config_yaml, **kw)

    def load_module_line(self) -> str:
        if not INSTALLED:
            return f"load_module {NGINX_MODULE};"
        # The packaged snippet names modules/…so relative to nginx's prefix,
        # as Debian's /usr/share/nginx/modules link resolves it.
        link = self.prefix / "modules"
        if not link.is_symlink():
            link.symlink_to(NGINX_MODULE.parent)
        return f"include {NGINX_ENABLED_SNIPPET};"

    def render(self) -> str:
        locations = "".join(nginx_location(loc) for loc in self.locations)
        return nginx_conf(self.workers, f"""    scepter_config {self.config_yaml};
    server {{
        listen 127.0.0.1:{self.port};
{locations}    }}
""", head=self.load_module_line())

    def cmd(self, *args) -> list[str]:
        return [NGINX, "-p", f"{self.prefix}/", "-c", "conf/nginx.conf", *args]

    def _start_cmd(self) -> list[str]:
        return self.cmd()

    def config_test(self) -> subprocess.CompletedProcess:
        return run(self.cmd("-t"), check=False, env=server_env())

    def ctl_reload(self, check=True) -> subprocess.CompletedProcess:
        return run(self.cmd("-s", "reload"), check=check, env=server_env())


def apache_load_scepter() -> str:
    if not INSTALLED:
        return f"LoadModule scepter_module {APACHE_MODULE}"
    # What a2enmod enabled, as Debian's apache2.conf includes it.
    return f"Include {APACHE_ENABLED}/scepter.load\nInclude {APACHE_ENABLED}/scepter.conf"


class Apache(Server):
    """Apache httpd (Debian's apache2, mpm_event): `apache2 -d PREFIX -f
    conf/httpd.conf`, a parent plus `workers` child processes of
    THREADS_PER_CHILD threads each.

    The MPM is sized so that the process set is stable while tests run (the
    tests compare worker pids to detect a crash): every child starts at once,
    MinSpareThreads never asks for more and MaxSpareThreads never retires
    one. ServerLimit leaves as many scoreboard slots again for the children
    of the old generation to drain in during a graceful restart (with
    ServerLimit = MaxRequestWorkers / ThreadsPerChild, the new generation
    could not start until the old one has finished every request)."""

    kind = "apache"
    DEFAULT_WORKERS = 4
    THREADS_PER_CHILD = 64  # 4 x 64: 256 requests at once
    CONFIG_TEST_OK = "Syntax OK"
    RELOAD_SIGNAL = signal.SIGUSR1  # graceful restart, what `-k graceful` sends
    OWN_POSITION = re.compile(r"(?:[Ss]yntax error on )?line \d+ of \S*httpd\.conf")
    # A crashed child is logged at notice: "AH00052: child pid 123 exit
    # signal Segmentation fault (11)"; the parent's own crash as AH00060.
    GATED_TEXT = ("AH00052", "AH00060", "exit signal")

    def __init__(self, prefix: Path, config_yaml: Path, **kw):
        self.conf = prefix / "conf" / "httpd.conf"
        self.pid_file = prefix / "run" / "httpd.pid"
        super().__init__(prefix, config_yaml, **kw)

    def render(self) -> str:
        user = (f"User {WORKER_USER}\nGroup {WORKER_USER}\n" if os.geteuid() == 0 else "")
        threads = self.THREADS_PER_CHILD
        locations = "".join(apache_location(loc) for loc in self.locations)
        return f"""# written by tests/integration/harness.py
ServerRoot {self.prefix}
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile run/httpd.pid
DefaultRuntimeDir run
Mutex file:run default
ErrorLog logs/error.log
LogLevel info
LogFormat "%h %t \\"%r\\" %>s %b %Dus pid=%P" timed
CustomLog logs/access.log timed
{user}
LoadModule mpm_event_module {APACHE_MODULES_DIR}/mod_mpm_event.so
LoadModule authz_core_module {APACHE_MODULES_DIR}/mod_authz_core.so
LoadModule authn_core_module {APACHE_MODULES_DIR}/mod_authn_core.so
LoadModule authn_file_module {APACHE_MODULES_DIR}/mod_authn_file.so
LoadModule authz_user_module {APACHE_MODULES_DIR}/mod_authz_user.so
LoadModule auth_basic_module {APACHE_MODULES_DIR}/mod_auth_basic.so
{apache_load_scepter()}

StartServers {self.workers}
ServerLimit {2 * self.workers}
ThreadLimit {threads}
ThreadsPerChild {threads}
MaxRequestWorkers {self.workers * threads}
MinSpareThreads 1
MaxSpareThreads {self.workers * threads}
ListenBacklog 511

ScepterConfig {self.config_yaml}
{locations}"""

    def cmd(self, *args) -> list[str]:
        return [APACHE, "-d", str(self.prefix), "-f", "conf/httpd.conf", *args]

    def _start_cmd(self) -> list[str]:
        return self.cmd("-k", "start")

    def config_test(self) -> subprocess.CompletedProcess:
        return run(self.cmd("-t"), check=False, env=server_env())

    def ctl_reload(self, check=True) -> subprocess.CompletedProcess:
        return run(self.cmd("-k", "graceful"), check=check, env=server_env())


SERVER_CLASSES: dict[str, type] = {"nginx": Nginx, "apache": Apache}
SERVER_KINDS = tuple(SERVER_CLASSES)


def server_outputs(kind: str) -> list[Path]:
    """What a server kind needs that the build or Debian provides."""
    if kind == "nginx":
        return [NGINX_MODULE, Path(NGINX)] + ([NGINX_ENABLED_SNIPPET] if INSTALLED else [])
    extra = [APACHE_ENABLED / "scepter.load"] if INSTALLED else []
    return [APACHE_MODULE, Path(APACHE), Path(APACHE_MODULES_DIR) / "mod_mpm_event.so"] + extra


def unexpected_log_lines(lines: list[str], expected: list[str],
                         gated_text: tuple = ()) -> list[str]:
    """Gated lines not covered by a declared ID or text: any line at an
    error level or above, a warning carrying one of our IDs, a line of ours
    at no level at all (what a server prints to its stderr, which is the
    error log once it runs: a configuration it refused), and lines with one
    of gated_text."""
    bad = []
    for line in lines:
        gated = (GATED_LEVEL.search(line) is not None
                 or (SCEPTER_ID.search(line) is not None
                     and (WARN_LEVEL.search(line) is not None or ANY_LEVEL.search(line) is None))
                 or any(t in line for t in gated_text))
        if gated and not any(e in line for e in expected):
            bad.append(line)
    return bad


# --------------------------------------------------------------------------
# Devices and the project's test client
# --------------------------------------------------------------------------

_counter = 0


def _next_name(prefix: str) -> str:
    global _counter
    _counter += 1
    return f"{prefix}-{os.getpid()}-{_counter}-{time.monotonic_ns() % 100000}"


def generate_rsa_key(path: Path, bits: int = 2048, nice: bool = False) -> Path:
    cmd = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
           "-out", path]
    run(["nice", "-n", "19", *cmd] if nice else cmd)
    return path


class KeyPool:
    """RSA keys made once per session and handed out by name. Tests that
    need many devices (50, 200) take their keys from here: key generation is
    by far the slowest part of making a device, and this way it happens once
    for both servers' runs, mostly in the background (prefetch, at the
    lowest CPU priority) while the first tests run. The same name always
    gives the same keys; a test uses each of its keys once per server, and
    each server has its own PKI and store."""

    def __init__(self, directory: Path):
        self.dir = directory
        self._futures: dict = {}  # (name, bits) -> [Future of Path]
        self._lock = threading.Lock()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keypool")

    def _path(self, name: str, bits: int, i: int) -> Path:
        d = self.dir / f"{name}-{bits}"
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{i:04d}.key"

    def prefetch(self, wanted: dict, bits: int = 2048) -> None:
        """wanted: {name: count}, generated in this order, one at a time."""
        with self._lock:
            for name, count in wanted.items():
                fs = self._futures.setdefault((name, bits), [])
                for i in range(len(fs), count):
                    fs.append(self._background.submit(
                        generate_rsa_key, self._path(name, bits, i), bits, True))

    def keys(self, name: str, count: int, bits: int = 2048) -> list[Path]:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as now:
            with self._lock:
                fs = self._futures.setdefault((name, bits), [])
                # what the background has not started yet is made here, in parallel
                for i, f in enumerate(fs[:count]):
                    if f.cancel():
                        fs[i] = now.submit(generate_rsa_key, self._path(name, bits, i), bits)
                for i in range(len(fs), count):
                    fs.append(now.submit(generate_rsa_key, self._path(name, bits, i), bits))
                wanted = fs[:count]
            return [f.result() for f in wanted]

    def close(self) -> None:
        self._background.shutdown(wait=True, cancel_futures=True)


@dataclass
class Device:
    """A key and a CSR made with the openssl CLI, like a device would."""
    dir: Path
    cn: str
    key: Path
    csr: Path
    bits: int

    @classmethod
    def create(cls, base: Path, challenge: str, cn: str | None = None, bits: int = 2048,
               extensions: dict | None = None, subject_extra: dict | None = None,
               key: Path | None = None, sections: dict | None = None) -> "Device":
        """key: an RSA key of `bits` bits to use (from a KeyPool) instead of
        a freshly generated one."""
        cn = cn or _next_name("device")
        d = base / cn
        d.mkdir(parents=True, exist_ok=True)
        given, key = key, d / "device.key"
        if given is not None:
            shutil.copyfile(given, key)
        else:
            generate_rsa_key(key, bits)
        dn = {"CN": cn, "O": "Scepter Tests", **(subject_extra or {})}
        cfg = ["[req]", "prompt = no", "distinguished_name = dn"]
        if challenge:  # "" makes a CSR without challengePassword
            cfg.append("attributes = attrs")
        if extensions:
            cfg.append("req_extensions = exts")
        cfg += ["[dn]", *[f"{k} = {v}" for k, v in dn.items()]]
        if challenge:
            cfg += ["[attrs]", f"challengePassword = {challenge}"]
        if extensions:
            cfg += ["[exts]", *[f"{k} = {v}" for k, v in extensions.items()]]
        for section, lines in (sections or {}).items():  # e.g. an @alt SAN section, whose values keep commas
            cfg += [f"[{section}]", *lines]
        (d / "req.cnf").write_text("\n".join(cfg) + "\n")
        csr = d / "device.csr"
        run(["openssl", "req", "-new", "-key", key, "-config", d / "req.cnf", "-sha256",
             "-out", csr])
        return cls(d, cn, key, csr, bits)


@dataclass
class Request:
    der_path: Path
    signer: Path
    transaction_id: str
    sender_nonce: str
    info: dict = field(default_factory=dict)

    @property
    def der(self) -> bytes:
        return self.der_path.read_bytes()


class TestClient:
    """Wraps build/scepter-testclient (tests/client/)."""

    __test__ = False  # not a pytest class

    def __init__(self, cacert: Path, ca_pem: Path):
        self.cacert = cacert  # the GetCACert answer, as served
        self.ca_pem = ca_pem  # the CA certificate, to check CertRep signers

    def request(self, device: Device, name: str = "req", cipher="aes256", digest="sha256",
                oaep=False, recipient=None, message_type=None, transaction_id=None,
                windows_aki=False, sender_nonce=None, content=None, signer_cert=None,
                signer_key=None) -> Request:
        out = device.dir / f"{name}.der"
        cmd = [TESTCLIENT, "request", "--csr", device.csr, "--key", device.key,
               "--cacert", self.cacert, "--out", out, "--cipher", cipher, "--digest", digest]
        if oaep:
            cmd.append("--oaep")
        if windows_aki:
            cmd.append("--windows-aki")
        if recipient:
            cmd += ["--recipient", recipient]
        if message_type is not None:
            cmd += ["--message-type", message_type]
        if transaction_id:
            cmd += ["--transaction-id", transaction_id]
        if sender_nonce:
            cmd += ["--sender-nonce", sender_nonce]
        if content:
            cmd += ["--content", content]
        if signer_cert:
            cmd += ["--signer-cert", signer_cert]
        if signer_key:
            cmd += ["--signer-key", signer_key]
        info = json.loads(run(cmd).stdout)
        return Request(out, Path(info["signer"]), info["transaction_id"], info["sender_nonce"], info)

    def reply(self, device: Device, req: Request, body: bytes, name: str = "reply",
              signer_key=None, any_cert=False) -> dict:
        """Decodes a CertRep; the issued certificate lands in DEVICE/NAME.pem,
        a GetCRL answer's CRL in DEVICE/NAME.crl.pem. The dict carries the exit
        code as `_rc`."""
        rep = device.dir / f"{name}.der"
        rep.write_bytes(body)
        cert = device.dir / f"{name}.pem"
        cmd = [TESTCLIENT, "reply", "--in", rep, "--key", device.key, "--signer", req.signer,
               "--sender-nonce", req.sender_nonce, "--ca", self.ca_pem, "--out", cert,
               "--crl-out", device.dir / f"{name}.crl.pem"]
        if signer_key:
            cmd += ["--signer-key", signer_key]
        if any_cert:
            cmd.append("--any-cert")
        p = run(cmd, check=False)
        assert p.stdout.strip(), f"testclient reply printed nothing:\n{p.stderr}"
        out = json.loads(p.stdout)
        out["_rc"] = p.returncode
        out["_stderr"] = p.stderr
        out["_cert_path"] = cert
        return out

    def tamper(self, req: Request, where="signature") -> bytes:
        bad = req.der_path.with_suffix(f".{where}-tampered.der")
        run([TESTCLIENT, "tamper", "--in", req.der_path, "--out", bad, "--where", where])
        return bad.read_bytes()


def prebuild_requests(client: "TestClient", devices_dir: Path, challenge: str, keys: list,
                      prefix: str) -> tuple[list, list]:
    """Devices (one per pooled key, named PREFIX-NNN) and their PKCSReqs,
    all built before any is sent, so that only the HTTP exchanges overlap."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        devices = list(pool.map(
            lambda i: Device.create(devices_dir, challenge, cn=f"{prefix}-{i:03d}", key=keys[i]),
            range(len(keys))))
        reqs = list(pool.map(lambda d: client.request(d), devices))
    assert len({r.transaction_id for r in reqs}) == len(keys), "transaction IDs repeat"
    return devices, reqs


@dataclass
class Enrollment:
    http: Reply
    req: Request
    rep: dict | None

    def describe(self) -> str:
        body = self.http.body[:300]
        return (f"HTTP {self.http.status} {self.http.content_type} body={body!r} "
                f"decoded={self.rep}")


def send_pki(port: int, path: str, der: bytes, method: str = "POST") -> Reply:
    if method == "POST":
        return post_pki(port, path, der)
    if method == "GET":
        return get_pki(port, path, der, escape=True)
    if method == "GET-raw":
        return get_pki(port, path, der, escape=False)
    raise ValueError(method)


def cert_text(path: Path) -> str:
    return run(["openssl", "x509", "-in", path, "-noout", "-text"]).stdout


def template_name_of(cert: Path) -> str | None:
    """Value of the AD CS certificate template name extension
    (1.3.6.1.4.1.311.20.2, a BMPString), read with `openssl asn1parse`."""
    lines = run(["openssl", "asn1parse", "-in", cert]).stdout.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(":1.3.6.1.4.1.311.20.2") or "Certificate Template Name" in line:
            for nxt in lines[i + 1:i + 3]:
                m = re.search(r"OCTET STRING\s+\[HEX DUMP\]:([0-9A-Fa-f]+)", nxt)
                if m:
                    return decode_name_string(bytes.fromhex(m.group(1)))
    return None


def decode_name_string(der: bytes) -> str:
    tag, length = der[0], der[1]
    body = der[2:2 + length] if length < 0x80 else der[2 + (length & 0x7f):]
    if tag == 0x1E:  # BMPString
        return body.decode("utf-16-be")
    return body.decode("utf-8", "replace")  # UTF8String and friends


def split_pem(text: str) -> list[str]:
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)


def cert_summary(pem_path: Path) -> dict:
    out = run(["openssl", "x509", "-in", pem_path, "-noout", "-subject", "-serial",
               "-ext", "keyUsage,basicConstraints", "-nameopt", "RFC2253"]).stdout
    return {
        "subject": re.search(r"^subject=(.*)$", out, re.M).group(1).strip(),
        "serial": re.search(r"^serial=(.*)$", out, re.M).group(1).strip(),
        "ca": "CA:TRUE" in out,
        "key_encipherment": "Key Encipherment" in out,
        "digital_signature": "Digital Signature" in out,
    }


def which(name: str) -> str | None:
    return shutil.which(name)


def check_issued(e: Enrollment, device: Device, ca_cert: Path) -> Path:
    """Asserts a full, correct SUCCESS CertRep and returns the issued cert."""
    assert e.http.status == 200, e.describe()
    assert e.http.content_type == "application/x-pki-message", e.describe()
    rep = e.rep
    assert rep is not None and rep.get("status") == "SUCCESS", e.describe()
    assert rep["_rc"] == 0, f"testclient reply exit {rep['_rc']}: {rep}"
    assert rep["recipient_nonce_ok"] is True, rep
    assert rep["signer_trusted"] is True, rep
    assert rep["transaction_id"] == e.req.transaction_id, rep
    assert rep["message_type"] == 3, rep  # CertRep
    cert = rep["_cert_path"]
    run(["openssl", "verify", "-CAfile", ca_cert, cert])
    summary = cert_summary(cert)
    assert f"CN={device.cn}" in summary["subject"], summary
    assert norm_serial(summary["serial"]) == norm_serial(rep["cert_serial"]), (summary, rep)
    assert not summary["ca"], summary
    return cert


def check_failure(e: Enrollment, fail_info: str) -> dict:
    """Asserts a signed FAILURE CertRep with the given failInfo."""
    assert e.http.status == 200, e.describe()
    rep = e.rep
    assert rep is not None and rep.get("status") == "FAILURE", e.describe()
    assert rep["fail_info"] == fail_info, rep
    assert rep["recipient_nonce_ok"] is True, rep
    assert rep["signer_trusted"] is True, rep
    assert rep["transaction_id"] == e.req.transaction_id, rep
    assert "cert_serial" not in rep, rep
    return rep


# --------------------------------------------------------------------------
# PostgreSQL: a private cluster for the store.postgresql tests
# --------------------------------------------------------------------------

# The store backends the store-dependent tests run on (SCEPTER_STORES to
# choose, comma-separated).
STORES = [s for s in os.environ.get("SCEPTER_STORES", "sqlite,postgresql").split(",") if s]
PG_USER = "scepter"        # the cluster's superuser, whom the nodes connect as
PG_PASSWORD = "pg-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]


def pg_bindir() -> Path | None:
    """Debian's postgresql: /usr/lib/postgresql/VERSION/bin (newest)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def pg_os_user() -> str:
    """The non-root account the cluster runs as (PostgreSQL refuses root):
    Debian's `postgres`, or one made for the tests."""
    for name in ("postgres", "scepter-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "scepter-pg"])
    return "scepter-pg"


class PostgresCluster:
    """initdb + pg_ctl in a directory of its own, on 127.0.0.1 and a port
    chosen at run time, its unix socket in that directory. Local (socket)
    connections are trusted, TCP ones need PG_PASSWORD (scram), which the
    nodes read from password_file."""

    def __init__(self, base: Path):
        self.bindir = pg_bindir()
        assert self.bindir is not None, "PostgreSQL is not installed (Debian package postgresql)"
        self.os_user = pg_os_user()
        self.dir = base
        self.data = base / "data"
        self.log = base / "postgresql.log"
        self.port = free_port()
        base.mkdir(parents=True, exist_ok=True)
        make_traversable(base)
        pw = pwd.getpwnam(self.os_user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        self.password_file = base / "password"
        self.password_file.write_text(PG_PASSWORD + "\n")
        os.chmod(self.password_file, 0o600)
        chown_worker(self.password_file)  # read by the servers' workers
        # initdb reads it as the cluster's account
        (base / "initdb-pw").write_text(PG_PASSWORD + "\n")
        os.chown(base / "initdb-pw", pw.pw_uid, pw.pw_gid)

    def _as_owner(self, *cmd, check=True, timeout=120) -> subprocess.CompletedProcess:
        return run(["runuser", "-u", self.os_user, "--", *map(str, cmd)], check=check, timeout=timeout)

    def init(self) -> "PostgresCluster":
        self._as_owner(self.bindir / "initdb", "-D", self.data, "-U", PG_USER, "--pwfile",
                       self.dir / "initdb-pw", "--auth-local=trust", "--auth-host=scram-sha-256",
                       "--no-sync", "-E", "UTF8")
        (self.dir / "initdb-pw").unlink()
        return self

    def _options(self) -> list:
        # -l: the server's output to its log, never to our pipe (run() would
        # wait for the pipe to close as long as the server lives)
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=200 -c shared_buffers=32MB")
        return ["-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60"]

    def start(self) -> "PostgresCluster":
        self._as_owner(self.bindir / "pg_ctl", *self._options(), "start")
        return self

    def stop(self) -> None:
        self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def restart(self) -> None:
        self._as_owner(self.bindir / "pg_ctl", *self._options(), "-m", "fast", "restart")

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Runs SQL over the unix socket; the rows unaligned, '|' between columns."""
        p = self._as_owner(self.bindir / "psql", "-h", self.dir, "-p", self.port, "-U", PG_USER,
                           "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql)
        return p.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new database; its conninfo (TCP, no password in it)."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.conninfo(name)

    def conninfo(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={db} user={PG_USER}"

    def store_yaml(self, db: str) -> str:
        return (f"store:\n  postgresql: \"{self.conninfo(db)}\"\n"
                f"  postgresql_password_file: {self.password_file}\n")


def with_manual_approval(config_text: str, challenge: str) -> str:
    """A `scepter init` configuration plus the profile "manual" (static
    challenge) whose template requires an admin's approval: its requests
    are PENDING until `scepter pending approve`."""
    template = ("  manual:\n    key_usage: [digitalSignature, keyEncipherment]\n"
                "    extended_key_usage: [clientAuth]\n    require_approval: true\n")
    profile = f"  manual:\n    template: manual\n    challenge:\n      static: {challenge}\n"
    return config_text.replace("templates:\n", "templates:\n" + template, 1) + profile


def use_postgresql(config: Path, cluster: PostgresCluster, db: str) -> None:
    """Rewrites a `scepter init` configuration's store section to PostgreSQL."""
    text = config.read_text()
    new, n = re.subn(r"^store:\n(?:[ \t]+.*\n|\n)*", cluster.store_yaml(db), text, count=1, flags=re.M)
    assert n == 1, f"no store: section in {config}"
    config.write_text(new)
