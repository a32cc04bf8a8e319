"""Print preview for generated PDFs (the prescription slip, the refund receipt, any other): the pages as they
will print, then 打印… (Qt's print dialog), 另存为 PDF… or 关闭.

Pages are rendered with pypdfium2 on a worker (through the PDF viewer's lock: PDFium is not thread-safe) and
painted onto the QPrinter at the printer's resolution, 1:1 when the paper is large enough (an A5 slip on A5
paper prints at its legal size), scaled down to fit otherwise, never up.

Entry points for the windows::

    open_pdf_preview(self, pdf, title, suggested_name)    # any rendered PDF: the dialog, shown
    open_rendered_preview(render, title=..., suggested_name=..., parent=self, on_error=...)
                                                          # render() -> bytes on a worker, then the dialog
    open_slip_preview(slip_data, parent=self)             # SlipData dict from GET /staff/prescriptions/{id}/slip
    print_pdf(pdf, printer)                               # headless: any configured QPrinter

A refund receipt: ``open_rendered_preview(lambda: render_receipt(data), title=f"退费凭证 {data.receipt_no}",
suggested_name=data.filename, parent=self, on_error=...)`` with ``data = ReceiptData.from_refund(...)``
(services/printing/receipt.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PySide6.QtCore import QCoreApplication, QMarginsF, QPointF, QRectF, QSizeF, QStandardPaths, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPen, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.services.ops import Op
from workstation.ui.doctor.pdf_viewer import _PDFIUM_LOCK
from workstation.ui.doctor.zoom_view import ZoomView
from workstation.ui.i18n import LanguageAware

PREVIEW_DPI = 144.0
MAX_PRINT_DPI = 600.0       # an A5 page at 600 dpi is a 52 MB bitmap; more buys nothing on paper
PAGE_GAP = 24.0
PORTRAIT_SIZE = (720, 900)     # the dialog's first size: a portrait page (the A5 slip) or a landscape one
LANDSCAPE_SIZE = (980, 760)    # (the A5-landscape refund receipt)


def page_sizes_pt(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's (width, height) in points."""
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(pdf)
        try:
            return [tuple(doc.get_page_size(i)) for i in range(len(doc))]  # type: ignore[misc]
        finally:
            doc.close()


def render_pages(pdf: bytes, *, dpi: float) -> list[QImage]:
    """Every page as a QImage at ``dpi`` (QImage, unlike QPixmap, may be built off the GUI thread)."""
    images: list[QImage] = []
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(pdf)
        try:
            for i in range(len(doc)):
                page = doc[i]
                pil = page.render(scale=dpi / 72.0).to_pil().convert("RGB")
                page.close()
                raw = pil.tobytes("raw", "RGB")
                images.append(QImage(raw, pil.width, pil.height, pil.width * 3,
                                     QImage.Format.Format_RGB888).copy())
        finally:
            doc.close()
    return images


def printer_dpi(printer: QPrinter) -> float:
    return float(min(max(printer.resolution(), 72), MAX_PRINT_DPI))


def prepare_printer(printer: QPrinter, pdf: bytes) -> None:
    """Before the print dialog: the paper size and orientation of the PDF's first page, no margins (the page
    carries its own), so the dialog proposes A5 for a slip and A5 landscape for a refund receipt."""
    sizes = page_sizes_pt(pdf)
    if not sizes:
        return
    w, h = sizes[0]
    # paper sizes are named portrait (A5 is 148 × 210): a landscape page is that paper turned, not a custom size
    size = QPageSize(QSizeF(min(w, h), max(w, h)), QPageSize.Unit.Point, "", QPageSize.SizeMatchPolicy.FuzzyMatch)
    orientation = QPageLayout.Orientation.Landscape if w > h else QPageLayout.Orientation.Portrait
    printer.setPageLayout(QPageLayout(size, orientation, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter))
    printer.setFullPage(True)


