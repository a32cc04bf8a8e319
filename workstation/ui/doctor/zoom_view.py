"""A graphics view that zooms (buttons, Ctrl+wheel, keys), rotates and fits; shared by the image and PDF viewers."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

MIN_ZOOM = 0.05
MAX_ZOOM = 16.0
STEP = 1.25


class ZoomView(QGraphicsView):
    """Keeps zoom and rotation as plain numbers and rebuilds the transform from them, so they never drift."""

    sig_zoom_changed = Signal(float)

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self._zoom = 1.0
        self._rotation = 0
        self._fit_on_resize = True

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def rotation(self) -> int:
        return self._rotation

    def _apply(self) -> None:
        self.resetTransform()
        self.scale(self._zoom, self._zoom)
        self.rotate(self._rotation)
        self.sig_zoom_changed.emit(self._zoom)

    def set_zoom(self, zoom: float) -> None:
        self._fit_on_resize = False
        self._zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._apply()

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def rotate_by(self, degrees: int) -> None:
        self._rotation = (self._rotation + degrees) % 360
        if self._fit_on_resize:
            self.fit()
        else:
            self._apply()

    def fit(self) -> None:
        """Scale so the whole (rotated) content is visible."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self._fit_on_resize = True
        vp = self.viewport().rect().adjusted(8, 8, -8, -8)
        w, h = (rect.height(), rect.width()) if self._rotation % 180 else (rect.width(), rect.height())
        self._zoom = max(MIN_ZOOM, min(MAX_ZOOM, min(vp.width() / w, vp.height() / h)))
        self._apply()
        self.centerOn(rect.center())

    def fit_width(self) -> None:
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self._fit_on_resize = False
        width = rect.height() if self._rotation % 180 else rect.width()
        bar = self.verticalScrollBar().sizeHint().width() if not self.verticalScrollBar().isVisible() else 0
        self._zoom = max(MIN_ZOOM, min(MAX_ZOOM, (self.viewport().width() - bar - 4) / width))
        self._apply()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._fit_on_resize:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if event.angleDelta().y() > 0:
                self.zoom_in()
            elif event.angleDelta().y() < 0:
                self.zoom_out()
            event.accept()
            return
        super().wheelEvent(event)
