"""Identity in the certificate: the SID extension (KB5014754) from Intune's
SID SAN URI, URI SANs limited to a template's prefixes, and the validity a CSR
asks for with Microsoft's ValidityPeriod name-value pairs."""

import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import harness as h

pytestmark = pytest.mark.expect_log("SCP3003")  # the refusals are failed steps

PASSWORD = "Identity-Static-0123"
SID = "S-1-5-21-3623811015-3361044348-30300820-1013"
SID_URI = f"tag:microsoft.com,2022-09-14:sid:{SID}"
DEVICE_URI = "IntuneDeviceId://5f0c5c43-8e4b-4c5e-9d47-5d2f6a1b7c01"


def template(name, extra):
    return (f"  {name}:\n    validity_days: 30\n    max_validity_days: 90\n"
            "    key_usage: [digitalSignature, keyEncipherment]\n    extended_key_usage: [clientAuth]\n"
            f"{extra}")


TEMPLATES = "".join([
    template("id_allow", "    san:\n      allowed: [dns, uri]\n      uri_prefixes: ['IntuneDeviceId://']\n"
                         "    sid_extension: allow\n"),
    template("id_require", "    sid_extension: require\n    on_excess_request: drop\n"),
    template("id_forbid", "    san:\n      allowed: [dns, uri]\n"),
    template("id_drop", "    san:\n      allowed: [dns, uri]\n    on_excess_request: drop\n"),
])


POLICY_SID = "S-1-5-21-1004336348-1177238915-682003330-512"
SID_POLICY = f"function verify_request(req)\n  return {{ verdict = 'allow', sid = '{POLICY_SID}' }}\nend\n"


def profile(name, tmpl, extra=""):
    return f"  {name}:\n    template: {tmpl}\n    challenge:\n      static: {PASSWORD}\n{extra}"


@pytest.fixture(scope="module")
def ident(server_class, workdir):
    pki = h.Pki.create(workdir / "pki-identity")
    text = pki.config.read_text().replace("\ntemplates:\n", "\ntemplates:\n" + TEMPLATES, 1)
    text += "".join(profile(p, f"id_{p}") for p in ("allow", "require", "forbid", "drop"))
    (pki.dir / "sid.lua").write_text(SID_POLICY)
    text += profile("policy", "id_require", "    policy: sid.lua\n")
    pki.config.write_text(text)
    locations = [("/scep", None)] + [(f"/scep-{p}", p) for p in ("allow", "require", "forbid", "drop", "policy")]
    server = server_class(workdir / f"{server_class.kind}-identity", pki.config, locations=locations)
    server.start()
    cacert = workdir / "identity-getcacert.der"
    cacert.write_bytes(h.get_op(server.port, "/scep", "GetCACert").body)
    yield SimpleNamespace(pki=pki, server=server, client=h.TestClient(cacert, pki.ca_cert))
    server.discard()


# ---- a CSR with Microsoft's name-value pairs (1.3.6.1.4.1.311.13.2.1) --------

def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_len(len(body)) + body


