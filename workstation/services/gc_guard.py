"""Python's cyclic garbage collection only on the GUI thread.

The collector runs on whichever thread happens to allocate when a generation's threshold is crossed — often a
worker of the network or database pool. If the garbage includes a Qt object (a widget in a reference cycle with
its slots, a model), its C++ destructor then runs on that worker: it takes Qt's connection lock and, inside
PySide's destructor, waits for the GIL, while the GUI thread holds the GIL and waits for the same Qt lock to
connect a signal. Seen in our test run: the doctor's window froze for good while being built after sign-in.

So the workstation turns automatic collection off and collects on the GUI thread, from a timer, with Python's
own thresholds (the widely used remedy for PyQt/PySide applications). Reference counting still frees everything
that is not in a cycle at once, on any thread.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    """Create it on the GUI thread once the application exists; it lives as long as its parent."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.collections = 0  # for tests
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as the automatic collector would."""
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 <= t0:
            return
        generation = 0
        if c1 > t1:
            generation = 2 if c2 > t2 else 1
        gc.collect(generation)
        self.collections += 1

    def stop(self) -> None:
        """Give collection back to Python (e.g. when the application ends)."""
        self._timer.stop()
        gc.enable()
