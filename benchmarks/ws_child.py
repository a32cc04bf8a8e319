"""The workstation side of the workstation benchmarks, run in its own process (``QT_QPA_PLATFORM=offscreen``).

``python -m benchmarks.ws_child MODE --json-args '{...}'``; every line on stdout is one JSON object:

- ``latency``: sign in as the doctor, the real ``QueueFeed`` + ``EventStream`` fill a ``QueueModel``; prints
  ``{"ready": ...}`` after the first load, then ``{"seen": appointment_id, "t": monotonic}`` the moment a row
  with status ``checked_in`` appears in the model (insert or data change). Ends when stdin closes.
- ``stall``: the same with a ``QApplication`` and a shown ``QTableView`` on a ``QueueFilterProxy``; a 5 ms
  ``QTimer`` records how late each tick is. ``go`` / ``stop`` on stdin bracket the measured phases; prints the
  lateness figures of each phase.
- ``model``: ``QueueModel`` with 100,000 rows: load and filter keystrokes (no server).
- ``startup``: the real application (``workstation.ui.app``): sign-in dialog, ``sign_in_with`` the given
  credentials, the doctor's window, first queue snapshot → prints ``{"loaded": monotonic}`` and exits.

``time.monotonic`` is ``CLOCK_MONOTONIC`` on Linux, one clock for every process, so the parent compares it with
its own.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

T_START = time.monotonic()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _stdin_lines(callback) -> None:
    """Each line of stdin to ``callback`` (from a thread); ``None`` at EOF."""
    def run() -> None:
        for line in sys.stdin:
            callback(line.strip())
        callback(None)
    threading.Thread(target=run, daemon=True).start()


def _gc_guard(app):
    from workstation.services.gc_guard import MainThreadGarbageCollector

    return MainThreadGarbageCollector(app)


def _doctor_feed(args: dict, app):
    import tempfile
    from pathlib import Path

    from workstation.models.queue import QueueModel
    from workstation.services.changes import ChangeHub
    from workstation.services.queue_feed import QueueFeed
    from workstation.services.session import UserSession

    hub = ChangeHub()
    session = UserSession(base_url=args["url"], hub=hub, data_dir=Path(tempfile.mkdtemp(prefix="ws-bench-")))
    session.sign_in(args["username"], args["password"])  # before the loop runs: blocking is allowed here
    model = QueueModel()
    feed = QueueFeed(model=model, api=session.api, hub=hub, store=session.store)
    cursor = session.api.events_cursor()
    return hub, session, model, feed, cursor


def latency(args: dict) -> None:
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    app = QCoreApplication([sys.argv[0]])
    gc_guard = _gc_guard(app)  # noqa: F841 - as the application does
    hub, session, model, feed, cursor = _doctor_feed(args, app)
    known: set[int] = set()
    loaded = {"done": False}

    def scan(first: int, last: int) -> None:
        if not loaded["done"]:
            return
        t = time.monotonic()
        for r in range(first, min(last, model.rowCount() - 1) + 1):
            e = model.entry(r)
            if e.status == "checked_in" and e.appointment_id not in known:
                known.add(e.appointment_id)
                emit({"seen": e.appointment_id, "t": t})

    model.rowsInserted.connect(lambda _p, a, b: scan(a, b))
    model.dataChanged.connect(lambda tl, br, *_: scan(tl.row(), br.row()))
    model.rowsMoved.connect(lambda _p, a, b, _d, dest: scan(min(a, dest), max(b, dest + (b - a))))
    events = {"n": 0}
    hub.sig_event.connect(lambda _e: events.__setitem__("n", events["n"] + 1))

    def on_loaded() -> None:
        if loaded["done"]:
            return
        known.update(e.appointment_id for e in model.entries() if e.status == "checked_in")
        loaded["done"] = True
        emit({"ready": time.monotonic(), "rows": model.rowCount()})

    feed.sig_loaded.connect(on_loaded)

    class Bridge(QObject):
        line = Signal(object)

    bridge = Bridge()

    def on_line(line: object) -> None:
        if line is None or line == "stop":
            emit({"events": events["n"], "rows": model.rowCount()})
            app.quit()

    bridge.line.connect(on_line)
    _stdin_lines(bridge.line.emit)
    feed.start()
    session.start_stream(after=cursor)
    app.exec()
    session.close()


class _StallDiagnosis:
    """With ``CLINIC_BENCH_DIAGNOSE=FILE``: what the GUI thread was doing during each stall, appended to FILE.

    A sampler thread records the GUI thread's Python stack every 2 ms (it can only sample while the GUI thread lets
    go of the GIL: a gap in the samples is a C++ call that held it), and ``gc.callbacks`` time every collection.
    ``explain(t0, t1)`` prints the collections and the most frequent innermost frames between two
    ``time.perf_counter`` readings."""

    def __init__(self, path: str) -> None:
        import collections
        import gc

        self.out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - for the process's life
        self.samples: collections.deque = collections.deque(maxlen=20000)
        self.gcs: collections.deque = collections.deque(maxlen=2000)
        self._gc_start = 0.0
        self._main = threading.main_thread().ident
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._sample, daemon=True).start()

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gcs.append((self._gc_start, time.perf_counter(), info.get("generation"), info.get("collected")))

    def _sample(self) -> None:
        import traceback

        while True:
            frame = sys._current_frames().get(self._main)
            if frame is not None:
                stack = traceback.extract_stack(frame, limit=12)
                self.samples.append((time.perf_counter(),
                                     " < ".join(f"{f.name}@{os.path.basename(f.filename)}:{f.lineno}"
                                                for f in reversed(stack[-6:]))))
            time.sleep(0.002)

    @staticmethod
    def runqueue_wait_s() -> float:
        """How long the GUI thread has waited for a CPU while runnable (Linux schedstat), in seconds."""
        try:
            with open(f"/proc/self/task/{threading.main_thread().native_id}/schedstat", encoding="ascii") as f:
                return int(f.read().split()[1]) / 1e9
        except OSError:
            return 0.0

    def explain(self, t0: float, t1: float, late_ms: float, rq_wait_ms: float = 0.0) -> None:
        import collections

        gcs = [(round((b - a) * 1000, 1), g, c) for a, b, g, c in self.gcs if b >= t0 and a <= t1]
        inside = [(t, st) for t, st in self.samples if t0 <= t <= t1]
        times = [t for t, _ in inside]
        gaps = [round((b - a) * 1000, 1) for a, b in zip([t0, *times], [*times, t1]) if b - a > 0.01]
        top = collections.Counter(st for _, st in inside).most_common(4)
        print(f"STALL {late_ms:.1f} ms: waiting for a CPU {rq_wait_ms:.1f} ms; gc {gcs}; sample gaps(ms) {gaps}",
              file=self.out)
        for st, n in top:
            print(f"   {n:3d}x {st}", file=self.out)
        self.out.flush()


def stall(args: dict) -> None:
    from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
    from PySide6.QtWidgets import QApplication, QTableView

    from workstation.models.queue import QueueFilterProxy

    app = QApplication([sys.argv[0]])
    gc_guard = _gc_guard(app)  # noqa: F841 - as the application does
    hub, session, model, feed, cursor = _doctor_feed(args, app)
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.resize(1200, 800)
    view.show()
    model.start_clock()
    interval = int(args.get("interval_ms", 5))
    clock = QElapsedTimer()
    state = {"phase": None, "last": 0, "late": [], "events": 0, "last_pc": time.perf_counter(), "rq": 0.0}
    hub.sig_event.connect(lambda _e: state.__setitem__("events", state["events"] + 1))
    diagnosis = _StallDiagnosis(os.environ["CLINIC_BENCH_DIAGNOSE"]) if os.environ.get("CLINIC_BENCH_DIAGNOSE") else None

    def tick() -> None:
        now_ns = clock.nsecsElapsed()
        if state["phase"] is not None:
            late = max(0.0, (now_ns - state["last"]) / 1e6 - interval)
            state["late"].append(late)
            if diagnosis is not None and late > 25:
                rq = diagnosis.runqueue_wait_s()
                diagnosis.explain(state["last_pc"], time.perf_counter(), late, (rq - state["rq"]) * 1000)
        state["last"] = now_ns
        state["last_pc"] = time.perf_counter()
        if diagnosis is not None:
            state["rq"] = diagnosis.runqueue_wait_s()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)

    def report(phase: str) -> None:
        late = sorted(state["late"])
        n = len(late)
        emit({"phase": phase, "ticks": n, "events": state["events"], "rows": model.rowCount(),
              "max_ms": round(late[-1], 2) if n else None,
              "p99_ms": round(late[min(n - 1, int(0.99 * n))], 2) if n else None,
              "p50_ms": round(late[n // 2], 2) if n else None,
              "over_16ms": sum(1 for x in late if x > 16), "over_50ms": sum(1 for x in late if x > 50)})

    def on_line(line: object) -> None:
        if line in ("baseline", "go"):
            state.update(phase=line, late=[], events=0, last=clock.nsecsElapsed())
        elif line == "stop":
            report(str(state["phase"]))
            state["phase"] = None
        elif line is None or line == "quit":
            app.quit()

    class Bridge(QObject):
        line = Signal(object)

    bridge = Bridge()
    bridge.line.connect(on_line)

    def on_loaded() -> None:
        if not clock.isValid():
            clock.start()
            timer.start(interval)
            emit({"ready": time.monotonic(), "rows": model.rowCount()})
            _stdin_lines(bridge.line.emit)

    feed.sig_loaded.connect(on_loaded)
    feed.start()
    session.start_stream(after=cursor)
    app.exec()
    timer.stop()
    session.close()


def model_bench(args: dict) -> None:
    import gc

    from PySide6.QtCore import QCoreApplication

    from workstation.models.queue import QueueFilterProxy, QueueModel, synthetic_entries

    app = QCoreApplication([sys.argv[0]])  # noqa: F841 - the models' timers need one
    n, reps = int(args["rows"]), int(args["reps"])
    keystrokes = args["keystrokes"]

    def ms(t0: float) -> float:
        return (time.perf_counter() - t0) * 1000

    out: dict = {"load_ms": [], "load_entries_built_ms": [], "baseline_sort_ms": [], "keystroke_ms": [],
                 "baseline_scan_ms": [], "first_keystroke_unprepared_ms": [], "prepare_search_ms": [],
                 "first_keystroke_prepared_ms": []}
    for rep in range(reps):
        gc.collect()
        entries = synthetic_entries(n, seed=rep)
        model = QueueModel()
        proxy = QueueFilterProxy()
        proxy.setSourceModel(model)
        t0 = time.perf_counter()
        model.set_entries(entries)  # what a snapshot of n rows costs the model (one reset), proxy attached
        out["load_ms"].append(ms(t0))
        # baseline: the floor of any load, sorting n rows by their key into a new list
        t0 = time.perf_counter()
        keys = [e.sort_key for e in entries]
        order = sorted(range(len(entries)), key=keys.__getitem__)
        _ = [entries[i] for i in order]
        out["baseline_sort_ms"].append(ms(t0))
        # a keystroke straight after the load, before idle time built the search keys (honest cold case)
        t0 = time.perf_counter()
        proxy.set_filter_text(keystrokes[0])
        out["first_keystroke_unprepared_ms"].append(ms(t0))
        proxy.set_filter_text("")
        # the documented path: prepare_search (idle time does it in chunks), then type
        model2 = QueueModel()
        proxy2 = QueueFilterProxy()
        proxy2.setSourceModel(model2)
        model2.set_entries(synthetic_entries(n, seed=rep + 100))
        t0 = time.perf_counter()
        model2.prepare_search()
        out["prepare_search_ms"].append(ms(t0))
        t0 = time.perf_counter()
        proxy2.set_filter_text(keystrokes[0])
        out["first_keystroke_prepared_ms"].append(ms(t0))
        for text in keystrokes[1:]:
            t0 = time.perf_counter()
            proxy2.set_filter_text(text)
            _ = proxy2.rowCount()
            out["keystroke_ms"].append(ms(t0))
        # baseline: the bare substring scan over the same prepared keys (no proxy, no model signals)
        skeys = model2.search_keys()
        for text in keystrokes[1:]:
            t0 = time.perf_counter()
            needle = text.strip().lower()
            _ = [i for i, k in enumerate(skeys) if needle in k] if needle else None
            out["baseline_scan_ms"].append(ms(t0))
        out["rows"] = model2.rowCount()
        del model, proxy, model2, proxy2, entries
    emit(out)


def startup(args: dict) -> None:
    import asyncio

    import qasync
    from PySide6.QtCore import QTimer

    from workstation.services.ops import shutdown_pools
    from workstation.services.settings import WorkstationSettings
    from workstation.ui.app import AppController, create_application

    t_imported = time.monotonic()
    settings = WorkstationSettings.load()
    app = create_application([sys.argv[0]], language="zh_CN")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    controller = AppController(settings=settings, server_url=args["url"], persist_settings=False)
    done = asyncio.Event()
    marks: dict = {"imported": t_imported}

    def loaded() -> None:
        marks.setdefault("loaded", time.monotonic())
        window = controller.window
        marks["rows"] = window.model.rowCount() if window is not None and hasattr(window, "model") else None

        def painted() -> None:  # one more turn of the loop: the view has laid out the rows
            marks["shown"] = time.monotonic()
            emit(marks)
            done.set()
        QTimer.singleShot(0, painted)

    def opened(window) -> None:
        marks["window"] = time.monotonic()
        window.feed.sig_loaded.connect(loaded)

    controller.sig_window_opened.connect(opened)
    controller.start()
    assert controller.signin is not None
    controller.signin.sign_in_with(args["username"], args["password"])
    QTimer.singleShot(int(args.get("timeout_s", 60) * 1000), done.set)
    with loop:
        loop.run_until_complete(done.wait())
    if controller.session is not None:
        controller.session.close()
    shutdown_pools(wait=False)
    os._exit(0)  # the measurement is out; do not time the teardown


def main() -> None:
    mode = sys.argv[1]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    {"latency": latency, "stall": stall, "model": model_bench, "startup": startup}[mode](args)


if __name__ == "__main__":
    main()
