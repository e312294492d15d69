"""What the Intune tests share (test_210, test_215): the stand-in's test CA
and client secret set up beside a PKI, the profile YAML with an `intune:`
block pointing at a stand-in, and an enrollment with Intune's (opaque)
challenge."""

from __future__ import annotations

from pathlib import Path

import harness as h
from intune_service import make_test_ca

SECRET = "Sx8Q~intune-stand-in-secret.Do-not-log-1234"
INTUNE_CHALLENGE = "MIIIntuneChallengeBlob-" + "A" * 40  # opaque to Scepter: Intune reads it


def intune_files(pki: h.Pki) -> tuple[dict, Path]:
    """The stand-in's test CA (server and client certificates) and the
    client secret's file, inside the PKI's directory, readable by workers."""
    files = make_test_ca(pki.dir / "intune-ca")
    for f in ("ca", "server", "client"):
        files[f].chmod(0o644)
    secret_file = pki.dir / "intune-secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    h.make_traversable(pki.dir / "intune-ca")
    return files, secret_file


def intune_profile(name, svc, files, secret_file=None, extra="") -> str:
    """A profile whose `intune:` block points at the stand-in svc; extra:
    more lines of the block (six spaces of indent)."""
    cred = (f"      client_secret_file: {secret_file}\n" if secret_file else
            f"      client_certificate: {files['client']}\n      client_key: {files['client_key']}\n")
    return (f"  {name}:\n    templates_by_key_usage:\n      signature: signature\n"
            "      encryption: encryption\n      general_purpose: general_purpose\n"
            "    allow_legacy_clients: true\n    ciphers: [des, des3, aes128, aes192, aes256]\n"
            "    digests: [sha1, sha256, sha384, sha512]\n"
            f"    intune:\n      tenant: {svc.tenant}\n      client_id: {svc.client_id}\n{cred}"
            f"      authority: {svc.base}\n      graph: {svc.base}\n      ca_file: {files['ca']}\n"
            "      caller_info: Scepter-test/1.0\n      timeout_ms: 3000\n      retries: 0\n" + extra)


def enroll(client: h.TestClient, port: int, devices_dir: Path, path: str, name="req"):
    """One PKCSReq with Intune's challenge; the request and the reply."""
    dev = h.Device.create(devices_dir, INTUNE_CHALLENGE)
    req = client.request(dev, name=name)
    r = h.send_pki(port, path, req.der)
    assert r.status == 200, f"HTTP {r.status}: {r.body[:300]!r}"
    return req, client.reply(dev, req, r.body, name=f"{name}-reply")
