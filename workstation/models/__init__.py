"""Item models of the workstation (QtCore only)."""
from workstation.services import qtfix as _qtfix  # noqa: F401 - before any signal is emitted (see qtfix.py)
