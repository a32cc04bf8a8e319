"""Who is acting: carried from the request into every audit entry and event."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # account | staff | system | gateway | anonymous
    id: int | None = None
    role: str | None = None  # for staff: doctor | pharmacist | clerk | admin
    client: str = ""  # client address, for the audit log and rate limits


SYSTEM = Actor("system")
