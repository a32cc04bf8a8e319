"""Op and run_in: work on a worker, answers on the GUI thread, nothing for a window that has closed; the
change hub re-emits on the GUI thread whatever thread reported."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread

from workstation.services.changes import LIVE, OFFLINE, Change, ChangeHub
from workstation.services.ops import Op, executor, run_in


def test_success_and_failure_arrive_on_the_gui_thread(qtbot: Any) -> None:
    gui = QThread.currentThread()
    seen: list[tuple[str, Any, bool]] = []
    worker_threads: list[str] = []

    def work() -> int:
        worker_threads.append(threading.current_thread().name)
        return 42

    def boom() -> int:
        raise ValueError("no")

    op = Op(work).success(lambda v: seen.append(("ok", v, QThread.currentThread() == gui))).run()
    assert isinstance(op, Op) and op.future is not None
    Op(boom).failure(lambda e: seen.append(("err", e, QThread.currentThread() == gui))).run()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    results = {k: (v, on_gui) for k, v, on_gui in seen}
    assert results["ok"] == (42, True)
    assert isinstance(results["err"][0], ValueError) and results["err"][1] is True
    assert worker_threads and worker_threads[0].startswith("ws-net")


def test_db_pool_is_one_thread_in_order(qtbot: Any) -> None:
    names: list[str] = []
    order: list[int] = []
    for i in range(20):
        Op(lambda i=i: (names.append(threading.current_thread().name), i)[1], pool="db") \
            .success(order.append).run()
    qtbot.waitUntil(lambda: len(order) == 20, timeout=5000)
    assert order == list(range(20)) and len(set(names)) == 1


def test_callbacks_skipped_when_the_parent_is_gone(qtbot: Any) -> None:
    parent = QObject()
    gate = threading.Event()
    called: list[int] = []
    op = Op(lambda: gate.wait(5) and 1, parent=parent).success(called.append).failure(called.append).run()
    parent.deleteLater()
    qtbot.waitUntil(lambda: op.parent_gone, timeout=5000)
    gate.set()
    assert op.future is not None
    op.future.result(timeout=5)
    marker = Op(lambda: 2).success(called.append).run()  # delivered after the first one's turn
    qtbot.waitUntil(lambda: 2 in called, timeout=5000)
    assert marker and called == [2]


def test_run_in_awaits_a_blocking_function() -> None:
    async def main() -> tuple[int, str]:
        value = await run_in("net", lambda a, b: a + b, 2, 3)
        name = await run_in("db", lambda: threading.current_thread().name)
        return value, name

    value, name = asyncio.run(main())
    assert value == 5 and name.startswith("ws-db")


def test_hub_reemits_on_the_gui_thread(qtbot: Any, hub: ChangeHub) -> None:
    gui = QThread.currentThread()
    got: list[tuple[str, Any, bool]] = []
    hub.sig_connection_changed.connect(lambda s: got.append(("conn", s, QThread.currentThread() == gui)))
    hub.sig_appointment_changed.connect(lambda i: got.append(("appt", i, QThread.currentThread() == gui)))
    hub.sig_change.connect(lambda c: got.append(("change", c, QThread.currentThread() == gui)))
    initiator = object()
    with qtbot.waitSignal(hub.sig_change, timeout=5000):
        executor("net").submit(lambda: (hub.connection_changed(LIVE),
                                        hub.appointment_changed(7, initiator=initiator)))
    assert ("conn", LIVE, True) in got and ("appt", 7, True) in got
    assert ("change", Change("appointment", 7, initiator), True) in got
    assert hub.connection == LIVE
    with qtbot.assertNotEmitted(hub.sig_connection_changed):
        hub.connection_changed(LIVE)  # no change, no signal
    with pytest.raises(ValueError):
        hub.connection_changed("sleepy")
    hub.connection_changed(OFFLINE)


def test_hub_hands_a_burst_of_stream_events_over_as_one_batch(qtbot: Any, hub: ChangeHub) -> None:
    """500 events reported by a worker thread while the GUI thread is busy arrive as one batch, in order, on
    the GUI thread; ``sig_event`` still fires once per event."""
    gui = QThread.currentThread()
    batches: list[tuple[list[int], bool]] = []
    singles: list[int] = []
    hub.sig_events.connect(lambda b: batches.append(([e["id"] for e in b], QThread.currentThread() == gui)))
    hub.sig_event.connect(lambda e: singles.append(e["id"]))
    done = threading.Event()

    def burst() -> None:
        for i in range(1, 501):
            hub.stream_event({"id": i, "kind": "appointment.waiting", "payload": {"appointment_id": i}})
        done.set()

    executor("net").submit(burst)
    assert done.wait(10)  # the GUI thread has not run its loop meanwhile: everything is still queued
    with qtbot.waitSignal(hub.sig_events, timeout=5000):
        pass
    qtbot.wait(50)  # nothing else follows
    assert batches == [(list(range(1, 501)), True)]
    assert singles == list(range(1, 501))
    # the next event starts a new batch
    with qtbot.waitSignal(hub.sig_events, timeout=5000):
        executor("net").submit(lambda: hub.stream_event({"id": 501, "kind": "x"}))
    assert batches[-1] == ([501], True)
