"""The sandbox gateway's notifications, sent from a process of their own.

In production WeChat Pay signs and posts its notifications from its own machines; the sandbox that stands in for it
does the same from a child process (``python -m server.payments.notifier``), so that signing every delivery
(RSA-2048) and running an HTTP client are not paid for with the server's own CPU and interpreter lock. The server
only settles the sandbox's ledger and builds each notification's body; the child signs every try afresh, posts it
(duplicates at the same moment on different senders, retries with back-off: ``gateway.deliver_later``) and knows
nothing of the database.

The server writes one JSON line per notification to the child's standard input. The child ends when that input
ends: the server stopped, or died (the pipe closes with it). A server process that finds its child gone starts
another; one that cannot start a child sends in-process, as before.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class Notifier:
    """The server's end: one child per server process, started on first use (or at start-up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def send(self, *, url: str, data_dir: Path, body: bytes, duplicates: int, delay_s: float) -> bool:
        """Hand one notification to the child; False if no child could take it (the caller sends it itself)."""
        line = json.dumps({"url": url, "data_dir": str(data_dir), "body": body.decode("utf-8"),
                           "duplicates": duplicates, "delay_s": delay_s}, ensure_ascii=False).encode() + b"\n"
        with self._lock:
            for _ in range(2):  # a child that died meanwhile is replaced once
                stdin = self._stdin()
                if stdin is None:
                    return False
                try:
                    stdin.write(line)
                    stdin.flush()
                    return True
                except OSError:
                    log.warning("sandbox notifier process gone; starting another")
                    self._proc = None
        return False

    def start(self) -> None:
        with self._lock:
            self._stdin()

    def _stdin(self) -> IO[bytes] | None:
        if self._proc is not None and self._pid == os.getpid() and self._proc.poll() is None:
            return self._proc.stdin
        self._pid = os.getpid()
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "server.payments.notifier"], stdin=subprocess.PIPE,
                                          close_fds=True)
        except OSError:
            log.exception("could not start the sandbox notifier process; notifications are sent in-process")
            self._proc = None
            return None
        return self._proc.stdin

    def stop(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None or self._pid != os.getpid():
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


notifier = Notifier()


def main() -> None:
    """The child: read notifications until the server's end of the pipe closes, send each when due."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s sandbox-notifier: %(message)s")
    from server.payments import gateway, wechatpay

    for raw in sys.stdin.buffer:
        try:
            job = json.loads(raw)
            gateway.deliver_later(url=job["url"], keys=wechatpay.sandbox_keys(Path(job["data_dir"])),
                                  body=job["body"].encode("utf-8"), duplicates=int(job["duplicates"]),
                                  delay_s=float(job["delay_s"]))
        except Exception:  # one bad line must not stop the others; the service's reconcilers query anyway
            log.exception("sandbox notifier: could not schedule %r", raw[:200])
    os._exit(0)  # the server is gone: whatever is still queued has nobody to go to


if __name__ == "__main__":
    main()
