"""The doctor's queue: today's checked-in patients, kept current by the event stream.

``QueueModel`` holds one :class:`QueueEntry` per appointment, always sorted as the server sorts it (appointment
time, then who has waited longest, then id). Events change it row by row with the proper begin/end calls (an
insert, a move when the sort position changes, a removal), so the view keeps its selection and scroll position;
only a full reload (sign-in, a stream ``resync``) resets it.

``QueueFilterProxy`` narrows it by what the doctor types: name, pinyin initials (张三 → ``zs``) or number.
It is a ``QAbstractProxyModel`` written for speed rather than a ``QSortFilterProxyModel``: the latter asks
Python once per source row on every keystroke (100,000 calls ≈ 50–130 ms on a modest machine), while this one
filters a list of prepared search keys in one comprehension (≈ 5–15 ms) and keeps an index list.

Nothing here touches the network or the disk; the services feed it (services/queue_feed.py).
"""
from __future__ import annotations

import datetime as dt
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractProxyModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from workstation.models.pinyin import SEPARATOR, SURNAME_INITIALS, initials_variants, many_initials

TZ = ZoneInfo("Asia/Shanghai")
_NO_TIME = dt.datetime.min.replace(tzinfo=TZ)

# the appointment statuses the server's queue holds (server/appointments/service.py QUEUE_STATUSES)
QUEUE_STATUSES = frozenset({"checked_in", "waiting", "in_consultation", "completed", "missed"})

# the badge state of each status (the UI's badge delegate keys on these)
STATE_OF_STATUS = {
    "checked_in": "checked_in",
    "waiting": "waiting",
    "in_consultation": "in_consultation",
    "completed": "finished",
    "missed": "missed",
}
# video-call events that move the "interrupted" badge (a call that ends leaves it as it was: the visit's own
# status events clear it when the visit is over)
CALL_BADGE_EVENTS = {"call.interrupted": True, "call.invited": False, "call.connected": False}

STATES = ("checked_in", "waiting", "in_consultation", "interrupted", "finished", "missed")

_STATE_TEXT = {
    "checked_in": QT_TRANSLATE_NOOP("QueueModel", "Checked in"),
    "waiting": QT_TRANSLATE_NOOP("QueueModel", "Waiting"),
    "in_consultation": QT_TRANSLATE_NOOP("QueueModel", "In consultation"),
    "interrupted": QT_TRANSLATE_NOOP("QueueModel", "Interrupted"),
    "finished": QT_TRANSLATE_NOOP("QueueModel", "Finished"),
    "missed": QT_TRANSLATE_NOOP("QueueModel", "Missed"),
}


def _headers() -> tuple[str, ...]:
    """Literal calls so lupdate sees them; "column" tells the header "Waiting" (how long, 候诊时长) from the
    badge "Waiting" (候诊)."""
    return (QCoreApplication.translate("QueueModel", "Time", "column"),
            QCoreApplication.translate("QueueModel", "Patient", "column"),
            QCoreApplication.translate("QueueModel", "Sex / age", "column"),
            QCoreApplication.translate("QueueModel", "Status", "column"),
            QCoreApplication.translate("QueueModel", "Waiting", "column"),
            QCoreApplication.translate("QueueModel", "Department", "column"))


_SEX_TEXT = {
    "male": QT_TRANSLATE_NOOP("QueueModel", "Male"),
    "female": QT_TRANSLATE_NOOP("QueueModel", "Female"),
}


def _tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("QueueModel", text, None, n)


def parse_time(value: Any) -> dt.datetime | None:
    """ISO 8601 from the API (``+08:00``), or a datetime already."""
    if value is None or value == "":
        return None
    t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    # one shared tzinfo object: aware datetimes with the *same* tzinfo compare as fast as naive ones
    return t.replace(tzinfo=TZ) if t.tzinfo is None else (t if t.tzinfo is TZ else t.astimezone(TZ))


