"""Services of the workstation: no widgets (QtCore only), tested without a screen."""
from workstation.services import qtfix as _qtfix  # noqa: F401 - before any signal is emitted (see qtfix.py)
