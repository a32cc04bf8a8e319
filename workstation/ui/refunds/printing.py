"""The printed refund receipt (退费凭证): the refund as the server has it, drawn by the receipt renderer
(workstation/services/printing/receipt.py, reportlab with the slip's font rules) into the print preview.

The renderer arrives with its own branch; until it is in this build :func:`receipt_printing` answers None and
the window's 打印退费凭证 stays disabled with a tool tip saying so.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from workstation.models.queue import TZ
from workstation.services.ops import Op

OpenReceipt = Callable[..., Any]


def receipt_printing() -> OpenReceipt | None:
    """:func:`open_receipt_preview` when the receipt renderer is in this build, else None."""
    try:
        from workstation.services.printing import receipt  # noqa: F401
    except ImportError:
        return None
    return open_receipt_preview


def receipt_filename(refund: Mapping[str, Any]) -> str:
    return f"退费凭证_{refund.get('out_refund_no') or refund.get('id')}.pdf"


def open_receipt_preview(refund: Mapping[str, Any], *, clerk: str, hospital: str = "", parent: QWidget,
                         on_error: Callable[[str], Any] | None = None) -> Op[Any]:
    """Render the receipt of ``refund`` (a ``RefundPublic``) on a worker and open the print preview. A refund
    with no receipt (rejected), a missing font or bad data goes to ``on_error(message)`` (the window shows it
    beside the button; without one, a message box). Returns the running Op."""
    from workstation.services.printing.receipt import ReceiptData, render_receipt
    from workstation.ui.print_preview import PrintPreviewDialog

    data = dict(refund)
    printed_at = dt.datetime.now(TZ)
    title = f"退费凭证 {data.get('out_refund_no') or ''}".strip()

    def render() -> bytes:
        return render_receipt(ReceiptData.from_refund(data, hospital=hospital, clerk=clerk, printed_at=printed_at))

    def show(pdf: bytes) -> None:
        dlg = PrintPreviewDialog(pdf, title=title, suggested_name=receipt_filename(data), parent=parent)
        dlg.show()

    def fail(exc: BaseException) -> None:
        message = QCoreApplication.translate("RefundReceipt", "The receipt could not be prepared: %1") \
            .replace("%1", str(exc))
        if on_error is not None:
            on_error(message)
        else:
            QMessageBox.warning(parent, QCoreApplication.translate("RefundReceipt", "Refund receipt"), message)

    return Op(render, parent=parent).success(show).failure(fail).run()
