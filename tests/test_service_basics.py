from __future__ import annotations

from pathlib import Path

import httpx


def test_health_reports_database(api: httpx.Client) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] in ("sqlite", "postgresql")


def test_openapi_document_is_served(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert any(p.startswith("/api/v1/") for p in doc["paths"]) or doc["paths"]


def test_unknown_route_has_stable_code(api: httpx.Client) -> None:
    r = api.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert r.json()["message"]


def test_a_server_started_with_exit_with_parent_stops_when_its_parent_dies(tmp_path: Path) -> None:
    """The workstation's embedded backend (``serve --exit-with-parent PID``) must not outlive a killed
    workstation: here a stand-in parent starts the server, is killed with SIGKILL, and the server stops."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import free_port, wait_healthy

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}"})
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'server.cli', 'serve', '--port', '{port}',"
        " '--exit-with-parent', str(os.getpid())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n")
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, "-c", parent_code], env=env, cwd=root, stdout=subprocess.PIPE,
                              text=True)
    server_pid = int(parent.stdout.readline())
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while Path(f"/proc/{server_pid}").exists() and b"zombie" not in _state(server_pid):
            assert time.monotonic() < deadline, "the server outlived its parent"
            time.sleep(0.2)
    finally:
        parent.kill()
        if Path(f"/proc/{server_pid}").exists():
            os.kill(server_pid, signal.SIGKILL)


def _state(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            return f.read().lower()
    except OSError:
        return b"zombie"
