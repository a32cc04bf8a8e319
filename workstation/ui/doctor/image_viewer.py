"""The attachment image viewer: zoom, rotate, fit, previous / next among the patient's images."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.ui.doctor.zoom_view import ZoomView
from workstation.ui.i18n import LanguageAware


@dataclass(frozen=True, slots=True)
class ViewerImage:
    title: str
    image: QImage


class ImageViewer(LanguageAware, QDialog):
    """Non-modal, so the doctor can keep it open beside the chart while talking to the patient."""

    def __init__(self, images: list[ViewerImage], *, index: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ImageViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1100, 800)
        self._images = images
        self._index = max(0, min(index, len(images) - 1))

        self.view = ZoomView(parent=self)
        self.btn_prev = QPushButton(self)
        self.btn_next = QPushButton(self)
        self.btn_zoom_out = QPushButton(self)
        self.btn_zoom_in = QPushButton(self)
        self.btn_fit = QPushButton(self)
        self.btn_actual = QPushButton(self)
        self.btn_rotate_left = QPushButton(self)
        self.btn_rotate_right = QPushButton(self)
        self.lbl_zoom = QLabel(self)
        self.lbl_zoom.setObjectName("Muted")
        self.lbl_zoom.setMinimumWidth(56)
        self.lbl_position = QLabel(self)
        self.lbl_position.setObjectName("Muted")

        bar = QHBoxLayout()
        for w in (self.btn_prev, self.btn_next, self.lbl_position):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.btn_zoom_out, self.lbl_zoom, self.btn_zoom_in, self.btn_fit, self.btn_actual,
                  self.btn_rotate_left, self.btn_rotate_right):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.btn_prev.clicked.connect(lambda: self.show_index(self._index - 1))
        self.btn_next.clicked.connect(lambda: self.show_index(self._index + 1))
        self.btn_zoom_in.clicked.connect(self.view.zoom_in)
        self.btn_zoom_out.clicked.connect(self.view.zoom_out)
        self.btn_fit.clicked.connect(self.view.fit)
        self.btn_actual.clicked.connect(self.view.actual_size)
        self.btn_rotate_left.clicked.connect(lambda: self.view.rotate_by(-90))
        self.btn_rotate_right.clicked.connect(lambda: self.view.rotate_by(90))
        self.view.sig_zoom_changed.connect(lambda z: self.lbl_zoom.setText(f"{round(z * 100)}%"))
        for keys, slot in ((QKeySequence.StandardKey.ZoomIn, self.view.zoom_in),
                           (QKeySequence.StandardKey.ZoomOut, self.view.zoom_out),
                           (QKeySequence(Qt.Key.Key_Left), lambda: self.show_index(self._index - 1)),
                           (QKeySequence(Qt.Key.Key_Right), lambda: self.show_index(self._index + 1))):
            QShortcut(keys, self, activated=slot)

        self.retranslate()
        self.show_index(self._index)

    def retranslate(self) -> None:
        self.btn_prev.setText(self.tr("Previous"))
        self.btn_next.setText(self.tr("Next"))
        self.btn_zoom_in.setText(self.tr("Zoom in"))
        self.btn_zoom_out.setText(self.tr("Zoom out"))
        self.btn_fit.setText(self.tr("Fit to window"))
        self.btn_actual.setText(self.tr("Actual size"))
        self.btn_rotate_left.setText(self.tr("Rotate left"))
        self.btn_rotate_right.setText(self.tr("Rotate right"))
        self.btn_zoom_in.setToolTip(self.tr("Zoom in (Ctrl + mouse wheel)"))
        self.btn_zoom_out.setToolTip(self.tr("Zoom out (Ctrl + mouse wheel)"))
        self._update_title()

    def _update_title(self) -> None:
        if not self._images:
            self.setWindowTitle(self.tr("Image viewer"))
            return
        item = self._images[self._index]
        self.setWindowTitle(self.tr("Image viewer — %1").replace("%1", item.title))
        self.lbl_position.setText(self.tr("Image %1 of %2").replace("%1", str(self._index + 1))
                                  .replace("%2", str(len(self._images))))

    def show_index(self, index: int) -> None:
        if not self._images:
            return
        self._index = index % len(self._images)
        scene = self.view.scene()
        scene.clear()
        item = scene.addPixmap(QPixmap.fromImage(self._images[self._index].image))
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        scene.setSceneRect(item.boundingRect())
        self.view.fit()
        many = len(self._images) > 1
        self.btn_prev.setVisible(many)
        self.btn_next.setVisible(many)
        self.lbl_position.setVisible(many)
        self._update_title()
