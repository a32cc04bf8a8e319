"""The pharmacist's lists (审方): the review queue, the prescriptions waiting to be dispensed, today's done work.

One :class:`ReviewListModel` per list; each holds the prescriptions whose status is in its ``statuses`` and keeps
them sorted (the review queue: oldest signed first, so nobody waits behind a newcomer; the other lists: the
newest action first). Stream events (``prescription.*``, payload ``{prescription_id, appointment_id, no, status,
patient_name}``) move a prescription in or out row by row: a ``signed`` one appears, one approved, returned or
voided at any desk disappears. A row born from an event knows only what the payload says; the model asks for the
rest with ``sig_details_needed`` (the feed fetches ``GET /staff/prescriptions/{id}`` and calls :meth:`fill`).

Nothing here touches the network or a widget (services/review_feed.py feeds it).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from workstation.models.queue import TZ, parse_time
from workstation.models.sorted_rows import SortedRowsModel

Index = QModelIndex | QPersistentModelIndex

REVIEW_STATUSES = frozenset({"signed"})
DISPENSE_STATUSES = frozenset({"paid"})
DONE_STATUSES = frozenset({"approved", "issued", "returned", "fulfilment_chosen", "paid", "dispensed", "shipped"})
# the moment each status was reached (what "done today" sorts and filters by)
STATUS_TIME_FIELD = {
    "signed": "signed_at", "approved": "approved_at", "issued": "approved_at", "returned": "returned_at",
    "fulfilment_chosen": "approved_at", "paid": "paid_at", "dispensed": "dispensed_at", "shipped": "shipped_at",
    "voided": "voided_at",
}
OVERRIDE_FLAG = "⚠"


def status_label(status: str) -> str:
    labels = {
        "draft": QCoreApplication.translate("ReviewListModel", "Draft"),
        "signed": QCoreApplication.translate("ReviewListModel", "Awaiting review"),
        "approved": QCoreApplication.translate("ReviewListModel", "Approved"),
        "issued": QCoreApplication.translate("ReviewListModel", "Approved"),
        "returned": QCoreApplication.translate("ReviewListModel", "Returned"),
        "fulfilment_chosen": QCoreApplication.translate("ReviewListModel", "Awaiting payment"),
        "paid": QCoreApplication.translate("ReviewListModel", "Paid, to dispense"),
        "dispensed": QCoreApplication.translate("ReviewListModel", "Dispensed"),
        "shipped": QCoreApplication.translate("ReviewListModel", "Shipped"),
        "expired": QCoreApplication.translate("ReviewListModel", "Expired"),
        "voided": QCoreApplication.translate("ReviewListModel", "Voided"),
    }
    return labels.get(status, status)


def sex_label(sex: str | None) -> str:
    return {"male": QCoreApplication.translate("ReviewListModel", "Male"),
            "female": QCoreApplication.translate("ReviewListModel", "Female")}.get(sex or "", "")


def waiting_text(minutes: int) -> str:
    if minutes < 1:
        return QCoreApplication.translate("ReviewListModel", "just now")
    if minutes < 60:
        return QCoreApplication.translate("ReviewListModel", "%n min", "", minutes)
    if minutes >= 24 * 60:
        return QCoreApplication.translate("ReviewListModel", "%n d", "days", minutes // (24 * 60))
    return QCoreApplication.translate("ReviewListModel", "%1 h %2 min") \
        .replace("%1", str(minutes // 60)).replace("%2", str(minutes % 60))


@dataclass(slots=True, eq=False)
class RxEntry:
    """One prescription in a list. ``rx`` is the full ``Prescription`` once known (None while only an event's
    payload is)."""

    rx_id: int
    status: str
    patient_name: str
    no: str = ""
    appointment_id: int | None = None
    sex: str | None = None
    age: int | None = None
    doctor_name: str = ""
    department: str = ""
    signed_at: dt.datetime | None = None
    status_at: dt.datetime | None = None  # when the current status was reached
    overridden: int = 0  # findings the doctor overrode (the pharmacist looks at those first)
    amount_fen: int | None = None
    fulfilment: str | None = None  # pickup | delivery
    rx: dict[str, Any] | None = field(default=None, repr=False)
    pending: str | None = None  # an action of this desk on its way (approve | return | dispense)

    @classmethod
    def from_api(cls, rx: dict[str, Any]) -> RxEntry:
        patient = rx.get("patient") or {}
        doctor = rx.get("doctor") or {}
        status = str(rx.get("status") or "")
        findings = rx.get("findings") or []
        fulfilment = rx.get("fulfilment") or None
        time_field = STATUS_TIME_FIELD.get(status)
        status_at = parse_time(rx.get(time_field)) if time_field else None
        if status == "issued":
            status_at = parse_time(rx.get("issued_at")) or status_at
        return cls(rx_id=int(rx["id"]), status=status, patient_name=str(patient.get("name") or ""),
                   no=str(rx.get("no") or ""), appointment_id=rx.get("appointment_id"), sex=patient.get("sex"),
                   age=patient.get("age"), doctor_name=str(doctor.get("name") or ""),
                   department=str(rx.get("department") or ""), signed_at=parse_time(rx.get("signed_at")),
                   status_at=status_at, overridden=sum(1 for f in findings if f.get("overridden")),
                   amount_fen=rx.get("amount_fen"),
                   fulfilment=fulfilment.get("method") if isinstance(fulfilment, dict) else None, rx=rx)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RxEntry:
        p = event.get("payload") or {}
        at = parse_time(event.get("at"))
        status = str(p.get("status") or "")
        return cls(rx_id=int(p.get("prescription_id") or event["object_id"]), status=status,
                   patient_name=str(p.get("patient_name") or ""), no=str(p.get("no") or ""),
                   appointment_id=p.get("appointment_id"), signed_at=at if status == "signed" else None,
                   status_at=at)

    @property
    def complete(self) -> bool:
        return self.rx is not None

    def waiting_minutes(self, now: dt.datetime) -> int:
        if self.signed_at is None:
            return 0
        return max(0, int((now - self.signed_at).total_seconds() // 60))


class ReviewListModel(SortedRowsModel):
    """Prescriptions of some statuses, sorted, with row-level updates from the stream."""

    COL_PATIENT, COL_DOCTOR, COL_DEPARTMENT, COL_SIGNED, COL_WAITING, COL_FLAG = range(6)
    # the other lists show the status and its time instead of the waiting clock
    COL_STATUS = COL_WAITING
    COL_AT = COL_SIGNED

    def __init__(self, *, statuses: Iterable[str], newest_first: bool = False, today_only: bool = False,
                 clock: Any = None, parent: QObject | None = None) -> None:
        statuses = frozenset(statuses)
        # sig_details_needed(rx id): a row born from an event lacks the prescription
        super().__init__(clock=clock, waiting_clock=statuses == REVIEW_STATUSES, parent=parent)
        self.statuses = statuses
        self.newest_first = newest_first
        self.today_only = today_only
        self.review = self.statuses == REVIEW_STATUSES

    # --- reading ---------------------------------------------------------------------------------------------

    def day_start(self) -> dt.datetime:
        """Midnight of today in the hospital's zone (what "done today" asks the server for)."""
        return dt.datetime.combine(self.now().astimezone(TZ).date(), dt.time(0), tzinfo=TZ)

    # --- sorting ---------------------------------------------------------------------------------------------

    def _id_of(self, e: RxEntry) -> int:
        return e.rx_id

    def _waiting_column(self) -> int:
        return self.COL_WAITING

    def _key(self, e: RxEntry) -> tuple[Any, ...]:
        if self.newest_first:
            at = e.status_at or e.signed_at
            stamp = at.timestamp() if at is not None else float("inf")
            return (-stamp, -e.rx_id)
        at = e.signed_at or e.status_at
        return (at.timestamp() if at is not None else float("inf"), e.rx_id)

    def _accepts(self, e: RxEntry) -> bool:
        if e.status not in self.statuses:
            return False
        if self.today_only:
            at = e.status_at or e.signed_at
            return at is None or at.astimezone(TZ).date() == self.now().date()
        return True

    # --- changing --------------------------------------------------------------------------------------------

    def load_api_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """A snapshot from the server (one or several status queries): replaces everything."""
        entries: dict[int, RxEntry] = {}
        for row in rows:
            e = RxEntry.from_api(row)
            if self._accepts(e):
                entries[e.rx_id] = e
        self._reset(entries.values())

    def apply_event(self, event: dict[str, Any]) -> bool:
        """A ``prescription.*`` stream event; True when the list changed."""
        if event.get("object_type") != "prescription" or not str(event.get("kind", "")).startswith("prescription."):
            return False
        fresh = RxEntry.from_event(event)
        known = self._by_id.get(fresh.rx_id)
        if not self._accepts(fresh):
            return self._remove(fresh.rx_id)
        if known is not None:
            if known.status == fresh.status:
                return False
            known.status, known.status_at = fresh.status, fresh.status_at or known.status_at
            known.pending = None
            self._reposition(known)
            self.sig_details_needed.emit(known.rx_id)
            return True
        self._insert(fresh)
        self.sig_details_needed.emit(fresh.rx_id)
        return True

    def apply_rx(self, rx: dict[str, Any]) -> bool:
        """A whole ``Prescription`` (an action's answer, a detail fetch): in, updated or out."""
        fresh = RxEntry.from_api(rx)
        known = self._by_id.get(fresh.rx_id)
        if not self._accepts(fresh):
            return self._remove(fresh.rx_id)
        if known is None:
            self._insert(fresh)
            return True
        self._fill_entry(known, fresh)
        return True

    def fill(self, rx: dict[str, Any]) -> None:
        """The details of a row born from an event (only for one still listed, and not going back in time)."""
        known = self._by_id.get(int(rx["id"]))
        if known is None:
            return
        fresh = RxEntry.from_api(rx)
        if not self._accepts(fresh):
            self._remove(fresh.rx_id)
            return
        self._fill_entry(known, fresh)

    # --- Qt model --------------------------------------------------------------------------------------------

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 6

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if self.review:
            names = (QCoreApplication.translate("ReviewListModel", "Patient", "column"),
                     QCoreApplication.translate("ReviewListModel", "Doctor", "column"),
                     QCoreApplication.translate("ReviewListModel", "Department", "column"),
                     QCoreApplication.translate("ReviewListModel", "Signed", "column"),
                     QCoreApplication.translate("ReviewListModel", "Waiting", "column"), "")
        else:
            names = (QCoreApplication.translate("ReviewListModel", "Patient", "column"),
                     QCoreApplication.translate("ReviewListModel", "Doctor", "column"),
                     QCoreApplication.translate("ReviewListModel", "Department", "column"),
                     QCoreApplication.translate("ReviewListModel", "Time", "column"),
                     QCoreApplication.translate("ReviewListModel", "Status", "column"), "")
        return names[section] if 0 <= section < len(names) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e = self._entries[index.row()]
        col = index.column()
        if role == self.EntryRole:
            return e
        if role == self.IdRole:
            return e.rx_id
        if role == self.PendingRole:
            return e.pending
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(e, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_FLAG and e.overridden:
                return QCoreApplication.translate("ReviewListModel",
                                                  "The doctor overrode %n check(s): read the reasons", "",
                                                  e.overridden)
            if col == self.COL_PATIENT and e.no:
                return e.no
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if e.pending:
                return QColor("#8a949e")
            if col == self.COL_FLAG and e.overridden:
                return QColor("#b45309")
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (self.COL_SIGNED, self.COL_WAITING, self.COL_FLAG):
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, e: RxEntry, col: int) -> str:
        if col == self.COL_PATIENT:
            parts = [e.patient_name]
            age = "" if e.age is None else QCoreApplication.translate("ReviewListModel", "%n y", "age", e.age)
            demo = " ".join(p for p in (sex_label(e.sex), age) if p)
            if demo:
                parts.append(demo)
            return "  ".join(parts)
        if col == self.COL_DOCTOR:
            return e.doctor_name
        if col == self.COL_DEPARTMENT:
            return e.department
        if col == self.COL_SIGNED:
            at = e.signed_at if self.review else (e.status_at or e.signed_at)
            if at is None:
                return ""
            at = at.astimezone(TZ)
            return at.strftime("%H:%M") if at.date() == self.now().date() else at.strftime("%m-%d %H:%M")
        if col == self.COL_WAITING:
            if self.review:
                if e.pending:
                    return QCoreApplication.translate("ReviewListModel", "sending…")
                return waiting_text(e.waiting_minutes(self.now()))
            if e.pending:
                return QCoreApplication.translate("ReviewListModel", "sending…")
            text = status_label(e.status)
            if e.status == "paid" and e.fulfilment:
                text += " · " + (QCoreApplication.translate("ReviewListModel", "pickup")
                                 if e.fulfilment == "pickup"
                                 else QCoreApplication.translate("ReviewListModel", "delivery"))
            return text
        if col == self.COL_FLAG:
            return OVERRIDE_FLAG if e.overridden else ""
        return ""
