"""The workstation benchmarks still run: each one, smoke-sized (``--quick --json``), in its own process.

They check the shape of the report (one JSON object, figures named with their units, ``goal_met``, the baseline
and its ratio) and what is a correctness property rather than a speed: every check-in reached the doctor's model,
every state change written reached the workstation. Speed goals are not asserted (see docs/benchmarks.md).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.db_independent

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(name: str, timeout: float = 120) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    r = subprocess.run([sys.executable, "-m", "benchmarks", name, "--quick", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stderr[-4000:]}"
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be one JSON object, got:\n{r.stdout[-2000:]}"
    out = json.loads(lines[0])
    assert isinstance(out.get("goal_met"), bool), out
    assert "error" not in out, out
    assert {"nproc", "cpu_model", "date", "load_avg_1m"} <= set(out["machine"])
    return out


def test_queue_latency() -> None:
    out = run_benchmark("queue_latency")
    assert out["seen_in_model"] == out["check_ins"] > 0, out
    assert out["polling_seen"] == out["check_ins"], out
    for key in ("p50_ms", "p95_ms", "p99_ms", "polling_p95_ms", "ratio_to_polling"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, (key, out)
    assert out["other_streams_errors"] == 0, out


def test_workstation_startup() -> None:
    out = run_benchmark("workstation_startup")
    for key in ("cold_s", "warm_median_s", "baseline_bare_qapplication_s", "ratio_to_bare_qapplication"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, (key, out)
    assert out["queue_rows"] > 0, out


def test_queue_model() -> None:
    out = run_benchmark("queue_model")
    assert out["rows"] == 100_000
    for key in ("load_p95_ms", "keystroke_p95_ms", "first_keystroke_unprepared_p50_ms", "prepare_search_p50_ms",
                "load_ratio_to_sort", "keystroke_ratio_to_scan"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, (key, out)


def test_gui_stall() -> None:
    out = run_benchmark("gui_stall")
    assert out["events_written"] > 0 and out["events_received"] >= out["events_written"], out
    for key in ("max_stall_ms", "p99_stall_ms", "baseline_max_stall_ms"):
        assert isinstance(out[key], (int, float)), (key, out)
