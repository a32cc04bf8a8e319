"""``queue_latency``: a patient's check-in to the row in the doctor's queue model, with 200 other staff streams.

The server (demo data) gets N paid appointments with the demo doctor on a slot starting in a few minutes. A
separate process opens 200 other staff members' event streams (httpx streaming). The doctor's workstation side
runs in an offscreen ``QCoreApplication`` process with the real ``UserSession`` / ``EventStream`` /
``QueueFeed`` / ``QueueModel``. Each check-in is the real ``POST /appointments/{id}/check-in`` by the account
holder, one at a time; latency = from just before the request is sent to the moment the model shows the row as
``checked_in`` (``CLOCK_MONOTONIC`` in both processes). Baseline in the same run: a client polling
``GET /staff/queue`` every 30 s (quick: 3 s), its latency measured the same way (check-in → first poll that shows
it).
"""
from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.harness import API, latency_figures, log, running_server
from benchmarks.prep import auth, check, staff_login
from benchmarks.ws_setup import (
    DOCTOR_USERNAME,
    Child,
    booked_appointments,
    demo_doctor,
    doctor_password,
    staff_tokens,
)

GOAL_P95_MS = 100.0


def run(*, database: str, quick: bool) -> dict:
    n = 10 if quick else 100
    streams = 20 if quick else 200
    poll_s = 3.0 if quick else 30.0
    gap_s = 0.1 if quick else 0.5
    with running_server(database) as server:
        doctor_id, dept = demo_doctor(server)
        holders = booked_appointments(server, n, doctor_id=doctor_id, department_code=dept)
        tokens = staff_tokens(server, streams)
        tok_file = Path(tempfile.mkdtemp(prefix="ws-bench-")) / "tokens"
        tok_file.write_text("\n".join(tokens))
        log(f"{n} paid appointments with {DOCTOR_USERNAME}; opening {streams} other staff streams")
        others = Child(["-m", "benchmarks.ws_streams", server.base_url, str(tok_file)], name="streams")
        doctor = None
        try:
            ready = others.expect("ready", timeout=180)
            if ready["ready"] != streams:
                raise RuntimeError(f"only {ready['ready']} of {streams} streams opened ({ready})")
            doctor = Child(["-m", "benchmarks.ws_child", "latency", "--args",
                            json.dumps({"url": server.base_url, "username": DOCTOR_USERNAME,
                                        "password": doctor_password()})], name="doctor")
            doctor.expect("ready", timeout=120)
            time.sleep(1.0)  # the doctor's stream is connected once the snapshot is in (it starts right after)

            # the polling client (baseline), in a thread of this process
            with server.client() as api:
                poll_headers = staff_login(api, DOCTOR_USERNAME)
            targets = {h.appointment_id for h in holders}
            polled: dict[int, float] = {}
            stop_poll = threading.Event()

            def poller() -> None:
                with server.client() as api:
                    while not stop_poll.is_set():
                        rows = check(api.get(f"{API}/staff/queue", headers=poll_headers), 200)
                        t = time.monotonic()
                        for r in rows:  # type: ignore[union-attr]
                            if r["id"] in targets and r["status"] == "checked_in" and r["id"] not in polled:
                                polled[r["id"]] = t
                        stop_poll.wait(poll_s)

            checked_at: dict[int, float] = {}
            poll_thread = threading.Thread(target=poller, daemon=True)
            time.sleep(poll_s * 0.37)  # the poll's phase is not aligned with the first check-in
            poll_thread.start()
            log(f"{n} check-ins, one every {gap_s} s; polling client every {poll_s:g} s")
            with server.client() as api:
                for h in holders:
                    t0 = time.monotonic()
                    check(api.post(f"{API}/appointments/{h.appointment_id}/check-in", headers=auth(h.token)), 200)
                    checked_at[h.appointment_id] = t0
                    time.sleep(gap_s)
            seen: dict[int, float] = {}
            end = time.monotonic() + 15
            while len(seen) < n and time.monotonic() < end:
                try:
                    msg = doctor.expect("seen", timeout=max(0.1, end - time.monotonic()))
                except RuntimeError:
                    break
                seen[msg["seen"]] = msg["t"]
            end = time.monotonic() + poll_s + 10
            while len(polled) < n and time.monotonic() < end:
                time.sleep(0.2)
            stop_poll.set()
            doctor.send("stop")
            doc_final = doctor.expect("events", timeout=30)
            others.close_stdin()
            others_final = others.expect("events", timeout=30)
        finally:
            if doctor is not None:
                doctor.stop()
            others.stop()
    stream_lat = [seen[a] - checked_at[a] for a in checked_at if a in seen]
    poll_lat = [polled[a] - checked_at[a] for a in checked_at if a in polled]
    figs = latency_figures(stream_lat)
    poll_figs = latency_figures(poll_lat, prefix="polling_")
    ratio = (round(poll_figs["polling_p95_ms"] / figs["p95_ms"], 1)
             if figs["p95_ms"] and poll_figs["polling_p95_ms"] else None)
    return {
        "goal": f"check-in to row in the doctor's model p95 <= {GOAL_P95_MS:g} ms with {streams} other streams",
        "goal_met": bool(figs["p95_ms"] is not None and figs["p95_ms"] <= GOAL_P95_MS and len(stream_lat) == n),
        "check_ins": n, "seen_in_model": len(stream_lat), "other_staff_streams": streams,
        **figs, "mean_ms": round(sum(stream_lat) / len(stream_lat) * 1000, 2) if stream_lat else None,
        "polling_interval_s": poll_s, "polling_seen": len(poll_lat), **poll_figs,
        "ratio_to_polling": ratio,
        "doctor_events_received": doc_final.get("events"),
        "other_streams_events_received": others_final.get("events"),
        "other_streams_errors": others_final.get("errors"),
    }
