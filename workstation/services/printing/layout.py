"""Drawing helpers shared by the printed documents (the prescription slip, the refund receipt): the CJK font in
force, text measuring and wrapping, a small pen over reportlab's canvas with y measured from the top, China time
labels, the PDF's date, and the render lock every document is drawn under.

reportlab keeps process-wide state (the registered fonts' subsets, ``rl_config``), and the standard-font override
of the slip benchmark is module state here: a document is drawn inside :func:`rendering`, which holds one lock
for every kind of document.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from workstation.services.printing.fonts import cjk_font_name

CHINA_TZ = timezone(timedelta(hours=8))   # no daylight saving: a fixed offset is exact

INK = HexColor("#111111")
MUTED = HexColor("#555555")
RULE = HexColor("#333333")
WHITE = Color(1, 1, 1)


# --- times --------------------------------------------------------------------------------------------------------

def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO timestamp (or a datetime) → an aware datetime in China time; one without an offset is taken as
    China time. None for empty or unreadable values."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))  # Python 3.11 reads a trailing "Z"
        except ValueError:
            return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=CHINA_TZ)
    return dt.astimezone(CHINA_TZ)


def time_label(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO timestamp → "2026-11-26 10:31" in China time (as given when it carries no offset); "" for none,
    the text itself when it is not a timestamp."""
    dt = parse_time(value)
    if dt is None:
        return "" if value is None else str(value)
    return dt.strftime(fmt)


def date_document(c: Canvas, when: str | datetime | None) -> None:
    """The PDF's CreationDate/ModDate: ``when`` (invariant mode would say 2000-01-01), in China time — still
    deterministic, the same document gives the same bytes. reportlab has no public setter, so its document's time
    stamp is replaced; left at reportlab's if its internals change."""
    dt = parse_time(when)
    if dt is None:
        return
    ts = getattr(getattr(c, "_doc", None), "_timeStamp", None)
    if ts is None or not hasattr(ts, "YMDhms"):
        return
    ts.t = dt.timestamp()
    ts.lt = dt.timetuple()
    ts.YMDhms = tuple(ts.lt)[:6]
    ts.dhh, ts.dmm, ts.tzname = 8, 0, "CST"


# --- the font in force ----------------------------------------------------------------------------------------------

_font_override: str | None = None   # set only under _render_lock, by rendering(font_name=...)
_render_lock = threading.Lock()


@contextmanager
def rendering(font_name: str | None = None) -> Iterator[str]:
    """Draw one document: holds the lock shared by every document (reportlab's font state is process-wide),
    turns ASCII85 off (on top of Flate it makes a stream 25 % bigger and is encoded in pure Python; restored
    after, as ``rl_config`` is reportlab's process-wide setting) and yields the font name to draw with.

    ``font_name``: another registered reportlab font instead of the CJK TrueType one (the slip benchmark's
    baseline: Latin text in Helvetica, nothing embedded); non-ASCII text is then drawn as "X"."""
    global _font_override
    if font_name is None:
        cjk_font_name()  # parse/register the font before taking the lock (it has its own)
    with _render_lock:
        saved = rl_config.useA85
        rl_config.useA85 = 0
        _font_override = font_name
        try:
            yield font()
        finally:
            rl_config.useA85 = saved
            _font_override = None


def font() -> str:
    return _font_override or cjk_font_name()


def latin(text: str) -> str:
    """Under a standard-font override (the benchmark's baseline) every non-ASCII character becomes "X": the
    same number of strings and characters, none that Helvetica lacks."""
    return "".join(ch if ch.isascii() else "X" for ch in text) if _font_override else text


def text_width(text: str, size: float) -> float:
    return stringWidth(latin(text), font(), size)


