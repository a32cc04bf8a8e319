"""The patient chart beside the queue: who the patient is, why they may have an online revisit (the qualifying
hospital visit), what they wrote and attached, and what happened at earlier visits.

It only displays a chart dict (``GET /staff/appointments/{id}/chart``); attachments are fetched and turned into
thumbnails on workers through the ``fetch_file`` callable it is given.
"""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.services.ops import Op
from workstation.ui.doctor.image_viewer import ImageViewer, ViewerImage
from workstation.ui.doctor.pdf_viewer import PdfViewer, render_page
from workstation.ui.i18n import LanguageAware
from workstation.ui.widgets import StatusBadge, card, field_grid, state_label

THUMB = 132
KNOWN_STATES = ("completed", "missed", "cancelled", "cancelled_by_hospital", "booked", "waiting", "checked_in",
                "in_consultation")
PDF = "application/pdf"


def sex_name(sex: str | None) -> str:
    return {"female": QCoreApplication.translate("Chart", "Female"),
            "male": QCoreApplication.translate("Chart", "Male")}.get(sex or "", sex or "")


def card_type_name(kind: str | None) -> str:
    return {"hospital": QCoreApplication.translate("Chart", "Hospital card"),
            "insurance": QCoreApplication.translate("Chart", "Medical insurance card")}.get(kind or "", kind or "")


