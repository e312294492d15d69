"""One-time challenges and their three-phase validation, the admin faces
(JSON and NDES's mscep_admin page), Lua policies and external validation, on
the real servers. One PKI and one server for the module."""

from __future__ import annotations

import base64
import concurrent.futures
import os
import pwd
import re
import sqlite3
import subprocess
import time
from types import SimpleNamespace

import pytest

import harness as h
from validation_service import ValidationService

ADMIN_USER, ADMIN_PASSWORD = "mdm", "s3cret-Admin"

LOOP_POLICY = "function verify_request(req)\n  while true do end\nend\n"
ALLOC_POLICY = ("function verify_request(req)\n  local t = {}\n"
                "  for i = 1, 1e12 do t[i] = string.rep('x', 1024) .. i end\nend\n")
# Hours of backtracking inside one C call, out of the instruction count's sight.
PATTERN_POLICY = ("function verify_request(req)\n"
                  "  string.find(('a-'):rep(2000), '(.-)-(.-)-(.-)-(.-)-x')\nend\n")
DENY_POLICY = "function verify_request(req)\n  return scep.deny('closed for the test')\nend\n"
ALLOW_POLICY = "function verify_request(req)\n  return scep.allow()\nend\n"
GENERATE_POLICY = ("function generate_challenge(ctx)\n"
                   "  return { issued_via = 'generate_challenge for ' .. ctx.requester }\nend\n")


def profile(name, challenge_yaml, extra=""):
    return (f"  {name}:\n    templates_by_key_usage:\n      signature: signature\n"
            f"      encryption: encryption\n      general_purpose: general_purpose\n"
            f"    challenge:\n{challenge_yaml}{extra}")


def write_config(pki: h.Pki, svc: ValidationService) -> None:
    d = pki.dir
    (d / "loop.lua").write_text(LOOP_POLICY)
    (d / "alloc.lua").write_text(ALLOC_POLICY)
    (d / "pattern.lua").write_text(PATTERN_POLICY)
    (d / "edit.lua").write_text(DENY_POLICY)
    (d / "generate.lua").write_text(GENERATE_POLICY)
    one_time = "      one_time: {validity_minutes: 60, max_per_requester: 0}\n"
    urls = svc.urls()
    text = pki.config.read_text() + "".join([
        profile("quota", "      one_time: {validity_minutes: 60, max_per_requester: 2}\n"),
        profile("ndes", one_time, f"    policy: {h.REPO / 'policies' / 'ndes.lua'}\n"),
        profile("loop", one_time, "    policy: loop.lua\n"),
        profile("alloc", one_time, "    policy: alloc.lua\n"),
        profile("pattern", one_time, "    policy: pattern.lua\n"),
        # The loop again, stopped by the profile's wall-clock limit this time.
        profile("slow", one_time, "    policy: loop.lua\n"
                "    policy_limits: {instructions: 1000000000, time_ms: 300}\n"),
        profile("edit", one_time, "    policy: edit.lua\n"),
        profile("generate", one_time, "    policy: generate.lua\n"),
        profile("static_only", "      static: Static-Only-Password-0123\n"),
        profile("extval", one_time,
                "    external_validation:\n"
                f"      validate_url: {urls['validate_url']}\n"
                f"      success_url: {urls['success_url']}\n"
                f"      failure_url: {urls['failure_url']}\n"
                "      timeout_ms: 2000\n      retries: 1\n"),
        profile("unreachable", one_time,
                "    external_validation:\n"
                f"      validate_url: http://127.0.0.1:{h.free_port()}/ScepActions/validateRequest\n"
                "      timeout_ms: 1000\n      retries: 1\n"),
    ])
    pki.config.write_text(text + f"status_dir: {d / 'state' / 'status'}\n")


