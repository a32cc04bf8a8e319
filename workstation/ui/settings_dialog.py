"""Settings: the server address (empty = the built-in demo server), the language, the alert sound and the video
call's picture and sound sources.

The dialog only edits values; the caller saves them through the settings service and applies them.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.i18n import LanguageAware

# Each language is named in itself, so whoever cannot read the current one still finds their own.
LANGUAGE_NAMES = (("zh_CN", "简体中文"), ("en", "English"))


@dataclass(slots=True)
class SettingsValues:
    server_url: str
    language: str
    sounds: bool
    video_source: str = "auto"
    audio_source: str = "auto"


def valid_server_url(text: str) -> bool:
    text = text.strip()
    return not text or text.startswith(("http://", "https://")) and len(text) > len("https://")


class SettingsDialog(LanguageAware, QDialog):
    def __init__(self, values: SettingsValues, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setMinimumWidth(520)
        self.ed_server = QLineEdit(values.server_url, self)
        self.ed_server.setClearButtonEnabled(True)
        self.lbl_server_hint = QLabel(self)
        self.lbl_server_hint.setObjectName("Muted")
        self.lbl_server_hint.setWordWrap(True)
        self.cb_language = QComboBox(self)
        for code, name in LANGUAGE_NAMES:
            self.cb_language.addItem(name, code)
        self.cb_language.setCurrentIndex(max(0, self.cb_language.findData(values.language)))
        self.chk_sounds = QCheckBox(self)
        self.chk_sounds.setChecked(values.sounds)
        self.cb_video = QComboBox(self)
        self.cb_audio = QComboBox(self)
        for combo, keys, value in ((self.cb_video, ("auto", "camera", "test_pattern"), values.video_source),
                                   (self.cb_audio, ("auto", "microphone", "tone"), values.audio_source)):
            for key in keys:
                combo.addItem("", key)
            combo.setCurrentIndex(max(0, combo.findData(value)))
        self.lbl_video, self.lbl_audio = QLabel(self), QLabel(self)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.hide()
        self.lbl_server, self.lbl_language, self.lbl_sounds = QLabel(self), QLabel(self), QLabel(self)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(10)
        form.addRow(self.lbl_server, self.ed_server)
        form.addRow("", self.lbl_server_hint)
        form.addRow(self.lbl_language, self.cb_language)
        form.addRow(self.lbl_sounds, self.chk_sounds)
        form.addRow(self.lbl_video, self.cb_video)
        form.addRow(self.lbl_audio, self.cb_audio)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self._check_and_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(form)
        layout.addWidget(self.lbl_error)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Settings"))
        self.lbl_server.setText(self.tr("Server address"))
        self.ed_server.setPlaceholderText(self.tr("Empty: the built-in demo server"))
        self.lbl_server_hint.setText(self.tr("For example https://hospital.example.cn. Leave it empty to run the "
                                             "built-in demo server on this computer."))
        self.lbl_language.setText(self.tr("Language"))
        self.lbl_sounds.setText(self.tr("Sounds"))
        self.chk_sounds.setText(self.tr("Play a sound when a patient starts waiting"))
        self.lbl_video.setText(self.tr("Video call picture"))
        self.lbl_audio.setText(self.tr("Video call sound"))
        for combo, texts in ((self.cb_video, (self.tr("Camera if present, else test pattern"), self.tr("Camera"),
                                              self.tr("Test pattern"))),
                             (self.cb_audio, (self.tr("Microphone if present, else test tone"),
                                              self.tr("Microphone"), self.tr("Test tone")))):
            for i, text in enumerate(texts):
                combo.setItemText(i, text)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        if self.lbl_error.isVisibleTo(self):
            self.lbl_error.setText(self._error_text())

    def _error_text(self) -> str:
        return self.tr("The server address must start with http:// or https://")

    def _check_and_accept(self) -> None:
        if not valid_server_url(self.ed_server.text()):
            self.lbl_error.setText(self._error_text())
            self.lbl_error.show()
            return
        self.accept()

    def values(self) -> SettingsValues:
        return SettingsValues(server_url=self.ed_server.text().strip().rstrip("/"),
                              language=str(self.cb_language.currentData()),
                              sounds=self.chk_sounds.isChecked(),
                              video_source=str(self.cb_video.currentData()),
                              audio_source=str(self.cb_audio.currentData()))
