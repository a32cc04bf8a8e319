"""The refund clerk's lists: the applications queue (退号申请), the exception list (退款异常), the search
results (orders) and the day's reconciliation tables.

:class:`RefundListModel` holds refunds (``RefundPublic`` of docs/api-contract.md "Refunds") of one kind and
keeps them sorted — the applications oldest first, so nobody waits behind a newcomer; the exceptions newest
change first. Money events (``refund.*`` on the ``money`` topic, payload ``{refund_id, out_refund_no,
out_trade_no, amount_fen, path, status, gateway_status, appointment_id, prescription_id}``) move a refund in or
out row by row: an application appears when a patient applies and leaves when any desk approves or rejects it;
an ABNORMAL or CLOSED refund appears, and leaves once it is sent again. A row born from an event knows only what
the payload says; the model asks for the rest with ``sig_details_needed`` (the feed fetches
``GET /staff/refunds/{id}`` and calls :meth:`RefundListModel.fill`).

Nothing here touches the network or a widget (services/refund_feed.py feeds it; ui/refunds shows it).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from workstation.models.money import yuan
from workstation.models.queue import TZ, parse_time
from workstation.models.review import waiting_text
from workstation.models.sorted_rows import SortedRowsModel

Index = QModelIndex | QPersistentModelIndex

APPLICATIONS = "applications"
EXCEPTIONS = "exceptions"
# refund statuses whose money is still on its way (the order's "refunding" amount)
LIVE_STATUSES = frozenset({"requested", "approved", "processing", "failed"})
# a receipt is printed for a refund the hospital has sent to the gateway or that has arrived
RECEIPT_STATUSES = frozenset({"processing", "refunded"})


# a literal context in every call: lupdate reads these calls, not a wrapper's
translate = QCoreApplication.translate


# --- labels (the server sends Chinese labels too; these follow the workstation's language) ------------------


def refund_status_label(status: str, fallback: str = "") -> str:
    labels = {
        "requested": translate("RefundModels", "Awaiting review"),
        "approved": translate("RefundModels", "Approved"),
        "rejected": translate("RefundModels", "Rejected"),
        "processing": translate("RefundModels", "Refunding"),
        "refunded": translate("RefundModels", "Refunded"),
        "failed": translate("RefundModels", "Refund failed"),
        "closed": translate("RefundModels", "Refund closed"),
    }
    return labels.get(status, fallback or status)


def refund_path_label(path: str, fallback: str = "") -> str:
    labels = {
        "cancel": translate("RefundModels", "Cancelled before the visit"),
        "application": translate("RefundModels", "Patient's application"),
        "window": translate("RefundModels", "Window refund"),
        "clinic_stop": translate("RefundModels", "Clinic stopped"),
        "slot_unavailable": translate("RefundModels", "Visit could not take place"),
        "drug": translate("RefundModels", "Drug fee refund"),
    }
    return labels.get(path, fallback or path)


def order_refund_label(refund_status: str | None, fallback: str = "") -> str:
    """An order's (appointment's or prescription's) refund state: 审核中 / 退费中 / 已退费 / 申请未通过."""
    if not refund_status:
        return ""
    labels = {
        "reviewing": translate("RefundModels", "Application under review"),
        "refunding": translate("RefundModels", "Refunding"),
        "refunded": translate("RefundModels", "Refunded"),
        "rejected": translate("RefundModels", "Application rejected"),
    }
    return labels.get(refund_status, fallback or refund_status)


def purpose_label(purpose: str) -> str:
    labels = {"consultation": translate("RefundModels", "Consultation fee"),
              "drug": translate("RefundModels", "Drug fee")}
    return labels.get(purpose, purpose)


def appointment_status_label(status: str, fallback: str = "") -> str:
    labels = {
        "pending_payment": translate("RefundModels", "Awaiting payment"),
        "booked": translate("RefundModels", "Booked"),
        "checked_in": translate("RefundModels", "Checked in"),
        "waiting": translate("RefundModels", "Waiting for the doctor"),
        "in_consultation": translate("RefundModels", "In consultation"),
        "completed": translate("RefundModels", "Visit finished"),
        "missed": translate("RefundModels", "Missed"),
        "cancelled": translate("RefundModels", "Cancelled"),
        "cancelled_by_hospital": translate("RefundModels", "Cancelled by the hospital"),
        "expired": translate("RefundModels", "Expired"),
    }
    return labels.get(status, fallback or status)