@pytest.fixture(scope="module", params=h.STORES)
def chal(request, server_class, workdir):
    store = request.param  # challenges, quotas and consumption on each store backend
    svc = ValidationService().start()
    pki = h.Pki.create(workdir / f"pki-challenges-{store}")
    cluster = None
    if store == "postgresql":
        cluster = request.getfixturevalue("postgres")
        cluster.create_database(f"challenges_{server_class.kind}")
        h.use_postgresql(pki.config, cluster, f"challenges_{server_class.kind}")
    write_config(pki, svc)
    htpasswd = workdir / f"admin-{store}.htpasswd"
    hashed = h.run(["openssl", "passwd", "-apr1", ADMIN_PASSWORD]).stdout.strip()
    htpasswd.write_text(f"{ADMIN_USER}:{hashed}\n")
    htpasswd.chmod(0o644)
    locations = [("/scep", None)] + [(f"/scep-{p}", p) for p in
                                      ("legacy", "quota", "ndes", "loop", "alloc", "pattern", "slow", "edit",
                                       "generate", "extval", "unreachable")]
    locations += [h.AdminLocation("/admin/challenge", "admin", None, htpasswd),
                  h.AdminLocation("/admin/open", "admin", None, None),
                  h.AdminLocation("/admin/legacy", "admin", "legacy", htpasswd),
                  h.AdminLocation("/certsrv/mscep_admin/", "mscep_admin", None, htpasswd)]
    server = server_class(workdir / f"{server_class.kind}-challenges-{store}", pki.config, locations=locations)
    server.start()
    cacert = workdir / f"challenges-getcacert-{store}.der"
    cacert.write_bytes(h.get_op(server.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, svc=svc, client=h.TestClient(cacert, pki.ca_cert),
                          store=store, cluster=cluster, db=f"challenges_{server_class.kind}")
    server.discard()
    svc.stop()


def store_rows(chal, sql: str) -> list:
    """Rows of one query on the module's store, SQLite or PostgreSQL (the
    challenges' user column is user_name there); values inlined, so only
    for the tests' own identifiers."""
    if chal.store == "postgresql":
        out = chal.cluster.psql(sql.replace(" user ", " user_name ").replace("SELECT user ", "SELECT user_name "),
                                db=chal.db)
        return [tuple(line.split("|")) for line in out.splitlines()]
    with sqlite3.connect(chal.pki.state_dir / "scepter.db") as db:
        return [tuple(str(v) for v in row) for row in db.execute(sql).fetchall()]


def new_challenge(chal, profile="default", user="alice", *claims, check=True):
    return h.run([h.SCEPTER, "challenge", "--config", chal.pki.config, "--profile", profile,
                  "--user", user, *claims], check=check)


def device(chal, devices_dir, challenge, **kw):
    return h.Device.create(devices_dir, challenge, **kw)


def enroll(chal, dev, path="/scep", name="req"):
    req = chal.client.request(dev, name=name)
    r = h.send_pki(chal.server.port, path, req.der)
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = chal.client.reply(dev, req, r.body, name=f"{name}-reply")
    assert rep["_rc"] == 0, rep
    return rep


def failure(rep, text):
    assert rep["status"] == "FAILURE" and rep["fail_info"] == "badRequest", rep
    assert re.search(text, rep["fail_info_text"]), rep


# ---- one-time challenges: the three phases ------------------------------

def test_110_001_one_time_challenge_enrolls_once(chal, devices_dir):
    c = new_challenge(chal).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", c)
    assert enroll(chal, device(chal, devices_dir, c))["status"] == "SUCCESS"
    steps = [r["step"] for r in chal.pki.audit_records() if r.get("challenge_id") == h.challenge_id(c)]
    assert "challenge_lookup" in steps and "challenge_password" in steps


@pytest.mark.expect_log("SCP3003")
def test_110_002_replay_of_a_used_challenge(chal, devices_dir):
    c = new_challenge(chal).stdout.strip()
    assert enroll(chal, device(chal, devices_dir, c), name="first")["status"] == "SUCCESS"
    failure(enroll(chal, device(chal, devices_dir, c), name="replay"), r"^challenge_lookup: ChallengeAlreadyUsed")


@pytest.mark.expect_log("SCP3003")
def test_110_003_each_phase_fails_with_its_own_text(chal, devices_dir):
    failure(enroll(chal, device(chal, devices_dir, "")), r"^challenge_lookup: ChallengePasswordMissing")
    expired = new_challenge(chal).stdout.strip()
    store_rows(chal, f"UPDATE challenges SET expires_at = 1 WHERE id = '{h.challenge_id(expired)}'")
    failure(enroll(chal, device(chal, devices_dir, expired), name="expired"), r"^challenge_lookup: ChallengeExpired")
    good = new_challenge(chal).stdout.strip()
    wrong = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    failure(enroll(chal, device(chal, devices_dir, wrong), name="wrong"),
            r"^challenge_password: ChallengePasswordMismatch")
    bound = new_challenge(chal, "default", "bob", "--subject", "CN=someone-else").stdout.strip()
    failure(enroll(chal, device(chal, devices_dir, bound), name="subject"),
            r"^challenge_claims: SubjectNameMismatch")


@pytest.mark.expect_log("SCP3003")
@pytest.mark.parametrize("claim,csr_ext,code,matching", [
    (["--san", "dns:expected.example"], {"subjectAltName": "DNS:other.example"}, "SubjectAltNameMismatch",
     {"extensions": {"subjectAltName": "DNS:expected.example"}}),
    (["--key-usage", "keyEncipherment"], {"keyUsage": "digitalSignature"}, "KeyUsageMismatch",
     {"extensions": {"keyUsage": "keyEncipherment"}}),
    (["--eku", "serverAuth"], {"extendedKeyUsage": "clientAuth"}, "EnhancedKeyUsageMismatch",
     {"extensions": {"extendedKeyUsage": "serverAuth"}}),
    (["--min-key-size", "3072"], None, "KeyLengthMismatch", {"bits": 3072}),
])
def test_110_004_claims_mismatch_codes(chal, devices_dir, claim, csr_ext, code, matching):
    c = new_challenge(chal, "default", "carol", *claim).stdout.strip()
    failure(enroll(chal, device(chal, devices_dir, c, extensions=csr_ext)), rf"^challenge_claims: {code}")
    # the refused request left the challenge unused: a matching CSR enrolls with it
    assert enroll(chal, device(chal, devices_dir, c, **matching), name="matching")["status"] == "SUCCESS"


def test_110_005_claims_that_match_enroll(chal, devices_dir):
    exts = {"subjectAltName": "DNS:dev.example", "keyUsage": "digitalSignature"}
    cn = "bound-device"
    c = new_challenge(chal, "default", "dave", "--subject-pattern", f".*CN={cn}(,.*)?",
                      "--san", "dns:dev.example", "--key-usage", "digitalSignature",
                      "--min-key-size", "2048").stdout.strip()
    assert enroll(chal, device(chal, devices_dir, c, cn=cn, extensions=exts))["status"] == "SUCCESS"


def test_110_006_quota_is_ndes_password_max(chal):
    for _ in range(2):
        new_challenge(chal, "quota", "erin")
    full = new_challenge(chal, "quota", "erin", check=False)
    assert full.returncode == 1 and "The password cache is full." in full.stderr


@pytest.mark.expect_log("SCP3003")
def test_110_007_twenty_racing_requests_one_challenge_one_winner(chal, devices_dir):
    c = new_challenge(chal).stdout.strip()
    devices = [device(chal, devices_dir, c, cn=f"racer-{i}") for i in range(20)]
    reqs = [chal.client.request(d, name="race") for d in devices]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(lambda r: h.send_pki(chal.server.port, "/scep", r.der), reqs))
    statuses = [chal.client.reply(d, r, reply.body, name="race-reply")["status"]
                for d, r, reply in zip(devices, reqs, replies)]
    assert statuses.count("SUCCESS") == 1, statuses
    assert statuses.count("FAILURE") == 19, statuses


