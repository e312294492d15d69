"""Building blocks of the integration suite: the demo PKI, an nginx in a
private prefix, devices (key + CSR), the project's test client and HTTP.

Standard library only (plus pytest in conftest.py): PyPI is not reachable.
"""

from __future__ import annotations

import base64
import http.client as httpclient
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SCEPTER_BUILD_DIR", REPO / "build")).resolve()
SCEPTER = BUILD / "scepter"
TESTCLIENT = BUILD / "scepter-testclient"
MODULE = BUILD / "modules" / "nginx" / "ngx_http_scepter_module.so"
NGINX = os.environ.get("SCEPTER_NGINX", "/usr/sbin/nginx")
WORKER_USER = "www-data"

# Lines that fail a test unless declared; warnings only when they carry one
# of our IDs (nginx's own warnings, such as a body buffered to a temp file,
# are not the project's business).
GATED_LEVELS = ("[error]", "[alert]", "[crit]", "[emerg]")
SCEPTER_ID = re.compile(r"\bSCP\d{4}\b")


def run(cmd, check=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output; a failure shows everything."""
    cmd = [str(c) for c in cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(
            f"command failed ({p.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"
        )
    return p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chown_worker(path: Path, recursive=False) -> None:
    """Hands a path to the nginx worker user (only possible as root)."""
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
    def create(cls, directory: Path) -> "Pki":
        p = run([SCEPTER, "init", directory])
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


def norm_serial(s: str) -> str:
    """Serials compare as numbers: any case, with or without colons or
    leading zeros."""
    s = s.replace(":", "").strip().upper()
    if s.startswith("0X"):
        s = s[2:]
    return s.lstrip("0") or "0"


def flat_values(obj) -> list[str]:
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in flat_values(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in flat_values(x)]
    return [str(obj)]


# --------------------------------------------------------------------------
# nginx in a private prefix
# --------------------------------------------------------------------------


class Nginx:
    """One nginx master started from the Debian binary with our module.
    Every instance registers itself so the error-log gate can read it."""

    instances: list["Nginx"] = []

    def __init__(self, prefix: Path, config_yaml: Path, port: int | None = None,
                 workers: int = 2, extra_http: str = "", locations: str | None = None,
                 gated: bool = True):
        self.prefix = prefix
        self.config_yaml = config_yaml
        self.port = port or free_port()
        self.workers = workers
        self.extra_http = extra_http
        self.locations = locations if locations is not None else (
            "        location /scep { scepter legacy; }\n"
            "        location /scep-strict { scepter; }\n")
        for d in ("conf", "logs", "tmp"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        make_traversable(prefix)
        self.conf = prefix / "conf" / "nginx.conf"
        self.error_log = prefix / "logs" / "error.log"
        self.pid_file = prefix / "logs" / "nginx.pid"
        self.write_conf()
        if gated:  # config-test instances fail on purpose and are not gated
            Nginx.instances.append(self)

    def render(self) -> str:
        user = f"user {WORKER_USER};" if os.geteuid() == 0 else ""
        return f"""# written by tests/integration/harness.py
load_module {MODULE};
master_process on;
worker_processes {self.workers};
{user}
pid logs/nginx.pid;
error_log logs/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    scepter_config {self.config_yaml};
{self.extra_http}
    server {{
        listen 127.0.0.1:{self.port};
{self.locations}    }}
}}
"""

    def write_conf(self) -> None:
        self.conf.write_text(self.render())

    def cmd(self, *args) -> list[str]:
        return [NGINX, "-p", f"{self.prefix}/", "-c", "conf/nginx.conf", *args]

    def config_test(self) -> subprocess.CompletedProcess:
        return run(self.cmd("-t"), check=False)

    def master_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def worker_pids(self) -> set[int]:
        pid = self.master_pid()
        if pid is None:
            return set()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return set()
        return {int(c) for c in children}

    def start(self, timeout=15) -> None:
        run(self.cmd())
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.master_pid() and len(self.worker_pids()) >= self.workers and self.accepting():
                return
            time.sleep(0.05)
        log = self.tail_log()
        self.stop()  # a half-started master must not outlive the test run
        raise AssertionError(f"nginx did not come up on port {self.port}:\n{log}")

    def accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def reload(self, timeout=30) -> None:
        """HUP, then wait until a full set of new workers runs and the old
        ones are gone: until an old worker has handled its QUIT it may still
        accept a connection and answer from the old generation."""
        old = self.worker_pids()
        run(self.cmd("-s", "reload"))
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = self.worker_pids()
            if len(now - old) >= self.workers and not (now & old):
                return
            time.sleep(0.05)
        raise AssertionError(f"reload did not complete:\n{self.tail_log()}")

    def stop(self, timeout=15) -> None:
        pid = self.master_pid()
        if pid is None:
            return
        # TERM to our own master (what `nginx -s stop` sends) rather than
        # `nginx -s stop`, which parses the configuration first and so fails
        # while a test has the YAML broken on purpose.
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, 9)  # our own master, by its pid

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


def unexpected_log_lines(lines: list[str], expected: list[str]) -> list[str]:
    """Gated lines (see GATED_LEVELS) not covered by a declared ID or text."""
    bad = []
    for line in lines:
        gated = any(level in line for level in GATED_LEVELS) or (
            "[warn]" in line and SCEPTER_ID.search(line))
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
               extensions: dict | None = None, subject_extra: dict | None = None) -> "Device":
        cn = cn or _next_name("device")
        d = base / cn
        d.mkdir(parents=True, exist_ok=True)
        key = d / "device.key"
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
             "-out", key])
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
