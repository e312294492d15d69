"""Several workers meeting a store that does not exist yet (the first start
of a fresh installation) must all come up: creating the SQLite file, its
WAL mode and its schema must not race."""

import re
import time

import pytest

import harness as h


@pytest.mark.parametrize("round_", range(6))
def test_085_001_fresh_store_many_workers(server_class, workdir, pki, round_):
    state = pki.dir / f"state-fresh-{round_}"
    state.mkdir()
    h.chown_worker(state)
    text = re.sub(r"^(\s+sqlite:).*$", rf"\1 {state}/scepter.db", pki.config.read_text(),
                  count=1, flags=re.M)
    cfg = pki.dir / f"fresh-{round_}.yaml"
    cfg.write_text(text)
    n = server_class(workdir / f"fresh-store-{round_}", cfg, workers=4)
    try:
        n.start()
        time.sleep(0.5)  # a worker that fails its init exits right after start
        workers = n.worker_pids()
        assert len(workers) == 4, f"workers alive: {len(workers)}\n{n.tail_log()}"
        assert (state / "scepter.db").exists()
        r = h.get_op(n.port, "/scep", "GetCACaps")
        assert r.status == 200
    finally:
        n.discard()
