"""A backend of its own when no server is configured, so a newcomer sees a working system at once.

``python -m server.cli serve`` on a free loopback port, SQLite in the user's data directory, demo data (the
staff password is made once, kept in that directory and handed to the server through
``CLINIC_DEMO_STAFF_PASSWORD``). The first start loads the demo data before signing in is possible; later starts
refresh it in the background (it is idempotent and adds the coming days' slots). Stopped on exit.

:meth:`EmbeddedServer.start` blocks for seconds: run it on the ``net`` pool.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from workstation.services.settings import data_dir

DEFAULT_USERNAME = "doctor1"


@dataclass(frozen=True, slots=True)
class EmbeddedInfo:
    url: str
    username: str
    password: str
    data_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedServer:
    def __init__(self, *, base_dir: Path | None = None, port: int | None = None,
                 username: str = DEFAULT_USERNAME, python: str | None = None) -> None:
        self.dir = (base_dir or data_dir()) / "embedded"
        self.port = port
        self.username = username
        self.python = python or sys.executable
        self.process: subprocess.Popen[bytes] | None = None
        self.info: EmbeddedInfo | None = None
        self._refresh: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    def password(self) -> str:
        """The demo staff password of this installation, made on first use (letters and digits: the staff
        password rules)."""
        path = self.dir / "demo-password.txt"
        with contextlib.suppress(OSError):
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
        value = f"Demo{secrets.randbelow(10**6):06d}{secrets.token_hex(3)}"
        self.dir.mkdir(parents=True, exist_ok=True)
        path.write_text(value, encoding="utf-8")
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        return value

    def _env(self, url: str, password: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
        env.update({
            "CLINIC_DATA_DIR": str(self.dir / "data"),
            "CLINIC_DATABASE_URL": f"sqlite:///{self.dir / 'data' / 'clinic.sqlite3'}",
            "CLINIC_PUBLIC_BASE_URL": url,
            "CLINIC_DEMO_STAFF_PASSWORD": password,
            # the embedded server only listens on loopback: every client (and the simulator) shares 127.0.0.1
            "CLINIC_SMS_HOURLY_CAP_PER_CLIENT": "100000",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _cwd(self) -> Path:
        """The project root when running from a checkout (``server`` importable from there)."""
        return Path(__file__).resolve().parents[2]

    def start(self, *, timeout: float = 60) -> EmbeddedInfo:
        if self.running and self.info is not None:
            return self.info
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        # `make run` fixes the port so that its simulator can find the embedded server
        port = self.port or int(os.environ.get("CLINIC_WS_EMBEDDED_PORT") or 0) or _free_port()
        url = f"http://127.0.0.1:{port}"
        password = self.password()
        env = self._env(url, password)
        loaded = self.dir / "demo-loaded"
        if not loaded.exists():
            result = subprocess.run([self.python, "-m", "server.cli", "demo-data"], env=env, cwd=self._cwd(),
                                    capture_output=True, text=True, timeout=300, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"demo data could not be loaded:\n{result.stdout}\n{result.stderr}")
            loaded.write_text(time.strftime("%Y-%m-%d %H:%M:%S"), encoding="utf-8")
            refresh = False
        else:
            refresh = True
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 # a killed workstation cannot stop it: it stops itself once we are gone
                 "--exit-with-parent", str(os.getpid())],
                env=env, cwd=self._cwd(), stdout=log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded server exited; see {self.log_path}")
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the embedded server did not start in {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.1)
        if refresh:  # today's slots for a demo installed days ago; nobody waits for it
            self._refresh = threading.Thread(
                target=lambda: subprocess.run([self.python, "-m", "server.cli", "demo-data"], env=env,
                                              cwd=self._cwd(), capture_output=True, timeout=300, check=False),
                name="ws-embedded-demo", daemon=True)
            self._refresh.start()
        self.info = EmbeddedInfo(url=url, username=self.username, password=password, data_dir=self.dir)
        return self.info

    def stop(self, *, timeout: float = 10) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
