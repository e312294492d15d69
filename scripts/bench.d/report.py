#!/usr/bin/python3
"""scripts/bench.d/report.py RESULTS_DIR OUT_JSON

Merges the raw figures scripts/bench left in RESULTS_DIR (*.json) into one
JSON document (OUT_JSON) and prints the summary table. Standard library only.
"""

import json
import math
import os
import sys


def load(d, name):
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def rnd(x, n=2):
    return None if x is None else round(x, n)


def enroll_figures(wrk, meta, clk_tck):
    """The figures of one enrollment run, from wrk's JSON and our meta."""
    if not wrk or not meta:
        return None
    active_s = (wrk.get("active_us") or 0) / 1e6
    ok = wrk["success"]
    ticks = meta["cpu_ticks_after"] - meta["cpu_ticks_before"]
    cpu_s = ticks / clk_tck
    out = {
        "messages_prepared": meta["messages"],
        "sent": wrk["sent"],
        "http_200": wrk["http200"],
        "http_other": wrk["http_other"],
        "success": ok,
        "failure": wrk["failure"],
        "pending": wrk["pending"],
        "unreadable_200": wrk["unknown"],
        "wrk_errors": wrk["errors"],
        "bodies_exhausted": bool(wrk["exhausted"]),
        "active_seconds": rnd(active_s, 3),
        "enrollments_per_s": rnd(ok / active_s if active_s > 0 else 0, 1),
        "latency_ms": wrk["latency_ms"],
        "server_cpu_seconds": rnd(cpu_s, 2),
        "server_cpu_ms_per_enrollment": rnd(1000 * cpu_s / ok, 3) if ok else None,
        "server_cpu_ms_per_answer": rnd(1000 * cpu_s / wrk["answered"], 3) if wrk.get("answered") else None,
        "server_cpu_utilisation_cpus": rnd(cpu_s / active_s, 2) if active_s > 0 else None,
        # wrk's CPU per answer, and what the machine's CPUs could do if
        # nothing else ran on them: server + client CPU per enrollment
        "client_cpu_ms_per_answer": rnd(1000 * meta["client_cpu_seconds"] / wrk["answered"], 3)
        if wrk.get("answered") and meta.get("client_cpu_seconds") is not None else None,
        "in_flight_at_end": wrk["sent"] - wrk["answered"],
        "rss_kb_before": meta.get("rss_kb_before"),
        "rss_kb_after": meta.get("rss_kb_after"),
        "spot_checked": meta.get("spot_total"),
        "spot_success": meta.get("spot_ok"),
        "spot_details": meta.get("spot_details"),
        "store_records": meta.get("store_records"),
        "store_expected": meta.get("store_expected"),
        "store_in_flight": meta.get("store_in_flight"),
        "duplicate_serials": meta.get("duplicate_serials"),
        "error_log_lines": meta.get("error_log_lines"),
        "wall_seconds": meta.get("wall_seconds"),
        "client_cpu_seconds": meta.get("client_cpu_seconds"),
        "machine_busy_cpus": meta.get("machine_busy_cpus"),
        "other_load_cpus": meta.get("other_load_cpus"),
        "notes": meta.get("notes", []),
    }
    if ok and out["client_cpu_ms_per_answer"] is not None:
        per = out["server_cpu_ms_per_enrollment"] + out["client_cpu_ms_per_answer"]
        out["projected_enrollments_per_s_idle_machine"] = rnd(meta["cpus"] * 1000 / per, 0) if meta.get("cpus") else None
    return out


def get_figures(wrk):
    if not wrk:
        return None
    d = wrk["duration_us"] / 1e6
    return {
        "requests_per_s": rnd(wrk["requests"] / d if d else 0, 0),
        "rounds_requests_per_s": wrk.get("rounds"),
        "requests": wrk["requests"],
        "latency_ms": wrk["latency_ms"],
        "errors": wrk["errors"],
    }


