"""Guards against reference-counting bugs in some PySide6 releases (seen in 6.12.0 on Python 3.11).

- ``SignalInstance.emit()`` and ``SignalInstance.disconnect()`` return ``True``/``False`` without taking a
  reference to it, so every call takes one reference away from Python's ``True`` (or ``False``). After a few
  thousand emits ``True`` is "freed" and the interpreter aborts ("Fatal Python error: bool_dealloc") — in the
  middle of a workday, for a queue receiving events. Patched: the missing reference is given back after each call.
- Every wrapped method that returns nothing (``QWidget.update``, ``QPainter.fillRect``, ``QTimer.start``, which
  qasync calls for each callback) returns ``None`` without its reference: one reference lost per call, hundreds a
  second during a video call, and Python 3.11 aborts when ``None``'s count reaches zero ("none_dealloc"), within
  a minute or two of a call (found by the video_call benchmark). Too many methods to wrap: ``None`` is given
  2**40 extra references once (it is never freed anyway; Python 3.12 makes it immortal the same way).

Each guard is applied once, on import, and only when a probe shows the installed PySide6 has the bug.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBES = 16

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

applied: dict[str, bool] = {}


class _Probe(QObject):
    sig = Signal(int)


def _bool_refs() -> int:
    return sys.getrefcount(True) + sys.getrefcount(False)


def _leaks(call: Any) -> bool:
    before = _bool_refs()
    for _ in range(PROBES):
        call()
    return _bool_refs() <= before - PROBES // 2


def _patch(name: str) -> None:
    original = getattr(SignalInstance, name)

    def fixed(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result is True or result is False:
            _incref(result)  # the reference the C++ side forgot to take
        return result

    fixed.__name__ = name
    fixed.__doc__ = original.__doc__
    setattr(SignalInstance, name, fixed)


IMMORTAL = 1 << 40


def _guard_none() -> bool:
    """Probe a void method; if it loses references to ``None``, make ``None`` effectively immortal."""
    if sys.version_info >= (3, 12) or sys.getrefcount(None) > IMMORTAL // 2:  # immortal already, or guarded
        return False
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")  # a void method
    if sys.getrefcount(None) > before - PROBES // 2:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += IMMORTAL  # ob_refcnt, the first field of every object
    return True


def install() -> dict[str, bool]:
    """Probe and patch (idempotent). Returns which guards were applied (``emit``, ``disconnect``, ``none``)."""
    if applied:
        return applied
    probe = _Probe()

    def slot(_: int) -> None:
        pass

    def reconnect() -> None:
        probe.sig.connect(slot)
        probe.sig.disconnect(slot)

    applied["emit"] = _leaks(lambda: probe.sig.emit(1))
    applied["disconnect"] = _leaks(reconnect)
    for name, leaking in list(applied.items()):
        if leaking:
            _patch(name)
    applied["none"] = _guard_none()
    return applied


install()
