"""The prescription being written, as Qt item models (no widgets): the drug search popup and the lines table.

The draft is plain data (``PrescriptionDraft`` of docs/api-contract.md) so it can be stored locally, sent to the
server and compared. The lines model shows the server's computed quantity and amount for a line as long as the
line still matches what the server saw; until the server answers it shows the local estimate
(:func:`workstation.models.formulary.default_quantity`), so typing never waits for the network.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from workstation.models.formulary import Drug, Formulary, default_quantity, fen_text

EDITABLE_STATUSES = ("draft", "returned")
VOIDABLE_STATUSES = ("draft", "signed", "returned", "approved", "issued", "fulfilment_chosen")
SLIP_STATUSES = ("signed", "approved", "issued", "fulfilment_chosen", "paid", "dispensed", "shipped", "expired")
MAX_LINES = 10
_Index = QModelIndex | QPersistentModelIndex


def empty_draft(*, diagnosis: dict[str, str] | None = None) -> dict[str, Any]:
    return {"diagnosis": diagnosis, "fee_category": "self_pay", "allergies": [], "chronic_reason": "",
            "validity_days": 1, "validity_note": "", "notes": "", "lines": [], "overrides": []}


DRAFT_KEYS = tuple(empty_draft())
LINE_KEYS = ("drug_code", "dose", "route", "frequency", "days", "quantity", "notes")


def draft_of(prescription: dict[str, Any]) -> dict[str, Any]:
    """The editable part of a server ``Prescription`` (what a PUT sends back)."""
    d = {k: copy.deepcopy(prescription.get(k, v)) for k, v in empty_draft().items()}
    d["lines"] = [{k: line.get(k) for k in LINE_KEYS} for line in prescription.get("lines") or []]
    for line, server in zip(d["lines"], prescription.get("lines") or [], strict=True):
        line["quantity"] = entered_quantity(server)
    d["overrides"] = [{"key": o["key"], "reason": o["reason"]} for o in prescription.get("overrides") or []]
    if d["diagnosis"] is not None:
        d["diagnosis"] = {"code": d["diagnosis"].get("code", ""), "name": d["diagnosis"].get("name", "")}
    return d


def entered_quantity(server_line: dict[str, Any]) -> int | None:
    """What the doctor typed (``quantity_entered``; None: computed). The server fills ``quantity`` with the
    computed one, so without ``quantity_entered`` only a number different from the computed one was typed."""
    if "quantity_entered" in server_line:
        q = server_line["quantity_entered"]
        return int(q) if q is not None else None
    q = server_line.get("quantity")
    return None if q is None or q == server_line.get("quantity_computed") else int(q)


def status_text(status: str, *, return_reason: str | None = None) -> str:
    """已签名 / 已退回：reason / 已审核 … (through Qt's translation)."""
    texts = {
        "draft": QCoreApplication.translate("Prescription", "Draft"),
        "signed": QCoreApplication.translate("Prescription", "Signed — waiting for the pharmacist"),
        "returned": QCoreApplication.translate("Prescription", "Returned: %1"),
        "approved": QCoreApplication.translate("Prescription", "Approved"),
        "issued": QCoreApplication.translate("Prescription", "Sent to the patient"),
        "fulfilment_chosen": QCoreApplication.translate("Prescription", "The patient chose pickup or delivery"),
        "paid": QCoreApplication.translate("Prescription", "Paid"),
        "dispensed": QCoreApplication.translate("Prescription", "Dispensed"),
        "shipped": QCoreApplication.translate("Prescription", "Shipped"),
        "voided": QCoreApplication.translate("Prescription", "Voided"),
        "expired": QCoreApplication.translate("Prescription", "Expired"),
    }
    return texts.get(status, status).replace("%1", return_reason or "")


class DrugSearchModel(QAbstractListModel):
    """The search popup's rows: ``set_query`` per keystroke (a reset; at most ``limit`` rows)."""

    DrugRole = int(Qt.ItemDataRole.UserRole) + 1
    CodeRole = int(Qt.ItemDataRole.UserRole) + 2

    def __init__(self, formulary: Formulary, *, limit: int = 30, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.formulary = formulary
        self.limit = limit
        self._rows: list[Drug] = []

    def set_query(self, text: str) -> None:
        self.beginResetModel()
        self._rows = self.formulary.search(text, limit=self.limit)
        self.endResetModel()

    def drug(self, row: int) -> Drug:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        d = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            text = f"{d.name}   {d.strength} · {d.form} · {d.package}   {fen_text(d.price_fen)}/{d.unit}"
            if d.controlled:
                text += "   " + QCoreApplication.translate("Prescription", "(special control: not online)")
            return text
        if role == self.DrugRole:
            return d
        if role == self.CodeRole:
            return d.code
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{d.code}  {d.name}  {d.strength}  {d.package}"
        return None


class LinesModel(QAbstractTableModel):
    """The lines of the draft. Edits change the line dicts in place and emit ``sig_edited``."""

    COL_DRUG, COL_DOSE, COL_ROUTE, COL_FREQ, COL_DAYS, COL_QTY, COL_AMOUNT, COL_NOTES, COL_REMOVE = range(9)
    COLUMNS = 9
    sig_edited = Signal()

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.formulary: Formulary | None = None
        self.lines: list[dict[str, Any]] = []
        self.server_lines: list[dict[str, Any]] = []  # the lines of the server's last answer
        self.read_only = False

    # --- data in -----------------------------------------------------------------------------------------------

    def set_formulary(self, formulary: Formulary | None) -> None:
        self.beginResetModel()
        self.formulary = formulary
        self.endResetModel()

    def set_lines(self, lines: list[dict[str, Any]], *, server_lines: list[dict[str, Any]] | None = None) -> None:
        self.beginResetModel()
        self.lines = lines
        self.server_lines = server_lines or []
        self.endResetModel()

    def set_server_lines(self, server_lines: list[dict[str, Any]]) -> None:
        self.server_lines = server_lines
        if self.lines:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.lines) - 1, self.COLUMNS - 1))

    def add_drug(self, drug: Drug) -> int:
        freq = drug.default_frequency or "tid"
        line = {"drug_code": drug.code, "dose": drug.default_dose, "route": drug.default_route or "po",
                "frequency": freq, "days": 7, "quantity": None, "notes": ""}
        row = len(self.lines)
        self.beginInsertRows(QModelIndex(), row, row)
        self.lines.append(line)
        self.endInsertRows()
        self.sig_edited.emit()
        return row

    def add_copy(self, line: dict[str, Any]) -> int:
        """A line copied from an earlier prescription (续方): drug, dose, route, frequency, days and notes as they
        were; the quantity computed again."""
        copy = {"drug_code": line["drug_code"], "dose": line["dose"], "route": line["route"],
                "frequency": line["frequency"], "days": int(line["days"]), "quantity": None,
                "notes": str(line.get("notes") or "")}
        row = len(self.lines)
        self.beginInsertRows(QModelIndex(), row, row)
        self.lines.append(copy)
        self.endInsertRows()
        self.sig_edited.emit()
        return row

    def remove(self, row: int) -> None:
        if 0 <= row < len(self.lines):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.lines[row]
            if row < len(self.server_lines):
                self.server_lines = self.server_lines[:row] + self.server_lines[row + 1:]
            self.endRemoveRows()
            self.sig_edited.emit()

    # --- what a line shows -------------------------------------------------------------------------------------

    def drug(self, row: int) -> Drug | None:
        code = self.lines[row].get("drug_code")
        if self.formulary is not None and code:
            found = self.formulary.drug(str(code))
            if found is not None:
                return found
        server = self._server(row, any_match=True)
        if server is not None and isinstance(server.get("drug"), dict):
            return Drug.from_api(server["drug"])
        return None

    def _server(self, row: int, *, any_match: bool = False) -> dict[str, Any] | None:
        """The server's answer for this line when it was computed from the same values."""
        if row >= len(self.server_lines):
            return None
        s, line = self.server_lines[row], self.lines[row]
        if s.get("drug_code") != line.get("drug_code"):
            return None
        if any_match:
            return s
        same = all(_same(s.get(k), line.get(k)) for k in ("dose", "frequency", "days"))
        server_q = entered_quantity(s)
        return s if same and _same(server_q, line.get("quantity")) else None

    def computed_quantity(self, row: int) -> int | None:
        s = self._server(row)
        if s is not None and s.get("quantity_computed") is not None:
            return int(s["quantity_computed"])
        drug = self.drug(row)
        if drug is None:
            return None
        line = self.lines[row]
        freq = self.formulary.frequency(str(line.get("frequency"))) if self.formulary else None
        try:
            return default_quantity(drug, dose=float(line.get("dose") or 0), frequency=freq,
                                    days=int(line.get("days") or 1))
        except (TypeError, ValueError):
            return None

    def quantity(self, row: int) -> int | None:
        q = self.lines[row].get("quantity")
        return int(q) if q is not None else self.computed_quantity(row)

    def amount_fen(self, row: int) -> int:
        s = self._server(row)
        if s is not None and s.get("amount_fen") is not None:
            return int(s["amount_fen"])
        drug, q = self.drug(row), self.quantity(row)
        return drug.price_fen * q if drug is not None and q is not None else 0

    def total_fen(self) -> int:
        return sum(self.amount_fen(r) for r in range(len(self.lines)))

    # --- Qt ---------------------------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return (QCoreApplication.translate("Prescription", "Drug"),
                QCoreApplication.translate("Prescription", "Dose"),
                QCoreApplication.translate("Prescription", "Route"),
                QCoreApplication.translate("Prescription", "Frequency"),
                QCoreApplication.translate("Prescription", "Days"),
                QCoreApplication.translate("Prescription", "Quantity"),
                QCoreApplication.translate("Prescription", "Amount"),
                QCoreApplication.translate("Prescription", "Notes"), "")[section]

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid() or self.read_only:
            return base
        if index.column() in (self.COL_DOSE, self.COL_ROUTE, self.COL_FREQ, self.COL_DAYS, self.COL_QTY,
                              self.COL_NOTES):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.lines):
            return None
        row, col = index.row(), index.column()
        line = self.lines[row]
        drug = self.drug(row)
        if role == Qt.ItemDataRole.EditRole:
            return {self.COL_DOSE: line.get("dose"), self.COL_ROUTE: line.get("route"),
                    self.COL_FREQ: line.get("frequency"), self.COL_DAYS: line.get("days"),
                    self.COL_QTY: self.quantity(row), self.COL_NOTES: line.get("notes") or ""}.get(col)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_DRUG:
                if drug is None:
                    return str(line.get("drug_code"))
                return f"{drug.name}\n{drug.strength} · {drug.form} · {drug.package}"
            if col == self.COL_DOSE:
                return f"{_num(line.get('dose'))} {drug.dose_unit if drug else ''}".strip()
            if col == self.COL_ROUTE:
                r = self.formulary.route(str(line.get("route"))) if self.formulary else None
                return r.label_zh if r is not None else str(line.get("route") or "")
            if col == self.COL_FREQ:
                f = self.formulary.frequency(str(line.get("frequency"))) if self.formulary else None
                return f"{f.code} {f.label_zh}" if f is not None else str(line.get("frequency") or "")
            if col == self.COL_DAYS:
                return str(line.get("days") or "")
            if col == self.COL_QTY:
                q = self.quantity(row)
                unit = drug.unit if drug else ""
                return "" if q is None else f"{q} {unit}".strip()
            if col == self.COL_AMOUNT:
                return fen_text(self.amount_fen(row))
            if col == self.COL_NOTES:
                return line.get("notes") or ""
            if col == self.COL_REMOVE and not self.read_only:
                return QCoreApplication.translate("Prescription", "Remove")
            return None
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_REMOVE:
            from PySide6.QtGui import QColor
            return QColor("#1f6f8b")  # the link colour (theme.ACCENT; models import no widgets module)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_QTY:
                computed = self.computed_quantity(row)
                if line.get("quantity") is None:
                    return QCoreApplication.translate(
                        "Prescription", "Computed from dose, frequency and days; type a number to change it")
                return QCoreApplication.translate(
                    "Prescription", "Changed by hand (computed: %1); type 0 to compute it again"
                ).replace("%1", str(computed))
            if col == self.COL_REMOVE and not self.read_only:
                return QCoreApplication.translate("Prescription", "Remove this drug from the prescription")
            if col == self.COL_DRUG and drug is not None:
                return f"{drug.code}  {drug.name}  {drug.strength}  {drug.package}  {fen_text(drug.price_fen)}/{drug.unit}"
        if role == Qt.ItemDataRole.FontRole and col == self.COL_QTY and line.get("quantity") is not None:
            from PySide6.QtGui import QFont
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_REMOVE:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.COL_DAYS, self.COL_QTY, self.COL_AMOUNT,
                                                                  self.COL_DOSE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self.read_only:
            return False
        line = self.lines[index.row()]
        col = index.column()
        try:
            if col == self.COL_DOSE:
                v = round(float(value), 3)
                if v <= 0:
                    return False
                line["dose"] = int(v) if v == int(v) else v
            elif col == self.COL_ROUTE:
                line["route"] = str(value)
            elif col == self.COL_FREQ:
                line["frequency"] = str(value)
            elif col == self.COL_DAYS:
                line["days"] = max(1, min(84, int(value)))
            elif col == self.COL_QTY:
                q = int(value)
                line["quantity"] = None if q <= 0 or q == self.computed_quantity(index.row()) else q
            elif col == self.COL_NOTES:
                line["notes"] = str(value)[:100]
            else:
                return False
        except (TypeError, ValueError):
            return False
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), self.COLUMNS - 1))
        self.sig_edited.emit()
        return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def _num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return str(int(f)) if f == int(f) else f"{f:g}"