def main():
    d, out_path = sys.argv[1], sys.argv[2]
    env = load(d, "env") or {}
    clk_tck = env.get("clk_tck", 100)
    ceil = load(d, "ceiling") or {}
    sign = ceil.get("sign_per_s")
    cpus = ceil.get("multi") or env.get("cpus") or 1
    res = {
        "env": env,
        "ceiling": None,
        "scepter": enroll_figures(load(d, "scepter.wrk"), load(d, "scepter.meta"), clk_tck),
        "scepter_apache": enroll_figures(load(d, "apache.wrk"), load(d, "apache.meta"), clk_tck),
        # --store postgresql|both: the same servers with the store in PostgreSQL
        "scepter_pg": enroll_figures(load(d, "scepter-pg.wrk"), load(d, "scepter-pg.meta"), clk_tck),
        "scepter_apache_pg": enroll_figures(load(d, "apache-pg.wrk"), load(d, "apache-pg.meta"), clk_tck),
        # --challenges one-time|both: each message with its own one-time challenge
        **{f"{key}_otc": enroll_figures(load(d, f"{name}-otc.wrk"), load(d, f"{name}-otc.meta"), clk_tck)
           for key, name in (("scepter", "scepter"), ("scepter_apache", "apache"), ("scepter_pg", "scepter-pg"),
                             ("scepter_apache_pg", "apache-pg"))},
        "micromdm": enroll_figures(load(d, "micromdm.wrk"), load(d, "micromdm.meta"), clk_tck),
        "core_only": load(d, "core"),
        "get": {
            "scepter_getcacert": get_figures(load(d, "get-scepter-cacert")),
            "scepter_getcacaps": get_figures(load(d, "get-scepter-cacaps")),
            "nginx_static_getcacert": get_figures(load(d, "get-static")),
            "micromdm_getcacert": get_figures(load(d, "get-micromdm-cacert")),
            "apache_scepter_getcacert": get_figures(load(d, "get-apache-cacert")),
            "apache_scepter_getcacaps": get_figures(load(d, "get-apache-cacaps")),
            "apache_static_getcacert": get_figures(load(d, "get-apache-static")),
            "scepter_audit_lines_during_gets": (load(d, "get-audit.nginx") or {}).get("audit_lines"),
            "apache_scepter_audit_lines_during_gets": (load(d, "get-audit.apache") or {}).get("audit_lines"),
        },
    }
    if sign:
        one = ceil.get("sign_per_s_one_core")
        # Three private-key operations per enrollment: the RA's two (decrypt,
        # sign the CertRep; RSA-2048) and the CA's signature (its own key).
        ca_sign = ceil.get("ca_sign_per_s") or sign
        ca_one = ceil.get("ca_sign_per_s_one_core") or one
        res["ceiling"] = {
            "command": ceil.get("command"),
            "ca_key": ceil.get("ca_key", "rsa:2048"),
            "rsa2048_sign_per_s": sign,
            "rsa2048_verify_per_s": ceil.get("verify_per_s"),
            "ca_sign_per_s": ca_sign,
            "enrollments_per_s": rnd(1 / (2 / sign + 1 / ca_sign), 1),
            "rsa2048_sign_per_s_one_core": one,
            "ca_sign_per_s_one_core": ca_one,
            # NCPU x one core: what the -multi figure would be on an idle machine
            "enrollments_per_s_ideal": rnd(cpus / (2 / one + 1 / ca_one), 1) if one else None,
            # the three operations' CPU, on one core
            "floor_cpu_ms_per_enrollment": (rnd(2 * 1000 / one + 1000 / ca_one, 3) if one
                                            else rnd(1000 * cpus * (2 / sign + 1 / ca_sign), 3)),
            "other_load_cpus": ceil.get("other_load_cpus"),
        }

    # ---- goals (shared/notes/performance.md) ----
    goals = []
    sc, mm, c = res["scepter"], res["micromdm"], res["ceiling"]
    ap = res["scepter_apache"]
    if sc and c:
        floor = c["floor_cpu_ms_per_enrollment"]
        v = sc["server_cpu_ms_per_enrollment"]
        goals.append({"goal": "server CPU per enrollment <= 1.3 x crypto floor",
                      "target": rnd(1.3 * floor, 3), "value": v,
                      "met": v is not None and v <= 1.3 * floor})
        pct = sc["enrollments_per_s"] / c["enrollments_per_s"] if c["enrollments_per_s"] else 0
        goals.append({"goal": "enrollments/s >= 75% of the ceiling", "target": 0.75,
                      "value": rnd(pct, 3), "met": pct >= 0.75})
        # The same from CPU per enrollment, which other load on the machine
        # hardly moves: what an idle machine would give.
        if sc.get("projected_enrollments_per_s_idle_machine") and c.get("enrollments_per_s_ideal"):
            pp = sc["projected_enrollments_per_s_idle_machine"] / c["enrollments_per_s_ideal"]
            goals.append({"goal": "idle projection: enrollments/s >= 75% of the ceiling", "target": 0.75,
                          "value": rnd(pp, 3), "met": pp >= 0.75})
    if sc:
        p99 = sc["latency_ms"]["p99"]
        goals.append({"goal": "p99 latency <= 20 ms at the run's concurrency", "target": 20,
                      "value": p99, "met": p99 <= 20})
    if sc and mm and mm["enrollments_per_s"]:
        x = sc["enrollments_per_s"] / mm["enrollments_per_s"]
        goals.append({"goal": ">= 5x micromdm's enrollments/s", "target": 5, "value": rnd(x, 2),
                      "met": x >= 5})
        if sc.get("projected_enrollments_per_s_idle_machine") and mm.get("projected_enrollments_per_s_idle_machine"):
            xp = sc["projected_enrollments_per_s_idle_machine"] / mm["projected_enrollments_per_s_idle_machine"]
            goals.append({"goal": "idle projection: >= 5x micromdm's enrollments/s", "target": 5,
                          "value": rnd(xp, 2), "met": xp >= 5})
    g = {k: v for k, v in res["get"].items() if isinstance(v, dict) or v is None}
    for k, label in (("scepter_getcacert", "GetCACert"), ("scepter_getcacaps", "GetCACaps")):
        if g[k] and g["nginx_static_getcacert"]:
            x = g[k]["requests_per_s"] / g["nginx_static_getcacert"]["requests_per_s"]
            goals.append({"goal": f"{label} >= nginx static file", "target": 1.0, "value": rnd(x, 3),
                          "met": x >= 1.0})
    if sc and sc.get("success"):
        bad = (sc["failure"] + sc["pending"] + sc["unreadable_200"] + sc["http_other"]
               + sum(sc["wrk_errors"].values()))
        goals.append({"goal": "no failed enrollment", "target": 0, "value": bad, "met": bad == 0})
    if ap and ap.get("success"):
        bad = (ap["failure"] + ap["pending"] + ap["unreadable_200"] + ap["http_other"]
               + sum(ap["wrk_errors"].values()))
        goals.append({"goal": "Apache: no failed enrollment", "target": 0, "value": bad, "met": bad == 0})
    # A fleet's store must not cost more than a quarter of the embedded one's rate.
    for name, lite, pg in (("nginx", sc, res["scepter_pg"]), ("Apache", ap, res["scepter_apache_pg"])):
        if lite and pg and lite["enrollments_per_s"]:
            x = pg["enrollments_per_s"] / lite["enrollments_per_s"]
            goals.append({"goal": f"{name}: PostgreSQL enrollments/s >= 75% of SQLite's", "target": 0.75,
                          "value": rnd(x, 3), "met": x >= 0.75})
    # Redeeming a one-time challenge must cost little beside a static one.
    for key, name in (("scepter", "nginx"), ("scepter_apache", "Apache"), ("scepter_pg", "nginx on PostgreSQL"),
                      ("scepter_apache_pg", "Apache on PostgreSQL")):
        static, otc = res[key], res[f"{key}_otc"]
        if static and otc and static["enrollments_per_s"]:
            x = otc["enrollments_per_s"] / static["enrollments_per_s"]
            goals.append({"goal": f"{name}: one-time challenges >= 90% of the static challenge's enrollments/s",
                          "target": 0.9, "value": rnd(x, 3), "met": x >= 0.9})
    res["goals"] = goals

    with open(out_path, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")

    # ---- table ----
    def fmt(x, spec):
        return "-" if x is None else format(x, spec)

    print()
    print(f"Scepter benchmark  {env.get('date', '')}")
    print(f"  {env.get('cpus', '?')} CPUs ({env.get('cpu_model', '?')}), {env.get('openssl', '')}, "
          f"{env.get('nginx', '')}, {env.get('apache') or ''}, {env.get('micromdm', '')}")
    print(f"  wrk: {env.get('wrk_threads')} threads, {env.get('connections')} connections, "
          f"enrollment runs {env.get('duration')} s, GET runs {env.get('get_duration')} s; "
          f"nginx thread pool {env.get('thread_pool')}; "
          f"Scepter profile 'default', {env.get('scepter_cipher')}+{env.get('digest')}, "
          f"CA {env.get('ca_key', 'rsa:2048')}; "
          f"micromdm {env.get('micromdm_cipher')}+{env.get('digest')}, "
          f"CA rsa:{env.get('micromdm_ca_bits', 2048)}")
    print()
    hdr = (f"{'':34}{'enroll/s':>9}{'% ceil':>8}{'idle proj':>10}{'CPU ms/enr':>11}{'p50 ms':>8}{'p99 ms':>8}"
           f"{'ok/answered':>14}{'spot ok':>9}")
    print(hdr)
    print("-" * len(hdr))
    if c:
        label = ("crypto ceiling (rsa2048 sign/3)" if c["ca_key"] == "rsa:2048"
                 else f"crypto ceiling (CA {c['ca_key']})")
        print(f"{label:34}{c['enrollments_per_s']:>9.0f}{'100%':>8}"
              f"{fmt(c.get('enrollments_per_s_ideal'), '.0f'):>10}"
              f"{c['floor_cpu_ms_per_enrollment']:>11.3f}{'':>8}{'':>8}{'(floor)':>14}")
    co = res["core_only"]
    for name, r in (("Scepter (nginx module)", sc), ("  one-time challenges", res["scepter_otc"]),
                    ("  on PostgreSQL", res["scepter_pg"]), ("  PostgreSQL, one-time", res["scepter_pg_otc"]),
                    ("Scepter (Apache module)", ap), ("  one-time challenges", res["scepter_apache_otc"]),
                    ("  on PostgreSQL", res["scepter_apache_pg"]),
                    ("  PostgreSQL, one-time", res["scepter_apache_pg_otc"]),
                    ("core", co),
                    ("micromdm scepserver", mm)):
        if not r:
            continue
        if name == "core":
            # one thread: enroll/s is that thread's; idle proj = all CPUs at this cost
            cpu_ms = r["cpu_ms_per_enrollment"]
            print(f"{'Scepter core only (1 thread)':34}{r['success'] / r['wall_seconds']:>9.0f}{'':>8}"
                  f"{fmt(1000 * cpus / cpu_ms if cpu_ms else None, '.0f'):>10}{cpu_ms:>11.3f}{'':>8}{'':>8}"
                  f"{str(r['success']) + '/' + str(r['messages']):>14}")
            continue
        pct = f"{100 * r['enrollments_per_s'] / c['enrollments_per_s']:.0f}%" if c else "-"
        answered = r["http_200"] + r["http_other"] + sum(r["wrk_errors"].values())
        print(f"{name:34}{r['enrollments_per_s']:>9.0f}{pct:>8}"
              f"{fmt(r.get('projected_enrollments_per_s_idle_machine'), '.0f'):>10}"
              f"{fmt(r['server_cpu_ms_per_enrollment'], '.3f'):>11}"
              f"{r['latency_ms']['p50']:>8.1f}{r['latency_ms']['p99']:>8.1f}"
              f"{str(r['success']) + '/' + str(answered):>14}"
              f"{str(r['spot_success']) + '/' + str(r['spot_checked']):>9}")
    print("  idle proj: the machine's CPUs / (server + wrk CPU per enrollment); for the ceiling,\n"
          "  CPUs / (2 / one-core RSA-2048 sign/s + 1 / one-core CA sign/s).\n"
          "  CPU ms/enr: utime+stime of the server processes / SUCCESS answers.\n"
          "  core only: scepter-coredrive calling scepter_handle() in a loop (no nginx, no HTTP).")
    print()
    hdr2 = f"{'GET':34}{'req/s':>9}{'vs static':>10}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
    if any(g.values()):
        print(hdr2)
        print("-" * len(hdr2))
    st, ast = g["nginx_static_getcacert"], g["apache_static_getcacert"]
    for k, label, base in (("nginx_static_getcacert", "nginx static file (GetCACert bytes)", st),
                           ("scepter_getcacert", "Scepter GetCACert (nginx)", st),
                           ("scepter_getcacaps", "Scepter GetCACaps (nginx)", st),
                           ("apache_static_getcacert", "Apache static file (same bytes)", ast),
                           ("apache_scepter_getcacert", "Scepter GetCACert (Apache)", ast),
                           ("apache_scepter_getcacaps", "Scepter GetCACaps (Apache)", ast),
                           ("micromdm_getcacert", "micromdm GetCACert", st)):
        r = g[k]
        if not r:
            continue
        rel = f"{r['requests_per_s'] / base['requests_per_s']:.2f}x" if base else "-"
        print(f"{label:36}{r['requests_per_s']:>7.0f}{rel:>10}{r['latency_ms']['p50']:>8.2f}"
              f"{r['latency_ms']['p99']:>8.2f}{sum(r['errors'].values()):>8}")
    if any(g.values()):
        al = res["get"].get("scepter_audit_lines_during_gets")
        aal = res["get"].get("apache_scepter_audit_lines_during_gets")
        grew = ", ".join(f"{v} lines during {n}'s" for n, v in (("nginx", al), ("Apache", aal)) if v is not None)
        print("  (best of the interleaved rounds; vs static: the same server's static file"
              + (f";\n  Scepter's audit log grew by {grew} GET runs" if grew else "") + ")")
        print()
    if sc and ap:
        def fails(r):
            return (r["failure"] + r["pending"] + r["unreadable_200"] + r["http_other"]
                    + sum(r["wrk_errors"].values()))
        gn, ga = g.get("scepter_getcacert"), g.get("apache_scepter_getcacert")
        rows = (("enrollments/s (SUCCESS)", sc["enrollments_per_s"], ap["enrollments_per_s"], ".1f"),
                ("server CPU ms / enrollment", sc["server_cpu_ms_per_enrollment"],
                 ap["server_cpu_ms_per_enrollment"], ".3f"),
                ("idle proj enrollments/s", sc.get("projected_enrollments_per_s_idle_machine"),
                 ap.get("projected_enrollments_per_s_idle_machine"), ".0f"),
                ("p50 ms", sc["latency_ms"]["p50"], ap["latency_ms"]["p50"], ".1f"),
                ("p99 ms", sc["latency_ms"]["p99"], ap["latency_ms"]["p99"], ".1f"),
                ("SUCCESS / answered", f"{sc['success']}/{sc['http_200'] + sc['http_other'] + sum(sc['wrk_errors'].values())}",
                 f"{ap['success']}/{ap['http_200'] + ap['http_other'] + sum(ap['wrk_errors'].values())}", "s"),
                ("failures (FAILURE/PENDING/non-200/errors)", fails(sc), fails(ap), "d"),
                ("server CPUs used", sc["server_cpu_utilisation_cpus"], ap["server_cpu_utilisation_cpus"], ".2f"),
                ("other load (CPUs)", sc.get("other_load_cpus"), ap.get("other_load_cpus"), ".2f"),
                ("GetCACert req/s", gn and gn["requests_per_s"], ga and ga["requests_per_s"], ".0f"))
        hdr3 = f"{'nginx vs Apache (same PKI, messages, wrk script)':50}{'nginx':>12}{'Apache':>12}{'Apache/nginx':>14}"
        print(hdr3)
        print("-" * len(hdr3))
        for label, a, b, spec in rows:
            ratio = (f"{b / a:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a
                     and spec != "d" else "")
            print(f"{label:50}{fmt(a, spec):>12}{fmt(b, spec):>12}{ratio:>14}")
        print()
    for name, r in (("Scepter nginx workers", sc), ("Scepter Apache children", ap), ("micromdm scepserver", mm)):
        if r and r.get("rss_kb_before") is not None:
            print(f"{name} VmRSS: {r['rss_kb_before']} kB before, {r['rss_kb_after']} kB after "
                  f"{r['success']} enrollments ({r['rss_kb_after'] - r['rss_kb_before']:+d} kB)")
    for name, r in (("Scepter (nginx)", sc), ("Scepter (Apache)", ap), ("micromdm", mm)):
        if not r:
            continue
        extra = []
        if r.get("in_flight_at_end"):
            extra.append(f"{r['in_flight_at_end']} requests still in flight when wrk stopped")
        if r.get("store_records") is not None:
            lo, fl = r["store_expected"], r.get("store_in_flight") or 0
            ok = lo <= r["store_records"] <= lo + fl
            extra.append(f"store holds {r['store_records']} certificates for {lo} SUCCESS answers"
                         + (f" (+ up to {fl} in flight)" if fl else "")
                         + ("" if ok else " MISMATCH"))
        if r.get("duplicate_serials"):
            extra.append(f"{r['duplicate_serials']} duplicate serials")
        if r.get("error_log_lines"):
            extra.append(f"{r['error_log_lines']} error-log lines")
        if r["failure"] or r["pending"] or r["unreadable_200"] or r["http_other"]:
            extra.append(f"FAILURE {r['failure']}, PENDING {r['pending']}, unreadable {r['unreadable_200']}, "
                         f"non-200 {r['http_other']}")
        if sum(r["wrk_errors"].values()):
            extra.append(f"wrk errors {r['wrk_errors']}")
        if r["bodies_exhausted"]:
            extra.append("all prepared messages were sent before the run ended (rate over the active time)")
        if r.get("other_load_cpus") is not None:
            extra.append(f"server used {r['server_cpu_utilisation_cpus']} CPUs; other processes "
                         f"(not the server, not wrk) {r['other_load_cpus']} CPUs")
        extra += r.get("notes", [])
        if extra:
            print(f"{name}: " + "; ".join(extra))
    if c and c.get("other_load_cpus") is not None:
        ca = (f"; CA ({c['ca_key']}) {c['ca_sign_per_s']} sign/s, one core {c['ca_sign_per_s_one_core']}"
              if c["ca_key"] != "rsa:2048" else "")
        print(f"ceiling: openssl speed -multi {cpus}: rsa2048 {sign} sign/s, one core "
              f"{c['rsa2048_sign_per_s_one_core']} sign/s{ca}; "
              f"other processes used {c['other_load_cpus']} CPUs meanwhile")
    print()
    for gl in goals:
        print(f"  [{'met ' if gl['met'] else 'MISS'}] {gl['goal']}: {gl['value']} (target {gl['target']})")
    print(f"\nJSON: {out_path}")


if __name__ == "__main__":
    main()
