"""The look of the workstation: one font, one palette, one style sheet, the badge colours.

Kept in one place so windows never hard-code colours; a later dark or high-contrast theme changes only this file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QWidget

# Families tried in order; WenQuanYi Zen Hei ships on the reference Linux systems, the others on desktops.
CJK_FAMILIES = ("Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")
BASE_POINT_SIZE = 10
ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"

ACCENT = "#1f6f8b"          # a calm teal-blue, the hospital's colour
ACCENT_DARK = "#17566c"
ACCENT_LIGHT = "#e6f1f5"
WINDOW_BG = "#f4f6f8"
PANEL_BG = "#ffffff"
BORDER = "#d5dbe1"
TEXT = "#1f2a33"
TEXT_MUTED = "#5f6b76"
DANGER = "#b42318"
WARNING_BG = "#fff4e0"
WARNING_TEXT = "#8a4b00"


@dataclass(frozen=True, slots=True)
class BadgeColors:
    background: QColor
    foreground: QColor


_BADGES: dict[str, tuple[str, str]] = {
    "checked_in": ("#eef2f6", "#40515f"),
    "waiting": ("#fff1d6", "#8a4b00"),
    "in_consultation": ("#dcebff", "#1849a9"),
    "interrupted": ("#fde4e1", "#b42318"),
    "finished": ("#dff3e4", "#1c6b35"),
    "completed": ("#dff3e4", "#1c6b35"),
    "missed": ("#ececec", "#555d66"),
}


def badge_colors(state: str) -> BadgeColors:
    bg, fg = _BADGES.get(state, ("#eef2f6", "#40515f"))
    return BadgeColors(QColor(bg), QColor(fg))


def icon(name: str) -> QIcon:
    """An icon of ``resources/icons`` (SVG, drawn for this project)."""
    return QIcon(str(ICONS / f"{name}.svg"))


def set_style_name(widget: QWidget, name: str) -> None:
    """Give a widget a style-sheet name after it was polished (e.g. a QDialogButtonBox button) and re-polish."""
    widget.setObjectName(name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def pick_font_family() -> str | None:
    available = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in available:
            return family
    return None


def apply_theme(app: QApplication) -> None:
    """Fusion style with a light palette, a readable CJK font and the shared style sheet."""
    app.setStyle("Fusion")
    family = pick_font_family()
    font = QFont(family) if family else app.font()
    font.setPointSize(BASE_POINT_SIZE)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    app.setFont(font)

    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(WINDOW_BG))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL_BG))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#f7f9fb"))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor("#fbfcfd"))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#cfe4ec"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8a96a1"))
    pal.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(icon("app"))


STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW_BG}; }}
QToolTip {{ border: 1px solid {BORDER}; padding: 4px 6px; }}
QFrame#Card {{ background: {PANEL_BG}; border: 1px solid {BORDER}; border-radius: 6px; }}
QLabel#CardTitle {{ font-size: 11pt; font-weight: bold; color: {TEXT}; }}
QLabel#SectionTitle {{ font-weight: bold; color: {ACCENT_DARK}; padding-top: 4px; }}
QLabel#Muted {{ color: {TEXT_MUTED}; }}
QLabel#FieldName {{ color: {TEXT_MUTED}; }}
QLabel#PatientName {{ font-size: 15pt; font-weight: bold; color: {TEXT}; }}
QLabel#AppTitle {{ font-size: 17pt; font-weight: bold; color: {ACCENT_DARK}; }}
QLabel#AppSubtitle {{ font-size: 10pt; color: {TEXT_MUTED}; }}
QLabel#ErrorText {{ color: {DANGER}; background: #fdecea; border: 1px solid #f5c2bc; border-radius: 4px;
                    padding: 6px 8px; }}
QLabel#InfoText {{ color: {ACCENT_DARK}; background: {ACCENT_LIGHT}; border-radius: 4px; padding: 6px 8px; }}
QLabel#Placeholder {{ color: {TEXT_MUTED}; font-size: 12pt; }}
QFrame#AlertBanner {{ background: {WARNING_BG}; border: 1px solid #f3c27a; border-radius: 6px; }}
QLabel#AlertText {{ color: {WARNING_TEXT}; font-weight: bold; }}
QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QDateTimeEdit, QSpinBox {{
    background: {PANEL_BG}; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 6px; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QComboBox:focus, QDateTimeEdit:focus {{
    border: 1px solid {ACCENT}; }}
QLineEdit:read-only {{ background: #f3f5f7; }}
QLineEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QPlainTextEdit:disabled {{
    background: #f3f5f7; color: #303840; border-color: #dfe4e9; }}
QPushButton {{ background: #fbfcfd; border: 1px solid #c3ccd5; border-radius: 4px; padding: 5px 14px;
               min-height: 20px; }}
QPushButton:hover {{ background: {ACCENT_LIGHT}; }}
QPushButton:disabled {{ color: #9aa5af; background: #f1f3f5; border-color: #dde2e7; }}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
QPushButton#Primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK}; font-weight: bold; }}
QPushButton#Primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#Primary:disabled {{ background: #a9c3cd; border-color: #a9c3cd; color: #f4f8fa; }}
QPushButton#Danger {{ color: {DANGER}; }}
QPushButton#Danger:disabled {{ color: #d9a29c; }}
QPushButton#Link {{ border: none; background: transparent; color: {ACCENT}; padding: 2px 4px; }}
QPushButton#Link:hover {{ text-decoration: underline; }}
QTableView {{ background: {PANEL_BG}; border: 1px solid {BORDER}; gridline-color: #edf0f3;
              selection-background-color: #cfe4ec; selection-color: {TEXT}; }}
QHeaderView::section {{ background: #eef2f5; color: {TEXT_MUTED}; border: none;
                        border-bottom: 1px solid {BORDER}; padding: 5px 6px; font-weight: bold; }}
QListWidget, QListView {{ background: {PANEL_BG}; border: 1px solid {BORDER}; border-radius: 4px; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; background: {PANEL_BG}; border-radius: 4px; }}
QTabBar::tab {{ padding: 6px 16px; }}
QProgressBar {{ border: none; background: {ACCENT_LIGHT}; border-radius: 3px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QStatusBar {{ background: #e9edf1; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QSplitter::handle {{ background: {WINDOW_BG}; }}
QScrollArea {{ border: none; background: transparent; }}
QMenuBar {{ background: {PANEL_BG}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; }}
QMenuBar::item:selected {{ background: {ACCENT_LIGHT}; }}
QMenu::item {{ padding: 5px 24px; }}
QMenu::item:selected {{ background: {ACCENT_LIGHT}; color: {TEXT}; }}
QFrame#VideoPanel {{ background: {PANEL_BG}; border: 1px solid {BORDER}; border-radius: 6px; }}
QLabel#CallState {{ border-radius: 9px; padding: 1px 9px; font-weight: bold; background: #eef2f6; color: #40515f; }}
QLabel#CallState[state="connected"] {{ background: #dff3e4; color: #1c6b35; }}
QLabel#CallState[state="ringing"], QLabel#CallState[state="calling"], QLabel#CallState[state="connecting"] {{
    background: #dcebff; color: #1849a9; }}
QLabel#CallState[state="interrupted"] {{ background: #fde4e1; color: {DANGER}; }}
QLabel#Muted[level="fair"] {{ color: {WARNING_TEXT}; }}
QLabel#Muted[level="poor"] {{ color: {DANGER}; }}
QPushButton#EndCall {{ background: {DANGER}; color: white; border: 1px solid #8f1c13; font-weight: bold; }}
QPushButton#EndCall:hover {{ background: #8f1c13; }}
"""
