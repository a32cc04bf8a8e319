"""The ICD-10 subset shipped for the diagnosis picker, searchable the three ways a doctor types.

``E11`` (a code prefix, the dot optional: ``e119`` finds E11.9), ``糖尿病`` (part of the Chinese name) and
``tnb`` (pinyin initials of the name). Results are ranked: the exact code, then code prefixes, names and
initials that start with the text, then those that merely contain it; entries of the doctor's own department
come first within a rank. The file is ``resources/icd10/icd10.csv`` (written by ``scripts/make_icd10.py``).

Loading reads a file: do it once on a worker (``Op(default_catalog, pool="db")``); searching is in memory.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from workstation.models.pinyin import phrase_initials

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "icd10" / "icd10.csv"
_CODEISH = re.compile(r"^[a-z][0-9.]*$")


@dataclass(frozen=True, slots=True)
class Icd10Entry:
    code: str
    name: str
    initials: str
    departments: tuple[str, ...]

    @property
    def display(self) -> str:
        return f"{self.code}  {self.name}"

    @property
    def code_compact(self) -> str:
        return self.code.replace(".", "").lower()


class Icd10Catalog:
    def __init__(self, entries: list[Icd10Entry]) -> None:
        self.entries = list(entries)
        self._by_code = {e.code: e for e in self.entries}
        self._order = {e.code: i for i, e in enumerate(self.entries)}

    @classmethod
    def load(cls, path: Path | None = None) -> Icd10Catalog:
        entries = []
        with (path or DEFAULT_PATH).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                name = row["name"].strip()
                initials = (row.get("initials") or "").strip() or phrase_initials(name)
                departments = tuple(d for d in (row.get("departments") or "").split(";") if d)
                entries.append(Icd10Entry(row["code"].strip().upper(), name, initials.lower(), departments))
        return cls(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def by_code(self, code: str) -> Icd10Entry | None:
        return self._by_code.get(code.strip().upper())

    def search(self, query: str, *, limit: int = 50, department: str | None = None) -> list[Icd10Entry]:
        """Best matches first (see the module docstring); an empty query lists the department's codes first."""
        q = query.strip().lower()
        ranked: list[tuple[int, int, int, Icd10Entry]] = []
        if not q:
            for e in self.entries:
                ranked.append((0, 0 if department in e.departments else 1, self._order[e.code], e))
        else:
            compact = q.replace(".", "").replace(" ", "")
            codeish = bool(_CODEISH.match(q))
            for e in self.entries:
                rank = self._rank(e, q, compact, codeish)
                if rank is not None:
                    ranked.append((rank, 0 if department in e.departments else 1, self._order[e.code], e))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]

    @staticmethod
    def _rank(e: Icd10Entry, q: str, compact: str, codeish: bool) -> int | None:
        if codeish:
            if e.code.lower() == q or e.code_compact == compact:
                return 0
            if e.code.lower().startswith(q) or e.code_compact.startswith(compact):
                return 1
        if e.name.startswith(q):
            return 2
        if e.initials.startswith(q):
            return 3
        if q in e.name.lower():
            return 4
        if q in e.initials:
            return 5
        return None


@lru_cache(maxsize=1)
def default_catalog() -> Icd10Catalog:
    """The shipped subset, read once per process."""
    return Icd10Catalog.load()


class Icd10SearchModel(QAbstractListModel):
    """The picker's result list: ``set_query`` as the doctor types (a reset; at most ``limit`` rows)."""

    EntryRole = int(Qt.ItemDataRole.UserRole) + 1
    CodeRole = int(Qt.ItemDataRole.UserRole) + 2
    NameRole = int(Qt.ItemDataRole.UserRole) + 3

    def __init__(self, catalog: Icd10Catalog, *, department: str | None = None, limit: int = 50,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.department = department
        self.limit = limit
        self._query = ""
        self._rows: list[Icd10Entry] = catalog.search("", limit=limit, department=department)

    def set_query(self, text: str) -> None:
        self._query = text
        self.beginResetModel()
        self._rows = self.catalog.search(text, limit=self.limit, department=self.department)
        self.endResetModel()

    def query(self) -> str:
        return self._query

    def entry(self, row: int) -> Icd10Entry:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return e.display
        if role == self.EntryRole:
            return e
        if role == self.CodeRole:
            return e.code
        if role == self.NameRole:
            return e.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e.code} {e.name} ({e.initials})"
        return None