# ---- Lua policies -------------------------------------------------------

@pytest.mark.parametrize("ku,template", [("digitalSignature", "signature"),
                                         ("keyEncipherment", "encryption"),
                                         ("digitalSignature,keyEncipherment", "general_purpose")])
def test_110_008_ndes_policy_chooses_the_template_by_key_usage(chal, devices_dir, ku, template):
    c = new_challenge(chal, "ndes").stdout.strip()
    rep = enroll(chal, device(chal, devices_dir, c, extensions={"keyUsage": ku}), path="/scep-ndes")
    assert rep["status"] == "SUCCESS", rep
    assert h.template_name_of(rep["_cert_path"]) == template
    decided = [r for r in chal.pki.audit_records() if r.get("step") == "policy_decided"
               and r.get("transaction_id") == rep["transaction_id"]]
    assert decided and decided[0]["template"] == template


@pytest.mark.expect_log("SCP3003", "SCP3008")
@pytest.mark.parametrize("runaway", ["loop", "alloc", "pattern", "slow"])
def test_110_009_runaway_policy_fails_only_its_request(chal, devices_dir, runaway):
    c = new_challenge(chal, runaway).stdout.strip()
    failure(enroll(chal, device(chal, devices_dir, c), path=f"/scep-{runaway}"), r"PolicyFailed")
    c = new_challenge(chal).stdout.strip()
    assert enroll(chal, device(chal, devices_dir, c), name="after")["status"] == "SUCCESS"


