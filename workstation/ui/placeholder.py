"""A role window whose work arrives in a later release: it exists now, with its title, the signed-in user and
sign-out, so every role lands somewhere sensible after signing in."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.ui.base_window import StaffWindow


class PlaceholderWindow(StaffWindow):
    def __init__(self, *, staff: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(staff=staff, parent=parent)
        central = QWidget(self)
        card = QFrame(central)
        card.setObjectName("Card")
        card.setFixedWidth(640)
        self.lbl_heading = QLabel(card)
        self.lbl_heading.setObjectName("AppTitle")
        self.lbl_user_line = QLabel(card)
        self.lbl_user_line.setObjectName("AppSubtitle")
        self.lbl_body = QLabel(card)
        self.lbl_body.setWordWrap(True)
        self.lbl_body.setObjectName("Placeholder")
        self.lbl_coming = QLabel(card)
        self.lbl_coming.setObjectName("InfoText")
        self.lbl_coming.setWordWrap(True)
        self.btn_sign_out = QPushButton(card)
        self.btn_sign_out.clicked.connect(self.sig_sign_out_requested)

        inner = QVBoxLayout(card)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(14)
        inner.addWidget(self.lbl_heading)
        inner.addWidget(self.lbl_user_line)
        inner.addWidget(self.lbl_body)
        inner.addWidget(self.lbl_coming)
        inner.addWidget(self.btn_sign_out, 0, Qt.AlignmentFlag.AlignLeft)
        outer = QVBoxLayout(central)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self.setCentralWidget(central)

    # subclasses give these
    def heading(self) -> str:
        raise NotImplementedError

    def body(self) -> str:
        raise NotImplementedError

    def retranslate(self) -> None:
        super().retranslate()
        self.setWindowTitle(self.window_title_for(self.heading()))
        self.lbl_heading.setText(self.heading())
        self.lbl_user_line.setText(self.lbl_user.text())
        self.lbl_body.setText(self.body())
        self.lbl_coming.setText(self.tr("This window is being built; it arrives with a later release of the "
                                        "workstation."))
        self.btn_sign_out.setText(self.tr("Sign out"))
