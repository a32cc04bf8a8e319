"""停诊: the doctor declares a stop for a period with a reason. The dialog asks the server how many booked
patients fall in the period (debounced, on a worker) and says so before anything is sent; the caller submits
the returned ``ClinicStopRequest`` through the consultation service (outbox)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QDateTime, QTime, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.services.ops import Op
from workstation.ui import theme
from workstation.ui.i18n import LanguageAware

TZ = ZoneInfo("Asia/Shanghai")
REASON_MAX = 200


@dataclass(frozen=True, slots=True)
class ClinicStopRequest:
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str

    def as_payload(self) -> dict[str, str]:
        """The body of ``POST /staff/clinic-stops`` (the doctor stops their own clinic: no doctor_id)."""
        return {"starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(), "reason": self.reason}


def _to_datetime(value: QDateTime) -> dt.datetime:
    return dt.datetime.combine(value.date().toPython(), value.time().toPython(), tzinfo=TZ)  # type: ignore[arg-type]


def _to_qdatetime(value: dt.datetime) -> QDateTime:
    value = value.astimezone(TZ)
    return QDateTime(QDate(value.year, value.month, value.day), QTime(value.hour, value.minute))


class ClinicStopDialog(LanguageAware, QDialog):
    """``preview(starts_at, ends_at) -> int`` is a blocking service call counting the booked patients."""

    def __init__(self, *, preview: Callable[[dt.datetime, dt.datetime], int] | None = None,
                 now: dt.datetime | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ClinicStopDialog")
        self.setMinimumWidth(560)
        self._preview = preview
        self._affected: int | None = None
        self._preview_failed = False
        self._seq = 0
        start = (now or dt.datetime.now(TZ)).astimezone(TZ)
        start = start.replace(minute=(start.minute // 30) * 30, second=0, microsecond=0) + dt.timedelta(minutes=30)
        end = start.replace(hour=min(start.hour + 4, 23), minute=0 if start.hour + 4 <= 23 else 59)
        if end <= start:
            end = start + dt.timedelta(hours=1)

        self.lbl_intro = QLabel(self)
        self.lbl_intro.setWordWrap(True)
        self.ed_start = QDateTimeEdit(_to_qdatetime(start), self)
        self.ed_end = QDateTimeEdit(_to_qdatetime(end), self)
        for ed in (self.ed_start, self.ed_end):
            ed.setCalendarPopup(True)
            ed.setDisplayFormat("yyyy-MM-dd HH:mm")
            ed.setMinimumWidth(180)
        self.btn_rest_of_today = QPushButton(self)
        self.btn_tomorrow = QPushButton(self)
        quick = QHBoxLayout()
        quick.addWidget(self.btn_rest_of_today)
        quick.addWidget(self.btn_tomorrow)
        quick.addStretch(1)
        self.cb_reason = QComboBox(self)
        self.ed_reason = QPlainTextEdit(self)
        self.ed_reason.setFixedHeight(70)
        self.lbl_affected = QLabel(self)
        self.lbl_affected.setObjectName("InfoText")
        self.lbl_affected.setWordWrap(True)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.lbl_error.hide()
        self.lbl_start, self.lbl_end, self.lbl_quick, self.lbl_reason, self.lbl_detail = (QLabel(self)
                                                                                       for _ in range(5))

        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.addRow(self.lbl_start, self.ed_start)
        form.addRow(self.lbl_end, self.ed_end)
        form.addRow(self.lbl_quick, quick)
        form.addRow(self.lbl_reason, self.cb_reason)
        form.addRow(self.lbl_detail, self.ed_reason)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        theme.set_style_name(self.buttons.button(QDialogButtonBox.StandardButton.Ok), "Primary")
        self.buttons.accepted.connect(self._confirm)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addWidget(self.lbl_intro)
        layout.addLayout(form)
        layout.addWidget(self.lbl_affected)
        layout.addWidget(self.lbl_error)
        layout.addWidget(self.buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self._run_preview)
        self.ed_start.dateTimeChanged.connect(self._period_changed)
        self.ed_end.dateTimeChanged.connect(self._period_changed)
        self.btn_rest_of_today.clicked.connect(self._rest_of_today)
        self.btn_tomorrow.clicked.connect(self._tomorrow)
        self.retranslate()
        self._period_changed()

    # --- texts -----------------------------------------------------------------------------------------------

    def reason_presets(self) -> list[str]:
        return [self.tr("Official duty"), self.tr("Illness"), self.tr("Conference or training"),
                self.tr("Emergency surgery"), self.tr("Other")]

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Stop clinic"))
        self.lbl_intro.setText(self.tr("Every booked appointment in this period is cancelled and refunded in "
                                       "full; the patients are told by text message."))
        self.lbl_start.setText(self.tr("From"))
        self.lbl_end.setText(self.tr("Until"))
        self.lbl_quick.setText(self.tr("Quick choice"))
        self.btn_rest_of_today.setText(self.tr("Rest of today"))
        self.btn_tomorrow.setText(self.tr("All day tomorrow"))
        self.lbl_reason.setText(self.tr("Reason"))
        self.lbl_detail.setText(self.tr("Details"))
        self.ed_reason.setPlaceholderText(self.tr("Optional: shown to the patients in the text message"))
        index = self.cb_reason.currentIndex()
        self.cb_reason.clear()
        self.cb_reason.addItems(self.reason_presets())
        self.cb_reason.setCurrentIndex(max(0, index))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Stop clinic…"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._render_affected()

    def _render_affected(self) -> None:
        if self._period_problem():
            self.lbl_affected.setText(self._period_problem() or "")
        elif self._preview is None or self._preview_failed:
            self.lbl_affected.setText(self.tr("The number of booked patients in this period could not be "
                                              "checked; the server will cancel every booked one."))
        elif self._affected is None:
            self.lbl_affected.setText(self.tr("Checking booked patients in this period…"))
        elif self._affected == 0:
            self.lbl_affected.setText(self.tr("No patient is booked in this period."))
        else:
            self.lbl_affected.setText(self.tr("%n booked patient(s) in this period will be cancelled and refunded.",
                                              "", self._affected))

    # --- the period ------------------------------------------------------------------------------------------

    def _period_problem(self) -> str | None:
        start, end = _to_datetime(self.ed_start.dateTime()), _to_datetime(self.ed_end.dateTime())
        if end <= start:
            return self.tr("The end must be after the start.")
        if end <= dt.datetime.now(TZ):
            return self.tr("The period is already over.")
        return None

    def _period_changed(self) -> None:
        self._affected = None
        self._preview_failed = False
        self._render_affected()
        self._debounce.start()

    def _run_preview(self) -> None:
        if self._preview is None or self._period_problem():
            return
        self._seq += 1
        seq = self._seq
        start, end = self.period()
        preview = self._preview
        Op(lambda: preview(start, end), parent=self) \
            .success(lambda n: self._preview_done(seq, n)).failure(lambda _e: self._preview_error(seq)).run()

    def _preview_done(self, seq: int, count: int) -> None:
        if seq == self._seq:
            self._affected = int(count)
            self._render_affected()

    def _preview_error(self, seq: int) -> None:
        if seq == self._seq:
            self._preview_failed = True
            self._render_affected()

    def _rest_of_today(self) -> None:
        now = dt.datetime.now(TZ).replace(second=0, microsecond=0)
        self.ed_start.setDateTime(_to_qdatetime(now))
        self.ed_end.setDateTime(_to_qdatetime(now.replace(hour=23, minute=59)))

    def _tomorrow(self) -> None:
        day = dt.datetime.now(TZ).date() + dt.timedelta(days=1)
        self.ed_start.setDateTime(_to_qdatetime(dt.datetime.combine(day, dt.time(0, 0), tzinfo=TZ)))
        self.ed_end.setDateTime(_to_qdatetime(dt.datetime.combine(day, dt.time(23, 59), tzinfo=TZ)))

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        return _to_datetime(self.ed_start.dateTime()), _to_datetime(self.ed_end.dateTime())

    def reason(self) -> str:
        detail = self.ed_reason.toPlainText().strip()
        text = self.cb_reason.currentText()
        return (f"{text}：{detail}" if detail else text)[:REASON_MAX]

    def request(self) -> ClinicStopRequest:
        start, end = self.period()
        return ClinicStopRequest(starts_at=start, ends_at=end, reason=self.reason())

    # --- confirmation ----------------------------------------------------------------------------------------

    def confirmation_text(self) -> str:
        start, end = self.period()
        text = self.tr("Stop clinic from %1 until %2?").replace("%1", f"{start:%Y-%m-%d %H:%M}") \
            .replace("%2", f"{end:%Y-%m-%d %H:%M}")
        if self._affected:
            text += "\n\n" + self.tr("%n booked patient(s) will be cancelled and refunded. This cannot be undone.",
                                     "", self._affected)
        else:
            text += "\n\n" + self.tr("Any patient booked in this period will be cancelled and refunded. "
                                     "This cannot be undone.")
        return text

    def _confirm(self) -> None:
        problem = self._period_problem()
        if problem:
            self.lbl_error.setText(problem)
            self.lbl_error.show()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Confirm clinic stop"), self.confirmation_text(),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Stop clinic"))
        box.button(QMessageBox.StandardButton.No).setText(self.tr("Go back"))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.accept()
