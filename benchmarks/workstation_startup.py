"""``workstation_startup``: process start of the workstation to a usable queue, against a running server.

The workstation has no auto-sign-in switch, so ``benchmarks.ws_child startup`` stands in for ``python -m
workstation --server URL``: it imports ``workstation.ui.app``, builds the application exactly as ``main()`` does
(``create_application``, qasync loop, ``AppController`` with the server URL), calls the sign-in dialog's
``sign_in_with`` with doctor1's credentials, and stops when the doctor's window has its first queue snapshot from
the server in the model and the loop has turned once more (the view laid out). The time is taken by the parent:
from just before the process is spawned to that moment (``CLOCK_MONOTONIC`` in both). Offscreen Qt. The first run
is cold (a new user data directory, no cached queue; the OS file cache may already hold Python and Qt from the
server's start); the following runs are warm (same data directory, cached queue, warm OS caches). Baseline in the
same run: ``python -c "import PySide6.QtWidgets; QApplication([])"`` start to exit — what any PySide6 program
pays before its first line of its own.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import API, ROOT, log, running_server
from benchmarks.prep import auth, check
from benchmarks.ws_setup import DOCTOR_USERNAME, Child, booked_appointments, demo_doctor, doctor_password

GOAL_WARM_S = 1.5


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update({"QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_CACHE_HOME": str(home / ".cache"),
                # the workstation's own settings and data directories (settings.json, the user's store)
                "CLINIC_WS_CONFIG_DIR": str(home / "ws-config"), "CLINIC_WS_DATA_DIR": str(home / "ws-data")})
    return env


def one_run(url: str, env: dict[str, str]) -> dict:
    t0 = time.monotonic()
    child = Child(["-m", "benchmarks.ws_child", "startup", "--args",
                   json.dumps({"url": url, "username": DOCTOR_USERNAME, "password": doctor_password()})],
                  env=env, name="workstation")
    try:
        marks = child.expect("shown", timeout=90)
    finally:
        child.stop(timeout=30)
    return {"to_usable_queue_s": round(marks["shown"] - t0, 3), "imports_done_s": round(marks["imported"] - t0, 3),
            "window_open_s": round(marks["window"] - t0, 3), "queue_loaded_s": round(marks["loaded"] - t0, 3),
            "rows": marks.get("rows")}


def bare_qt(env: dict[str, str]) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    return time.monotonic() - t0


def run(*, database: str, quick: bool) -> dict:
    warm_runs = 1 if quick else 5
    home = Path(tempfile.mkdtemp(prefix="ws-bench-home-"))
    env = _env(home)
    with running_server(database) as server:
        # a day's queue for the doctor: paid appointments, half of them checked in (real check-ins)
        doctor_id, dept = demo_doctor(server)
        holders = booked_appointments(server, 10 if quick else 40, doctor_id=doctor_id, department_code=dept)
        with server.client() as api:
            for h in holders[::2]:
                check(api.post(f"{API}/appointments/{h.appointment_id}/check-in", headers=auth(h.token)), 200)
        log(f"workstation start-up: 1 cold + {warm_runs} warm runs")
        cold = one_run(server.base_url, env)
        warm = [one_run(server.base_url, env) for _ in range(warm_runs)]
        bare = [bare_qt(env) for _ in range(max(1, warm_runs))]
    warm_s = [w["to_usable_queue_s"] for w in warm]
    median = round(statistics.median(warm_s), 3)
    bare_median = round(statistics.median(bare), 3)
    return {
        "goal": f"process start to usable queue <= {GOAL_WARM_S:g} s warm (median of the warm runs)",
        "goal_met": median <= GOAL_WARM_S,
        "cold_s": cold["to_usable_queue_s"], "warm_median_s": median, "warm_max_s": max(warm_s),
        "warm_runs_s": warm_s, "queue_rows": warm[-1]["rows"],
        "warm_breakdown_s": {k: round(statistics.median(w[k] for w in warm), 3)
                             for k in ("imports_done_s", "window_open_s", "queue_loaded_s")},
        "cold_breakdown_s": {k: cold[k] for k in ("imports_done_s", "window_open_s", "queue_loaded_s")},
        "baseline_bare_qapplication_s": bare_median,
        "ratio_to_bare_qapplication": round(median / bare_median, 1) if bare_median else None,
    }