def paint_pages(printer: QPrinter, images: list[QImage], sizes_pt: list[tuple[float, float]]) -> int:
    """Paint rendered pages onto ``printer`` (GUI thread): one sheet each, true size when the paper allows,
    centred across and aligned to the top. Returns the number of pages painted."""
    if not images:
        return 0
    printer.setFullPage(True)
    painter = QPainter()
    if not painter.begin(printer):
        raise RuntimeError("the printer could not be opened")
    try:
        dpi_x = printer.logicalDpiX() or printer.resolution()
        dpi_y = printer.logicalDpiY() or printer.resolution()
        paper = printer.paperRect(QPrinter.Unit.DevicePixel)
        for i, (img, (w_pt, h_pt)) in enumerate(zip(images, sizes_pt)):
            if i:
                printer.newPage()
            w_px, h_px = w_pt / 72.0 * dpi_x, h_pt / 72.0 * dpi_y
            scale = min(1.0, paper.width() / w_px, paper.height() / h_px)
            target = QRectF(0, 0, w_px * scale, h_px * scale)
            target.moveLeft((paper.width() - target.width()) / 2)
            painter.drawImage(target, img)
        return len(images)
    finally:
        painter.end()


def print_pdf(pdf: bytes, printer: QPrinter) -> int:
    """Render and print every page of ``pdf`` on an already configured ``printer`` (synchronous: tests and
    scripts; the dialog renders on a worker). Returns the number of pages printed."""
    images = render_pages(pdf, dpi=printer_dpi(printer))
    return paint_pages(printer, images, page_sizes_pt(pdf))


def _landscape(pdf: bytes) -> bool:
    """Whether the first page is wider than tall (False for a document PDFium cannot read: the worker reports
    that)."""
    try:
        sizes = page_sizes_pt(pdf)
    except pdfium.PdfiumError:
        return False
    return bool(sizes) and sizes[0][0] > sizes[0][1]


