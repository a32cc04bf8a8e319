"""A table of entries kept sorted by a key, changed row by row (the review lists, the refund lists).

:class:`SortedRowsModel` holds the entries (dataclasses with a ``pending`` field), their sort keys and an index
by id; a subclass says how an entry is identified (:meth:`_id_of`), how it sorts (:meth:`_key`) and which column
shows the waiting clock (:meth:`_waiting_column`), and adds its columns and its roles.

Nothing here touches the network or a widget.
"""
from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from workstation.models.queue import TZ

Index = QModelIndex | QPersistentModelIndex


class SortedRowsModel(QAbstractTableModel):
    """Entries sorted by :meth:`_key`, inserted, moved and removed one row at a time."""

    EntryRole = Qt.ItemDataRole.UserRole + 1
    IdRole = Qt.ItemDataRole.UserRole + 2
    PendingRole = Qt.ItemDataRole.UserRole + 3

    sig_details_needed = Signal(int)  # entry id: a row born from an event lacks the whole record
    sig_count_changed = Signal(int)

    def __init__(self, *, clock: Callable[[], dt.datetime] | None = None, waiting_clock: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock or (lambda: dt.datetime.now(TZ))
        self._entries: list[Any] = []
        self._keys: list[tuple[Any, ...]] = []
        self._by_id: dict[int, Any] = {}
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)
        self._tick.timeout.connect(self._refresh_waiting)
        if waiting_clock:
            self._tick.start()

    # --- what a subclass says --------------------------------------------------------------------------------

    def _id_of(self, entry: Any) -> int:
        raise NotImplementedError

    def _key(self, entry: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def _waiting_column(self) -> int:
        raise NotImplementedError

    # --- reading ---------------------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self._clock()

    def entries(self) -> list[Any]:
        return list(self._entries)

    def entry_by_id(self, entry_id: int) -> Any | None:
        return self._by_id.get(entry_id)

    def entry_at(self, row: int) -> Any | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, entry_id: int) -> int | None:
        entry = self._by_id.get(entry_id)
        return None if entry is None else self._entries.index(entry)

    def ids(self) -> list[int]:
        return [self._id_of(e) for e in self._entries]

    # --- changing --------------------------------------------------------------------------------------------

    def _reset(self, entries: Any) -> None:
        """Replaces everything with ``entries`` (a snapshot, already filtered)."""
        self.beginResetModel()
        ordered = sorted(entries, key=self._key)
        self._entries = ordered
        self._keys = [self._key(e) for e in ordered]
        self._by_id = {self._id_of(e): e for e in ordered}
        self.endResetModel()
        self.sig_count_changed.emit(len(self._entries))

    def _fill_entry(self, known: Any, fresh: Any) -> None:
        pending = known.pending if known.status == fresh.status else None
        for name in type(known).__dataclass_fields__:
            setattr(known, name, getattr(fresh, name))
        known.pending = pending
        self._reposition(known)

    def set_pending(self, entry_id: int, action: str | None) -> None:
        entry = self._by_id.get(entry_id)
        if entry is None or entry.pending == action:
            return
        entry.pending = action
        row = self._entries.index(entry)
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def remove(self, entry_id: int) -> bool:
        return self._remove(entry_id)

    def _insert(self, entry: Any) -> None:
        key = self._key(entry)
        row = bisect_left(self._keys, key)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.insert(row, entry)
        self._keys.insert(row, key)
        self._by_id[self._id_of(entry)] = entry
        self.endInsertRows()
        self.sig_count_changed.emit(len(self._entries))

    def _remove(self, entry_id: int) -> bool:
        entry = self._by_id.get(entry_id)
        if entry is None:
            return False
        row = self._entries.index(entry)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._entries[row]
        del self._keys[row]
        del self._by_id[entry_id]
        self.endRemoveRows()
        self.sig_count_changed.emit(len(self._entries))
        return True

    def _reposition(self, entry: Any) -> None:
        row = self._entries.index(entry)
        key = self._key(entry)
        target = bisect_left(self._keys[:row] + self._keys[row + 1:], key)
        if target != row:
            dest = target + 1 if target > row else target
            self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)
            del self._entries[row]
            del self._keys[row]
            self._entries.insert(target, entry)
            self._keys.insert(target, key)
            self.endMoveRows()
        else:
            self._keys[row] = key
        self.dataChanged.emit(self.index(target, 0), self.index(target, self.columnCount() - 1))

    def _refresh_waiting(self) -> None:
        if self._entries:
            col = self._waiting_column()
            self.dataChanged.emit(self.index(0, col), self.index(len(self._entries) - 1, col))

    def stop(self) -> None:
        self._tick.stop()

    # --- Qt model --------------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
