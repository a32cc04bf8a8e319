"""Returning a prescription to its doctor (处方审核规范): a category and an explanation, both required.

The reason the doctor reads on the prescription is "<category>：<text>" (2–200 characters, the server's limit).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.i18n import LanguageAware

MAX_REASON = 200
# (key, English source). The categories of the prescription review rules: appropriateness of use and dose,
# duplicates, incompatibilities and interactions, diagnosis matching, off-label use.
CATEGORY_KEYS = ("dose", "duplicate", "interaction", "diagnosis", "off_label", "allergy", "other")


class ReturnDialog(LanguageAware, QDialog):
    def __init__(self, *, patient: str, no: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReturnDialog")
        self.patient, self.no = patient, no
        self.setMinimumWidth(520)
        self.lbl_intro = QLabel(self)
        self.lbl_intro.setWordWrap(True)
        self.lbl_category = QLabel(self)
        self.lbl_category.setObjectName("FieldName")
        self.categories = QListWidget(self)
        self.categories.setObjectName("ReturnCategories")
        for key in CATEGORY_KEYS:
            item = QListWidgetItem(self.categories)
            item.setData(Qt.ItemDataRole.UserRole, key)
        self.categories.setMaximumHeight(7 * 30)
        self.lbl_text = QLabel(self)
        self.lbl_text.setObjectName("FieldName")
        self.ed_text = QPlainTextEdit(self)
        self.ed_text.setObjectName("ReturnText")
        self.ed_text.setFixedHeight(90)
        self.lbl_count = QLabel(self)
        self.lbl_count.setObjectName("Muted")
        self.lbl_count.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.lbl_error = QLabel(self)
        self.lbl_error.setObjectName("ErrorText")
        self.lbl_error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.btn_ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.btn_ok.setObjectName("Danger")
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        self.categories.currentRowChanged.connect(lambda _r: self._validate())
        self.ed_text.textChanged.connect(self._validate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        layout.addWidget(self.lbl_intro)
        layout.addSpacing(4)
        layout.addWidget(self.lbl_category)
        layout.addWidget(self.categories)
        layout.addWidget(self.lbl_text)
        layout.addWidget(self.ed_text)
        layout.addWidget(self.lbl_count)
        layout.addWidget(self.lbl_error)
        layout.addWidget(self.buttons)
        self.retranslate()
        self._validate()

    def category_text(self, key: str) -> str:
        return {
            "dose": self.tr("Inappropriate dose or directions"),
            "duplicate": self.tr("Duplicate medication"),
            "interaction": self.tr("Incompatibility or interaction"),
            "diagnosis": self.tr("Medication does not match the diagnosis"),
            "off_label": self.tr("Off-label use"),
            "allergy": self.tr("Conflicts with the patient's allergies"),
            "other": self.tr("Other"),
        }[key]

    def select_category(self, key: str) -> None:
        for row in range(self.categories.count()):
            if self.categories.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.categories.setCurrentRow(row)
                return

    def category(self) -> str | None:
        item = self.categories.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def reason(self) -> str:
        """What the doctor reads: "<category>：<text>", at most 200 characters."""
        key = self.category()
        text = " ".join(self.ed_text.toPlainText().split())
        head = self.category_text(key) if key is not None else ""
        return f"{head}：{text}"[:MAX_REASON] if head else text[:MAX_REASON]

    def problem(self) -> str | None:
        if self.category() is None:
            return self.tr("Choose why the prescription is returned.")
        if len(self.ed_text.toPlainText().strip()) < 2:
            return self.tr("Tell the doctor what to change (at least 2 characters).")
        return None

    def _validate(self) -> None:
        key = self.category()
        room = MAX_REASON - (len(self.category_text(key)) + 1 if key else 0)
        n = len(" ".join(self.ed_text.toPlainText().split()))
        self.lbl_count.setText(f"{n}/{room}")
        self.lbl_count.setStyleSheet("color: #b42318;" if n > room else "")
        self.btn_ok.setEnabled(self.problem() is None and n <= room)
        self.lbl_error.clear()

    def _try_accept(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.lbl_error.setText(problem)
            return
        self.accept()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Return prescription"))
        self.lbl_intro.setText(self.tr("Return %1's prescription %2 to the doctor. The doctor sees the reason on "
                                       "the prescription, changes it and signs it again.")
                               .replace("%1", self.patient).replace("%2", self.no))
        self.lbl_category.setText(self.tr("Reason"))
        for row in range(self.categories.count()):
            item = self.categories.item(row)
            item.setText(self.category_text(str(item.data(Qt.ItemDataRole.UserRole))))
        self.lbl_text.setText(self.tr("What should the doctor change?"))
        self.ed_text.setPlaceholderText(self.tr("e.g. the daily dose of metformin exceeds 2 g; please check"))
        self.btn_ok.setText(self.tr("Return to doctor"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
