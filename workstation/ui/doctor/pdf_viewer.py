"""The attachment PDF viewer: pages rendered with pypdfium2 on a worker, one after another, so the first page
shows at once and a long report never freezes the window."""
from __future__ import annotations

import threading

import pypdfium2 as pdfium
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.services.ops import Op
from workstation.ui.doctor.zoom_view import ZoomView
from workstation.ui.i18n import LanguageAware

RENDER_SCALE = 2.0          # 144 dpi: crisp up to 200 % zoom
PAGE_GAP = 16.0
# PDFium is not thread-safe: every call into it, from any viewer, goes through this lock.
_PDFIUM_LOCK = threading.Lock()


def page_count(data: bytes) -> int:
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(data)
        try:
            return len(doc)
        finally:
            doc.close()


def render_page(data: bytes, index: int, *, scale: float = RENDER_SCALE) -> QImage:
    """Render one page to a QImage (QImage, unlike QPixmap, may be built off the GUI thread)."""
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(data)
        try:
            page = doc[index]
            pil = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
        finally:
            doc.close()
    raw = pil.tobytes("raw", "RGB")
    return QImage(raw, pil.width, pil.height, pil.width * 3, QImage.Format.Format_RGB888).copy()


class PdfViewer(LanguageAware, QDialog):
    def __init__(self, data: bytes, *, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PdfViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1000, 860)
        self._data = data
        self._title = title
        self._count = 0
        self._page_tops: list[float] = []
        self._y = 0.0
        self._failed: str | None = None

        self.view = ZoomView(parent=self)
        self.view.setDragMode(ZoomView.DragMode.ScrollHandDrag)
        self.btn_prev = QPushButton(self)
        self.btn_next = QPushButton(self)
        self.lbl_page = QLabel(self)
        self.lbl_page.setObjectName("Muted")
        self.btn_zoom_out = QPushButton(self)
        self.btn_zoom_in = QPushButton(self)
        self.btn_fit_width = QPushButton(self)
        self.btn_rotate_left = QPushButton(self)
        self.btn_rotate_right = QPushButton(self)
        self.lbl_zoom = QLabel(self)
        self.lbl_zoom.setObjectName("Muted")
        self.lbl_zoom.setMinimumWidth(56)
        self.lbl_status = QLabel(self)
        self.lbl_status.setObjectName("Muted")

        bar = QHBoxLayout()
        for w in (self.btn_prev, self.btn_next, self.lbl_page, self.lbl_status):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.btn_zoom_out, self.lbl_zoom, self.btn_zoom_in, self.btn_fit_width, self.btn_rotate_left,
                  self.btn_rotate_right):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.btn_prev.clicked.connect(lambda: self.go_to_page(self.current_page() - 1))
        self.btn_next.clicked.connect(lambda: self.go_to_page(self.current_page() + 1))
        self.btn_zoom_in.clicked.connect(self.view.zoom_in)
        self.btn_zoom_out.clicked.connect(self.view.zoom_out)
        self.btn_fit_width.clicked.connect(self.view.fit_width)
        self.btn_rotate_left.clicked.connect(lambda: self.view.rotate_by(-90))
        self.btn_rotate_right.clicked.connect(lambda: self.view.rotate_by(90))
        self.view.sig_zoom_changed.connect(lambda z: self.lbl_zoom.setText(f"{round(z * RENDER_SCALE * 100)}%"))
        self.view.verticalScrollBar().valueChanged.connect(lambda _v: self._update_page_label())
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self,
                  activated=lambda: self.go_to_page(self.current_page() + 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self,
                  activated=lambda: self.go_to_page(self.current_page() - 1))
        QShortcut(QKeySequence.StandardKey.ZoomIn, self, activated=self.view.zoom_in)
        QShortcut(QKeySequence.StandardKey.ZoomOut, self, activated=self.view.zoom_out)

        self.retranslate()
        Op(lambda: page_count(self._data), parent=self).success(self._on_count).failure(self._on_error).run()

    # --- rendering, one page per worker call ---------------------------------------------------------------------

    def _on_count(self, count: int) -> None:
        self._count = count
        self._render_next(0)

    def _render_next(self, index: int) -> None:
        if index >= self._count:
            self.retranslate()
            return
        self.retranslate()
        Op(lambda: render_page(self._data, index), parent=self) \
            .success(lambda img: self._add_page(index, img)).failure(self._on_error).run()

    def _add_page(self, index: int, image: QImage) -> None:
        scene = self.view.scene()
        frame = scene.addRect(-1, self._y - 1, image.width() + 2, image.height() + 2, QPen(QColor("#7b8794")))
        frame.setZValue(-1)
        item = scene.addPixmap(QPixmap.fromImage(image))
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setPos(QPointF(0, self._y))
        self._page_tops.append(self._y)
        self._y += image.height() + PAGE_GAP * RENDER_SCALE
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))
        if index == 0:
            self.view.fit_width()
            self.view.centerOn(image.width() / 2, 0)
            self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().minimum())
        self._render_next(index + 1)

    def _on_error(self, exc: BaseException) -> None:
        self._failed = str(exc)
        self.retranslate()

    # --- navigation ----------------------------------------------------------------------------------------------

    def current_page(self) -> int:
        if not self._page_tops:
            return 0
        top = self.view.mapToScene(self.view.viewport().rect().center()).y()
        page = 0
        for i, y in enumerate(self._page_tops):
            if y <= top:
                page = i
        return page

    def go_to_page(self, index: int) -> None:
        if not self._page_tops:
            return
        index = max(0, min(index, len(self._page_tops) - 1))
        view_h = self.view.viewport().height() / max(self.view.zoom, 0.01)
        self.view.centerOn(self.view.mapToScene(self.view.viewport().rect().center()).x(),
                           self._page_tops[index] + view_h / 2 - 10)
        self._update_page_label()

    def _update_page_label(self) -> None:
        if self._count:
            self.lbl_page.setText(self.tr("Page %1 of %2").replace("%1", str(self.current_page() + 1))
                                  .replace("%2", str(self._count)))
        else:
            self.lbl_page.setText("")

    @property
    def rendered_pages(self) -> int:
        return len(self._page_tops)

    @property
    def page_total(self) -> int:
        return self._count

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("PDF viewer — %1").replace("%1", self._title))
        self.btn_prev.setText(self.tr("Previous page"))
        self.btn_next.setText(self.tr("Next page"))
        self.btn_zoom_in.setText(self.tr("Zoom in"))
        self.btn_zoom_out.setText(self.tr("Zoom out"))
        self.btn_fit_width.setText(self.tr("Fit width"))
        self.btn_rotate_left.setText(self.tr("Rotate left"))
        self.btn_rotate_right.setText(self.tr("Rotate right"))
        if self._failed is not None:
            self.lbl_status.setText(self.tr("This PDF could not be opened."))
        elif self._count == 0 or len(self._page_tops) < self._count:
            self.lbl_status.setText(self.tr("Rendering pages…"))
        else:
            self.lbl_status.setText("")
        self._update_page_label()
