"""Small building blocks shared by the windows: a titled card, a label/value grid, the state badge."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workstation.ui import theme

# appointment status (server) → badge state (DOMAIN.md's names where they differ)
_STATE_OF_STATUS = {"completed": "finished"}


def badge_state(status: str) -> str:
    return _STATE_OF_STATUS.get(status, status)


def state_label(state: str) -> str:
    """The badge's text: 候诊, 接诊中, 中断, 已完成, 未到 … (through Qt's translation)."""
    labels = {
        "checked_in": QCoreApplication.translate("States", "Checked in"),
        "waiting": QCoreApplication.translate("States", "Waiting"),
        "in_consultation": QCoreApplication.translate("States", "In consultation"),
        "interrupted": QCoreApplication.translate("States", "Interrupted"),
        "finished": QCoreApplication.translate("States", "Finished"),
        "missed": QCoreApplication.translate("States", "Missed"),
        "cancelled": QCoreApplication.translate("States", "Cancelled"),
        "cancelled_by_hospital": QCoreApplication.translate("States", "Cancelled by hospital"),
        "booked": QCoreApplication.translate("States", "Booked"),
    }
    return labels.get(badge_state(state), state)


def paint_badge(painter: QPainter, rect: QRectF, state: str, text: str) -> None:
    colors = theme.badge_colors(badge_state(state))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colors.background)
    painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
    painter.setPen(colors.foreground)
    f = painter.font()
    f.setBold(True)
    painter.setFont(f)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def badge_size(fm: QFontMetrics, text: str) -> QSize:
    return QSize(fm.horizontalAdvance(text) + 22, fm.height() + 6)


class StatusBadge(QWidget):
    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_state(self, state: str) -> None:
        self._state = state
        self.updateGeometry()
        self.update()

    @property
    def text(self) -> str:
        return state_label(self._state) if self._state else ""

    def sizeHint(self) -> QSize:
        f = self.font()
        f.setBold(True)
        return badge_size(QFontMetrics(f), self.text)

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self._state:
            p = QPainter(self)
            paint_badge(p, QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), self._state, self.text)
            p.end()


class Card(QFrame):
    title: QLabel
    body: QVBoxLayout


def card(parent: QWidget, title: str | None, widgets: list[QWidget]) -> Card:
    frame = Card(parent)
    frame.setObjectName("Card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(16, 12, 16, 14)
    layout.setSpacing(8)
    frame.title = QLabel(title or "", frame)
    frame.title.setObjectName("CardTitle")
    frame.title.setVisible(title is not None)
    layout.addWidget(frame.title)
    for w in widgets:
        layout.addWidget(w)
    frame.body = layout
    return frame


class FieldGrid(QWidget):
    """Label/value pairs in two columns when they fit, else one: values are never cut, whatever the language or
    the splitter position. Values wrap and can be selected (to copy a card number)."""

    SPACING = 12
    COLUMN_GAP = 28

    def __init__(self, parent: QWidget, keys: list[str]) -> None:
        super().__init__(parent)
        self.keys = list(keys)
        self.names: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(self.SPACING)
        self.grid.setVerticalSpacing(6)
        for key in keys:
            name = QLabel(self)
            name.setObjectName("FieldName")
            name.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            value = QLabel(self)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.names[key], self.values[key] = name, value
        self._columns = 0
        self._arrange(2)

    @property
    def widget(self) -> QWidget:
        return self

    @property
    def columns(self) -> int:
        return self._columns

    def set_names(self, names: dict[str, str]) -> None:
        for key, text in names.items():
            self.names[key].setText(text)
        self._reflow()

    def set_values(self, values: dict[str, str]) -> None:
        for key, text in values.items():
            self.values[key].setText(text)
            self.values[key].setToolTip(text if len(text) > 24 else "")
        self._reflow()

    def _needed_two_columns(self) -> int:
        fm = self.fontMetrics()
        need = 0
        # pairs go row by row: column 0 holds keys 0, 2, 4…, column 1 keys 1, 3, 5…
        for col in range(2):
            keys = self.keys[col::2]
            name_w = max((fm.horizontalAdvance(self.names[k].text()) for k in keys), default=0)
            value_w = max((fm.horizontalAdvance(self.values[k].text()) for k in keys), default=0)
            need += name_w + self.SPACING + min(value_w, 360)
        return need + self.COLUMN_GAP + 4

    def _reflow(self) -> None:
        width = self.width() if self.isVisible() else (self.parentWidget().width() if self.parentWidget() else 0)
        self._arrange(2 if width <= 0 or width >= self._needed_two_columns() else 1)

    def _arrange(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        while self.grid.count():
            self.grid.takeAt(0)
        for c in range(4):
            self.grid.setColumnStretch(c, 0)
            self.grid.setColumnMinimumWidth(c, 0)
        for i, key in enumerate(self.keys):
            row, col = divmod(i, columns)
            self.names[key].setContentsMargins(self.COLUMN_GAP - self.SPACING if col else 0, 0, 0, 0)
            self.grid.addWidget(self.names[key], row, col * 2)
            self.grid.addWidget(self.values[key], row, col * 2 + 1)
        for col in range(columns):
            self.grid.setColumnStretch(col * 2 + 1, 1)
        self.updateGeometry()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._arrange(2 if self.width() >= self._needed_two_columns() else 1)


def field_grid(parent: QWidget, keys: list[str]) -> FieldGrid:
    return FieldGrid(parent, keys)