# --- one row -----------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class QueueEntry:
    """One patient in the queue. Read-only to the UI: the model changes entries in place when events arrive."""

    appointment_id: int
    status: str
    patient_name: str
    starts_at: dt.datetime
    number: str = ""
    ends_at: dt.datetime | None = None
    waiting_since: dt.datetime | None = None
    patient_id: int | None = None
    sex: str | None = None  # male | female
    age: int | None = None
    card_no: str | None = None
    department_name: str = ""
    doctor_id: int | None = None
    status_label: str = ""  # the server's Chinese label
    interrupted: bool = False  # the video call dropped (set by the video feature)
    search_key: str | None = None  # built by the filter when first needed

    @property
    def state(self) -> str:
        """The badge: checked_in | waiting | in_consultation | interrupted | finished | missed."""
        if self.interrupted and self.status == "in_consultation":
            return "interrupted"
        return STATE_OF_STATUS.get(self.status, self.status)

    @property
    def sort_key(self) -> tuple[dt.datetime, bool, dt.datetime, int]:
        """The server's order: appointment time, then who has waited longest, then id."""
        w = self.waiting_since
        return (self.starts_at, w is None, w if w is not None else _NO_TIME, self.appointment_id)

    def waiting_seconds(self, now: float | None = None) -> int | None:
        if self.status != "waiting" or self.waiting_since is None:
            return None
        return max(0, int((now if now is not None else time.time()) - self.waiting_since.timestamp()))

    def build_search_key(self) -> str:
        """Lower-case name, its pinyin initials (surname readings too), number and card, NUL-separated so a
        needle never matches across two fields."""
        parts = [self.patient_name.lower(), *initials_variants(self.patient_name), self.number.lower(),
                 (self.card_no or "").lower()]
        self.search_key = "\x00".join(parts)
        return self.search_key

    @staticmethod
    def build_search_keys(entries: list[QueueEntry]) -> None:
        """:meth:`build_search_key` for many entries at C speed: each field of all rows goes through one
        ``lower()``/``translate()`` call on a joined string instead of one call per row."""
        if not entries:
            return
        sep = SEPARATOR
        names = [e.patient_name for e in entries]
        joined = sep.join(names)
        lowers = joined.lower().split(sep)
        inits = many_initials(names)
        numbers = sep.join([e.number for e in entries]).lower().split(sep)
        cards = sep.join([e.card_no or "" for e in entries]).lower().split(sep)
        if len(lowers) != len(entries) or len(numbers) != len(entries) or len(cards) != len(entries):
            for e in entries:  # a separator inside a field (never in practice): the slow, exact way
                e.build_search_key()
            return
        keys = ["\x00".join(t) for t in zip(lowers, inits, numbers, cards)]
        for e, k in zip(entries, keys):
            e.search_key = k
        for i in [i for i, n in enumerate(names) if n[:1] in SURNAME_INITIALS]:
            entries[i].build_search_key()  # two readings of the surname

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> QueueEntry:
        """A row of ``GET /staff/queue`` or ``GET /staff/appointments/{id}`` (StaffAppointment)."""
        patient = row.get("patient") or {}
        return cls(appointment_id=int(row["id"]), status=row["status"],
                   patient_name=patient.get("name") or row.get("patient_name") or "",
                   starts_at=parse_time(row["starts_at"]),  # type: ignore[arg-type]
                   number=row.get("number") or "", ends_at=parse_time(row.get("ends_at")),
                   waiting_since=parse_time(row.get("waiting_since")), patient_id=patient.get("id"),
                   sex=patient.get("sex"), age=patient.get("age"), card_no=patient.get("card_no"),
                   department_name=row.get("department_name") or "", doctor_id=row.get("doctor_id"),
                   status_label=row.get("status_label") or "",
                   interrupted=row.get("call_state") == "interrupted")

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> QueueEntry | None:
        """An ``appointment.*`` stream event; None when it does not describe a queue row fully enough."""
        p = event.get("payload") or {}
        aid = p.get("appointment_id", event.get("object_id"))
        starts = p.get("starts_at")
        status = p.get("status") or str(event.get("kind", "")).partition(".")[2]
        if aid is None or not starts or not status:
            return None
        return cls(appointment_id=int(aid), status=status, patient_name=p.get("patient_name") or "",
                   starts_at=parse_time(starts),  # type: ignore[arg-type]
                   number=p.get("number") or "", ends_at=parse_time(p.get("ends_at")),
                   waiting_since=parse_time(p.get("waiting_since")), patient_id=p.get("patient_id"),
                   doctor_id=p.get("doctor_id"), status_label=p.get("status_label") or "")