def read_tlv(b: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the TLV at i."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def bmp(text: str) -> bytes:
    return tlv(0x1E, text.encode("utf-16-be"))


NAME_VALUE_OID = bytes.fromhex("060a2b0601040182370d0201")  # 1.3.6.1.4.1.311.13.2.1


def add_name_value_pairs(device: h.Device, pairs: dict) -> None:
    """Re-signs the device's CSR with an EnrollmentNameValuePair attribute
    holding PAIRS, the way Intune's Windows client sends ValidityPeriod."""
    der_path = device.dir / "device.csr.der"
    h.run(["openssl", "req", "-in", device.csr, "-outform", "DER", "-out", der_path])
    der = der_path.read_bytes()
    _, body, _ = read_tlv(der, 0)
    _, cri_body, cri_end = read_tlv(der, body)
    parts, i = [], cri_body
    while i < cri_end:
        _, start, end = read_tlv(der, i)
        parts.append(der[i:end])
        i = end
    version, subject, spki = parts[:3]
    attrs = read_tlv(parts[3], 0) if len(parts) > 3 else None
    old_attrs = parts[3][attrs[1]:attrs[2]] if attrs else b""
    values = b"".join(tlv(0x30, bmp(k) + bmp(v)) for k, v in pairs.items())
    attribute = tlv(0x30, NAME_VALUE_OID + tlv(0x31, values))
    cri = tlv(0x30, version + subject + spki + tlv(0xA0, old_attrs + attribute))
    key = serialization.load_pem_private_key(device.key.read_bytes(), None)
    signature = key.sign(cri, padding.PKCS1v15(), hashes.SHA256())
    alg = bytes.fromhex("300d06092a864886f70d01010b0500")  # sha256WithRSAEncryption
    csr = tlv(0x30, cri + alg + tlv(0x03, b"\x00" + signature))
    device.csr.write_bytes(csr)
    pem = h.run(["openssl", "req", "-inform", "DER", "-in", device.csr, "-verify", "-noout"], check=False)
    assert pem.returncode == 0, pem.stderr
    device.csr.write_text(h.run(["openssl", "req", "-inform", "DER", "-in", device.csr]).stdout)


# ---- helpers ----------------------------------------------------------------

def make(devices_dir, uris=(), dns=None, pairs=None):
    alt = [f"URI.{i} = {u}" for i, u in enumerate(uris)] + ([f"DNS.0 = {dns}"] if dns else [])
    d = h.Device.create(devices_dir, PASSWORD, extensions={"subjectAltName": "@alt"} if alt else None,
                        sections={"alt": alt} if alt else None)
    if pairs:
        add_name_value_pairs(d, pairs)
    return d


def enroll(ident, dev, profile):
    req = ident.client.request(dev)
    r = h.send_pki(ident.server.port, f"/scep-{profile}", req.der)
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    rep = ident.client.reply(dev, req, r.body)
    assert rep["_rc"] == 0 or rep.get("status") == "FAILURE", rep
    return rep


def issued(rep) -> str:
    assert rep.get("status") == "SUCCESS", rep
    return str(rep["_cert_path"])


def failure(rep, text):
    assert rep["status"] == "FAILURE" and rep["fail_info"] == "badRequest", rep
    assert text in rep["fail_info_text"], rep


def sid_of(cert: str) -> str | None:
    """The SID in the 1.3.6.1.4.1.311.25.2 extension, read with `openssl asn1parse`
    twice: the certificate, then the extension's value."""
    lines = h.run(["openssl", "asn1parse", "-in", cert]).stdout.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(":1.3.6.1.4.1.311.25.2"):
            m = re.search(r"^\s*(\d+):", lines[i + 1])
            inner = h.run(["openssl", "asn1parse", "-in", cert, "-strparse", m.group(1)]).stdout
            assert ":1.3.6.1.4.1.311.25.2.1" in inner, inner
            m = re.search(r"OCTET STRING\s+:(S-1-[0-9-]+)", inner)
            return m.group(1) if m else None
    return None


def sans_of(cert: str) -> str:
    return h.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout


def days_of(cert: str) -> float:
    out = h.run(["openssl", "x509", "-in", cert, "-noout", "-startdate", "-enddate"]).stdout
    fmt = "%b %d %H:%M:%S %Y %Z"
    start = datetime.strptime(re.search(r"notBefore=(.*)", out).group(1).strip(), fmt)
    end = datetime.strptime(re.search(r"notAfter=(.*)", out).group(1).strip(), fmt)
    return (end - start).total_seconds() / 86400


# ---- the SID extension --------------------------------------------------------

def test_125_001_intune_sid_uri_becomes_the_sid_extension(ident, devices_dir):
    cert = issued(enroll(ident, make(devices_dir, uris=[SID_URI, DEVICE_URI]), "allow"))
    assert sid_of(cert) == SID
    sans = sans_of(cert)
    assert DEVICE_URI in sans
    assert "tag:microsoft.com" not in sans  # not under the template's uri_prefixes


def test_125_002_forbidding_template_rejects_or_drops(ident, devices_dir):
    failure(enroll(ident, make(devices_dir, uris=[SID_URI]), "forbid"),
            "does not allow the SID extension (sid_extension: forbid)")
    cert = issued(enroll(ident, make(devices_dir, uris=[SID_URI], dns="d.example"), "drop"))
    assert sid_of(cert) is None
    sans = sans_of(cert)
    assert "d.example" in sans and "tag:microsoft.com" not in sans


def test_125_003_required_sid_missing_or_invalid(ident, devices_dir):
    failure(enroll(ident, make(devices_dir), "require"), "requires a SID (sid_extension: require)")
    failure(enroll(ident, make(devices_dir, uris=["tag:microsoft.com,2022-09-14:sid:S-1-5-x"]), "require"),
            "does not carry a valid SID")
    cert = issued(enroll(ident, make(devices_dir, uris=[SID_URI]), "require"))
    assert sid_of(cert) == SID
    assert "tag:microsoft.com" not in sans_of(cert)  # this template allows no SAN at all


def test_125_004a_policy_sid_comes_first(ident, devices_dir):
    assert sid_of(issued(enroll(ident, make(devices_dir), "policy"))) == POLICY_SID
    assert sid_of(issued(enroll(ident, make(devices_dir, uris=[SID_URI]), "policy"))) == POLICY_SID


# ---- URI SANs under a template's prefixes ------------------------------------

def test_125_004_device_id_uri_allowed_other_uri_refused(ident, devices_dir):
    cert = issued(enroll(ident, make(devices_dir, uris=[DEVICE_URI]), "allow"))
    assert DEVICE_URI in sans_of(cert) and sid_of(cert) is None
    failure(enroll(ident, make(devices_dir, uris=["https://elsewhere.example/device"]), "allow"),
            "not under san.uri_prefixes")
    # without uri_prefixes any URI passes, as before
    cert = issued(enroll(ident, make(devices_dir, uris=["https://elsewhere.example/device"]), "forbid"))
    assert "https://elsewhere.example/device" in sans_of(cert)


# ---- the validity a CSR asks for ---------------------------------------------

def test_125_005_validity_period_honoured_and_capped(ident, devices_dir):
    cert = issued(enroll(ident, make(devices_dir), "forbid"))
    assert abs(days_of(cert) - 30) < 0.01  # the template's validity_days
    asked = make(devices_dir, pairs={"ValidityPeriod": "Days", "ValidityPeriodUnits": "60"})
    assert abs(days_of(issued(enroll(ident, asked, "forbid"))) - 60) < 0.01
    asked = make(devices_dir, pairs={"ValidityPeriod": "Weeks", "ValidityPeriodUnits": "1"})
    assert abs(days_of(issued(enroll(ident, asked, "forbid"))) - 7) < 0.01
    too_long = make(devices_dir, pairs={"ValidityPeriod": "Years", "ValidityPeriodUnits": "1"})
    failure(enroll(ident, too_long, "forbid"), "issues for at most 90 days (max_validity_days)")
    too_long = make(devices_dir, pairs={"ValidityPeriod": "Years", "ValidityPeriodUnits": "1"})
    assert abs(days_of(issued(enroll(ident, too_long, "drop"))) - 90) < 0.01  # clipped
    bad = make(devices_dir, pairs={"ValidityPeriod": "Fortnights", "ValidityPeriodUnits": "2"})
    failure(enroll(ident, bad, "forbid"), "is not Years, Months, Weeks, Days or Hours")