class PrintPreviewDialog(LanguageAware, QDialog):
    """The pages, with 打印… / 另存为 PDF… / 关闭. Non-modal; deletes itself when closed."""

    sig_pdf_saved = Signal(str)        # the path written
    sig_print_done = Signal(int)       # pages sent to the printer
    sig_print_failed = Signal(str)

    def __init__(self, pdf: bytes, *, title: str, suggested_name: str = "document.pdf",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PrintPreviewDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(*(LANDSCAPE_SIZE if _landscape(pdf) else PORTRAIT_SIZE))
        self._pdf = pdf
        self._title = title
        self._suggested_name = suggested_name
        self._pages = 0
        self._failed: str | None = None
        self._printing = False

        self.view = ZoomView(parent=self)
        self.lbl_status = QLabel(self)
        self.lbl_status.setObjectName("Muted")
        self.btn_zoom_out = QPushButton(self)
        self.btn_zoom_in = QPushButton(self)
        self.btn_print = QPushButton(self)
        self.btn_print.setObjectName("Primary")
        self.btn_save = QPushButton(self)
        self.btn_close = QPushButton(self)

        top = QHBoxLayout()
        top.addWidget(self.lbl_status, 1)
        top.addWidget(self.btn_zoom_out)
        top.addWidget(self.btn_zoom_in)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.btn_print, self.btn_save, self.btn_close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

        self.btn_zoom_in.clicked.connect(self.view.zoom_in)
        self.btn_zoom_out.clicked.connect(self.view.zoom_out)
        self.btn_print.clicked.connect(self.print_with_dialog)
        self.btn_save.clicked.connect(self.save_with_dialog)
        self.btn_close.clicked.connect(self.close)
        self.btn_print.setEnabled(False)
        self.btn_print.setDefault(True)

        self.retranslate()
        pdf_ref = pdf
        Op(lambda: render_pages(pdf_ref, dpi=PREVIEW_DPI), parent=self) \
            .success(self._show_pages).failure(self._on_error).run()

    # --- preview -------------------------------------------------------------------------------------------------

    def _show_pages(self, images: list[QImage]) -> None:
        scene = self.view.scene()
        y = 0.0
        for img in images:
            frame = scene.addRect(-1, y - 1, img.width() + 2, img.height() + 2, QPen(QColor("#7b8794")))
            frame.setZValue(-1)
            item = scene.addPixmap(QPixmap.fromImage(img))
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            item.setPos(QPointF(0, y))
            y += img.height() + PAGE_GAP
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-16, -16, 16, 16))
        self._pages = len(images)
        self.btn_print.setEnabled(self._pages > 0)
        self.view.fit()
        self.retranslate()

    def _on_error(self, exc: BaseException) -> None:
        self._failed = str(exc)
        self.retranslate()

    @property
    def page_total(self) -> int:
        """Pages shown (0 until the worker has rendered them)."""
        return self._pages

    # --- actions -------------------------------------------------------------------------------------------------

    def default_save_path(self) -> str:
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        return str(Path(docs) / self._suggested_name)

    def save_with_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save as PDF"), self.default_save_path(),
                                              self.tr("PDF files (*.pdf)"))
        if path:
            self.save_to(path)

    def save_to(self, path: str) -> bool:
        if not path.lower().endswith(".pdf"):
            path += ".pdf"
        try:
            Path(path).write_bytes(self._pdf)
        except OSError as exc:
            QMessageBox.warning(self, self.tr("Save as PDF"),
                                self.tr("The file could not be written: %1").replace("%1", exc.strerror or str(exc)))
            return False
        self.sig_pdf_saved.emit(path)
        return True

    def print_with_dialog(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        prepare_printer(printer, self._pdf)
        printer.setDocName(self._title)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(self.tr("Print"))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        """Render at the printer's resolution on a worker, then paint on the GUI thread."""
        if self._printing:
            return
        self._printing = True
        self.btn_print.setEnabled(False)
        self.retranslate()
        pdf, dpi = self._pdf, printer_dpi(printer)

        def done(images: list[QImage]) -> None:
            try:
                pages = paint_pages(printer, images, page_sizes_pt(pdf))
            except RuntimeError as exc:
                failed(exc)
                return
            self._printing = False
            self.btn_print.setEnabled(True)
            self.retranslate()
            self.sig_print_done.emit(pages)

        def failed(exc: BaseException) -> None:
            self._printing = False
            self.btn_print.setEnabled(True)
            self.retranslate()
            self.sig_print_failed.emit(str(exc))
            QMessageBox.warning(self, self.tr("Print"),
                                self.tr("Printing failed: %1").replace("%1", str(exc)))

        Op(lambda: render_pages(pdf, dpi=dpi), parent=self).success(done).failure(failed).run()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Print preview — %1").replace("%1", self._title))
        self.btn_zoom_in.setText(self.tr("Zoom in"))
        self.btn_zoom_out.setText(self.tr("Zoom out"))
        self.btn_print.setText(self.tr("Print…"))
        self.btn_save.setText(self.tr("Save as PDF…"))
        self.btn_close.setText(self.tr("Close"))
        if self._failed is not None:
            self.lbl_status.setText(self.tr("This document could not be shown."))
        elif self._printing:
            self.lbl_status.setText(self.tr("Sending to the printer…"))
        elif self._pages == 0:
            self.lbl_status.setText(self.tr("Preparing the preview…"))
        else:
            self.lbl_status.setText(self.tr("%n page(s)", "", self._pages))


def open_pdf_preview(parent: QWidget | None, pdf: bytes, title: str,
                     suggested_name: str = "document.pdf") -> PrintPreviewDialog:
    """Open the print preview of an already rendered PDF (non-modal, deletes itself when closed) and return it.
    ``title`` names the document in the window title and to the printer; ``suggested_name`` is what 另存为 PDF…
    proposes."""
    dlg = PrintPreviewDialog(pdf, title=title, suggested_name=suggested_name, parent=parent)
    dlg.show()
    return dlg


def open_rendered_preview(render: Callable[[], bytes], *, title: str, suggested_name: str, parent: QWidget,
                          on_error: Callable[[BaseException], Any]) -> Op[Any]:
    """Run ``render`` (a document renderer: ``render_slip``, ``render_receipt``…) on a worker, then open the print
    preview of what it made; ``on_error(exc)`` on the GUI thread when it raises (a missing font, bad data).
    Returns the running Op."""
    return Op(render, parent=parent).success(
        lambda pdf: open_pdf_preview(parent, pdf, title, suggested_name)).failure(on_error).run()


def open_slip_preview(slip: Mapping[str, Any], *, parent: QWidget) -> Op[Any]:
    """Render the slip (``SlipData`` of ``GET /staff/prescriptions/{id}/slip``) on a worker and open the print
    preview; a missing font or bad data is shown in a message box. Returns the running Op."""
    from workstation.services.printing.slip import render_slip, slip_filename

    data = dict(slip)
    title = f"{data.get('title') or '处方笺'} {data.get('no') or ''}".strip()

    def fail(exc: BaseException) -> None:
        QMessageBox.warning(parent, QCoreApplication.translate("PrintPreview", "Prescription slip"),
                            QCoreApplication.translate("PrintPreview", "The slip could not be prepared: %1")
                            .replace("%1", str(exc)))

    return open_rendered_preview(lambda: render_slip(data), title=title, suggested_name=slip_filename(data),
                                 parent=parent, on_error=fail)