def prescription_status_label(status: str, fallback: str = "") -> str:
    labels = {
        "paid": translate("RefundModels", "Paid, not dispensed"),
        "dispensed": translate("RefundModels", "Dispensed"),
        "shipped": translate("RefundModels", "Shipped"),
        "refunded": translate("RefundModels", "Drug fee refunded"),
        "fulfilment_chosen": translate("RefundModels", "Awaiting payment"),
        "issued": translate("RefundModels", "Issued"),
        "expired": translate("RefundModels", "Expired"),
        "voided": translate("RefundModels", "Voided"),
    }
    return labels.get(status, fallback or status)


def payment_state_label(amount_fen: int, refunded_fen: int) -> str:
    if refunded_fen <= 0:
        return translate("RefundModels", "Paid")
    if refunded_fen >= amount_fen:
        return translate("RefundModels", "Refunded in full")
    return translate("RefundModels", "Partly refunded")


def column_name(key: str) -> str:
    """Every table header of the clerk's window ("column" tells a header from a status of the same words)."""
    names = {
        "waiting": translate("RefundModels", "Waiting", "column"),
        "patient": translate("RefundModels", "Patient", "column"),
        "mobile": translate("RefundModels", "Mobile", "column"),
        "fee": translate("RefundModels", "Fee", "column"),
        "appointment": translate("RefundModels", "Appointment no.", "column"),
        "doctor": translate("RefundModels", "Doctor · department", "column"),
        "visit": translate("RefundModels", "Visit time", "column"),
        "amount": translate("RefundModels", "Amount", "column"),
        "reason": translate("RefundModels", "Patient's reason", "column"),
        "changed": translate("RefundModels", "Changed", "column"),
        "created": translate("RefundModels", "Created", "column"),
        "refund_no": translate("RefundModels", "Refund no.", "column"),
        "trade_no": translate("RefundModels", "Order no.", "column"),
        "path": translate("RefundModels", "Refund type", "column"),
        "status": translate("RefundModels", "Status", "column"),
        "error": translate("RefundModels", "Gateway's answer", "column"),
        "paid": translate("RefundModels", "Paid", "column"),
        "paid_at": translate("RefundModels", "Paid at", "column"),
        "refunded": translate("RefundModels", "Refunded", "column"),
        "refunded_at": translate("RefundModels", "Refunded at", "column"),
        "refundable": translate("RefundModels", "Refundable", "column"),
        "refund": translate("RefundModels", "Refund", "column"),
        "reviewer": translate("RefundModels", "Handled by", "column"),
    }
    return names.get(key, key)


def gateway_status_label(gateway_status: str) -> str:
    """The payment gateway's word on a refund (WeChat Pay's refund_status), for the clerk."""
    labels = {
        "": translate("RefundModels", "Not yet accepted"),
        "PROCESSING": translate("RefundModels", "Processing"),
        "SUCCESS": translate("RefundModels", "Paid back"),
        "ABNORMAL": translate("RefundModels", "Abnormal: could not be paid back"),
        "CLOSED": translate("RefundModels", "Closed"),
    }
    return labels.get(gateway_status, gateway_status)


def gateway_answer(r: dict[str, Any]) -> str:
    """What went wrong with a refund, in the clerk's words when the gateway said no more than its status."""
    if r.get("last_error"):
        return str(r["last_error"])
    if r.get("status") == "closed" or r.get("gateway_status") == "CLOSED":
        return translate("RefundModels", "The gateway closed the refund: send it again under a new number")
    if r.get("status") == "failed" or r.get("gateway_status") == "ABNORMAL":
        return translate("RefundModels", "The gateway could not pay it back (e.g. the patient's card or account)")
    return str(r.get("gateway_status") or "")


