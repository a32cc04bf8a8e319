"""Qt translations: which .qm to load, switching language at run time, and the mixin that retranslates widgets.

Source strings are English (``self.tr``); Simplified Chinese is the default language. ``scripts/i18n.sh`` runs
``pyside6-lupdate`` over ``workstation/ui`` and ``pyside6-lrelease`` into ``resources/i18n``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parents[2] / "resources" / "i18n"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_installed: list[QTranslator] = []
_current = DEFAULT_LANGUAGE


def qm_path(language: str) -> Path:
    return I18N_DIR / f"workstation_{language}.qm"


def current_language() -> str:
    return _current


def install_language(language: str) -> bool:
    """Install the translator for ``language`` (replacing the previous one); every widget then receives a
    LanguageChange event and retranslates itself. Returns False when the .qm file is missing."""
    global _current
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_language needs a QCoreApplication")
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    ok = True
    translator = QTranslator(app)
    if translator.load(str(qm_path(language))):
        app.installTranslator(translator)
        _installed.append(translator)
    else:
        ok = language == "en"  # English is the source language; its .qm only carries plural forms
    # Qt's own dialogs (the buttons of QMessageBox, QDialogButtonBox defaults) from qtbase_*.qm when shipped
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    QLocale.setDefault(QLocale("zh_CN" if language == "zh_CN" else "en_US"))
    _current = language
    return ok


class LanguageAware:
    """Mixin for widgets: calls ``retranslate()`` whenever the application's language changes.

    List it before the Qt base class: ``class Foo(LanguageAware, QWidget)``. Widgets set every visible text in
    ``retranslate()`` and call it once at the end of ``__init__``.
    """

    def retranslate(self) -> None:  # pragma: no cover - overridden
        pass

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)  # type: ignore[misc]
