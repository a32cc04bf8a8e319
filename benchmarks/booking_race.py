"""``booking_race``: many account holders book the same last free place at the same moment; exactly one may win.

Each round adds a fresh slot of capacity 1. Every client has its own account, eligible returning patient, accepted
notice and its own open keep-alive connection (opened and warmed before the start); all requests are written in
one event-loop pass after a gate opens, so they reach the server together. The round passes when exactly one answer
is ``201`` and every other one is ``409 slot_full``, and the database agrees: the slot's ``booked`` is 1 and one
live appointment points at it.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from benchmarks.harness import API, Server, latency_figures, log, postgres_durability, running_server
from benchmarks.prep import Booker, add_slots, api_bookers, auth, departments, doctors, slot_state

REQUEST_TIMEOUT_S = 60


async def _round(base_url: str, bookers: list[Booker], slot_id: int,
                 version: int) -> tuple[list[int], list[str], list[float]]:
    tls = httpx.create_ssl_context()  # unused on plain HTTP, but building one per client costs ~50 ms
    clients = [httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S, verify=tls,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
               for _ in bookers]
    try:
        # open and warm every connection first, so the race measures booking, not TCP set-up
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        gate = asyncio.Event()

        async def book(client: httpx.AsyncClient, b: Booker) -> tuple[int, str, float]:
            await gate.wait()
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{API}/appointments", headers=auth(b.token),
                                      json={"patient_id": b.patient_id, "slot_id": slot_id,
                                            "notice_version": version})
            except httpx.HTTPError as exc:  # a server that hangs is a finding, not a crash of the benchmark
                return 0, type(exc).__name__, time.perf_counter() - t0
            dt_s = time.perf_counter() - t0
            code = ""
            if r.status_code != 201:
                try:
                    code = r.json().get("code", "")
                except ValueError:
                    code = "not_json"
            return r.status_code, code, dt_s

        tasks = [asyncio.ensure_future(book(c, b)) for c, b in zip(clients, bookers)]
        await asyncio.sleep(0.05)  # every task is parked on the gate
        gate.set()
        results = await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return [r[0] for r in results], [r[1] for r in results], [r[2] for r in results]


def _uncontended(server: Server, bookers: list[Booker], docs: list[tuple[int, int, str]], version: int) -> dict:
    """The baseline: the same booking request, one at a time, each for its own free slot (same connection)."""
    slots = add_slots(server, count=len(bookers), capacity=1, doctor_ids=[d[0] for d in docs], first_day=30)
    times = []
    with server.client() as api:
        api.get("/healthz")
        for b, (slot_id, _) in zip(bookers, slots):
            t0 = time.perf_counter()
            r = api.post(f"{API}/appointments", headers=auth(b.token),
                         json={"patient_id": b.patient_id, "slot_id": slot_id, "notice_version": version})
            times.append(time.perf_counter() - t0)
            if r.status_code != 201:
                raise RuntimeError(f"uncontended booking refused: {r.status_code} {r.text[:300]}")
    return latency_figures(times)


def run(*, database: str = "sqlite", quick: bool = False) -> dict:
    clients = 60 if quick else 200
    rounds = 1 if quick else 5
    workers = 2 if database == "postgresql" else 1
    with running_server(database, workers=workers) as server:
        depts = departments(server)
        docs = doctors(server)
        t0 = time.monotonic()
        bookers, version = api_bookers(server, clients, department_codes=[code for _, code in depts])
        prep_s = time.monotonic() - t0
        log(f"{clients} accounts with eligible patients made through the API in {prep_s:.1f} s")
        baseline = _uncontended(server, bookers[:20], docs, version)
        log(f"uncontended booking: p50 {baseline['p50_ms']} ms")
        winners, statuses_all, latencies, db_ok, odd = [], Counter(), [], [], []
        for r in range(rounds):
            doctor_id = docs[r % len(docs)][0]
            (slot_id, _), = add_slots(server, count=1, capacity=1, doctor_ids=[doctor_id], first_day=40 + r)
            statuses, codes, lat = asyncio.run(_round(server.base_url, bookers, slot_id, version))
            won = statuses.count(201)
            full = sum(1 for s, c in zip(statuses, codes) if s == 409 and c == "slot_full")
            booked, live = slot_state(server, slot_id)
            winners.append(won)
            statuses_all.update(f"{s} {c}".strip() for s, c in zip(statuses, codes))
            latencies.extend(lat)
            ok = won == 1 and full == clients - 1 and booked == 1 and live == 1
            db_ok.append(ok)
            if not ok:
                odd.append({"round": r + 1, "wins": won, "slot_full": full, "booked": booked,
                            "live_appointments": live})
            log(f"round {r + 1}: {won} won, {full} slot_full, booked={booked}, live appointments={live}")
        settings = postgres_durability(server.engine) if server.dialect == "postgresql" else None
    all_ok = all(db_ok) and len(db_ok) == rounds
    lat = latency_figures(latencies)
    return {
        "database": database,
        "server_workers": workers,
        "clients": clients,
        "rounds": rounds,
        "winners_per_round": winners,
        "answers": dict(statuses_all),
        "all_rounds_exactly_one": all_ok,
        **latency_figures(latencies),
        "uncontended_p50_ms": baseline["p50_ms"],
        "uncontended_p95_ms": baseline["p95_ms"],
        "p95_ratio_to_uncontended": (round(lat["p95_ms"] / baseline["p95_ms"], 1)
                                     if lat["p95_ms"] and baseline["p95_ms"] else None),
        "setup_accounts_s": round(prep_s, 1),
        "failed_rounds": odd,
        **({"postgres_settings": settings} if settings else {}),
        "goal": "every round: exactly one 201, all others 409 slot_full, slot booked == 1",
        "goal_met": all_ok,
    }
