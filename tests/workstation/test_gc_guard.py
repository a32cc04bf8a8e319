"""Cyclic garbage, Qt objects included, is collected on the GUI thread only (workstation/services/gc_guard.py)."""
from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
from PySide6.QtCore import QObject

from workstation.services.gc_guard import MainThreadGarbageCollector

pytestmark = pytest.mark.db_independent


class _Node(QObject):
    pass


def test_cyclic_garbage_is_collected_on_the_gui_thread_only(qapp: Any) -> None:
    gc.enable()  # as in a fresh application: the collector is what turns automatic collection off
    collector = MainThreadGarbageCollector(interval_ms=60_000)
    try:
        assert not gc.isenabled()
        destroyed_on: list[str] = []
        node = _Node()
        node.me = node  # type: ignore[attr-defined]  # a reference cycle: only the cyclic collector frees it
        node.destroyed.connect(lambda *_: destroyed_on.append(threading.current_thread().name))
        del node

        kept: list[Any] = []

        def allocate() -> None:  # far past the first generation's threshold, on a worker thread
            kept.extend([] for _ in range(20 * gc.get_threshold()[0]))

        worker = threading.Thread(target=allocate, name="worker")
        worker.start()
        worker.join()
        assert destroyed_on == []  # the worker did not collect it
        collector.check()
        if not destroyed_on:  # it may sit in an older generation: the timer gets there too
            gc.collect()
        assert destroyed_on == ["MainThread"]
        assert collector.collections >= 1
    finally:
        collector.stop()
        collector.deleteLater()
