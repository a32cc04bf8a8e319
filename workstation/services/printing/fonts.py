"""A Chinese TrueType font for the PDFs the workstation prints (prescription slips, refund receipts).

reportlab embeds TrueType-outline fonts (an sfnt with a ``glyf`` table) as a per-document subset, so a slip prints
the same on every machine whatever fonts the printer's host has; it cannot embed CFF-outline fonts (most
``.otf`` Noto CJK files), which it would reject or which would leave the text to the viewer's substitution.
So the search keeps only fonts whose sfnt has ``glyf`` and not ``CFF ``.

Search order (first usable wins):

1. ``CLINIC_CJK_FONT``: a path, optionally ``path#N`` for face N of a ``.ttc``. When set it must be usable:
   an explicit choice that does not work is an error, not silently replaced.
2. Known TrueType CJK fonts at their Debian/Ubuntu paths (``fonts-wqy-zenhei``, which scripts/bootstrap.sh
   installs; ``fonts-wqy-microhei``; ``fonts-arphic-uming``/``ukai``; ``fonts-droid-fallback``).
3. fontconfig: every font ``fc-list :lang=zh`` knows (``fc-match :lang=zh`` is no help: with no CJK font it
   happily answers DejaVu Sans, and with Noto CJK it answers a CFF ``.otf``).

The font is registered with reportlab once per process (:func:`cjk_font_name`); the parsed face is reused by
every document, which is what makes warm rendering fast.
"""
from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "CLINIC_CJK_FONT"
REGISTERED_NAME = "ClinicCJK"
# characters every usable font must have: the slip's title and the yuan sign of the amounts
REQUIRED_CHARS = "处方笺医师药¥"

KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

INSTALL_HINT = ("No TrueType Chinese font was found for printing. Install one, e.g. `apt-get install "
                "fonts-wqy-zenhei` (Debian/Ubuntu; scripts/bootstrap.sh does this), or point CLINIC_CJK_FONT at a "
                "TrueType-outline .ttf/.ttc file (path or path#face-index). CFF/OpenType fonts such as Noto Sans "
                "CJK .otf cannot be embedded.")


class FontNotFound(RuntimeError):
    """No usable TrueType CJK font: the message says what to install."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0

    def __str__(self) -> str:
        return f"{self.path}#{self.index}" if self.index else self.path


def sfnt_tables(path: str | os.PathLike[str], index: int = 0) -> set[str]:
    """The table tags of one face of an sfnt file (``.ttf``/``.otf``, or face ``index`` of a ``.ttc``).

    Reads only the headers (a few hundred bytes), so checking a 16 MB collection is instant."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            raise ValueError(f"{path}: not a font file")
        offset = 0
        if head[:4] == b"ttcf":
            count = struct.unpack(">I", head[8:12])[0]
            if not 0 <= index < count:
                raise ValueError(f"{path}: face {index} not in a collection of {count}")
            f.seek(12 + 4 * index)
            offset = struct.unpack(">I", f.read(4))[0]
            f.seek(offset)
            head = f.read(12)
        elif index != 0:
            raise ValueError(f"{path}: face {index} asked of a single-face font")
        if head[:4] not in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
            raise ValueError(f"{path}: not an sfnt font (starts {head[:4]!r})")
        n = struct.unpack(">H", head[4:6])[0]
        f.seek(offset + 12)
        records = f.read(16 * n)
    return {records[i * 16:i * 16 + 4].decode("latin-1") for i in range(n)}


def is_truetype_outline(path: str | os.PathLike[str], index: int = 0) -> bool:
    """True when the face has TrueType outlines (``glyf``), which reportlab can subset and embed; False for CFF
    outlines (``CFF ``/``CFF2``), unreadable files and non-fonts."""
    try:
        tables = sfnt_tables(path, index)
    except (OSError, ValueError, struct.error):
        return False
    return "glyf" in tables and "loca" in tables and not ({"CFF ", "CFF2"} & tables)


