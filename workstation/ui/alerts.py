"""The "patient waiting" alert: a banner above the queue and a short chime, silent during a consultation.

The chime is a generated WAV played through QtMultimedia when that module is installed (PySide6-Essentials
lacks it); otherwise ``QApplication.beep()``.
"""
from __future__ import annotations

import io
import math
import struct
import tempfile
import wave
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.ui import theme
from workstation.ui.i18n import LanguageAware


def chime_wav(*, rate: int = 22050) -> bytes:
    """Two soft notes (E5, C5) with a fade, 0.45 s: noticeable without being alarming."""
    frames = bytearray()
    for freq, length in ((659.25, 0.18), (523.25, 0.27)):
        n = int(rate * length)
        for i in range(n):
            env = min(1.0, i / (0.01 * rate)) * (1 - i / n) ** 1.5
            frames += struct.pack("<h", int(9000 * env * math.sin(2 * math.pi * freq * i / rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


class Chime:
    def __init__(self) -> None:
        self.played = 0
        self._effect = None
        try:
            from PySide6.QtMultimedia import QSoundEffect  # type: ignore[import-not-found]
        except ImportError:
            return
        path = Path(tempfile.gettempdir()) / "clinic-workstation-chime.wav"
        try:
            path.write_bytes(chime_wav())
        except OSError:
            return
        self._effect = QSoundEffect()
        self._effect.setSource(QUrl.fromLocalFile(str(path)))
        self._effect.setVolume(0.6)

    @property
    def uses_multimedia(self) -> bool:
        return self._effect is not None

    def play(self) -> None:
        self.played += 1
        if self._effect is not None:
            self._effect.play()
        else:
            QApplication.beep()


class WaitingAlert(LanguageAware, QFrame):
    """Shown while patients wait. ``update_waiting`` is fed the waiting patients (id → name) after each queue
    change; newly waiting ones ring the chime unless the doctor is in a consultation or sounds are off."""

    sig_show_requested = Signal(int)

    def __init__(self, *, sounds_enabled: Callable[[], bool], chime: Chime | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AlertBanner")
        self._sounds_enabled = sounds_enabled
        self.chime = chime or Chime()
        self._known: set[int] = set()
        self._primed = False
        self._waiting: dict[int, str] = {}
        self._newest: int | None = None
        self._quiet = False
        self.lbl_icon = QLabel(self)
        self.lbl_icon.setPixmap(theme.icon("bell").pixmap(20, 20))
        self.lbl_text = QLabel(self)
        self.lbl_text.setObjectName("AlertText")
        self.lbl_text.setWordWrap(True)
        self.lbl_note = QLabel(self)
        self.lbl_note.setObjectName("Muted")
        self.lbl_note.hide()
        self.btn_show = QPushButton(self)
        self.btn_show.clicked.connect(self._show_newest)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.addWidget(self.lbl_icon)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        texts.addWidget(self.lbl_text)
        texts.addWidget(self.lbl_note)
        layout.addLayout(texts, 1)
        layout.addWidget(self.btn_show, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()
        self.retranslate()

    @property
    def quiet(self) -> bool:
        return self._quiet

    @property
    def primed(self) -> bool:
        return self._primed

    def prime(self, waiting: Iterable[tuple[int, str]]) -> None:
        """Who is waiting when the queue first loads: known from now on, so they do not ring."""
        self._known |= {appointment_id for appointment_id, _name in waiting}
        self._primed = True

    def update_waiting(self, waiting: Iterable[tuple[int, str]], *, in_consultation: bool) -> list[int]:
        """Returns the ids that are newly waiting (and rang the chime if allowed). Before ``prime`` (the queue
        has not loaded yet) nothing rings."""
        self._waiting = dict(waiting)
        self._quiet = in_consultation
        ids = set(self._waiting)
        new = [i for i in self._waiting if i not in self._known]
        self._known = ids
        if new:
            self._newest = new[-1]
        elif self._newest not in ids:
            self._newest = next(iter(self._waiting), None)
        primed = self._primed
        if new and primed and not in_consultation:
            if self._sounds_enabled():
                self.chime.play()
            window = self.window()
            if window is not None:
                QApplication.alert(window, 0)
        self.setVisible(bool(self._waiting))
        self.retranslate()
        return new if primed else []

    def _show_newest(self) -> None:
        if self._newest is not None:
            self.sig_show_requested.emit(self._newest)

    def retranslate(self) -> None:
        count = len(self._waiting)
        newest = self._waiting.get(self._newest, "") if self._newest is not None else ""
        if count == 1:
            text = self.tr("1 patient is waiting: %1").replace("%1", newest)
        else:
            text = self.tr("%1 patients are waiting, the latest: %2").replace("%1", str(count)) \
                .replace("%2", newest)
        self.lbl_text.setText(text)
        self.lbl_note.setText(self.tr("Sound is off during the consultation."))
        self.lbl_note.setVisible(self._quiet)
        self.btn_show.setText(self.tr("Show"))
        self.btn_show.setToolTip(self.tr("Select the latest waiting patient in the queue"))