@pytest.mark.expect_log("SCP3003")
def test_110_010_edited_policy_is_picked_up_by_reload(chal, devices_dir):
    c = new_challenge(chal, "edit").stdout.strip()
    failure(enroll(chal, device(chal, devices_dir, c), path="/scep-edit"), r"PolicyDenied: closed for the test")
    (chal.pki.dir / "edit.lua").write_text(ALLOW_POLICY)
    try:
        chal.server.reload()
        c = new_challenge(chal, "edit").stdout.strip()
        assert enroll(chal, device(chal, devices_dir, c), path="/scep-edit", name="edited")["status"] == "SUCCESS"
    finally:
        (chal.pki.dir / "edit.lua").write_text(DENY_POLICY)
        chal.server.reload()


def test_110_011_broken_policy_is_refused_by_the_config_test(chal, server_class, workdir):
    broken = chal.pki.dir / "broken.lua"
    broken.write_text("function verify_request(req)\n  return scep.allow(\nend\n")
    cfg = chal.pki.dir / "broken.yaml"
    cfg.write_text(chal.pki.config.read_text().replace("policy: edit.lua", f"policy: {broken}"))
    tester = server_class(workdir / f"{server_class.kind}-broken-policy", cfg, gated=False)
    p = tester.config_test()
    assert p.returncode != 0
    assert re.search(rf"{re.escape(str(broken))}:\d+:", p.stdout + p.stderr), p.stdout + p.stderr


# ---- the admin faces ----------------------------------------------------

def admin_get(chal, path, auth=True):
    headers = {}
    if auth:
        token = base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return h.http_request(chal.server.port, "GET", path, headers=headers)


@pytest.mark.expect_log("SCP3007", "user .* was not found", "password mismatch", "no user")
def test_110_012_admin_api_needs_the_servers_authentication(chal, devices_dir):
    assert admin_get(chal, "/admin/challenge?user=frank", auth=False).status == 401
    assert admin_get(chal, "/admin/open?user=frank", auth=False).status == 403  # no access control at all
    r = admin_get(chal, "/admin/challenge?user=frank&profile=default")
    assert r.status == 200 and r.content_type.startswith("application/json"), r.body
    import json
    got = json.loads(r.body)
    assert set(got) >= {"challenge", "expires", "ca_thumbprint_sha256", "ca_thumbprint_sha1", "timestamp"}
    fp = h.run(["openssl", "x509", "-in", chal.pki.ca_cert, "-noout", "-fingerprint", "-sha256"]).stdout
    assert got["ca_thumbprint_sha256"] == fp.split("=", 1)[1].strip().replace(":", "").lower()
    assert enroll(chal, device(chal, devices_dir, got["challenge"]))["status"] == "SUCCESS"