def parse_font_spec(spec: str) -> FontFile:
    """``/path/font.ttc#1`` → FontFile(path, 1); a plain path → face 0."""
    path, sep, idx = spec.strip().rpartition("#")
    if sep and idx.isdigit():
        return FontFile(path, int(idx))
    return FontFile(spec.strip(), 0)


def _fontconfig_candidates() -> list[FontFile]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, ":lang=zh", "-f", "%{file}|%{index}\n"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found: list[FontFile] = []
    for line in sorted(set(out.splitlines())):
        path, _, idx = line.partition("|")
        if path:
            found.append(FontFile(path, int(idx) if idx.strip().isdigit() else 0))
    # regular TrueType collections/fonts first: .ttc/.ttf before anything else fontconfig lists
    return sorted(found, key=lambda f: (not f.path.lower().endswith((".ttc", ".ttf")), f.index, f.path))


def candidate_fonts() -> list[FontFile]:
    """Every place searched, in order (the environment variable is handled by :func:`find_cjk_font`)."""
    seen: set[FontFile] = set()
    out: list[FontFile] = []
    for f in [FontFile(p, i) for p, i in KNOWN_FONTS] + _fontconfig_candidates():
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


def find_cjk_font(env: dict[str, str] | None = None) -> FontFile:
    """The font to use, by the search order of this module's docstring. Raises :class:`FontNotFound`."""
    env = os.environ if env is None else env
    spec = env.get(ENV_VAR, "").strip()
    if spec:
        chosen = parse_font_spec(spec)
        if not Path(chosen.path).is_file():
            raise FontNotFound(f"{ENV_VAR}={spec}: no such file. {INSTALL_HINT}")
        if not is_truetype_outline(chosen.path, chosen.index):
            raise FontNotFound(f"{ENV_VAR}={spec}: not a TrueType-outline font (CFF/OpenType or unreadable). "
                               f"{INSTALL_HINT}")
        return chosen
    for f in candidate_fonts():
        if Path(f.path).is_file() and is_truetype_outline(f.path, f.index):
            return f
    raise FontNotFound(INSTALL_HINT)


_lock = threading.Lock()
_registered: dict[str, FontFile] = {}


def cjk_font_name() -> str:
    """Register the CJK font with reportlab (once per process) and return its reportlab font name.

    The first call parses the font (a few hundred ms for a 16 MB collection); later calls return at once."""
    with _lock:
        if REGISTERED_NAME in _registered:
            return REGISTERED_NAME
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFError, TTFont

        font = find_cjk_font()
        try:
            tt = TTFont(REGISTERED_NAME, font.path, subfontIndex=font.index)
        except TTFError as exc:
            raise FontNotFound(f"{font}: reportlab cannot use it ({exc}). {INSTALL_HINT}") from exc
        missing = [ch for ch in REQUIRED_CHARS if ord(ch) not in tt.face.charToGlyph]
        if missing:
            raise FontNotFound(f"{font}: has no glyph for {''.join(missing)!r}. {INSTALL_HINT}")
        _cache_tables(tt.face)
        pdfmetrics.registerFont(tt)
        _registered[REGISTERED_NAME] = font
        return REGISTERED_NAME


def _cache_tables(face: object) -> None:
    """reportlab's subsetter copies the ``post``, ``name``, ``OS/2``… tables out of the font file for every document
    (``post`` alone is 440 KB in WenQuanYi Zen Hei): 2 ms a slip. The file never changes, so each table is copied
    once and the same bytes reused. Left alone if reportlab's internals ever change shape."""
    get_table = getattr(face, "get_table", None)
    if callable(get_table):
        face.get_table = functools.lru_cache(maxsize=None)(get_table)  # type: ignore[attr-defined]


def registered_font_file() -> FontFile | None:
    """Which file :func:`cjk_font_name` registered (None before the first call): for logs and the about box."""
    return _registered.get(REGISTERED_NAME)


def has_glyph(ch: str) -> bool:
    """Whether the registered CJK font can draw ``ch`` (registers it first)."""
    from reportlab.pdfbase import pdfmetrics

    face = pdfmetrics.getFont(cjk_font_name()).face
    return ord(ch) in face.charToGlyph
