"""A guard against a reference-counting bug in some PySide6 releases (seen in 6.12.0).

``SignalInstance.emit()`` and ``SignalInstance.disconnect()`` return ``True``/``False`` without taking a
reference to it, so every call takes one reference away from Python's ``True`` (or ``False``). After a few
thousand emits ``True`` is "freed" and the interpreter aborts ("Fatal Python error: bool_dealloc") — in the
middle of a workday, for a queue receiving events. The guard is applied once, on import, and only when a probe
shows the installed PySide6 has the bug: it gives back the missing reference after each call.
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


def install() -> dict[str, bool]:
    """Probe and patch (idempotent). Returns which methods were patched."""
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
    for name, leaking in applied.items():
        if leaking:
            _patch(name)
    return applied


install()