MDM_REGEX = re.compile(r"The enrollment challenge password is: <B> (\S*)")


def test_110_013_mscep_admin_page_as_mdms_scrape_it(chal, devices_dir):
    r = admin_get(chal, "/certsrv/mscep_admin/")
    assert r.status == 200
    assert r.body[:2] == b"\xff\xfe", "NDES sends UTF-16 with a byte-order mark"
    m = MDM_REGEX.search(r.body.decode("utf-16"))
    assert m, r.body.decode("utf-16")
    assert enroll(chal, device(chal, devices_dir, m.group(1)))["status"] == "SUCCESS"
    thumb = admin_get(chal, "/certsrv/mscep_admin/?operation=NDESGetCACertThumbprint").body.decode()
    assert re.fullmatch(r"([0-9A-F]{2} ){15}[0-9A-F]{2}", thumb.strip()), thumb
    generated = admin_get(chal, "/certsrv/mscep_admin/?operation=NDESGenerateChallenge").body.decode().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", generated), generated
    assert enroll(chal, device(chal, devices_dir, generated), name="generated")["status"] == "SUCCESS"


@pytest.mark.expect_log("favicon.ico")  # the browser asks for one; no such file is served
def test_110_014_mscep_admin_page_in_chromium(chal, workdir):
    chromium = h.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/test installs it)")
    url = (f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{chal.server.port}/certsrv/mscep_admin/")
    profile = workdir / "chromium-profile"
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", url],
                       capture_output=True, text=True, timeout=90)
    assert "The enrollment challenge password is:" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert re.search(r"The enrollment challenge password is: <b> [A-Za-z0-9]{32} </b>", p.stdout, re.I)


# ---- external validation ------------------------------------------------

def test_110_015_external_validation_allows_and_is_told_before_the_device(chal, devices_dir):
    chal.svc.clear()
    chal.svc.validate = "allow"
    c = new_challenge(chal, "extval").stdout.strip()
    dev = device(chal, devices_dir, c)
    req = chal.client.request(dev)
    r = h.send_pki(chal.server.port, "/scep-extval", req.der)
    answered = time.time()
    rep = chal.client.reply(dev, req, r.body)
    assert rep["status"] == "SUCCESS", rep
    validate = chal.svc.requests("validateRequest")
    notified = chal.svc.requests("successNotification")
    assert len(validate) == 1 and len(notified) == 1
    assert validate[0]["body"]["request"]["transactionId"] == req.transaction_id
    n = notified[0]["body"]["notification"]
    assert h.norm_serial(n["certificateSerialNumber"]) == h.norm_serial(rep["cert_serial"])
    assert validate[0]["time"] <= notified[0]["time"] <= answered


@pytest.mark.expect_log("SCP3003")
def test_110_016_external_validation_denies(chal, devices_dir):
    chal.svc.clear()
    chal.svc.validate = "deny:SubjectNameMismatch"
    try:
        c = new_challenge(chal, "extval").stdout.strip()
        dev = device(chal, devices_dir, c)
        req = chal.client.request(dev)
        r = h.send_pki(chal.server.port, "/scep-extval", req.der)
        answered = time.time()
        failure(chal.client.reply(dev, req, r.body), r"^external_validation: SubjectNameMismatch")
        told = chal.svc.requests("failureNotification")
        assert len(told) == 1 and told[0]["time"] <= answered
        assert told[0]["body"]["notification"]["transactionId"] == req.transaction_id
        assert not chal.svc.requests("successNotification")
    finally:
        chal.svc.validate = "allow"


@pytest.mark.expect_log("SCP3003")
def test_110_017_unreachable_validation_service_means_no_certificate(chal, devices_dir):
    c = new_challenge(chal, "unreachable").stdout.strip()
    failure(enroll(chal, device(chal, devices_dir, c), path="/scep-unreachable"),
            r"^external_validation: ServiceUnavailable")