# closing punctuation never starts a line (避头点): it hangs past the margin instead, by less than one character
NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’,.;:?!)]%")


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: between any two CJK characters, and at spaces for Latin
    runs (a word longer than the line is broken where it must be); closing punctuation stays on its line."""
    face = font()
    lines: list[str] = []
    for para in latin(text or "").splitlines() or [""]:
        line, line_w = "", 0.0
        i = 0
        while i < len(para):
            ch = para[i]
            if ch.isascii() and not ch.isspace():          # take a whole Latin word at once
                j = i
                while j < len(para) and para[j].isascii() and not para[j].isspace():
                    j += 1
                token = para[i:j]
            else:
                j, token = i + 1, ch
            w = stringWidth(token, face, size)
            if line_w + w <= width or not line or token in NO_LINE_START:
                if line_w + w > width and len(token) > 1:   # a word wider than an empty line: split it
                    for c in token:
                        cw = stringWidth(c, face, size)
                        if line and line_w + cw > width:
                            lines.append(line)
                            line, line_w = "", 0.0
                        line += c
                        line_w += cw
                else:
                    line += token
                    line_w += w
                i = j
                continue
            lines.append(line.rstrip())
            line, line_w = "", 0.0
            if token.isspace():
                i = j
        lines.append(line.rstrip())
    return lines


def fit_size(text: str, size: float, width: float, *, minimum: float) -> float:
    """The largest font size ≤ ``size`` (down to ``minimum``) at which ``text`` fits ``width``."""
    w = text_width(text, size)
    if w <= width:
        return size
    return max(minimum, size * width / w)


# --- the pen ------------------------------------------------------------------------------------------------------

class Pen:
    """Small drawing vocabulary over a reportlab canvas, in points, y measured from the top of a page
    ``page_h`` points tall."""

    def __init__(self, c: Canvas, page_h: float) -> None:
        self.c = c
        self.page_h = page_h
        self.font = font()
        self._fill: Color | None = None     # the fill colour in force (graphics state): set only when it changes

    def new_page(self) -> None:
        self._fill = None                   # showPage resets the graphics state

    def _set_fill(self, color: Color) -> None:
        if self._fill is not color:
            self.c.setFillColor(color)
            self._fill = color

    def text(self, x: float, top: float, text: str, size: float, *, anchor: str = "left", bold: bool = False,
             color: Color = INK, char_space: float = 0.0) -> float:
        """Draw ``text`` with its baseline at ``top`` (from the page's top); returns its width."""
        c = self.c
        text = latin(text)
        w = text_width(text, size) + char_space * max(len(text) - 1, 0)
        x0 = x - w if anchor == "right" else x - w / 2 if anchor == "centre" else x
        # Tc and Tr are graphics state, which outlives BT/ET (and reportlab emits "0 Tr" only when it thinks the
        # mode changed): bold or letter-spaced text goes inside q/Q, or every later string would inherit it
        special = bold or bool(char_space)
        if special:
            c.saveState()
            c.setFillColor(color)           # restored with the rest by restoreState
        else:
            self._set_fill(color)
        t = c.beginText(x0, self.page_h - top)
        t.setFont(self.font, size)
        if char_space:
            t.setCharSpace(char_space)
        if bold:                                            # the font has no bold face: fill + thin stroke
            c.setStrokeColor(color)
            c.setLineWidth(size * 0.035)
            t.setTextRenderMode(2)
        t.textOut(text)
        c.drawText(t)
        if special:
            c.restoreState()
        return w

    def line(self, x1: float, top1: float, x2: float, top2: float, *, width: float = 0.6,
             color: Color = RULE, dash: Sequence[float] | None = None) -> None:
        c = self.c
        c.setStrokeColor(color)
        c.setLineWidth(width)
        c.setDash(list(dash) if dash else [])
        c.line(x1, self.page_h - top1, x2, self.page_h - top2)
        if dash:
            c.setDash([])

    def rect(self, x: float, top: float, w: float, h: float, *, stroke: Color | None = RULE, fill: Color | None = None,
             width: float = 0.6) -> None:
        c = self.c
        if fill is not None:
            self._set_fill(fill)
        if stroke is not None:
            c.setStrokeColor(stroke)
            c.setLineWidth(width)
        c.rect(x, self.page_h - top - h, w, h, stroke=int(stroke is not None), fill=int(fill is not None))

    def field(self, x: float, top: float, label: str, value: str, width: float, *, size: float = 9.5,
              value_size: float | None = None) -> None:
        """"label：value" with the value on an underline that runs to ``x + width`` (a form's blank)."""
        lw = self.text(x, top, label, size, color=MUTED)
        vx = x + lw + 1 * mm
        room = x + width - vx - 1 * mm
        vs = fit_size(value, value_size or size + 0.5, room, minimum=6.5)
        self.text(vx, top, value, vs)
        self.line(vx - 0.5 * mm, top + 1.4 * mm, x + width, top + 1.4 * mm, width=0.4, color=MUTED)
