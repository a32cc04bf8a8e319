"""The printed refund receipt (退费凭证): the refund as the server has it, drawn by the receipt renderer
(workstation/services/printing/receipt.py, reportlab with the slip's font rules) into the print preview.

A build without the renderer (:func:`receipt_printing` answers None) keeps 打印退费凭证 disabled with a tool tip
saying so.
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


def open_receipt_preview(refund: Mapping[str, Any], *, clerk: str, hospital: str = "", parent: QWidget,
                         on_error: Callable[[str], Any] | None = None) -> Op[Any] | None:
    """Render the receipt of ``refund`` (a ``RefundPublic``) on a worker and open the print preview. A refund
    with no receipt (rejected), a missing font or bad data goes to ``on_error(message)`` (the window shows it
    beside the button; without one, a message box). Returns the running Op (None when there is nothing to
    render)."""
    from workstation.services.printing.receipt import ReceiptData, render_receipt
    from workstation.ui.print_preview import open_rendered_preview

    def fail(exc: BaseException) -> None:
        message = QCoreApplication.translate("RefundReceipt", "The receipt could not be prepared: %1") \
            .replace("%1", str(exc))
        if on_error is not None:
            on_error(message)
        else:
            QMessageBox.warning(parent, QCoreApplication.translate("RefundReceipt", "Refund receipt"), message)

    try:
        data = ReceiptData.from_refund(dict(refund), hospital=hospital, clerk=clerk,
                                       printed_at=dt.datetime.now(TZ))
    except ValueError as exc:  # a rejected refund has no receipt; a refund without a number or amount
        fail(exc)
        return None
    title = f"{data.title} {data.receipt_no}".strip()
    return open_rendered_preview(lambda: render_receipt(data), title=title, suggested_name=data.filename,
                                 parent=parent, on_error=fail)