def test_110_018_status_records_move_to_succeeded_and_failed(chal):
    out = h.run([h.SCEPTER, "status", "list", "--dir", chal.pki.state_dir / "status", "--state", "all"]).stdout
    assert "succeeded" in out and "failed" in out


# ---- one issuance for the CLI and the admin API -------------------------

def issued_line(chal, challenge):
    lines = [r for r in chal.pki.audit_records()
             if r.get("step") == "challenge_issued" and r.get("challenge_id") == h.challenge_id(challenge)]
    assert len(lines) == 1, lines
    return lines[0]


def test_110_019_cli_and_admin_api_issue_through_the_policy_alike(chal, devices_dir):
    import json
    by_cli = new_challenge(chal, "generate", "gina", "--requester", ADMIN_USER).stdout.strip()
    r = admin_get(chal, "/admin/challenge?user=gina&profile=generate")
    assert r.status == 200, r.body
    by_admin = json.loads(r.body)["challenge"]
    cli_line, admin_line = issued_line(chal, by_cli), issued_line(chal, by_admin)
    for line in (cli_line, admin_line):  # the hook ran for both, and its claim is bound and audited
        assert json.loads(line["claims"]) == {"issued_via": f"generate_challenge for {ADMIN_USER}"}, line
    assert (cli_line["operation"], admin_line["operation"]) == ("cli", "admin")
    assert set(cli_line) == set(admin_line)
    for key in ("id", "step", "outcome", "profile", "user", "requester", "claims"):
        assert cli_line[key] == admin_line[key], key
    for name, c in (("cli", by_cli), ("admin", by_admin)):
        rep = enroll(chal, device(chal, devices_dir, c, cn=f"generated-{name}"), path="/scep-generate", name=name)
        assert rep["status"] == "SUCCESS", rep


def test_110_020_cli_with_a_config_path_relative_to_the_working_directory(chal):
    conf = chal.pki.config
    relative = f"{conf.parent.name}/{conf.name}"
    c = h.run([h.SCEPTER, "challenge", "--config", relative, "--profile", "default", "--user", "ivan"],
              cwd=conf.parent.parent).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", c)
    assert store_rows(chal, f"SELECT user FROM challenges WHERE id = '{h.challenge_id(c)}'") == [("ivan",)]
    assert not (conf.parent / conf.parent.name).exists(), "the store path was resolved twice"
    listed = h.run([h.SCEPTER, "certs", "list", "--config", relative], cwd=conf.parent.parent).stdout
    assert listed.startswith("SERIAL")


def test_110_021_no_face_issues_on_a_profile_without_one_time_challenges(chal):
    p = new_challenge(chal, "static_only", "judy", check=False)
    assert p.returncode == 1, p.stdout
    assert "one-time challenges are not enabled on profile 'static_only'" in p.stderr, p.stderr
    assert admin_get(chal, "/admin/challenge?user=judy&profile=static_only").status == 403
    assert not [r for r in chal.pki.audit_records()
                if r.get("step") == "challenge_issued" and r.get("profile") == "static_only"]


@pytest.mark.expect_log("SCP3010")
def test_110_022_admin_location_bound_to_a_profile_issues_only_for_it(chal):
    """A location naming a profile never mints challenges for another one;
    only a location naming none serves every profile through ?profile=."""
    import json
    offset = chal.server.log_size()
    other = admin_get(chal, "/admin/legacy?user=kim&profile=default")
    assert other.status == 403 and other.content_type.startswith("application/json"), other.body
    assert json.loads(other.body)["error"] == "this admin location issues challenges for profile 'legacy' only"
    assert any("SCP3010" in line for line in chal.server.log_since(offset)), chal.server.tail_log()
    assert not [r for r in chal.pki.audit_records()
                if r.get("step") == "challenge_issued" and r.get("user") == "kim"]
    for path in ("/admin/legacy?user=kim", "/admin/legacy?user=kim&profile=legacy"):
        own = admin_get(chal, path)
        assert own.status == 200, own.body
        assert json.loads(own.body)["profile"] == "legacy"
    anywhere = admin_get(chal, "/admin/challenge?user=kim&profile=legacy")
    assert anywhere.status == 200, anywhere.body


