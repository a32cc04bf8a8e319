"""Fixtures of the workstation's service and model tests: no screen needed, a real backend where one talks.

``QT_QPA_PLATFORM=offscreen`` unless a display is configured, so the models and the hub run anywhere.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from sqlalchemy.engine import Engine

from tests.booking_helpers import admin_headers
from tests.conftest import LiveServer
from workstation.services.changes import ChangeHub


@pytest.fixture(autouse=True)
def _ws_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's own config and data directories: nothing touches the developer's real ones."""
    monkeypatch.setenv("CLINIC_WS_DATA_DIR", str(tmp_path / "ws-data"))
    monkeypatch.setenv("CLINIC_WS_CONFIG_DIR", str(tmp_path / "ws-config"))


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread() -> Iterator[None]:
    """As the application does (workstation/services/gc_guard.py): no cyclic collection on a worker thread, where
    a collected Qt object deadlocks with the GUI thread. Collected here, on the main thread, after each test."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was_enabled:
            gc.enable()


@pytest.fixture()
def hub(qapp: Any) -> Iterator[ChangeHub]:
    h = ChangeHub()
    yield h
    h.deleteLater()


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def qasync_loop(qapp: Any) -> Iterator[Any]:
    """The application's asyncio loop on Qt's (qasync), running while the test waits with ``qtbot`` — what the
    video call's aiortc needs. Only for the tests that ask for it: others use ``asyncio.run`` of their own."""
    import asyncio

    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    pool = ThreadPoolExecutor(4, thread_name_prefix="test-loop")  # aiortc's encoders; shut down below
    loop.set_default_executor(pool)
    try:
        yield loop
    finally:
        def settle(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while any(not t.done() for t in asyncio.all_tasks(loop)) and time.monotonic() < deadline:
                qapp.processEvents()
                time.sleep(0.01)

        # first let what is finishing finish: a call's state is "ended" before its peer connection has closed, and
        # a close cancelled half-way leaves aiortc's decoder threads (not daemons) waiting: the test process would
        # never exit
        settle(3)
        for task in asyncio.all_tasks(loop):
            task.cancel()
        settle(3)
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)
        # stop its timers and socket notifiers too (a closed peer connection's last timers must not fire into
        # later tests); qasync only closes a loop it started itself, so mark it stopped first
        loop._QEventLoop__is_running = False
        loop.close()
        pool.shutdown(wait=True, cancel_futures=True)
