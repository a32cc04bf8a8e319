"""What every benchmark shares: the real server process, a fresh database, the machine's description, figures.

The server under test is started exactly as an operator would start it (``python -m server.cli serve`` on a free
loopback port, with its own data directory), so the figures include the HTTP stack, the framework, the ORM and the
database. The database is new for every run: a SQLite file in a temporary directory or a fresh database on a
PostgreSQL server (``CLINIC_BENCH_DATABASE_URL``, else the throw-away server of ``scripts/pg.sh``).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
STAFF_PASSWORD = "Bench-pass-2026"
API = "/api/v1"

# Settings of the server under test: the SMS caps protect real phones from abuse and would stop the set-up of a few
# hundred accounts from one loopback address; nothing else is relaxed.
BENCH_ENV = {
    "CLINIC_SMS_HOURLY_CAP_PER_CLIENT": "1000000",
    "CLINIC_SMS_HOURLY_CAP_PER_MOBILE": "1000",
    "CLINIC_SMS_RESEND_INTERVAL_S": "0",
    "CLINIC_DEMO_STAFF_PASSWORD": STAFF_PASSWORD,
}


def log(msg: str) -> None:
    """Progress goes to stderr so ``--json`` keeps stdout to the one JSON object."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- the machine

def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu or platform.processor(),
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        # other work on the machine skews every figure; say how busy it was
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# ---------------------------------------------------------------------------------------------------- figures

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_figures(latencies_s: Iterable[float], *, prefix: str = "") -> dict[str, float]:
    values = sorted(latencies_s)
    out = {}
    for q in (50, 95, 99):
        out[f"{prefix}p{q}_ms"] = round(percentile(values, q) * 1000, 2) if values else None
    out[f"{prefix}max_ms"] = round(values[-1] * 1000, 2) if values else None
    return out


# ---------------------------------------------------------------------------------------------------- databases

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_server_url() -> str:
    """The PostgreSQL server to benchmark on: ``CLINIC_BENCH_DATABASE_URL`` or the one ``scripts/pg.sh`` runs."""
    url = os.environ.get("CLINIC_BENCH_DATABASE_URL")
    if url:
        return url
    script = ROOT / "scripts" / "pg.sh"
    if not script.exists():
        raise SystemExit("PostgreSQL: set CLINIC_BENCH_DATABASE_URL (scripts/pg.sh is not there)")
    r = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, timeout=180, cwd=ROOT,
                       check=False)
    if r.returncode != 0:
        raise SystemExit(f"PostgreSQL: scripts/pg.sh start failed:\n{r.stderr}")
    return r.stdout.strip().splitlines()[-1]


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """A new, empty database for one run; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'data' / 'clinic.sqlite3'}"
        return
    u = make_url(postgres_server_url())
    name = f"clinic_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_durability(engine: Engine) -> dict[str, str]:
    """The settings that decide what a commit costs, reported next to the figures."""
    out = {}
    with engine.connect() as c:
        for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "server_version"):
            out[name] = c.execute(text(f"SHOW {name}")).scalar_one()
    return out


# ---------------------------------------------------------------------------------------------------- the server

@dataclass
class Server:
    base_url: str
    database_url: str
    data_dir: Path
    env: dict[str, str]
    workers: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def dialect(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kw)

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``clinic-server`` on the same database and data directory."""
        r = subprocess.run([sys.executable, "-m", "server.cli", *args], env=self.env, text=True,
                           capture_output=True, timeout=timeout, cwd=ROOT, check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"clinic-server {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    @property
    def engine(self) -> Engine:
        """Direct database access: bulk set-up the API would make slow, and checks of the rows."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(workdir: Path, database_url: str, *, workers: int = 1,
                 extra_env: dict[str, str] | None = None) -> Server:
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update(BENCH_ENV)
    env.update({
        "CLINIC_DATA_DIR": str(data_dir),
        "CLINIC_DATABASE_URL": database_url,
        "CLINIC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra_env or {})
    # migrate once before the workers start, so two workers never race to create the schema
    subprocess.run([sys.executable, "-m", "server.cli", "init-db"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=180)
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", str(workers), "--log-level", "warning"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    ready = 0
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                ready += 1
                if ready >= 3 * workers:  # every worker has had the chance to come up
                    break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    return Server(base, database_url, data_dir, env, workers, proc, log_path)


@contextmanager
def running_server(database: str, *, workers: int = 1, demo: bool = True,
                   extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """A fresh database, a server on it (with ``demo-data`` loaded), everything removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
    server = None
    try:
        with fresh_database(database, workdir) as url:
            server = start_server(workdir, url, workers=workers, extra_env=extra_env)
            log(f"server on {server.base_url} ({server.dialect}, {workers} worker(s))")
            if demo:
                server.cli("demo-data")
            try:
                yield server
            except BaseException:
                tail = server.log().splitlines()[-60:]
                log("server log (last lines):\n" + "\n".join(tail))
                raise
            finally:
                server.stop()
    finally:
        if server is not None and server.process.poll() is None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
