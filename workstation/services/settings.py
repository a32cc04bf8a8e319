"""Plain settings (JSON in the user's config directory), and where the workstation keeps its files.

Not QSettings: a JSON file can be read by tests and support staff, and the services stay free of Qt state.
``CLINIC_WS_CONFIG_DIR`` and ``CLINIC_WS_DATA_DIR`` move both directories (tests, portable installs).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "clinic-workstation"
LANGUAGES = ("zh_CN", "en")
VIDEO_SOURCES = ("auto", "camera", "test_pattern")  # as in services/media/sources.py (not imported: no aiortc here)
AUDIO_SOURCES = ("auto", "microphone", "tone")


def config_dir() -> Path:
    env = os.environ.get("CLINIC_WS_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    env = os.environ.get("CLINIC_WS_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass
class WorkstationSettings:
    """``server_url`` None: start the embedded demo server (services/embedded.py)."""

    server_url: str | None = None
    language: str = "zh_CN"
    sounds: bool = True
    last_username: str = ""
    # the video visit's sources (services/media/sources.py): auto | camera | test_pattern, auto | microphone | tone
    video_source: str = "auto"
    audio_source: str = "auto"

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls, path: Path | None = None) -> WorkstationSettings:
        """Missing or damaged file: defaults (a broken settings file must never keep the workstation closed)."""
        p = path or cls.path()
        try:
            raw: Any = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        s = cls(**{k: v for k, v in raw.items() if k in known})
        if s.language not in LANGUAGES:
            s.language = "zh_CN"
        if s.video_source not in VIDEO_SOURCES:
            s.video_source = "auto"
        if s.audio_source not in AUDIO_SOURCES:
            s.audio_source = "auto"
        if s.server_url is not None and not str(s.server_url).strip():
            s.server_url = None
        return s

    def save(self, path: Path | None = None) -> None:
        """Written to a temporary file and renamed, so a crash mid-write leaves the old settings."""
        p = path or self.path()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, p)