def fmt_time(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    try:
        return dt.datetime.fromisoformat(value).strftime(fmt)
    except ValueError:
        return value


def make_thumbnail(data: bytes, content_type: str) -> QImage:
    """On a worker: a thumbnail of an image, or of a PDF's first page, with a small "PDF" mark."""
    if content_type == PDF:
        image = render_page(data, 0, scale=0.5)
    else:
        image = QImage.fromData(data)
    if image.isNull():
        image = QImage(THUMB, THUMB, QImage.Format.Format_RGB32)
        image.fill(QColor("#eef2f5"))
    thumb = image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    canvas = QImage(THUMB, THUMB, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(QColor("#f4f6f8"))
    p = QPainter(canvas)
    p.drawImage((THUMB - thumb.width()) // 2, (THUMB - thumb.height()) // 2, thumb)
    if content_type == PDF:
        p.fillRect(0, THUMB - 22, 40, 22, QColor("#b42318"))
        p.setPen(QColor("white"))
        f = p.font()
        f.setBold(True)
        f.setPixelSize(13)
        p.setFont(f)
        p.drawText(0, THUMB - 22, 40, 22, Qt.AlignmentFlag.AlignCenter, "PDF")
    p.setPen(QColor("#c3ccd5"))
    p.drawRect(0, 0, THUMB - 1, THUMB - 1)
    p.end()
    return canvas


class ChartPanel(LanguageAware, QWidget):
    sig_file_failed = Signal(str)
    sig_renew_requested = Signal(dict)  # an earlier prescription to copy into the editor (续方)

    def __init__(self, *, fetch_file: Callable[[int], bytes], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChartPanel")
        self._fetch_file = fetch_file
        self._chart: dict[str, Any] | None = None
        self._state = "empty"  # empty | loading | error | chart
        self._error = ""
        self._files: dict[int, bytes] = {}
        self._images: dict[int, QImage] = {}
        self._generation = 0

        self.lbl_placeholder = QLabel(self)
        self.lbl_placeholder.setObjectName("Placeholder")
        self.lbl_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lbl_placeholder.setWordWrap(True)

        # header: name, sex, age, status; ID, card, appointment
        self.lbl_name = QLabel(self)
        self.lbl_name.setObjectName("PatientName")
        self.lbl_demographics = QLabel(self)
        self.lbl_demographics.setObjectName("AppSubtitle")
        self.badge = StatusBadge(parent=self)
        self.header_fields = field_grid(self, ["id_number", "card", "number", "time", "department", "checked_in"])
        self.card_header = card(self, None, [self._header_row(), self.header_fields.widget])

        self.eligibility_fields = field_grid(self, ["visit_date", "department", "doctor", "diagnosis"])
        self.lbl_no_eligibility = QLabel(self)
        self.lbl_no_eligibility.setObjectName("Muted")
        self.card_eligibility = card(self, "", [self.eligibility_fields.widget, self.lbl_no_eligibility])

        self.lbl_description = QLabel(self)
        self.lbl_description.setWordWrap(True)
        self.lbl_description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lbl_description.setMinimumHeight(24)
        self.lbl_description_meta = QLabel(self)
        self.lbl_description_meta.setObjectName("Muted")
        self.lbl_files_title = QLabel(self)
        self.lbl_files_title.setObjectName("SectionTitle")
        self.files = QListWidget(self)
        self.files.setObjectName("Attachments")
        self.files.setViewMode(QListView.ViewMode.IconMode)
        self.files.setIconSize(QSize(THUMB, THUMB))
        self.files.setGridSize(QSize(THUMB + 24, THUMB + 34))
        self.files.setMovement(QListView.Movement.Static)
        self.files.setResizeMode(QListView.ResizeMode.Adjust)
        self.files.setWrapping(True)
        self.files.setFixedHeight(THUMB + 46)
        self.files.setSpacing(4)
        self.files.setCursor(Qt.CursorShape.PointingHandCursor)
        self.files.itemActivated.connect(self._open_item)
        self.files.itemClicked.connect(self._open_item)
        self.card_description = card(self, "", [self.lbl_description, self.lbl_description_meta,
                                                self.lbl_files_title, self.files])

        self.previous = QTreeWidget(self)
        self.previous.setObjectName("PreviousVisits")
        self.previous.setRootIsDecorated(False)
        self.previous.setColumnCount(5)
        self.previous.setAlternatingRowColors(True)
        self.previous.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.previous.header().setStretchLastSection(True)
        self.previous.setMinimumHeight(90)
        self.lbl_no_previous = QLabel(self)
        self.lbl_no_previous.setObjectName("Muted")
        self.lbl_prescriptions = QLabel(self)
        self.lbl_prescriptions.setWordWrap(True)
        self.lbl_prescriptions.setTextFormat(Qt.TextFormat.RichText)
        self.lbl_prescriptions.setOpenExternalLinks(False)
        self.lbl_prescriptions.linkActivated.connect(self._link_activated)
        self.lbl_prescriptions_title = QLabel(self)
        self.lbl_prescriptions_title.setObjectName("SectionTitle")
        self.card_history = card(self, "", [self.previous, self.lbl_no_previous, self.lbl_prescriptions_title,
                                            self.lbl_prescriptions])

        content = QWidget(self)
        col = QVBoxLayout(content)
        col.setContentsMargins(0, 0, 6, 0)
        col.setSpacing(10)
        for w in (self.card_header, self.card_eligibility, self.card_description, self.card_history):
            col.addWidget(w)
        col.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(content)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.lbl_placeholder, 1)
        layout.addWidget(self.scroll, 1)
        self.retranslate()

    def _header_row(self) -> QWidget:
        row = QWidget(self)
        grid = QGridLayout(row)
        grid.setContentsMargins(0, 0, 0, 4)
        grid.addWidget(self.lbl_name, 0, 0)
        grid.addWidget(self.badge, 0, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.lbl_demographics, 1, 0, 1, 2)
        grid.setColumnStretch(2, 1)
        return row

    # --- what is shown ---------------------------------------------------------------------------------------

    @property
    def chart(self) -> dict[str, Any] | None:
        return self._chart

    @property
    def appointment_id(self) -> int | None:
        return int(self._chart["appointment_id"]) if self._chart else None

    def show_empty(self) -> None:
        self._state, self._chart = "empty", None
        self._generation += 1
        self.retranslate()

    def show_loading(self) -> None:
        if self._chart is None:
            self._state = "loading"
            self.retranslate()

    def show_error(self, message: str) -> None:
        if self._chart is None:
            self._state, self._error = "error", message
            self.retranslate()

    def show_chart(self, chart: dict[str, Any]) -> None:
        same = self._chart is not None and self._chart.get("appointment_id") == chart.get("appointment_id")
        self._chart, self._state = chart, "chart"
        if not same:
            self._generation += 1
            self._files.clear()
            self._images.clear()
            self.files.clear()
            self.scroll.verticalScrollBar().setValue(0)
            self._load_files(chart)
        self.retranslate()

    # --- attachments ---------------------------------------------------------------------------------------------

    def _chart_files(self, chart: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        desc = (chart or self._chart or {}).get("description") or {}
        return list(desc.get("files") or [])

    def _load_files(self, chart: dict[str, Any]) -> None:
        gen = self._generation
        for i, f in enumerate(self._chart_files(chart)):
            item = QListWidgetItem(self._file_label(i, f))
            item.setData(Qt.ItemDataRole.UserRole, f["id"])
            item.setSizeHint(QSize(THUMB + 20, THUMB + 30))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            blank = QPixmap(THUMB, THUMB)
            blank.fill(QColor("#eef2f5"))
            item.setIcon(QIcon(blank))
            self.files.addItem(item)
            fetch, file_id, ctype = self._fetch_file, int(f["id"]), str(f.get("content_type", ""))

            def work(fetch: Callable[[int], bytes] = fetch, file_id: int = file_id, ctype: str = ctype
                     ) -> tuple[bytes, QImage, QImage | None]:
                data = fetch(file_id)
                # images are decoded here too, so opening the viewer never decodes on the GUI thread
                full = None if ctype == PDF else QImage.fromData(data)
                return data, make_thumbnail(data, ctype), full

            Op(work, parent=self).success(lambda res, fid=file_id, g=gen: self._thumb_ready(g, fid, *res)) \
                .failure(lambda exc, g=gen: self._thumb_failed(g, exc)).run()

    def _file_label(self, index: int, f: dict[str, Any]) -> str:
        if f.get("content_type") == PDF:
            return self.tr("PDF %1").replace("%1", str(index + 1))
        return self.tr("Image %1").replace("%1", str(index + 1))

    def _thumb_ready(self, gen: int, file_id: int, data: bytes, thumb: QImage, full: QImage | None) -> None:
        if gen != self._generation:
            return
        self._files[file_id] = data
        if full is not None:
            self._images[file_id] = full
        for i in range(self.files.count()):
            item = self.files.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == file_id:
                item.setIcon(QIcon(QPixmap.fromImage(thumb)))

    def _thumb_failed(self, gen: int, exc: BaseException) -> None:
        if gen == self._generation:
            self.sig_file_failed.emit(str(exc))

    @property
    def loaded_files(self) -> int:
        return len(self._files)

    def _open_item(self, item: QListWidgetItem) -> None:
        self.open_file(int(item.data(Qt.ItemDataRole.UserRole)))

    def open_file(self, file_id: int) -> QWidget | None:
        files = self._chart_files()
        meta = next((f for f in files if int(f["id"]) == file_id), None)
        data = self._files.get(file_id)
        if meta is None or data is None:
            return None
        name = self._chart["patient"]["name"] if self._chart else ""
        if meta.get("content_type") == PDF:
            viewer: QWidget = PdfViewer(data, title=f"{name} · {self._file_label(files.index(meta), meta)}",
                                        parent=self)
        else:
            images = []
            start = 0
            for i, f in enumerate(files):
                fid = int(f["id"])
                if f.get("content_type") == PDF or fid not in self._files:
                    continue
                if fid not in self._images:
                    continue
                if fid == file_id:
                    start = len(images)
                images.append(ViewerImage(f"{name} · {self._file_label(i, f)}", self._images[fid]))
            viewer = ImageViewer(images, index=start, parent=self)
        viewer.show()
        viewer.raise_()
        return viewer

    # --- texts -------------------------------------------------------------------------------------------------

    def prescriptions_html(self, rx: list[dict[str, Any]]) -> str:
        """Each earlier prescription: date, number, diagnosis, every line's drug and directions, and a 续方 link."""
        blocks = []
        renew = html.escape(self.tr("Renew"))
        for r in rx:
            diagnosis = r.get("diagnosis") or {}
            lines = "<br>".join(f"&nbsp;&nbsp;{html.escape(str(ln.get('name') or ln.get('drug_code')))}　"
                                f"<span style='color:#5b6770'>{html.escape(str(ln.get('directions') or ''))}</span>"
                                for ln in r.get("lines") or [])
            head = (f"<b>{fmt_time(r.get('signed_at'), '%Y-%m-%d')}</b>　{html.escape(str(r.get('no') or ''))}　"
                    f"{html.escape(str(diagnosis.get('code') or ''))} {html.escape(str(diagnosis.get('name') or ''))}"
                    f"　<a href='renew:{int(r['id'])}'>{renew}</a>")
            blocks.append(f"{head}<br>{lines}")
        return "<br><br>".join(blocks)

    def _link_activated(self, link: str) -> None:
        if link.startswith("renew:"):
            self.renew(int(link.split(":", 1)[1]))

    def renew(self, rx_id: int) -> bool:
        """Ask for an earlier prescription to be copied into the editor (the link's action)."""
        for r in (self.chart or {}).get("previous_prescriptions") or []:
            if int(r["id"]) == rx_id:
                self.sig_renew_requested.emit(r)
                return True
        return False

    def retranslate(self) -> None:
        showing = self._state == "chart" and self._chart is not None
        self.scroll.setVisible(showing)
        self.lbl_placeholder.setVisible(not showing)
        if self._state == "loading":
            self.lbl_placeholder.setText(self.tr("Loading the chart…"))
        elif self._state == "error":
            self.lbl_placeholder.setText(self.tr("The chart could not be loaded: %1").replace("%1", self._error))
        else:
            self.lbl_placeholder.setText(self.tr("Select a patient in the queue to see the chart."))
        self.card_eligibility.title.setText(self.tr("Eligibility: qualifying hospital visit (last 6 months)"))
        self.card_description.title.setText(self.tr("Condition description"))
        self.card_history.title.setText(self.tr("Previous visits"))
        self.lbl_files_title.setText(self.tr("Attachments (click to open)"))
        self.lbl_prescriptions_title.setText(self.tr("Previous prescriptions"))
        self.previous.setHeaderLabels([self.tr("Date"), self.tr("Department"), self.tr("Doctor"),
                                       self.tr("Status"), self.tr("Diagnosis")])
        self.header_fields.set_names({
            "id_number": self.tr("ID number"), "card": self.tr("Card"), "number": self.tr("Appointment no."),
            "time": self.tr("Appointment time"), "department": self.tr("Department · doctor"),
            "checked_in": self.tr("Checked in")})
        self.eligibility_fields.set_names({
            "visit_date": self.tr("Visit date"), "department": self.tr("Department"), "doctor": self.tr("Doctor"),
            "diagnosis": self.tr("Diagnosis")})
        if showing:
            self._fill()

    def _fill(self) -> None:
        c = self._chart
        assert c is not None
        p = c.get("patient") or {}
        self.lbl_name.setText(p.get("name", ""))
        parts = [sex_name(p.get("sex"))]
        if p.get("age") is not None:
            parts.append(self.tr("%1 years").replace("%1", str(p["age"])))
        self.lbl_demographics.setText(" · ".join(x for x in parts if x))
        self.badge.set_state(str(c.get("status", "")))
        card_text = " ".join(x for x in (card_type_name(p.get("card_type")), p.get("card_no") or "") if x)
        starts, ends = fmt_time(c.get("starts_at")), fmt_time(c.get("ends_at"), "%H:%M")
        self.header_fields.set_values({
            "id_number": p.get("id_number_masked") or "—",
            "card": card_text or self.tr("None"),
            "number": c.get("number", ""),
            "time": f"{starts}–{ends}" if starts else "",
            "department": f"{c.get('department_name', '')} · {c.get('doctor_name', '')}",
            "checked_in": fmt_time(c.get("checked_in_at")) or "—",
        })
        visit = c.get("eligibility_visit")
        self.eligibility_fields.widget.setVisible(bool(visit))
        self.lbl_no_eligibility.setVisible(not visit)
        self.lbl_no_eligibility.setText(self.tr("No qualifying visit on record."))
        if visit:
            self.eligibility_fields.set_values({
                "visit_date": str(visit.get("visit_date", "")), "department": visit.get("department", ""),
                "doctor": visit.get("doctor_name", ""), "diagnosis": visit.get("diagnosis", "")})
        desc = c.get("description")
        if desc:
            self.lbl_description.setText(desc.get("text", ""))
            self.lbl_description.setObjectName("")
            self.lbl_description_meta.setText(self.tr("Submitted %1").replace("%1", fmt_time(desc.get("submitted_at"))))
            self.lbl_description_meta.show()
        else:
            self.lbl_description.setText(self.tr("The patient has checked in but not yet described the condition."))
            self.lbl_description_meta.hide()
        files = self._chart_files()
        self.lbl_files_title.setVisible(bool(files))
        self.files.setVisible(bool(files))
        for i, f in enumerate(files):
            item = self.files.item(i)
            if item is not None:
                item.setText(self._file_label(i, f))
                item.setToolTip(self.tr("Open %1").replace("%1", self._file_label(i, f)))
        self.previous.clear()
        visits = c.get("previous_visits") or []
        for v in visits:
            diag = " ".join(x for x in (v.get("diagnosis_code") or "", v.get("diagnosis_name") or "") if x)
            status = str(v.get("status", ""))
            item = QTreeWidgetItem([
                fmt_time(v.get("starts_at"), "%Y-%m-%d"), v.get("department_name", ""), v.get("doctor_name", ""),
                state_label(status) if status in KNOWN_STATES else v.get("status_label", status), diag or "—"])
            item.setToolTip(4, diag)
            self.previous.addTopLevelItem(item)
        self.previous.setVisible(bool(visits))
        self.previous.setFixedHeight(min(220, 34 + 26 * max(1, len(visits))))
        self.lbl_no_previous.setVisible(not visits)
        self.lbl_no_previous.setText(self.tr("No earlier online visits."))
        rx = c.get("previous_prescriptions") or []
        if rx:
            self.lbl_prescriptions.setText(self.prescriptions_html(rx))
        else:
            self.lbl_prescriptions.setText(self.tr("No previous prescriptions."))
