"""``booking_throughput``: durable bookings per second through the API, against the database's raw commit rate.

N connections (one account holder each turn, a distinct free slot each request) post ``POST /api/v1/appointments``
back to back for T seconds. A booking is one write transaction (conditional slot update, appointment row, event and
audit rows) committed before the ``201``, so the ceiling is the database's commit rate: in the same run the same
number of threads insert and commit one small row per transaction into a scratch table of the same database,
through the server's own engine set-up (SQLite: WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``; PostgreSQL: the
server's settings, reported), giving ``raw_commits_per_s`` and ``ratio_to_raw``.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from benchmarks.harness import API, Server, latency_figures, log, postgres_durability, running_server
from benchmarks.loadgen import encode_request, run_load
from benchmarks.prep import add_slots, cloned_bookers, departments, doctors

GOAL_PER_S = 300
GOAL_P95_MS = 100


def raw_commit_rate(server: Server, *, threads: int, duration_s: float) -> float:
    """Commits per second of one-row write transactions from ``threads`` threads, with the server's engine."""
    from server.config import Settings
    from server.db import Database

    db = Database(Settings(data_dir=server.data_dir, database_url=server.database_url))
    scratch = Table("bench_scratch", MetaData(), Column("id", Integer, primary_key=True),
                    Column("note", String(40)))
    scratch.create(db.engine, checkfirst=True)
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def loop(i: int) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            with db.transaction() as s:
                s.execute(insert(scratch).values(note=f"t{i}-{n}"))
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    stop_at[0] = time.perf_counter() + duration_s
    t0 = time.perf_counter()
    barrier.wait()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    scratch.drop(db.engine)
    db.dispose()
    return sum(counts) / elapsed


def measure(server: Server, *, connections: int, duration_s: float, max_rate: int) -> dict:
    depts = departments(server)
    docs = doctors(server)
    pool = int(max_rate * duration_s) + connections
    t0 = time.monotonic()
    bookers, version = cloned_bookers(server, pool, department_codes=[code for _, code in depts])
    slots = add_slots(server, count=pool, capacity=1, doctor_ids=[d[0] for d in docs])
    log(f"{pool} bookers and {pool} slots ready in {time.monotonic() - t0:.1f} s")
    host = server.base_url.split("//", 1)[1]
    requests = [encode_request("POST", f"{API}/appointments", host=host,
                               headers={"Authorization": f"Bearer {b.token}"},
                               json={"patient_id": b.patient_id, "slot_id": s, "notice_version": version})
                for b, (s, _) in zip(bookers, slots)]
    work = [requests[i::connections] for i in range(connections)]
    result = run_load(server.base_url, work, processes=1, mode="sequence", duration_s=duration_s,
                      ok=frozenset({201}), watch_pid=server.process.pid,
                      label=f"booking_throughput-{server.dialect}-{server.workers}w")
    server_cpu = result.server_cpu_s or 0.0
    booked = result.statuses.get(201, 0)
    exhausted = booked + sum(v for k, v in result.statuses.items() if k != 201) >= pool
    log(f"API: {booked} bookings in {duration_s:.0f} s; answers {dict(result.statuses)}")
    raw = raw_commit_rate(server, threads=connections, duration_s=min(duration_s, 5.0))
    log(f"raw commits: {raw:.0f}/s")
    per_s = booked / duration_s
    figures = {
        "bookings_per_s": round(per_s, 1),
        **latency_figures(result.latencies_s),
        "raw_commits_per_s": round(raw, 1),
        "ratio_to_raw": round(per_s / raw, 3) if raw else None,
        "bookings": booked,
        "answers": {str(k): v for k, v in result.statuses.items()},
        "errors_sample": result.errors[:3],
        "pool_exhausted": exhausted,
        "server_cpu_ms_per_booking": round(server_cpu * 1000 / booked, 2) if booked else None,
        "server_cores_busy": round(server_cpu / duration_s, 2),
        "loadgen_cores_busy": round(result.cpu_s / duration_s, 2),
        "load_avg_1m": result.load_avg_1m,
    }
    return figures


def run(*, database: str = "sqlite", quick: bool = False) -> dict:
    connections = 32
    duration_s = 2.0 if quick else 15.0
    max_rate = 800  # bookers prepared per second of run; the pool running out is reported
    worker_choices = [2] if database == "postgresql" else ([1] if quick else [1, 2])
    tried: dict[str, dict] = {}
    for workers in worker_choices:
        with running_server(database, workers=workers) as server:
            figures = measure(server, connections=connections, duration_s=duration_s, max_rate=max_rate)
            if server.dialect == "postgresql":
                figures["postgres_settings"] = postgres_durability(server.engine)
            tried[str(workers)] = figures
    best_workers = max(tried, key=lambda w: tried[w]["bookings_per_s"])
    best = tried[best_workers]
    goal_met = (best["bookings_per_s"] >= GOAL_PER_S and best["p95_ms"] is not None
                and best["p95_ms"] < GOAL_P95_MS and set(best["answers"]) == {"201"})
    return {
        "database": database,
        "connections": connections,
        "duration_s": duration_s,
        "server_workers": int(best_workers),
        **best,
        "by_workers": {w: {k: f[k] for k in ("bookings_per_s", "p50_ms", "p95_ms", "p99_ms", "raw_commits_per_s",
                                             "ratio_to_raw")} for w, f in tried.items()},
        "load_generator": "benchmarks.loadgen (asyncio + httptools, 1 separate process)",
        "goal": f">= {GOAL_PER_S} bookings/s and p95 < {GOAL_P95_MS} ms, every answer 201",
        "goal_met": goal_met,
    }