# fields an update may bring; None in the update keeps what is known (events carry no sex, age or department)
_MERGE_FIELDS = ("status", "patient_name", "starts_at", "number", "ends_at", "waiting_since", "patient_id", "sex",
                 "age", "card_no", "department_name", "doctor_id", "status_label")
_SEARCH_FIELDS = frozenset({"patient_name", "number", "card_no"})


def _merge(into: QueueEntry, new: QueueEntry) -> bool:
    """Copy what ``new`` knows into ``into``; True when something visible changed."""
    changed = False
    for name in _MERGE_FIELDS:
        value = getattr(new, name)
        if name == "waiting_since":
            # a status update without waiting_since means the patient no longer waits only if the status says so
            if value is None and new.status == into.status:
                continue
        elif value is None or value == "":
            continue
        if getattr(into, name) != value:
            setattr(into, name, value)
            changed = True
            if name in _SEARCH_FIELDS:
                into.search_key = None
    if new.status != "in_consultation" and into.interrupted:
        into.interrupted = False
        changed = True
    return changed


# --- the table ---------------------------------------------------------------------------------------------------


def _time_text(e: QueueEntry) -> str:
    return e.starts_at.astimezone(TZ).strftime("%H:%M")


def _patient_text(e: QueueEntry) -> str:
    return e.patient_name


def _sex_age_text(e: QueueEntry) -> str:
    sex = _tr(_SEX_TEXT[e.sex]) if e.sex in _SEX_TEXT else ""
    age = QCoreApplication.translate("QueueModel", "%n y", None, e.age) if e.age is not None else ""
    return " · ".join(x for x in (sex, age) if x)


def _status_text(e: QueueEntry) -> str:
    text = _STATE_TEXT.get(e.state)
    return _tr(text) if text else (e.status_label or e.status)