def test_110_023_no_part_of_a_challenge_is_stored_or_logged(chal, devices_dir):
    """A one-time challenge is 32 secret characters: neither the store's row,
    nor the audit trail, nor the server's log carries any part of it (its ID
    is derived one way), so reading them gives no head start at guessing."""
    offset = chal.server.log_size()
    c = new_challenge(chal, "default", "lena").stdout.strip()
    assert enroll(chal, device(chal, devices_dir, c, cn="lena-device"), name="lena")["status"] == "SUCCESS"
    row = store_rows(chal, "SELECT id, secret_sha256 FROM challenges WHERE user = 'lena'")[0]
    assert row[0] == h.challenge_id(c)
    audit = chal.pki.audit_log.read_text()
    assert h.challenge_id(c) in audit
    seen = "\n".join([audit, *chal.server.log_since(offset), *row])
    pieces = {c[i:i + 6] for i in range(len(c) - 5)}  # any 6 characters in a row: 36 bits
    assert not [p for p in pieces if p in seen]


def test_110_024_purge_unused_frees_a_full_quota(chal):
    """A requester whose quota is full (NDES's "password cache is full") gets
    it back at once with `scepter challenge purge --unused`, audited."""
    for _ in range(3):
        if new_challenge(chal, "quota", "frank", check=False).returncode != 0:
            break
    assert "The password cache is full." in new_challenge(chal, "quota", "frank", check=False).stderr
    requester = pwd.getpwuid(os.getuid()).pw_name  # what the CLI counts against by default
    out = h.run([h.SCEPTER, "challenge", "purge", "--config", chal.pki.config, "--unused",
                 "--requester", requester]).stdout
    assert re.fullmatch(rf"\d+ unused challenges? withdrawn from {requester}\n", out), out
    assert int(out.split()[0]) >= 2
    assert new_challenge(chal, "quota", "frank").stdout.strip()
    withdrawn = [r for r in chal.pki.audit_records() if r.get("step") == "challenges_withdrawn"]
    assert withdrawn and withdrawn[-1]["requester"] == requester and withdrawn[-1]["id"] == "SCP2027"
    bad = h.run([h.SCEPTER, "challenge", "purge", "--config", chal.pki.config, "--user", "x"], check=False)
    assert bad.returncode == 2 and "takes only --config" in bad.stderr


def test_110_025_cli_count_issues_a_batch_within_the_quota(chal, devices_dir):
    """`--count N` prints N challenges, one per line, each stored and each
    good once; the quota counts every one, and a full quota stops the batch
    after those already printed."""
    batch = new_challenge(chal, "default", "kim", "--count", "3").stdout.split("\n")
    assert batch[-1] == "" and len(batch) == 4, batch
    batch = batch[:3]
    assert len(set(batch)) == 3 and all(re.fullmatch(r"[A-Za-z0-9]{32}", c) for c in batch), batch
    for c in batch:
        assert store_rows(chal, f"SELECT user FROM challenges WHERE id = '{h.challenge_id(c)}'") == [("kim",)]
    rep = enroll(chal, device(chal, devices_dir, batch[1], cn="batch-1"), name="batch")
    assert rep["status"] == "SUCCESS", rep
    full = new_challenge(chal, "quota", "lee", "--requester", "batcher", "--count", "3", check=False)
    assert full.returncode == 1 and "The password cache is full." in full.stderr, full.stderr
    assert len(full.stdout.split()) == 2, full.stdout  # the quota profile allows 2
    bad = new_challenge(chal, "default", "kim", "--count", "100001", check=False)
    assert bad.returncode == 2 and "--count needs a number from 1 to 100000" in bad.stderr, bad.stderr
