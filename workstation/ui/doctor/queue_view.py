"""The queue on the left of the doctor's window: a filter box over a ``QTableView`` of ``QueueModel`` through
``QueueFilterProxy``, state badges drawn by a delegate, waiting times ticking every 30 s (``QueueModel.tick``:
the waiting column is redrawn, the model is never reset)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.models.queue import QueueFilterProxy, QueueModel
from workstation.ui.doctor.consult_panel import CALLABLE
from workstation.ui.i18n import LanguageAware
from workstation.ui.widgets import badge_size, paint_badge

TICK_MS = 30_000
LONG_WAIT_S = 15 * 60
Index = QModelIndex | QPersistentModelIndex


class BadgeDelegate(QStyledItemDelegate):
    """Paints the status column as a coloured pill (候诊 amber, 接诊中 blue, 中断 red, 已完成 green, 未到 grey)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        state = index.data(QueueModel.StateRole) or ""
        f = opt.font
        f.setBold(True)
        size = badge_size(QFontMetrics(f), text)
        r = opt.rect
        w = min(size.width(), r.width() - 8)
        h = min(size.height(), r.height() - 6)
        rect = QRectF(r.x() + 6, r.y() + (r.height() - h) / 2, w, h)
        painter.save()
        painter.setFont(f)
        paint_badge(painter, rect, str(state), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        f = option.font
        f.setBold(True)
        size = badge_size(QFontMetrics(f), str(index.data() or ""))
        return QSize(size.width() + 14, max(base.height(), size.height() + 8))


class WaitingDelegate(QStyledItemDelegate):
    """Long waits (over 15 minutes) in amber, so the doctor sees who has waited too long."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        seconds = index.data(QueueModel.WaitingSecondsRole)
        if isinstance(seconds, int) and seconds >= LONG_WAIT_S:
            option.palette.setColor(option.palette.ColorRole.Text, QColor("#b45309"))
            option.font.setBold(True)


class QueueView(LanguageAware, QWidget):
    sig_selected = Signal(int)  # appointment id
    sig_cleared = Signal()
    sig_call_requested = Signal(int)  # "video call" from the row's context menu

    def __init__(self, *, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("QueueView")
        self.model = model
        self.proxy = QueueFilterProxy(parent=self)
        self.proxy.setSourceModel(model)

        self.lbl_title = QLabel(self)
        self.lbl_title.setObjectName("CardTitle")
        self.lbl_counts = QLabel(self)
        self.lbl_counts.setObjectName("Muted")
        self.ed_filter = QLineEdit(self)
        self.ed_filter.setClearButtonEnabled(True)
        self.ed_filter.textChanged.connect(self.proxy.set_filter_text)
        self.ed_filter.textChanged.connect(lambda _t: self._update_counts())

        self.table = QTableView(self)
        self.table.setObjectName("QueueTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(False)  # the model keeps the server's order (appointment time)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(36)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(40)
        for col in range(model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(QueueModel.COL_PATIENT, QHeaderView.ResizeMode.Stretch)
        # every patient in this queue is in the doctor's own department: the column would only repeat it
        self.table.setColumnHidden(QueueModel.COL_DEPARTMENT, True)
        self.badges = BadgeDelegate(self.table)
        self.waiting = WaitingDelegate(self.table)
        self.table.setItemDelegateForColumn(QueueModel.COL_STATUS, self.badges)
        self.table.setItemDelegateForColumn(QueueModel.COL_WAITING, self.waiting)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        # a full reload (the snapshot after the cached queue, a resync) must not lose the doctor's patient
        self._kept: int | None = None
        self.proxy.modelAboutToBeReset.connect(self._remember_selection)
        self.proxy.modelReset.connect(self._restore_selection)

        # the empty state sits inside the table, where the doctor looks for patients
        self.lbl_empty = QLabel(self.table.viewport())
        self.lbl_empty.setObjectName("Placeholder")
        self.lbl_empty.setWordWrap(True)
        self.lbl_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout = QVBoxLayout(self.table.viewport())
        empty_layout.setContentsMargins(24, 24, 24, 24)
        empty_layout.addWidget(self.lbl_empty)

        top = QHBoxLayout()
        top.addWidget(self.lbl_title)
        top.addStretch(1)
        top.addWidget(self.lbl_counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.ed_filter)
        layout.addWidget(self.table, 1)

        for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            sig.connect(self._schedule_counts)
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(50)
        self._counts_timer.timeout.connect(self._update_counts)

        self.clock = QTimer(self)
        self.clock.setInterval(TICK_MS)
        self.clock.timeout.connect(model.tick)
        self.clock.start()
        self.retranslate()

    # --- selection --------------------------------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            aid = current.data(QueueModel.AppointmentIdRole)
            if aid is not None:
                self.sig_selected.emit(int(aid))
                return
        self.sig_cleared.emit()

    def _remember_selection(self) -> None:
        self._kept = self.selected_id()

    def _restore_selection(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None and not self.select(kept):
            self.sig_cleared.emit()

    def selected_id(self) -> int | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        aid = index.data(QueueModel.AppointmentIdRole)
        return int(aid) if aid is not None else None

    def select(self, appointment_id: int) -> bool:
        row = self.proxy.row_of(appointment_id)
        if row is None and self.ed_filter.text():
            self.ed_filter.clear()
            row = self.proxy.row_of(appointment_id)
        if row is None:
            return False
        index = self.proxy.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.selectRow(row)
        self.table.scrollTo(index)
        return True

    # --- texts -------------------------------------------------------------------------------------------------

    def _schedule_counts(self, *_: Any) -> None:
        if not self._counts_timer.isActive():
            self._counts_timer.start()

    def _update_counts(self) -> None:
        total = self.model.rowCount()
        waiting = self.model.waiting_count()
        self.lbl_counts.setText(self.tr("%1 waiting · %2 today").replace("%1", str(waiting))
                                .replace("%2", str(total)))
        shown = self.proxy.rowCount()
        if total == 0:
            self.lbl_empty.setText(self.tr("No patient has checked in yet. New patients appear here as soon as "
                                           "they check in."))
            self.lbl_empty.show()
        elif shown == 0:
            self.lbl_empty.setText(self.tr("No patient matches “%1”.").replace("%1", self.ed_filter.text()))
            self.lbl_empty.show()
        else:
            self.lbl_empty.hide()

    def fit_columns(self) -> None:
        """Widths from the texts of the current language, so no badge or header is ever cut."""
        fm = self.table.fontMetrics()
        bold = self.table.font()
        bold.setBold(True)
        fmb = QFontMetrics(bold)
        pad = 22

        def header(col: int) -> int:
            return fmb.horizontalAdvance(str(self.model.headerData(col, Qt.Orientation.Horizontal) or "")) + pad

        from workstation.ui.widgets import state_label

        badges = max(badge_size(fmb, state_label(s)).width() for s in
                     ("checked_in", "waiting", "in_consultation", "interrupted", "finished", "missed"))
        widths = {
            QueueModel.COL_TIME: max(header(QueueModel.COL_TIME), fm.horizontalAdvance("00:00") + pad),
            QueueModel.COL_SEX_AGE: max(header(QueueModel.COL_SEX_AGE),
                                        fm.horizontalAdvance(QCoreApplication.translate("QueueModel", "Female") + " · 100 y") + pad),
            QueueModel.COL_STATUS: max(header(QueueModel.COL_STATUS), badges + 18),
            QueueModel.COL_WAITING: max(header(QueueModel.COL_WAITING), fm.horizontalAdvance("120 min") + pad),
        }
        for col, width in widths.items():
            self.table.setColumnWidth(col, width)

    def call_menu(self, appointment_id: int) -> QMenu:
        """The row's context menu: call a patient who is waiting, checked in or whose call was interrupted."""
        menu = QMenu(self)
        entry = self.model.entry_by_id(appointment_id)
        act = menu.addAction(self.tr("Video call"))
        act.setEnabled(entry is not None and entry.state in CALLABLE)
        act.triggered.connect(lambda: self.sig_call_requested.emit(appointment_id))
        return menu

    def _context_menu(self, pos: Any) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        entry = self.proxy.entry(index.row())
        self.select(entry.appointment_id)
        menu = self.call_menu(entry.appointment_id)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def retranslate(self) -> None:
        self.lbl_title.setText(self.tr("Today's queue"))
        self.ed_filter.setPlaceholderText(self.tr("Filter: name, pinyin initials or number"))
        self.table.setToolTip("")
        self._update_counts()
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.model.columnCount() - 1)
        self.fit_columns()
        self.table.viewport().update()

    def stop(self) -> None:
        self.clock.stop()
