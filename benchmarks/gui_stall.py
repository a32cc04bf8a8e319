"""``gui_stall``: the longest GUI-thread stall of the doctor's queue while 100 state changes a second arrive.

The doctor's side runs in an offscreen ``QApplication`` process (``benchmarks.ws_child stall``): the real
``UserSession`` / ``EventStream`` / ``QueueFeed`` / ``QueueModel``, a ``QueueFilterProxy`` and a shown
``QTableView`` on it, the model's 30 s clock running. A 5 ms ``PreciseTimer`` on the GUI thread records how late
each tick comes (lateness = gap − 5 ms). Baseline in the same run: the same timer with no events. Then a separate
process (``benchmarks.ws_feeder``) writes 100 appointment state changes a second for 20 s (quick: 4 s) through
the server's own ``record_change`` (event + audit entry, one transaction each) for N real appointments of the
doctor (their statuses cycling checked_in → waiting → in_consultation in the events), which the server streams
to the workstation. On SQLite the server finds another process's commits by polling (``events_poll_sqlite_s``,
0.1 s), so the workstation receives them in batches of ~10 events ten times a second; on PostgreSQL ``NOTIFY``
wakes the stream at once. (Bursts of hundreds, as after a reconnect, are applied in 8 ms slices by the queue feed;
``tests/workstation`` covers that path.)
"""
from __future__ import annotations

import json
import time

from benchmarks.harness import API, log, running_server
from benchmarks.prep import auth, check
from benchmarks.ws_setup import DOCTOR_USERNAME, Child, booked_appointments, demo_doctor, doctor_password

GOAL_MAX_MS = 50.0
RATE = 100.0


def run(*, database: str, quick: bool) -> dict:
    seconds = 4.0 if quick else 20.0
    baseline_s = 2.0 if quick else 10.0
    n_appts = 20 if quick else 100
    with running_server(database) as server:
        doctor_id, dept = demo_doctor(server)
        holders = booked_appointments(server, n_appts, doctor_id=doctor_id, department_code=dept)
        with server.client() as api:  # half the queue is there at sign-in, half is born from events
            for h in holders[::2]:
                check(api.post(f"{API}/appointments/{h.appointment_id}/check-in", headers=auth(h.token)), 200)
        doctor = Child(["-m", "benchmarks.ws_child", "stall", "--args",
                        json.dumps({"url": server.base_url, "username": DOCTOR_USERNAME,
                                    "password": doctor_password(), "interval_ms": 5})], name="doctor")
        try:
            ready = doctor.expect("ready", timeout=120)
            time.sleep(1.0 if quick else 2.0)  # stream connected, idle-time work after the load done
            log(f"baseline: {baseline_s:g} s with no events")
            doctor.send("baseline")
            time.sleep(baseline_s)
            doctor.send("stop")
            base = doctor.expect("phase", timeout=30)
            log(f"{RATE:g} state changes/s for {seconds:g} s")
            doctor.send("go")
            feeder = Child(["-m", "benchmarks.ws_feeder", str(RATE), str(seconds),
                            json.dumps([h.appointment_id for h in holders])], env=server.env, name="feeder")
            fed = feeder.expect("written", timeout=seconds + 120)
            feeder.stop()
            time.sleep(server_poll_s(server) + 1.0)  # the last events reach the workstation
            doctor.send("stop")
            load = doctor.expect("phase", timeout=30)
            doctor.send("quit")
        finally:
            doctor.stop()
    ratio = round(load["max_ms"] / base["max_ms"], 1) if base.get("max_ms") else None
    return {
        "goal": f"longest GUI-thread stall < {GOAL_MAX_MS:g} ms under {RATE:g} events/s",
        "goal_met": load["max_ms"] is not None and load["max_ms"] < GOAL_MAX_MS
                    and load["events"] >= 0.9 * fed["written"],
        "timer_interval_ms": 5, "seconds": seconds, "queue_rows_at_start": ready["rows"],
        "events_written": fed["written"], "events_written_per_s": round(fed["written"] / fed["seconds"], 1),
        "events_received": load["events"], "queue_rows_at_end": load["rows"],
        "max_stall_ms": load["max_ms"], "p99_stall_ms": load["p99_ms"], "p50_lateness_ms": load["p50_ms"],
        "ticks": load["ticks"], "ticks_over_16ms": load["over_16ms"], "ticks_over_50ms": load["over_50ms"],
        "baseline_max_stall_ms": base["max_ms"], "baseline_p99_stall_ms": base["p99_ms"],
        "baseline_ticks": base["ticks"], "baseline_ticks_over_16ms": base["over_16ms"],
        "ratio_to_baseline_max": ratio,
    }


def server_poll_s(server) -> float:
    return 0.5
