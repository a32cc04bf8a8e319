"""Money as the window shows and exports it: integer fen from the API, yuan with two decimals on screen.

Formatted with integer arithmetic (never a float), so ¥0.10 + ¥0.20 is never ¥0.30000000000000004 and a total
of a thousand rows is exact to the fen. Pure Python: used by the models, the windows and the CSV export.
"""
from __future__ import annotations

from typing import Any


def yuan_text(fen: Any) -> str:
    """``3000`` → ``"30.00"``, ``-5`` → ``"-0.05"``; ``None`` → ``""``."""
    if fen is None or fen == "":
        return ""
    value = int(fen)
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan(fen: Any) -> str:
    """``3000`` → ``"¥30.00"`` (what a clerk reads aloud to a patient); ``None`` → ``""``."""
    text = yuan_text(fen)
    if not text:
        return ""
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"
