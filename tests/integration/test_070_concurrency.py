"""50 enrollments at once over the server's workers: all issued, all
serials distinct, all in the store."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import harness as h

COUNT = 50


@pytest.mark.device_keys("concurrent", COUNT)
def test_070_001_fifty_concurrent_enrollments(server, port, client, devices_dir, pki, key_pool):
    devices, reqs = h.prebuild_requests(client, devices_dir, pki.challenge,
                                        key_pool.keys("concurrent", COUNT), "concurrent")

    before = server.worker_pids()
    with ThreadPoolExecutor(max_workers=COUNT) as pool:
        replies = list(pool.map(lambda r: h.post_pki(port, "/scep-strict", r.der), reqs))

    serials = []
    for d, req, r in zip(devices, reqs, replies):
        rep = client.reply(d, req, r.body) if r.status == 200 else None
        cert = h.check_issued(h.Enrollment(r, req, rep), d, pki.ca_cert)
        serials.append(h.norm_serial(h.cert_summary(cert)["serial"]))
    assert len(set(serials)) == COUNT, f"duplicate serials: {sorted(serials)}"
    assert server.worker_pids() == before, "a worker was replaced (crash?)"

    listing = h.run([h.SCEPTER, "certs", "list", "--config", pki.config]).stdout
    flat = listing.upper().replace(":", "")
    missing = [s for s in serials if s not in flat]
    assert not missing, f"{len(missing)} serials not listed by `scepter certs list`:\n{listing}"
    for d in devices:
        assert f"CN={d.cn}" in listing or d.cn in listing, f"{d.cn} not listed"
