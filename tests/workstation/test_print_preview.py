"""The print preview of a slip: the page is shown, 另存为 PDF writes the bytes, printing to a PDF-file QPrinter
gives a page of the right size with the slip on it (read back with pypdfium2), and the buttons go through Qt's
dialogs (replaced here by stand-ins that answer as a user would)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QDialog

from workstation.services.printing.samples import sample_slip
from workstation.services.printing.slip import render_slip
from workstation.ui import print_preview, theme
from workstation.ui.i18n import install_language
from workstation.ui.print_preview import PrintPreviewDialog, open_slip_preview, prepare_printer, print_pdf

pytestmark = pytest.mark.db_independent


@pytest.fixture(autouse=True)
def _theme(qapp: Any) -> Iterator[None]:
    theme.apply_theme(qapp)
    install_language("zh_CN")
    yield
    install_language("en")  # later modules (the queue model's) read English labels


@pytest.fixture(scope="module")
def slip_pdf() -> bytes:
    return render_slip(sample_slip("paediatric", drugs=1))


def pdf_printer(path: Path, *, dpi: int = 150) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(dpi)
    return printer


def read_back(path: Path) -> tuple[int, tuple[float, float], Any]:
    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[0]
        size = page.get_size()
        img = page.render(scale=1).to_pil().convert("RGB")
        page.close()
        return len(doc), size, img
    finally:
        doc.close()


def test_dialog_shows_the_page(qtbot: Any, slip_pdf: bytes) -> None:
    dlg = PrintPreviewDialog(slip_pdf, title="处方笺 RX1", suggested_name="处方笺_RX1.pdf")
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.btn_print.isEnabled()
    qtbot.waitUntil(lambda: dlg.page_total == 1, timeout=10000)
    assert dlg.btn_print.isEnabled()
    pixmaps = [it for it in dlg.view.scene().items() if it.type() == 7]   # QGraphicsPixmapItem
    assert len(pixmaps) == 1
    pm = pixmaps[0].pixmap()
    assert 0.69 < pm.width() / pm.height() < 0.72                          # A5 portrait: 148 / 210
    assert abs(pm.width() - 148 / 25.4 * print_preview.PREVIEW_DPI) <= 1
    img = pm.toImage()
    c = img.pixelColor(5, pm.height() // 2)                                  # the paediatric slip's green paper
    assert c.green() > c.red() + 10 and c.green() > c.blue() + 10
    assert "RX1" in dlg.windowTitle()


def test_save_writes_the_bytes(qtbot: Any, slip_pdf: bytes, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    dlg = PrintPreviewDialog(slip_pdf, title="处方笺 RX1", suggested_name="处方笺_RX1.pdf")
    qtbot.addWidget(dlg)
    asked: dict[str, Any] = {}

    def fake_save(parent: Any, caption: str, directory: str, filters: str) -> tuple[str, str]:
        asked.update(directory=directory, filters=filters)
        return str(tmp_path / "slip"), filters

    monkeypatch.setattr(print_preview.QFileDialog, "getSaveFileName", staticmethod(fake_save))
    with qtbot.waitSignal(dlg.sig_pdf_saved, timeout=2000) as sig:
        dlg.btn_save.click()
    assert asked["directory"].endswith("处方笺_RX1.pdf") and "*.pdf" in asked["filters"]
    assert sig.args == [str(tmp_path / "slip.pdf")]
    assert (tmp_path / "slip.pdf").read_bytes() == slip_pdf


def test_save_cancelled_writes_nothing(qtbot: Any, slip_pdf: bytes, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    dlg = PrintPreviewDialog(slip_pdf, title="x")
    qtbot.addWidget(dlg)
    monkeypatch.setattr(print_preview.QFileDialog, "getSaveFileName", staticmethod(lambda *a: ("", "")))
    with qtbot.assertNotEmitted(dlg.sig_pdf_saved):
        dlg.btn_save.click()


def test_print_pdf_to_a_pdf_file_printer(qapp: Any, slip_pdf: bytes, tmp_path: Path) -> None:
    out = tmp_path / "printed.pdf"
    printer = pdf_printer(out)
    prepare_printer(printer, slip_pdf)
    assert print_pdf(slip_pdf, printer) == 1
    pages, (w, h), img = read_back(out)
    assert pages == 1
    assert abs(w - 419.5) < 3 and abs(h - 595.3) < 3                        # A5 in points, printed 1:1
    c = img.getpixel((4, img.height // 2))
    assert c[1] > c[0] + 10 and c[1] > c[2] + 10                            # the green paper made it
    dark = sum(1 for x in range(0, img.width, 2) for y in range(0, img.height, 2) if sum(img.getpixel((x, y))) < 200)
    assert dark > 500                                                       # and the slip's ink


def test_a5_slip_on_a4_paper_is_not_enlarged(qapp: Any, slip_pdf: bytes, tmp_path: Path) -> None:
    out = tmp_path / "a4.pdf"
    printer = pdf_printer(out)
    from PySide6.QtGui import QPageSize
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    assert print_pdf(slip_pdf, printer) == 1
    _, (w, h), img = read_back(out)
    assert abs(w - 595.3) < 3 and abs(h - 841.9) < 3
    # the slip's green stops where the A5 page ends: 1:1, centred across, from the top
    left = (595.3 - 419.5) / 2
    inside = img.getpixel((int(left + 5), 300))
    outside = img.getpixel((int(left - 8), 300))
    below = img.getpixel((300, 620))
    assert inside[1] > inside[0] + 10
    assert outside == (255, 255, 255) and below == (255, 255, 255)


def test_print_button_goes_through_the_print_dialog(qtbot: Any, slip_pdf: bytes, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "via-dialog.pdf"
    seen: dict[str, Any] = {}

    class FakePrintDialog:
        def __init__(self, printer: QPrinter, parent: Any) -> None:
            self.printer = printer

        def setWindowTitle(self, title: str) -> None:
            pass

        def exec(self) -> QDialog.DialogCode:
            # the user picks "print to file"; the dialog was offered A5, the PDF's own size
            seen["page"] = self.printer.pageLayout().pageSize().id()
            self.printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            self.printer.setOutputFileName(str(out))
            self.printer.setResolution(150)
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(print_preview, "QPrintDialog", FakePrintDialog)
    dlg = PrintPreviewDialog(slip_pdf, title="处方笺 RX1")
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.btn_print.isEnabled(), timeout=10000)
    with qtbot.waitSignal(dlg.sig_print_done, timeout=20000) as sig:
        dlg.btn_print.click()
    assert sig.args == [1]
    from PySide6.QtGui import QPageSize
    assert seen["page"] == QPageSize.PageSizeId.A5
    assert read_back(out)[0] == 1


def test_open_slip_preview_renders_and_shows(qtbot: Any) -> None:
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    open_slip_preview(sample_slip("ordinary", drugs=5), parent=parent)
    qtbot.waitUntil(lambda: any(isinstance(c, PrintPreviewDialog) and c.page_total == 1
                                for c in parent.children()), timeout=15000)
    dlg = next(c for c in parent.children() if isinstance(c, PrintPreviewDialog))
    assert dlg._suggested_name == "处方笺_RX20261126000123.pdf"
    dlg.close()


def test_open_slip_preview_reports_a_missing_font(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QWidget

    from workstation.services.printing import fonts, slip

    def no_font(data: Any) -> bytes:
        raise fonts.FontNotFound(fonts.INSTALL_HINT)

    shown: list[str] = []
    monkeypatch.setattr(slip, "render_slip", no_font)
    monkeypatch.setattr(print_preview.QMessageBox, "warning", staticmethod(lambda p, t, m: shown.append(m)))
    parent = QWidget()
    qtbot.addWidget(parent)
    open_slip_preview(sample_slip("ordinary", drugs=1), parent=parent)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "fonts-wqy-zenhei" in shown[0]
    assert not any(isinstance(c, PrintPreviewDialog) for c in parent.children())


# --- any PDF: the refund receipt (A5 landscape) ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def receipt_pdf() -> bytes:
    from workstation.services.printing.receipt import render_receipt
    from workstation.services.printing.samples import sample_receipt

    return render_receipt(sample_receipt("processing"))


def test_open_pdf_preview_shows_a_landscape_receipt(qtbot: Any, receipt_pdf: bytes) -> None:
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    dlg = print_preview.open_pdf_preview(parent, receipt_pdf, "退费凭证 R1", "退费凭证_R1.pdf")
    assert isinstance(dlg, PrintPreviewDialog) and dlg.isVisible() and dlg.parent() is parent
    assert dlg.width() > dlg.height()                                       # a landscape page, a wide dialog
    qtbot.waitUntil(lambda: dlg.page_total == 1, timeout=10000)
    pm = next(it for it in dlg.view.scene().items() if it.type() == 7).pixmap()
    assert abs(pm.width() / pm.height() - 210 / 148) < 0.01
    assert dlg._suggested_name == "退费凭证_R1.pdf" and "R1" in dlg.windowTitle()
    dlg.close()


def test_receipt_prints_on_a5_landscape(qapp: Any, receipt_pdf: bytes, tmp_path: Path) -> None:
    from PySide6.QtGui import QPageLayout, QPageSize

    out = tmp_path / "receipt.pdf"
    printer = pdf_printer(out)
    prepare_printer(printer, receipt_pdf)
    layout = printer.pageLayout()
    assert layout.pageSize().id() == QPageSize.PageSizeId.A5
    assert layout.orientation() == QPageLayout.Orientation.Landscape
    assert print_pdf(receipt_pdf, printer) == 1
    pages, (w, h), img = read_back(out)
    assert pages == 1
    assert abs(w - 595.3) < 3 and abs(h - 419.5) < 3                        # A5 landscape, printed 1:1
    dark = sum(1 for x in range(0, img.width, 2) for y in range(0, img.height, 2) if sum(img.getpixel((x, y))) < 200)
    assert dark > 500


def test_open_rendered_preview_renders_on_a_worker_and_reports_errors(qtbot: Any, receipt_pdf: bytes) -> None:
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    print_preview.open_rendered_preview(lambda: receipt_pdf, title="退费凭证 R1", suggested_name="退费凭证_R1.pdf",
                                        parent=parent, on_error=lambda exc: pytest.fail(str(exc)))
    qtbot.waitUntil(lambda: any(isinstance(c, PrintPreviewDialog) and c.page_total == 1
                                for c in parent.children()), timeout=15000)
    errors: list[BaseException] = []

    def broken() -> bytes:
        raise ValueError("a rejected refund has no receipt")

    print_preview.open_rendered_preview(broken, title="x", suggested_name="x.pdf", parent=parent,
                                        on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "rejected" in str(errors[0])
    assert sum(isinstance(c, PrintPreviewDialog) for c in parent.children()) == 1