def _waiting_text(e: QueueEntry) -> str:
    s = e.waiting_seconds()
    if s is None:
        return ""
    return QCoreApplication.translate("QueueModel", "%n min", None, s // 60)


def _department_text(e: QueueEntry) -> str:
    return e.department_name


class QueueModel(QAbstractTableModel):
    COL_TIME, COL_PATIENT, COL_SEX_AGE, COL_STATUS, COL_WAITING, COL_DEPARTMENT = range(6)
    COLUMNS = 6

    EntryRole = int(Qt.ItemDataRole.UserRole) + 1  # the QueueEntry
    StateRole = int(Qt.ItemDataRole.UserRole) + 2  # badge state key
    AppointmentIdRole = int(Qt.ItemDataRole.UserRole) + 3
    WaitingSecondsRole = int(Qt.ItemDataRole.UserRole) + 5  # int or None

    sig_patient_waiting = Signal(int)  # an appointment entered "waiting" (the alert's cue)
    sig_details_needed = Signal(int)  # a row came from an event without sex/age/department: fetch them

    _DISPLAY: tuple[Callable[[QueueEntry], str], ...] = (_time_text, _patient_text, _sex_age_text, _status_text,
                                                          _waiting_text, _department_text)

    def __init__(self, *, day: dt.date | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[QueueEntry] = []
        self._keys: list[tuple[dt.datetime, bool, dt.datetime, int]] = []
        self._by_id: dict[int, QueueEntry] = {}
        self.day = day  # None: every day's rows are accepted (the feed sets today)
        self._clock: QTimer | None = None
        self._search: list[str] | None = None  # every row's search key, while nothing changed
        self._prepare_pos = 0
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setInterval(0)
        self._prepare_timer.timeout.connect(self._prepare_some)

    # --- Qt's interface ---------------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.data_at(index.row(), index.column(), role)

    def data_at(self, row: int, column: int, role: int) -> Any:
        """``data()`` without a QModelIndex (the filter proxy calls it directly)."""
        e = self._rows[row]
        if role == 0:  # DisplayRole
            return self._DISPLAY[column](e)
        if role == self.EntryRole:
            return e
        if role == self.StateRole:
            return e.state
        if role == self.AppointmentIdRole:
            return e.appointment_id
        if role == self.WaitingSecondsRole:
            return e.waiting_seconds()
        if role == 3 and column == self.COL_PATIENT:  # ToolTipRole
            return f"{e.patient_name} {e.number}".strip()
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < self.COLUMNS:
            return _headers()[section]
        return None

    _FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        # the view asks for every cell it paints: the combined flags are built once
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return self._FLAGS

    # --- reading ----------------------------------------------------------------------------------------------

    def entry(self, row: int) -> QueueEntry:
        return self._rows[row]

    def entry_by_id(self, appointment_id: int) -> QueueEntry | None:
        return self._by_id.get(appointment_id)

    def entries(self) -> list[QueueEntry]:
        return list(self._rows)

    def row_of(self, appointment_id: int) -> int | None:
        e = self._by_id.get(appointment_id)
        if e is None:
            return None
        row = bisect_left(self._keys, e.sort_key)
        return row if row < len(self._rows) and self._rows[row] is e else None

    PREPARE_CHUNK = 5000

    def search_keys(self) -> list[str]:
        """Every row's search key (what the filter matches), built now where idle time has not yet."""
        if self._search is None:
            self.prepare_search()
            self._search = [e.search_key for e in self._rows]  # type: ignore[misc]
        return self._search

    def prepare_search(self) -> None:
        """Build every missing search key now, in bulk. After a load this happens in idle time anyway, a chunk
        per event-loop turn, so the first keystroke finds them ready and the load itself stays cheap."""
        missing = [e for e in self._rows if e.search_key is None]
        if missing:
            QueueEntry.build_search_keys(missing)
        self._prepare_timer.stop()

    def _prepare_some(self) -> None:
        start = self._prepare_pos
        chunk = [e for e in self._rows[start:start + self.PREPARE_CHUNK] if e.search_key is None]
        if chunk:
            QueueEntry.build_search_keys(chunk)
        self._prepare_pos = start + self.PREPARE_CHUNK
        if self._prepare_pos >= len(self._rows):
            self._prepare_timer.stop()

    def waiting_count(self) -> int:
        return sum(1 for e in self._rows if e.status == "waiting")

    # --- changing ---------------------------------------------------------------------------------------------

    def set_entries(self, entries: Iterable[QueueEntry]) -> None:
        """Replace everything (sign-in, a resync): one reset, rows sorted in bulk."""
        items = list(entries)
        keys = [e.sort_key for e in items]
        order = sorted(range(len(items)), key=keys.__getitem__)
        self.beginResetModel()
        self._rows = [items[i] for i in order]
        self._keys = [keys[i] for i in order]
        self._by_id = {e.appointment_id: e for e in self._rows}
        if len(self._by_id) != len(self._rows):  # duplicates in the input: the last one wins
            latest = list(self._by_id.values())
            keys = [e.sort_key for e in latest]
            order = sorted(range(len(latest)), key=keys.__getitem__)
            self._rows = [latest[i] for i in order]
            self._keys = [keys[i] for i in order]
        self._search = None
        self.endResetModel()
        self._prepare_pos = 0
        if self._rows:
            self._prepare_timer.start()

    def load_api_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        self.set_entries(QueueEntry.from_api(r) for r in rows)

    def clear(self) -> None:
        self.set_entries(())

    def _accepts_day(self, e: QueueEntry) -> bool:
        return self.day is None or e.starts_at.astimezone(TZ).date() == self.day

    def upsert(self, entry: QueueEntry) -> int | None:
        """Insert a new row or update a known one (moving it if its sort position changed). Returns its row,
        or None when the entry does not belong here (another day, a status the queue does not show)."""
        if entry.status not in QUEUE_STATUSES or not self._accepts_day(entry):
            self.remove(entry.appointment_id)
            return None
        old = self._by_id.get(entry.appointment_id)
        if old is None:
            key = entry.sort_key
            row = bisect_left(self._keys, key)
            self._search = None
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, entry)
            self._keys.insert(row, key)
            self._by_id[entry.appointment_id] = entry
            self.endInsertRows()
            if entry.status == "waiting":
                self.sig_patient_waiting.emit(entry.appointment_id)
            return row
        old_row = self.row_of(entry.appointment_id)
        assert old_row is not None
        was = old.status
        if not _merge(old, entry):
            return old_row
        self._search = None
        new_key = old.sort_key
        row = old_row
        if new_key != self._keys[old_row]:
            pos = bisect_left(self._keys, new_key)
            new_row = pos - 1 if pos > old_row else pos
            if new_row == old_row:
                self._keys[old_row] = new_key
            else:
                dest = new_row if new_row < old_row else new_row + 1
                self.beginMoveRows(QModelIndex(), old_row, old_row, QModelIndex(), dest)
                del self._rows[old_row]
                del self._keys[old_row]
                self._rows.insert(new_row, old)
                self._keys.insert(new_row, new_key)
                self.endMoveRows()
                row = new_row
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.COLUMNS - 1))
        if old.status == "waiting" and was != "waiting":
            self.sig_patient_waiting.emit(old.appointment_id)
        return row

    def remove(self, appointment_id: int) -> bool:
        row = self.row_of(appointment_id)
        if row is None:
            return False
        self._search = None
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        del self._keys[row]
        del self._by_id[appointment_id]
        self.endRemoveRows()
        return True

    def apply_event(self, event: dict[str, Any]) -> bool:
        """One stream event. True when the queue changed. Unknown kinds are ignored (other features' events
        share the stream)."""
        kind = str(event.get("kind", ""))
        if kind in CALL_BADGE_EVENTS:
            aid = (event.get("payload") or {}).get("appointment_id")
            return aid is not None and self.set_interrupted(int(aid), CALL_BADGE_EVENTS[kind])
        if not kind.startswith("appointment."):
            return False
        payload = event.get("payload") or {}
        aid = payload.get("appointment_id", event.get("object_id"))
        if aid is None:
            return False
        aid = int(aid)
        entry = QueueEntry.from_event(event)
        if entry is None:
            # a partial update (e.g. a record saved): only the fields it names, only for a row we show
            known = self._by_id.get(aid)
            status = payload.get("status")
            if known is None or not status:
                return False
            entry = QueueEntry(appointment_id=aid, status=status, patient_name="", starts_at=known.starts_at,
                               waiting_since=parse_time(payload.get("waiting_since")) or known.waiting_since)
        present = aid in self._by_id
        row = self.upsert(entry)
        if row is None:
            return present
        e = self._rows[row]
        if not present and (e.sex is None or not e.department_name):
            self.sig_details_needed.emit(aid)
        return True

    def fill_details(self, entry: QueueEntry) -> bool:
        """Sex, age, card and department from a detail fetch, without touching the status (an event newer
        than the fetch may already have moved it on)."""
        e = self._by_id.get(entry.appointment_id)
        if e is None:
            return False
        changed = False
        for name in ("sex", "age", "card_no", "department_name", "patient_id", "number"):
            value = getattr(entry, name)
            if value not in (None, "") and getattr(e, name) != value:
                setattr(e, name, value)
                changed = True
        if not changed:
            return False
        e.search_key = None
        e.build_search_key()
        self._search = None
        row = self.row_of(e.appointment_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.COLUMNS - 1))
        return True

    def set_interrupted(self, appointment_id: int, interrupted: bool) -> bool:
        """The video call dropped (or came back): the badge says so. True when the row changed."""
        e = self._by_id.get(appointment_id)
        if e is None or e.interrupted == interrupted:
            return False
        e.interrupted = interrupted
        row = self.row_of(appointment_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.COLUMNS - 1))
        return True

    def tick(self) -> None:
        """Waiting times moved on: redraw that column only (no reset, no re-sort)."""
        if self._rows:
            self.dataChanged.emit(self.index(0, self.COL_WAITING), self.index(len(self._rows) - 1, self.COL_WAITING),
                                  [Qt.ItemDataRole.DisplayRole])

    def start_clock(self, *, interval_ms: int = 30_000) -> None:
        """Call :meth:`tick` periodically (alternative to the window's own timer)."""
        if self._clock is None:
            self._clock = QTimer(self)
            self._clock.timeout.connect(self.tick)
        self._clock.start(interval_ms)


