"""``video_call``: a video visit between two processes on loopback, beside aiortc's raw loopback in the same run.

The server (demo data) gets one paid appointment with the demo doctor, brought to ``waiting`` by its account
holder (real ``POST /appointments/{id}/check-in`` and ``/description``). Two processes
(``benchmarks/video_child.py``):

- the patient's phone: :class:`server.patient_call.PatientCall` on asyncio, sending marker frames (640x480, 30 fps,
  each carrying its counter and its send time) and a tone, receiving the doctor's picture and sound;
- the doctor's workstation: offscreen ``QApplication`` + qasync, signed in as ``doctor1``, the real
  ``CallSession`` (test pattern 640x480 at 30 fps and a tone) shown in a ``VideoPanel``; it calls the patient
  (``POST /staff/appointments/{id}/call``, offer/answer through the server's signalling).

Once the call is connected and the first patient picture is painted: ``WARMUP_S`` of warm-up (the bitrate
estimate settles), then the measured window (full: 600 s, quick: 10 s). Figures:

- ``doctor_received_fps_median`` / ``patient_received_fps_median``: the median of the per-second counts of decoded
  frames on each side (doctor: patient → doctor; patient: doctor → patient); ``*_fps_min`` the worst second;
- ``glass_to_glass_ms_median`` / ``_p95`` / ``_max``: for each patient picture painted on the doctor's panel,
  ``time.time()`` after the paint minus the send time in its marker (one machine, one wall clock);
  ``decoded_ms_median``: the same up to the frame coming out of the decoder (comparable with the baseline);
- ``drift_ms``: median glass-to-glass of the last minute minus that of the first (quick: last vs first quarter);
- ``doctor_cpu_pct`` / ``patient_cpu_pct``: process CPU time over the window / wall time (100 = one core busy);
  ``doctor_threads`` / ``patient_threads``: per group of threads (``/proc/self/task``) the CPU used and the time
  spent runnable but waiting for a CPU (``schedstat``), both in % of the window;
- ``machine_busy_pct``: all CPUs of the machine over the window (``/proc/stat``, 100 = every core busy) and
  ``others_cores_busy``: what was left after the two ends (the server, the parent, any other work on the machine):
  on a shared machine this says how far the figures are the code's and how far the load's;
  ``doctor_gaps_over_200ms`` / ``patient_gaps_over_200ms``: [seconds into the window, ms] of every pause of more
  than 200 ms between received frames (a freeze), ``frames_over_150ms``: painted pictures later than that;
  ``doctor_kbps_in_median`` / ``_min`` (all the patient's media into the doctor's transport),
  ``doctor_packets_per_s_median``, ``doctor_packets_lost`` (the patient's video as the doctor's RTP receiver
  counts it): aiortc's ``getStats``, once a second.

``CLINIC_BENCH_VIDEO_RAW=FILE`` also writes everything the two ends recorded (each frame's times) to FILE.

``doctor_none_guard_applied``: PySide6 6.12.0 on Python 3.11 loses a reference to ``None`` on every void Qt call
and the process would abort within minutes of a call; the workstation guards against it when it sees the leak
(``workstation/services/qtfix.py``) and the doctor child says here whether it did, with
``doctor_none_refs_lost_per_s``.

Baseline, same run, after the call: :func:`benchmarks.video_loopback.run_loopback` — two aiortc peer connections
in one process with the same marker tracks (full: ``BASELINE_FULL_S`` = 180 s, so its drift is also minute
against minute; quick: the call's window). Its latency is measured out of the decoder (no conversion, no paint),
its CPU is both ends together (so ``cpu_vs_baseline`` compares doctor + patient with it).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import statistics
import time
from typing import Any

from benchmarks.harness import API, log, percentile, running_server
from benchmarks.prep import auth, check
from benchmarks.ws_setup import DOCTOR_USERNAME, Child, booked_appointments, demo_doctor, doctor_password

GOAL_FPS = 29.0
GOAL_MEDIAN_MS = 100.0
GOAL_P95_MS = 150.0
GOAL_DRIFT_MS = 20.0
WARMUP_S = 5.0
FULL_S = 600.0
QUICK_S = 10.0
BASELINE_FULL_S = 180.0


def per_second(times: list[float], start: float, end: float) -> list[int]:
    """Counts of ``times`` in each whole second of [start, end) (a last partial second is dropped)."""
    seconds = max(1, int(end - start))
    counts = [0] * seconds
    for t in times:
        if start <= t < start + seconds:
            counts[int(t - start)] += 1
    return counts


def drift(presented: list[list[float]], start: float, end: float, window_s: float) -> float | None:
    """Median glass-to-glass of the last ``window_s`` minus that of the first ``window_s``."""
    first = [row[2] for row in presented if start <= row[0] < start + window_s]
    last = [row[2] for row in presented if end - window_s <= row[0] < end]
    if not first or not last:
        return None
    return round(statistics.median(last) - statistics.median(first), 1)


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def waiting_appointment(server: Any) -> tuple[int, str]:
    """One paid appointment with the demo doctor, checked in and described by its holder: (id, holder's token)."""
    doctor_id, dept = demo_doctor(server)
    (holder,) = booked_appointments(server, 1, doctor_id=doctor_id, department_code=dept)
    with server.client() as api:
        check(api.post(f"{API}/appointments/{holder.appointment_id}/check-in", headers=auth(holder.token)), 200)
        check(api.post(f"{API}/appointments/{holder.appointment_id}/description", headers=auth(holder.token),
                       json={"text": "视频复诊基准测试：近一周头晕。", "file_ids": []}), 200)
    return holder.appointment_id, holder.token


def run(*, database: str, quick: bool) -> dict:
    from benchmarks.video_loopback import run_loopback

    seconds = QUICK_S if quick else FULL_S
    max_s = seconds + WARMUP_S + 180
    load_before = round(os.getloadavg()[0], 2)
    with running_server(database) as server:
        appointment_id, token = waiting_appointment(server)
        log(f"appointment {appointment_id} waiting for {DOCTOR_USERNAME}; starting the patient's phone")
        patient = Child(["-m", "benchmarks.video_child", "patient", "--args",
                         json.dumps({"url": server.base_url, "appointment_id": appointment_id, "token": token,
                                     "max_s": max_s})], name="patient")
        doctor = None
        try:
            patient.expect("ready", timeout=60)
            doctor = Child(["-m", "benchmarks.video_child", "doctor", "--args",
                            json.dumps({"url": server.base_url, "username": DOCTOR_USERNAME,
                                        "password": doctor_password(), "appointment_id": appointment_id,
                                        "max_s": max_s})], name="doctor")
            doctor.expect("ready", timeout=120)
            connected = doctor.expect("connected", timeout=60)
            log(f"call connected ({connected['setup_s']} s from the call to the first painted picture); "
                f"warm-up {WARMUP_S:g} s, then {seconds:g} s measured")
            watch(WARMUP_S, doctor, patient)
            for child in (doctor, patient):
                child.send("go")
            cpu0 = machine_cpu()
            watch(seconds, doctor, patient)
            busy = machine_busy_pct(cpu0, machine_cpu())
            load_during = round(os.getloadavg()[0], 2)
            for child in (doctor, patient):
                child.send("stop")
            doc = doctor.expect("result", timeout=60)["result"]
            pat = patient.expect("result", timeout=60)["result"]
            if os.environ.get("CLINIC_BENCH_VIDEO_RAW"):  # everything the two ends recorded, for a closer look
                with open(os.environ["CLINIC_BENCH_VIDEO_RAW"], "w", encoding="utf-8") as f:
                    json.dump({"doctor": doc, "patient": pat}, f)
        finally:
            for child in (doctor, patient):
                if child is not None:
                    with contextlib.suppress(OSError):  # a child that died has closed its pipe
                        child.stop()
    baseline_s = seconds if quick else BASELINE_FULL_S
    log(f"baseline: aiortc's raw loopback for {baseline_s:g} s")
    cpu0 = machine_cpu()
    base = run_loopback(baseline_s)
    base["machine_busy_pct"] = machine_busy_pct(cpu0, machine_cpu())  # warm-up and set-up included
    return figures(doc, pat, base, seconds=seconds, baseline_s=baseline_s, setup_s=connected["setup_s"],
                   load=(load_before, load_during, round(os.getloadavg()[0], 2)), busy=busy)


def watch(seconds: float, *children: Child) -> None:
    """Wait ``seconds``, checking every second that both ends are still running (a crash ends the run at once,
    with the child's last lines of stderr)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        for child in children:
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode}) during the call:\n"
                                   + "".join(child.stderr[-200:]))


def machine_cpu() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs (``/proc/stat``)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    return total - idle, total


def machine_busy_pct(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]) * 100, 1)


def figures(doc: dict, pat: dict, base: dict, *, seconds: float, baseline_s: float, setup_s: float,
            load: tuple[float, float, float], busy: float | None) -> dict:
    d0, d1 = doc["window"]
    p0, p1 = pat["window"]
    doc_fps = per_second(doc["arrivals"], d0, d1)
    pat_fps = per_second(pat["arrivals"], p0, p1)
    shown = [row for row in doc["presented"] if d0 <= row[0] < d1]
    painted_fps = per_second([row[0] for row in shown], d0, d1)
    g2g = sorted(row[2] for row in shown)
    decoded = sorted(row[3] for row in shown)
    counters = [int(row[1]) for row in shown]
    window_s = 60.0 if d1 - d0 >= 180 else (d1 - d0) / 4
    drift_ms = drift(shown, d0, d1, window_s)
    interruptions = [s for s in doc["states"] if s[1] in ("interrupted", "ended") and d0 <= s[0] < d1]
    line = rtp_figures(doc.get("rtp") or [], d0, d1)

    a, b = base["a_to_b"], base["b_to_a"]
    base_fps = min(a["fps_median"], b["fps_median"])
    base_med = statistics.median([a["latency_median_ms"], b["latency_median_ms"]]) \
        if a["latency_median_ms"] is not None and b["latency_median_ms"] is not None else None
    base_p95 = max(a["latency_p95_ms"], b["latency_p95_ms"]) \
        if a["latency_p95_ms"] is not None and b["latency_p95_ms"] is not None else None
    med = percentile(g2g, 50) if g2g else None
    p95 = percentile(g2g, 95) if g2g else None
    doc_med_fps = statistics.median(doc_fps)
    pat_med_fps = statistics.median(pat_fps)
    goal_met = bool(doc_med_fps >= GOAL_FPS and pat_med_fps >= GOAL_FPS and med is not None and p95 is not None
                    and med <= GOAL_MEDIAN_MS and p95 <= GOAL_P95_MS and drift_ms is not None
                    and abs(drift_ms) <= GOAL_DRIFT_MS and not interruptions)
    return {
        "goal": (f"640x480 at 30 fps both ways: received fps median >= {GOAL_FPS:g} each way; glass-to-glass "
                 f"median <= {GOAL_MEDIAN_MS:g} ms, p95 <= {GOAL_P95_MS:g} ms; |drift| <= {GOAL_DRIFT_MS:g} ms "
                 f"over the run; no interruption"),
        "goal_met": goal_met,
        "measured_s": round(d1 - d0, 1), "warmup_s": WARMUP_S, "setup_s": setup_s,
        "doctor_received_fps_median": doc_med_fps, "doctor_received_fps_min": min(doc_fps),
        "patient_received_fps_median": pat_med_fps, "patient_received_fps_min": min(pat_fps),
        "doctor_painted_fps_median": statistics.median(painted_fps),
        "frames_presented": len(shown),
        # counter gaps between painted pictures: skipped by the sender, lost, or replaced before the paint
        "frames_missing_on_screen": sum(max(0, y - x - 1) for x, y in itertools.pairwise(counters)),
        "misread_frames": doc["misread"],
        "glass_to_glass_ms_median": _r(med), "glass_to_glass_ms_p95": _r(p95),
        "glass_to_glass_ms_p99": _r(percentile(g2g, 99) if g2g else None),
        "glass_to_glass_ms_max": _r(g2g[-1] if g2g else None),
        "decoded_ms_median": _r(percentile(decoded, 50) if decoded else None),
        "decoded_ms_p95": _r(percentile(decoded, 95) if decoded else None),
        "drift_ms": drift_ms, "drift_window_s": round(window_s, 1),
        "glass_to_glass_ms_median_by_minute": [
            _r(statistics.median(m)) for m in _by_window(shown, d0, d1, 60.0) if m] if d1 - d0 >= 120 else None,
        "doctor_cpu_pct": doc["cpu_pct"], "patient_cpu_pct": pat["cpu_pct"],
        "doctor_threads": doc["threads"], "patient_threads": pat["threads"],
        # PySide6 6.12.0 on Python 3.11 loses a reference to None per void call; without the guard the doctor's
        # process would abort within minutes of a call (workstation/services/qtfix.py)
        "doctor_none_guard_applied": doc.get("none_guard"),
        "doctor_none_refs_lost_per_s": -doc["none_refs_per_s"] if doc.get("none_refs_per_s") is not None else None,
        "machine_busy_pct": busy, "machine_cores": os.cpu_count(),
        "others_cores_busy": (round(busy / 100 * (os.cpu_count() or 1) - (doc["cpu_pct"] + pat["cpu_pct"]) / 100,
                                    2) if busy is not None else None),
        "doctor_sent_frames": doc["sent_frames"], "patient_sent_frames": pat["sent_frames"],
        "patient_sender_skipped": pat["sent_skipped"],
        "doctor_skipped_before_paint": doc["skipped_before_paint"],
        "received_size": {"doctor": doc["remote_size"], "patient": pat["size"]},
        "doctor_view_size": doc["view_size"],
        **line,
        "doctor_gaps_over_200ms": gaps(doc["arrivals"], d0, d1),
        "patient_gaps_over_200ms": gaps(pat["arrivals"], p0, p1),
        "frames_over_150ms": sum(1 for x in g2g if x > GOAL_P95_MS),
        "call_states": doc["states"], "interruptions": len(interruptions),
        "patient_errors": pat["errors"],
        "baseline_seconds": baseline_s,
        "baseline_fps_median": base_fps,
        "baseline_latency_ms_median": _r(base_med), "baseline_latency_ms_p95": _r(base_p95),
        "baseline_drift_ms": {"a_to_b": a["drift_ms"], "b_to_a": b["drift_ms"]},
        "baseline_cpu_pct": base["cpu_percent"],
        "baseline_machine_busy_pct": base.get("machine_busy_pct"),
        "baseline": base,
        "latency_vs_baseline": round(med / base_med, 2) if med and base_med else None,
        "decoded_latency_vs_baseline": (round(percentile(decoded, 50) / base_med, 2)
                                        if decoded and base_med else None),
        "cpu_vs_baseline": (round((doc["cpu_pct"] + pat["cpu_pct"]) / base["cpu_percent"], 2)
                            if base["cpu_percent"] else None),
        "load_avg_1m": {"before": load[0], "end_of_call": load[1], "end": load[2]},
    }


def rtp_figures(samples: list[list[float]], start: float, end: float) -> dict[str, Any]:
    """The patient → doctor line over the window, from the doctor's once-a-second ``getStats`` samples ``[time,
    video packets received, video packets lost, bytes received on the transport]`` (kbps: all media and RTCP)."""
    inside = [row for row in samples if start <= row[0] <= end]
    if len(inside) < 2:
        return {"doctor_kbps_in_median": None, "doctor_packets_per_s_median": None, "doctor_packets_lost": None}
    kbps, pps = [], []
    for a, b in itertools.pairwise(inside):
        dt = b[0] - a[0]
        if dt > 0:
            kbps.append((b[3] - a[3]) * 8 / 1000 / dt)
            pps.append((b[1] - a[1]) / dt)
    return {"doctor_kbps_in_median": round(statistics.median(kbps)), "doctor_kbps_in_min": round(min(kbps)),
            "doctor_packets_per_s_median": round(statistics.median(pps), 1),
            "doctor_packets_lost": inside[-1][2] - inside[0][2]}


def gaps(times: list[float], start: float, end: float, *, over_s: float = 0.2, keep: int = 20) -> list[list[float]]:
    """[seconds into the window, gap ms] of each pause of more than ``over_s`` between received frames."""
    inside = [t for t in times if start <= t < end]
    out = [[round(a - start, 1), round((b - a) * 1000)] for a, b in itertools.pairwise(inside) if b - a > over_s]
    return out[:keep]


def _by_window(rows: list[list[float]], start: float, end: float, window_s: float) -> list[list[float]]:
    n = max(1, int((end - start) / window_s + 0.01))  # a window of 599.99 s is ten minutes
    out: list[list[float]] = [[] for _ in range(n)]
    for row in rows:
        i = int((row[0] - start) // window_s)
        if 0 <= i < n:
            out[i].append(row[2])
    return out


if __name__ == "__main__":
    print(json.dumps(run(database="sqlite", quick=True)))