def short_time(value: Any, *, today: dt.date | None = None) -> str:
    """``09:30`` today, ``05-01 09:30`` another day of this year, ``2025-12-30 09:30`` otherwise."""
    t = parse_time(value)
    if t is None:
        return ""
    t = t.astimezone(TZ)
    today = today or dt.datetime.now(TZ).date()
    if t.date() == today:
        return t.strftime("%H:%M")
    if t.year == today.year:
        return t.strftime("%m-%d %H:%M")
    return t.strftime("%Y-%m-%d %H:%M")


def full_time(value: Any) -> str:
    t = parse_time(value)
    return "" if t is None else t.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


# --- one refund -------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class RefundEntry:
    """One refund in a list. ``refund`` is the whole ``RefundPublic`` once known (None while only an event's
    payload is)."""

    refund_id: int
    status: str
    path: str
    amount_fen: int = 0
    out_refund_no: str = ""
    out_trade_no: str = ""
    appointment_id: int | None = None
    prescription_id: int | None = None
    patient_name: str = ""
    appointment_number: str = ""
    doctor_name: str = ""
    department_name: str = ""
    starts_at: dt.datetime | None = None
    reason: str = ""
    last_error: str = ""
    gateway_status: str = ""
    status_label: str = ""
    path_label: str = ""
    retry_of_id: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    refund: dict[str, Any] | None = field(default=None, repr=False)
    pending: str | None = None  # an action of this desk on its way (approve | reject | retry)

    @classmethod
    def from_api(cls, r: dict[str, Any]) -> RefundEntry:
        return cls(refund_id=int(r["id"]), status=str(r.get("status") or ""), path=str(r.get("path") or ""),
                   amount_fen=int(r.get("amount_fen") or 0), out_refund_no=str(r.get("out_refund_no") or ""),
                   out_trade_no=str(r.get("out_trade_no") or ""), appointment_id=r.get("appointment_id"),
                   prescription_id=r.get("prescription_id"), patient_name=str(r.get("patient_name") or ""),
                   appointment_number=str(r.get("appointment_number") or ""),
                   doctor_name=str(r.get("doctor_name") or ""),
                   department_name=str(r.get("department_name") or ""),
                   starts_at=parse_time(r.get("starts_at")), reason=str(r.get("reason") or ""),
                   last_error=str(r.get("last_error") or ""),
                   gateway_status=str(r.get("gateway_status") or ""),
                   status_label=str(r.get("status_label") or ""), path_label=str(r.get("path_label") or ""),
                   retry_of_id=r.get("retry_of_id"), created_at=parse_time(r.get("created_at")),
                   updated_at=parse_time(r.get("updated_at")), refund=r)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RefundEntry:
        p = event.get("payload") or {}
        at = parse_time(event.get("at"))
        status = str(p.get("status") or "")
        return cls(refund_id=int(p.get("refund_id") or event["object_id"]), status=status,
                   path=str(p.get("path") or ""), amount_fen=int(p.get("amount_fen") or 0),
                   out_refund_no=str(p.get("out_refund_no") or ""),
                   out_trade_no=str(p.get("out_trade_no") or ""),
                   appointment_id=p.get("appointment_id"), prescription_id=p.get("prescription_id"),
                   gateway_status=str(p.get("gateway_status") or ""),
                   created_at=at if status == "requested" else None, updated_at=at)

    @property
    def complete(self) -> bool:
        return self.refund is not None

    def waiting_minutes(self, now: dt.datetime) -> int:
        if self.created_at is None:
            return 0
        return max(0, int((now - self.created_at).total_seconds() // 60))

    @property
    def doctor_text(self) -> str:
        return " · ".join(x for x in (self.doctor_name, self.department_name) if x)


class KeyedColumns:
    """The columns of a table named by keys (``columns``, in display order), headed by :func:`column_name`.

    A mixin for the Qt models below (put before the Qt base class).
    """

    columns: tuple[str, ...]

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.columns):
            return None
        return column_name(self.columns[section])


def is_refund_event(event: dict[str, Any]) -> bool:
    return event.get("object_type") == "refund" and str(event.get("kind", "")).startswith("refund.")


class RefundListModel(KeyedColumns, SortedRowsModel):
    """The applications queue or the exception list, sorted, with row-level updates from the money events."""

    # column keys per kind, in display order
    APPLICATION_COLUMNS = ("waiting", "patient", "appointment", "doctor", "visit", "amount", "reason")
    EXCEPTION_COLUMNS = ("changed", "patient", "refund_no", "path", "amount", "status", "error")

    def __init__(self, *, kind: str, clock: Callable[[], dt.datetime] | None = None,
                 parent: QObject | None = None) -> None:
        if kind not in (APPLICATIONS, EXCEPTIONS):
            raise ValueError(f"unknown refund list {kind!r}")
        # sig_details_needed(refund id): a row born from an event, or one that may retry one here
        super().__init__(clock=clock, waiting_clock=kind == APPLICATIONS, parent=parent)
        self.kind = kind
        self.columns = self.APPLICATION_COLUMNS if kind == APPLICATIONS else self.EXCEPTION_COLUMNS
        self._retried: set[int] = set()  # closed refunds already sent again under a new number

    def col(self, key: str) -> int:
        return self.columns.index(key)

    # --- reading ---------------------------------------------------------------------------------------------

    def total_fen(self) -> int:
        return sum(e.amount_fen for e in self._entries)

    # --- what belongs here -----------------------------------------------------------------------------------

    def _id_of(self, e: RefundEntry) -> int:
        return e.refund_id

    def _waiting_column(self) -> int:
        return self.col("waiting")

    def _key(self, e: RefundEntry) -> tuple[Any, ...]:
        if self.kind == APPLICATIONS:
            at = e.created_at or e.updated_at
            return (at.timestamp() if at is not None else float("inf"), e.refund_id)
        at = e.updated_at or e.created_at
        return (-(at.timestamp()) if at is not None else float("-inf"), -e.refund_id)

    def accepts(self, e: RefundEntry) -> bool:
        if self.kind == APPLICATIONS:
            return e.status == "requested" and e.path == "application"
        return e.status == "failed" or (e.status == "closed" and e.refund_id not in self._retried)

    def _learn(self, e: RefundEntry) -> None:
        """A refund that is the retry of a closed one takes that one off the exception list."""
        if e.retry_of_id is not None and self.kind == EXCEPTIONS:
            self._retried.add(int(e.retry_of_id))
            self._remove(int(e.retry_of_id))

    # --- changing --------------------------------------------------------------------------------------------

    def load_api_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """A snapshot from the server: replaces everything."""
        fresh = [RefundEntry.from_api(r) for r in rows]
        if self.kind == EXCEPTIONS:
            self._retried |= {int(e.retry_of_id) for e in fresh if e.retry_of_id is not None}
        pending = {e.refund_id: e.pending for e in self._entries if e.pending}
        entries: dict[int, RefundEntry] = {}
        for e in fresh:
            if self.accepts(e):
                e.pending = pending.get(e.refund_id)
                entries[e.refund_id] = e
        self._reset(entries.values())

    def apply_event(self, event: dict[str, Any]) -> bool:
        """A ``refund.*`` money event; True when the list changed."""
        if not is_refund_event(event):
            return False
        fresh = RefundEntry.from_event(event)
        known = self._by_id.get(fresh.refund_id)
        if not self.accepts(fresh):
            if known is None and self._may_retry_one_here(fresh):
                self.sig_details_needed.emit(fresh.refund_id)  # its retry_of_id says which one it replaces
            return self._remove(fresh.refund_id)
        if known is not None:
            if known.status == fresh.status and known.gateway_status == fresh.gateway_status:
                return False
            known.status = fresh.status
            known.gateway_status = fresh.gateway_status or known.gateway_status
            known.updated_at = fresh.updated_at or known.updated_at
            known.pending = None
            self._reposition(known)
            self.sig_details_needed.emit(known.refund_id)
            return True
        self._insert(fresh)
        self.sig_details_needed.emit(fresh.refund_id)
        return True

    def _may_retry_one_here(self, e: RefundEntry) -> bool:
        return self.kind == EXCEPTIONS and e.status in LIVE_STATUSES | {"refunded"} and any(
            x.status == "closed" and x.out_trade_no == e.out_trade_no for x in self._entries)

    def apply_refund(self, refund: dict[str, Any]) -> bool:
        """A whole ``RefundPublic`` (an action's answer, a detail fetch): in, updated or out."""
        fresh = RefundEntry.from_api(refund)
        self._learn(fresh)
        known = self._by_id.get(fresh.refund_id)
        if not self.accepts(fresh):
            return self._remove(fresh.refund_id)
        if known is None:
            self._insert(fresh)
            return True
        self._fill_entry(known, fresh)
        return True

    def fill(self, refund: dict[str, Any]) -> None:
        """The details of a row born from an event (only for one still listed)."""
        fresh = RefundEntry.from_api(refund)
        self._learn(fresh)
        known = self._by_id.get(fresh.refund_id)
        if known is None:
            return
        if not self.accepts(fresh):
            self._remove(fresh.refund_id)
            return
        self._fill_entry(known, fresh)

    # --- Qt model --------------------------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e = self._entries[index.row()]
        key = self.columns[index.column()] if 0 <= index.column() < len(self.columns) else ""
        if role == self.EntryRole:
            return e
        if role == self.IdRole:
            return e.refund_id
        if role == self.PendingRole:
            return e.pending
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(e, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key in ("reason", "error"):
                text = e.reason if key == "reason" else self._error_text(e)
                return text or None
            if key == "patient" and e.out_refund_no:
                return e.out_refund_no
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if e.pending:
                return QColor("#8a949e")
            if key == "waiting" and e.waiting_minutes(self.now()) >= 24 * 60:
                return QColor("#b42318")  # a day or more: the patient has waited too long
            if key == "status":
                return QColor("#b42318")
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key == "amount":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if key in ("waiting", "visit", "changed"):
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _error_text(self, e: RefundEntry) -> str:
        return gateway_answer(e.refund or {"last_error": e.last_error, "status": e.status,
                                           "gateway_status": e.gateway_status})

    def _display(self, e: RefundEntry, key: str) -> str:
        today = self.now().astimezone(TZ).date()
        if key == "waiting":
            if e.pending:
                return translate("RefundModels", "sending…")
            return waiting_text(e.waiting_minutes(self.now()))
        if key == "patient":
            return e.patient_name
        if key == "appointment":
            return e.appointment_number
        if key == "doctor":
            return e.doctor_text
        if key == "visit":
            return short_time(e.starts_at, today=today)
        if key == "amount":
            return yuan(e.amount_fen)
        if key == "reason":
            return " ".join(e.reason.split())
        if key == "changed":
            return short_time(e.updated_at or e.created_at, today=today)
        if key == "refund_no":
            return e.out_refund_no
        if key == "path":
            return refund_path_label(e.path, e.path_label)
        if key == "status":
            if e.pending:
                return translate("RefundModels", "sending…")
            return refund_status_label(e.status, e.status_label)
        if key == "error":
            return " ".join(self._error_text(e).split())
        return ""


# --- search results ---------------------------------------------------------------------------------------


def order_key(row: dict[str, Any]) -> str:
    """What identifies a search result across searches: its kind and its appointment / prescription
    (``"consultation:12:0"``, ``"drug:12:7"``; a string, so it survives Qt's item data unchanged)."""
    return f"{row.get('kind') or ''}:{int(row.get('appointment_id') or 0)}:{int(row.get('prescription_id') or 0)}"


def refund_amount_of(row: dict[str, Any]) -> int:
    """What a window or drug refund of this order pays back: what is left, or — while the patient's application
    is under review, whose amount is held — that application's amount (the window refund approves it)."""
    left = int(row.get("refundable_fen") or 0)
    if left > 0:
        return left
    for r in row.get("refunds") or []:
        if r.get("status") == "requested" and r.get("path") == "application":
            return int(r.get("amount_fen") or 0)
    return 0


def order_status_text(row: dict[str, Any]) -> str:
    if row.get("kind") == "drug":
        return prescription_status_label(str(row.get("prescription_status") or ""),
                                         str(row.get("prescription_status_label") or ""))
    return appointment_status_label(str(row.get("appointment_status") or ""),
                                    str(row.get("appointment_status_label") or ""))


def order_touched_by(row: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether a money event is about this order (its payment, appointment or prescription)."""
    p = event.get("payload") or {}
    if p.get("out_trade_no") and p.get("out_trade_no") == row.get("out_trade_no"):
        return True
    if row.get("kind") == "drug":
        return bool(p.get("prescription_id")) and p.get("prescription_id") == row.get("prescription_id")
    return bool(p.get("appointment_id")) and p.get("appointment_id") == row.get("appointment_id") \
        and not p.get("prescription_id")


class OrderListModel(KeyedColumns, QAbstractTableModel):
    """The rows of ``GET /staff/orders?q=`` (one per appointment's consultation payment and one per paid
    prescription), as the server ordered them (newest first)."""

    COLUMNS = ("patient", "mobile", "fee", "appointment", "doctor", "visit", "status", "paid", "refunded",
               "refundable", "refund")
    columns = COLUMNS
    KeyRole = Qt.ItemDataRole.UserRole + 1
    RowRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, *, clock: Callable[[], dt.datetime] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock or (lambda: dt.datetime.now(TZ))
        self._rows: list[dict[str, Any]] = []
        self.query = ""

    def col(self, key: str) -> int:
        return self.COLUMNS.index(key)

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def row_at(self, row: int) -> dict[str, Any] | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, key: str) -> int | None:
        for i, r in enumerate(self._rows):
            if order_key(r) == key:
                return i
        return None

    def by_key(self, key: str) -> dict[str, Any] | None:
        i = self.row_of(key)
        return None if i is None else self._rows[i]

    def load(self, query: str, rows: Iterable[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.query = query
        self._rows = list(rows)
        self.endResetModel()

    def update_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """A repeat of the same search (live): rows keep their place when the set is the same, so the
        selection and the scroll position stay; otherwise a reset."""
        fresh = list(rows)
        if [order_key(r) for r in fresh] != [order_key(r) for r in self._rows]:
            self.load(self.query, fresh)
            return
        self._rows = fresh
        if fresh:
            self.dataChanged.emit(self.index(0, 0), self.index(len(fresh) - 1, len(self.COLUMNS) - 1))

    def clear(self) -> None:
        self.load("", [])

    def touched_by(self, event: dict[str, Any]) -> bool:
        return any(order_touched_by(r, event) for r in self._rows)

    # --- Qt model --------------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        key = self.COLUMNS[index.column()] if 0 <= index.column() < len(self.COLUMNS) else ""
        if role == self.KeyRole:
            return order_key(r)
        if role == self.RowRole:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, key)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key in ("paid", "refunded", "refundable"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "refund":
                state = r.get("refund_status")
                return QColor({"refunded": "#1c6b35", "refunding": "#1849a9", "reviewing": "#8a4b00",
                               "rejected": "#b42318"}.get(str(state), "#1f2a33"))
            if key == "refundable" and int(r.get("refundable_fen") or 0) == 0:
                return QColor("#8a949e")
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "appointment" and r.get("out_trade_no"):
                return translate("RefundModels", "Order %1").replace("%1", str(r["out_trade_no"]))
            return None
        return None

    def _display(self, r: dict[str, Any], key: str) -> str:
        today = self._clock().astimezone(TZ).date()
        if key == "patient":
            return str(r.get("patient_name") or "")
        if key == "mobile":
            return str(r.get("mobile_masked") or "")
        if key == "fee":
            return purpose_label("drug" if r.get("kind") == "drug" else "consultation")
        if key == "appointment":
            return str(r.get("appointment_number") or "")
        if key == "doctor":
            return " · ".join(str(x) for x in (r.get("doctor_name"), r.get("department_name")) if x)
        if key == "visit":
            return short_time(r.get("starts_at"), today=today)
        if key == "status":
            return order_status_text(r)
        if key == "paid":
            return yuan(r.get("paid_fen")) if r.get("payment_id") else translate("RefundModels", "Not paid")
        if key == "refunded":
            return yuan(int(r.get("refunded_fen") or 0)) if r.get("payment_id") else ""
        if key == "refundable":
            return yuan(r.get("refundable_fen")) if r.get("payment_id") else ""
        if key == "refund":
            label = order_refund_label(r.get("refund_status"), str(r.get("refund_status_label") or ""))
            refunding = int(r.get("refunding_fen") or 0)
            return f"{label} {yuan(refunding)}" if refunding and label else label
        return ""


# --- an order's refunds, and the reconciliation's tables -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a :class:`RecordsModel`: its key (also its header's, :func:`column_name`) and its text."""

    key: str
    value: Callable[[dict[str, Any]], str]
    align_right: bool = False


def _text(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: str(r.get(name) or "")


def _time(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: full_time(r.get(name))


def _money(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: yuan(r.get(name) or 0)


def _refund_status(r: dict[str, Any]) -> str:
    return refund_status_label(str(r.get("status") or ""), str(r.get("status_label") or ""))


def _refund_path(r: dict[str, Any]) -> str:
    return refund_path_label(str(r.get("path") or ""), str(r.get("path_label") or ""))


def _payment_state(r: dict[str, Any]) -> str:
    return payment_state_label(int(r.get("amount_fen") or 0), int(r.get("refunded_fen") or 0))


# an order's refunds (the search's detail)
ORDER_REFUND_COLUMNS = [
    Column("created", lambda r: short_time(r.get("created_at"))), Column("refund_no", _text("out_refund_no")),
    Column("path", _refund_path), Column("amount", _money("amount_fen"), True),
    Column("status", _refund_status), Column("refunded_at", lambda r: short_time(r.get("refunded_at"))),
    Column("reviewer", _text("reviewer_name")),
]
# the reconciliation's three tables
DAY_REFUND_COLUMNS = [
    Column("created", _time("created_at")), Column("refund_no", _text("out_refund_no")),
    Column("patient", _text("patient_name")), Column("trade_no", _text("out_trade_no")),
    Column("path", _refund_path), Column("amount", _money("amount_fen"), True),
    Column("status", _refund_status), Column("refunded_at", _time("refunded_at")),
]
PAYMENT_COLUMNS = [
    Column("paid_at", _time("paid_at")), Column("trade_no", _text("out_trade_no")),
    Column("fee", lambda r: purpose_label(str(r.get("purpose") or ""))),
    Column("patient", _text("patient_name")),
    Column("appointment", _text("appointment_number")), Column("amount", _money("amount_fen"), True),
    Column("refunded", _money("refunded_fen"), True), Column("status", _payment_state),
]
EXCEPTION_COLUMNS = [
    Column("changed", _time("updated_at")), Column("refund_no", _text("out_refund_no")),
    Column("patient", _text("patient_name")), Column("path", _refund_path),
    Column("amount", _money("amount_fen"), True),
    Column("status", _refund_status), Column("error", gateway_answer),
]


class RecordsModel(QAbstractTableModel):
    """Rows of dicts shown through :class:`Column` specs (an order's refunds; the reconciliation's payments,
    refunds and exceptions)."""

    IdRole = Qt.ItemDataRole.UserRole + 1
    RowRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, columns: list[Column], *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._rows: list[dict[str, Any]] = []

    def col(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def row_at(self, row: int) -> dict[str, Any] | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of_id(self, row_id: Any) -> int | None:
        for i, r in enumerate(self._rows):
            if r.get("id", r.get("payment_id")) == row_id:
                return i
        return None

    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return column_name(self.columns[section].key) if 0 <= section < len(self.columns) else None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        c = self.columns[index.column()]
        if role == self.IdRole:
            return r.get("id", r.get("payment_id"))
        if role == self.RowRole:
            return r
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = c.value(r)
            if role == Qt.ItemDataRole.ToolTipRole:
                return text if c.key in ("error", "patient") and text else None
            return " ".join(text.split())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if c.align_right:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and c.key == "status":
            status = str(r.get("status") or "")
            return QColor({"refunded": "#1c6b35", "processing": "#1849a9", "approved": "#1849a9",
                           "requested": "#8a4b00", "failed": "#b42318", "closed": "#b42318",
                           "rejected": "#5f6b76"}.get(status, "#1f2a33"))
        return None