# --- the filter --------------------------------------------------------------------------------------------------


class QueueFilterProxy(QAbstractProxyModel):
    """Rows of the source whose name, pinyin initials, number or card contain the typed text.

    The mapping is a sorted list of source rows (``None``: no filter, rows map one to one). Source changes are
    applied incrementally so the view keeps its selection; the typed text is matched against the source's
    prepared search keys in bulk.
    """

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._src: QueueModel | None = None
        self._needle = ""
        self._rows: list[int] | None = None
        self._pending_remove: tuple[int, int] | None = None
        self._layout_saved: list[tuple[QModelIndex, QPersistentModelIndex]] = []
        self._connections: list[tuple[Any, Any]] = []

    # --- source -----------------------------------------------------------------------------------------------

    def setSourceModel(self, model: QueueModel) -> None:  # type: ignore[override]
        self.beginResetModel()
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        super().setSourceModel(model)
        self._src = model
        if model is not None:
            for signal, slot in (
                (model.modelAboutToBeReset, self._on_about_to_reset),
                (model.modelReset, self._on_reset),
                (model.rowsAboutToBeInserted, self._on_about_to_insert),
                (model.rowsInserted, self._on_inserted),
                (model.rowsAboutToBeRemoved, self._on_about_to_remove),
                (model.rowsRemoved, self._on_removed),
                (model.rowsAboutToBeMoved, self._on_about_to_move),
                (model.rowsMoved, self._on_moved),
                (model.layoutAboutToBeChanged, self._on_layout_about),
                (model.layoutChanged, self._on_layout),
                (model.dataChanged, self._on_data_changed),
                (model.headerDataChanged, self.headerDataChanged),
            ):
                signal.connect(slot)
                self._connections.append((signal, slot))
        self._rows = self._compute()
        self.endResetModel()

    # --- filtering ----------------------------------------------------------------------------------------------

    def filter_text(self) -> str:
        return self._needle

    def set_filter_text(self, text: str) -> None:
        needle = (text or "").strip().lower()
        if needle == self._needle:
            return
        self._needle = needle
        self.beginResetModel()
        self._rows = self._compute()
        self.endResetModel()

    # QSortFilterProxyModel's name, for code written against it
    setFilterFixedString = set_filter_text

    def _compute(self) -> list[int] | None:
        if not self._needle or self._src is None:
            return None
        needle = self._needle
        return [i for i, k in enumerate(self._src.search_keys()) if needle in k]

    def _matches(self, source_row: int) -> bool:
        assert self._src is not None
        e = self._src.entry(source_row)
        key = e.search_key if e.search_key is not None else e.build_search_key()
        return self._needle in key

    # --- Qt's interface ---------------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._src is None:
            return 0
        return self._src.rowCount() if self._rows is None else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._src is None:
            return 0
        return self._src.columnCount()

    def index(self, row: int, column: int,
              parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or row < 0 or column < 0 or row >= self.rowCount() or column >= self.columnCount():
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: QModelIndex | QPersistentModelIndex | None = None) -> Any:  # type: ignore[override]
        if index is None:
            return super().parent()  # QObject.parent()
        return QModelIndex()

    def sibling(self, row: int, column: int, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.index(row, column)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.rowCount() > 0

    def source_row(self, proxy_row: int) -> int:
        return proxy_row if self._rows is None else self._rows[proxy_row]

    def mapToSource(self, proxy: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not proxy.isValid() or self._src is None:
            return QModelIndex()
        return self._src.index(self.source_row(proxy.row()), proxy.column())

    def _proxy_row(self, source_row: int) -> int | None:
        if self._rows is None:
            return source_row
        pos = bisect_left(self._rows, source_row)
        return pos if pos < len(self._rows) and self._rows[pos] == source_row else None

    def mapFromSource(self, source: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not source.isValid():
            return QModelIndex()
        row = self._proxy_row(source.row())
        return QModelIndex() if row is None else self.index(row, source.column())

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._src is None:
            return None
        return self._src.data_at(self.source_row(index.row()), index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self._src is None or orientation != Qt.Orientation.Horizontal:
            return None
        return self._src.headerData(section, orientation, role)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid() or self._src is None:
            return Qt.ItemFlag.NoItemFlags
        return self._src.flags(self.mapToSource(index))

    # --- convenience for the view -------------------------------------------------------------------------------

    def entry(self, proxy_row: int) -> QueueEntry:
        assert self._src is not None
        return self._src.entry(self.source_row(proxy_row))

    def row_of(self, appointment_id: int) -> int | None:
        """The proxy row of an appointment (None: unknown or filtered out)."""
        if self._src is None:
            return None
        src = self._src.row_of(appointment_id)
        return None if src is None else self._proxy_row(src)

    # --- following the source -----------------------------------------------------------------------------------

    def _on_about_to_reset(self) -> None:
        self.beginResetModel()

    def _on_reset(self) -> None:
        self._rows = self._compute()
        self.endResetModel()

    def _on_about_to_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._rows is None:
            self.beginInsertRows(QModelIndex(), first, last)

    def _on_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._rows is None:
            self.endInsertRows()
            return
        k = last - first + 1
        rows = self._rows
        pos = bisect_left(rows, first)
        if pos < len(rows):
            rows[pos:] = [r + k for r in rows[pos:]]
        new = [r for r in range(first, last + 1) if self._matches(r)]
        if new:
            self.beginInsertRows(QModelIndex(), pos, pos + len(new) - 1)
            rows[pos:pos] = new
            self.endInsertRows()

    def _on_about_to_remove(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._rows is None:
            self.beginRemoveRows(QModelIndex(), first, last)
            return
        lo, hi = bisect_left(self._rows, first), bisect_right(self._rows, last)
        self._pending_remove = (lo, hi)
        if hi > lo:
            self.beginRemoveRows(QModelIndex(), lo, hi - 1)

    def _on_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._rows is None:
            self.endRemoveRows()
            return
        k = last - first + 1
        lo, hi = self._pending_remove or (bisect_left(self._rows, first), bisect_right(self._rows, last))
        self._pending_remove = None
        rows = self._rows
        rows[lo:] = [r - k for r in rows[hi:]]
        if hi > lo:
            self.endRemoveRows()

    def _on_about_to_move(self, sp: QModelIndex, start: int, end: int, dp: QModelIndex, dest: int) -> None:
        if self._rows is None:
            self.beginMoveRows(QModelIndex(), start, end, QModelIndex(), dest)
            return
        self._save_layout()

    def _on_moved(self, sp: QModelIndex, start: int, end: int, dp: QModelIndex, dest: int) -> None:
        if self._rows is None:
            self.endMoveRows()
            return
        k = end - start + 1

        def moved(r: int) -> int:
            if start <= r <= end:
                return r + (dest - 1 - end) if dest > end else r - (start - dest)
            if dest > end and end < r < dest:
                return r - k
            if dest < start and dest <= r < start:
                return r + k
            return r

        self._rows = sorted(moved(r) for r in self._rows)
        self._restore_layout(moved)

    def _on_layout_about(self, *_: Any) -> None:
        self._save_layout()

    def _on_layout(self, *_: Any) -> None:
        if self._rows is not None:
            self._rows = self._compute()
        self._restore_layout(None)

    def _save_layout(self) -> None:
        self.layoutAboutToBeChanged.emit()
        assert self._src is not None
        self._layout_saved = [(QModelIndex(idx), QPersistentModelIndex(self.mapToSource(idx)))
                              for idx in self.persistentIndexList()]

    def _restore_layout(self, moved: Callable[[int], int] | None) -> None:
        old, new = [], []
        for proxy_idx, source_idx in self._layout_saved:
            old.append(proxy_idx)
            new.append(self.mapFromSource(QModelIndex(source_idx)) if source_idx.isValid() else QModelIndex())
        self._layout_saved = []
        if old:
            self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _on_data_changed(self, tl: QModelIndex, br: QModelIndex, roles: list[int] = ()) -> None:  # type: ignore[assignment]
        if self._rows is None:
            self.dataChanged.emit(self.index(tl.row(), tl.column()), self.index(br.row(), br.column()), roles)
            return
        if tl.column() <= QueueModel.COL_PATIENT <= br.column():
            # what is searched may have changed (a name filled in by a detail fetch): re-check those rows
            for r in range(tl.row(), br.row() + 1):
                pos = bisect_left(self._rows, r)
                present = pos < len(self._rows) and self._rows[pos] == r
                match = self._matches(r)
                if match and not present:
                    self.beginInsertRows(QModelIndex(), pos, pos)
                    self._rows.insert(pos, r)
                    self.endInsertRows()
                elif present and not match:
                    self.beginRemoveRows(QModelIndex(), pos, pos)
                    del self._rows[pos]
                    self.endRemoveRows()
        lo, hi = bisect_left(self._rows, tl.row()), bisect_right(self._rows, br.row())
        if hi > lo:
            self.dataChanged.emit(self.index(lo, tl.column()), self.index(hi - 1, br.column()), roles)


# --- bulk loading (the queue_model benchmark) ----------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏建华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢佳阳晨"


def synthetic_entries(n: int, *, day: dt.date | None = None, seed: int = 0) -> list[QueueEntry]:
    """``n`` plausible queue rows for one day (names, times, states), built in bulk without randomness cost."""
    day = day or dt.datetime.now(TZ).date()
    prefix = f"A{day:%Y%m%d}"
    base = dt.datetime.combine(day, dt.time(8, 0), tzinfo=TZ)
    minute = dt.timedelta(minutes=1)
    times = [base + minute * m for m in range(600)]  # 08:00–17:59, shared objects
    ns, ng = len(_SURNAMES), len(_GIVEN)
    statuses = ("waiting", "checked_in", "waiting", "in_consultation", "completed", "missed", "waiting")
    sexes = ("male", "female")
    out = []
    append = out.append
    for i in range(n):
        j = i + seed
        name = _SURNAMES[j % ns] + _GIVEN[(j // ns) % ng] + (_GIVEN[(j // (ns * ng)) % ng] if j % 3 else "")
        starts = times[i * 600 // n]  # in appointment order, as the server sends them
        status = statuses[j % 7]
        append(QueueEntry(j + 1, status, name, starts, f"{prefix}{j:08d}", None,
                          starts if status == "waiting" else None, j + 1, sexes[j & 1], 20 + j % 60,
                          f"C{j:010d}", "内分泌科"))
    return out


def load_rows(n: int, *, model: QueueModel | None = None, seed: int = 0) -> QueueModel:
    """Fill a model with ``n`` synthetic rows (one reset). For the ``queue_model`` benchmark: time this call,
    or :meth:`QueueModel.set_entries` with prebuilt :func:`synthetic_entries`; before timing a filter keystroke
    let the event loop run or call :meth:`QueueModel.prepare_search` (search keys are built in idle time)."""
    model = model if model is not None else QueueModel()
    model.set_entries(synthetic_entries(n, seed=seed))
    return model
