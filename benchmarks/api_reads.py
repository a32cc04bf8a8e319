"""``api_reads``: the reads a patient's app makes most, under concurrency, against the framework's floor.

The mix cycles through the department list, a department's doctors, a doctor's slots and the account's own
appointments (with its token), over keep-alive connections from a separate load-generator process. The same
generator, connections and duration against ``/healthz`` (routing, one ``SELECT 1``, JSON) give the floor of the
stack in the same run: ``ratio_to_healthz`` says how much of it the real reads keep.
"""
from __future__ import annotations

import orjson

from benchmarks.harness import API, Server, latency_figures, log, running_server
from benchmarks.loadgen import encode_request, run_load
from benchmarks.prep import add_slots, api_bookers, auth, check, departments, doctors

GOAL_PER_S = 1000
GOAL_P95_MS = 20


def _prepare(server: Server) -> tuple[list[str], str]:
    """Paths of the mix and the token of an account holder with a few appointments."""
    depts = departments(server)
    docs = doctors(server)
    (booker,), version = api_bookers(server, 1, department_codes=[code for _, code in depts])
    slots = add_slots(server, count=len(docs), capacity=3, doctor_ids=[d[0] for d in docs],
                      per_schedule=1)
    with server.client() as api:
        for slot_id, _ in slots[: min(5, len(slots))]:
            check(api.post(f"{API}/appointments", headers=auth(booker.token),
                           json={"patient_id": booker.patient_id, "slot_id": slot_id, "notice_version": version}),
                  201)
    paths = []
    for i, (dept_id, _) in enumerate(depts):
        doc = next((d for d in docs if d[1] == dept_id), docs[i % len(docs)])
        paths += [f"{API}/departments", f"{API}/doctors?department_id={dept_id}", f"{API}/doctors/{doc[0]}/slots",
                  f"{API}/appointments"]
    return paths, booker.token


def _load(server: Server, paths: list[str], token: str, *, connections: int, duration_s: float,
          processes: int, label: str, warmup_s: float = 1.0) -> tuple[dict, object]:
    host = server.base_url.split("//", 1)[1]
    reqs = [encode_request("GET", p, host=host, headers={"Authorization": f"Bearer {token}"}) for p in paths]
    work = [reqs[i % len(reqs):] + reqs[:i % len(reqs)] for i in range(connections)]
    result = run_load(server.base_url, work, processes=processes, mode="cycle", duration_s=duration_s,
                      warmup_s=warmup_s,
                      watch_pid=server.process.pid, label=f"api_reads-{server.dialect}-{label}")
    server_cpu = result.server_cpu_s or 0.0
    n = sum(result.statuses.values())
    ok = result.statuses.get(200, 0)
    figures = {
        "req_per_s": round(ok / duration_s, 1),
        **latency_figures(result.latencies_s),
        "requests": n,
        "non_200": n - ok,
        "errors_sample": result.errors[:3],
        "server_cores_busy": round(server_cpu / duration_s, 2),
        "server_cpu_ms_per_req": round(server_cpu * 1000 / n, 3) if n else None,
        "loadgen_cores_busy": round(result.cpu_s / duration_s, 2),
        "load_avg_1m": result.load_avg_1m,
    }
    return figures, result


def run(*, database: str = "sqlite", quick: bool = False) -> dict:
    connections = 16
    processes = 1
    duration_s = 2.0 if quick else 15.0
    warmup_s = 0.3 if quick else 1.0
    workers = 2
    with running_server(database, workers=workers) as server:
        paths, token = _prepare(server)
        # every path answers before the clock starts
        with server.client() as api:
            for p in set(paths):
                r = api.get(p, headers=auth(token))
                if r.status_code != 200:
                    raise RuntimeError(f"GET {p}: {r.status_code} {r.text[:300]}")
                orjson.loads(r.content)
        base, _ = _load(server, ["/healthz"], token, connections=connections, duration_s=duration_s,
                        processes=processes, label="healthz", warmup_s=warmup_s)
        log(f"/healthz: {base['req_per_s']} req/s, p95 {base['p95_ms']} ms")
        mix, _ = _load(server, paths, token, connections=connections, duration_s=duration_s, processes=processes,
                       label="mix", warmup_s=warmup_s)
        log(f"mix: {mix['req_per_s']} req/s, p95 {mix['p95_ms']} ms")
        # each endpoint alone, so a slow one is named
        per_path = {}
        for label, p in (("departments", paths[0]), ("doctors", paths[1]), ("slots", paths[2]),
                         ("appointments", paths[3])):
            f, _ = _load(server, [p], token, connections=connections, duration_s=max(1.0, duration_s / 5),
                         processes=processes, label=label, warmup_s=warmup_s)
            per_path[label] = {k: f[k] for k in ("req_per_s", "p50_ms", "p95_ms", "server_cpu_ms_per_req")}
    goal_met = (mix["req_per_s"] >= GOAL_PER_S and mix["p95_ms"] is not None and mix["p95_ms"] < GOAL_P95_MS
                and mix["non_200"] == 0)
    return {
        "database": database,
        "server_workers": workers,
        "connections": connections,
        "duration_s": duration_s,
        "mix": [p.split("?")[0] for p in paths[:4]],
        **{k: v for k, v in mix.items()},
        "healthz_req_per_s": base["req_per_s"],
        "healthz_p95_ms": base["p95_ms"],
        "ratio_to_healthz": round(mix["req_per_s"] / base["req_per_s"], 3) if base["req_per_s"] else None,
        "per_endpoint": per_path,
        "load_generator": f"benchmarks.loadgen (asyncio + uvloop + httptools, {processes} separate process, "
                          f"{connections} keep-alive connections)",
        "goal": f">= {GOAL_PER_S} req/s and p95 < {GOAL_P95_MS} ms, every answer 200",
        "goal_met": goal_met,
    }
