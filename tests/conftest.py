"""Shared fixtures: a real backend process on a free loopback port, on SQLite or on PostgreSQL.

``CLINIC_TEST_DATABASE_URL`` (set by ``make test`` for its second run) points the whole suite at PostgreSQL;
without it every session gets a fresh SQLite file in a temporary directory.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import DEMO_STAFF_PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres(url: str) -> str:
    """An empty database on the test server: one per test session, so runs never see each other's rows."""
    u = make_url(url)
    name = f"clinic_t_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return u.set(database=name).render_as_string(hide_password=False)


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kw)

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``clinic-server`` against the same database and data directory."""
        return subprocess.run([sys.executable, "-m", "server.cli", *args], env=self.env, text=True,
                              capture_output=True, check=check, timeout=timeout, cwd=ROOT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(tmp: Path, *, extra_env: dict[str, str] | None = None, workers: int = 1,
                 database_url: str | None = None) -> LiveServer:
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = os.environ.get("CLINIC_TEST_DATABASE_URL")
    if database_url is None:
        database_url = fresh_postgres(pg) if pg else f"sqlite:///{data_dir / 'clinic.sqlite3'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update({
        "CLINIC_DATA_DIR": str(data_dir),
        "CLINIC_DATABASE_URL": database_url,
        "CLINIC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CLINIC_SCHEDULER_INTERVAL_S": "0.5",
        "CLINIC_REFUND_QUERY_BASE_S": "0.5",
        "CLINIC_DEMO_STAFF_PASSWORD": DEMO_STAFF_PASSWORD,
        # every test reaches the shared server from 127.0.0.1: the per-address cap is tested on its own server
        "CLINIC_SMS_HOURLY_CAP_PER_CLIENT": "100000",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra_env or {})
    log_path = tmp / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", str(workers)], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc=proc)
    except RuntimeError as exc:
        proc.kill()
        raise RuntimeError(f"{exc}:\n{log_path.read_text(errors='replace')}") from None
    return LiveServer(base, database_url, data_dir, env, proc, log_path)


def wait_healthy(base: str, *, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Until ``base``/healthz answers 200; RuntimeError if ``proc`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.1)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One backend process for the session, with demo data loaded."""
    server = start_server(tmp_path_factory.mktemp("server"))
    result = server.cli("demo-data", check=False)
    if result.returncode != 0 and "server.demo" not in (result.stderr or ""):
        raise RuntimeError(f"demo-data failed:\n{result.stdout}\n{result.stderr}")
    server.demo_output = result.stdout  # type: ignore[attr-defined]
    yield server
    stop_server(server)


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def db_engine(live_server: LiveServer) -> Iterator[object]:
    """Direct database access, for arranging what the API cannot (moving a slot's time) and for checking rows."""
    engine = create_engine(live_server.database_url)
    yield engine
    engine.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass skips tests marked ``db_independent`` (pure models, media, the benchmark smokes that
    start their own SQLite servers): they prove nothing more the second time and cost minutes."""
    if not os.environ.get("CLINIC_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="database-independent: runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("db_independent"):
            item.add_marker(skip)
