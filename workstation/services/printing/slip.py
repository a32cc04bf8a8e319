"""The printed prescription slip (处方笺) of 处方管理办法, drawn from the server's ``SlipData`` into a PDF.

``render_slip(data) -> bytes``: ``data`` is the JSON of ``GET /staff/prescriptions/{id}/slip`` (docs/api-contract.md,
"Prescriptions", ``SlipData``). The layout follows the regulation's three parts on an A5 sheet:

- 前记: hospital, title, the slip type's mark (top right, in a box) and paper tint (普通 white, 急诊 light yellow,
  儿科 light green, 麻醉/精一 light red), 费别, patient name, sex, age, card number and masked ID, department, date,
  clinical diagnosis, allergies; a QR code of ``verify_url`` top left.
- 正文: "Rp", one group per drug (name, strength, form, quantity; directions below), then a diagonal line through
  the blank space under the last drug with "以下空白".
- 后记: the doctor's (electronic) signature, the amount in yuan, boxes for the reviewing, dispensing, checking and
  issuing pharmacists (the reviewer's name printed when known), the validity.

Drawn with reportlab's canvas (no platypus: a fixed form is faster placed by hand). The CJK font is the TrueType
font of :mod:`.fonts`, registered once per process; reportlab embeds only the glyphs a document uses, as a
``FontFile2`` subset. Output is deterministic (``invariant``): the same data gives the same bytes.
More drug groups than fit on one sheet continue on further sheets, each a complete slip marked "第 n/m 页".
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from workstation.services.printing.fonts import cjk_font_name
from workstation.services.printing.qr import qr_modules

PAGE_W, PAGE_H = A5                       # 148 × 210 mm
MARGIN = 10 * mm
LEFT, RIGHT = MARGIN, PAGE_W - MARGIN
CHINA_TZ = timezone(timedelta(hours=8))   # no daylight saving: a fixed offset is exact

# paper tint per slip type (处方管理办法, annex 处方标准): None = white paper
SLIP_TINTS: dict[str, str | None] = {
    "ordinary": None,
    "emergency": "#FFF4C2",       # 淡黄色
    "paediatric": "#DDF2D8",      # 淡绿色
    "narcotic": "#FBDADA",        # 淡红色 (麻醉药品, 第一类精神药品)
    "psychotropic_1": "#FBDADA",
}
DEFAULT_MARKS = {"ordinary": "普通", "emergency": "急诊", "paediatric": "儿科", "narcotic": "麻、精一",
                 "psychotropic_1": "麻、精一"}

INK = HexColor("#111111")
MUTED = HexColor("#555555")
RULE = HexColor("#333333")
WHITE = Color(1, 1, 1)

# the drug table's columns, as x offsets from LEFT
COL_NAME = 8 * mm
COL_STRENGTH = 66 * mm
COL_FORM = 88 * mm
NAME_WIDTH = COL_STRENGTH - COL_NAME - 3 * mm


def yuan(fen: int | None) -> str:
    """Integer fen → "¥123.45" (exact: no float on the way)."""
    if fen is None:
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def signed_at_label(value: str | None) -> str:
    """An ISO timestamp → "2026-11-26 10:31" in China time (as given when it carries no offset)."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value)  # Python 3.11 reads a trailing "Z"
    except ValueError:
        return value
    if dt.tzinfo is not None:
        dt = dt.astimezone(CHINA_TZ)
    return dt.strftime("%Y-%m-%d %H:%M")


def slip_filename(data: Mapping[str, Any]) -> str:
    """A file name for "save as PDF": 处方笺_RX20261126001.pdf."""
    no = "".join(ch for ch in str(data.get("no") or "") if ch.isalnum() or ch in "-_") or "slip"
    return f"{data.get('title') or '处方笺'}_{no}.pdf"


# --- text helpers -------------------------------------------------------------------------------------------------

_font_override: str | None = None   # set only under _render_lock, by render_slip(font_name=...)


def _font() -> str:
    return _font_override or cjk_font_name()


def _latin(text: str) -> str:
    """Under a standard-font override (the benchmark's baseline) every non-ASCII character becomes "X": the
    same number of strings and characters, none that Helvetica lacks."""
    return "".join(ch if ch.isascii() else "X" for ch in text) if _font_override else text


def _width(text: str, size: float) -> float:
    return stringWidth(_latin(text), _font(), size)


# closing punctuation never starts a line (避头点): it hangs past the margin instead, by less than one character
NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’,.;:?!)]%")


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: between any two CJK characters, and at spaces for Latin
    runs (a word longer than the line is broken where it must be); closing punctuation stays on its line."""
    font = _font()
    lines: list[str] = []
    for para in _latin(text or "").splitlines() or [""]:
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
            w = stringWidth(token, font, size)
            if line_w + w <= width or not line or token in NO_LINE_START:
                if line_w + w > width and len(token) > 1:   # a word wider than an empty line: split it
                    for c in token:
                        cw = stringWidth(c, font, size)
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
    w = _width(text, size)
    if w <= width:
        return size
    return max(minimum, size * width / w)


class _Pen:
    """Small drawing vocabulary over a reportlab canvas, in points, y measured from the top of the page."""

    def __init__(self, c: Canvas) -> None:
        self.c = c
        self.font = _font()
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
        text = _latin(text)
        w = _width(text, size) + char_space * max(len(text) - 1, 0)
        x0 = x - w if anchor == "right" else x - w / 2 if anchor == "centre" else x
        # Tc and Tr are graphics state, which outlives BT/ET (and reportlab emits "0 Tr" only when it thinks the
        # mode changed): bold or letter-spaced text goes inside q/Q, or every later string would inherit it
        special = bold or bool(char_space)
        if special:
            c.saveState()
            c.setFillColor(color)           # restored with the rest by restoreState
        else:
            self._set_fill(color)
        t = c.beginText(x0, PAGE_H - top)
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
        c.line(x1, PAGE_H - top1, x2, PAGE_H - top2)
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
        c.rect(x, PAGE_H - top - h, w, h, stroke=int(stroke is not None), fill=int(fill is not None))

    def field(self, x: float, top: float, label: str, value: str, width: float, *, size: float = 9.5,
              value_size: float | None = None) -> None:
        """"label：value" with the value on an underline that runs to ``x + width`` (a form's blank)."""
        lw = self.text(x, top, label, size, color=MUTED)
        vx = x + lw + 1 * mm
        room = x + width - vx - 1 * mm
        vs = fit_size(value, value_size or size + 0.5, room, minimum=6.5)
        self.text(vx, top, value, vs)
        self.line(vx - 0.5 * mm, top + 1.4 * mm, x + width, top + 1.4 * mm, width=0.4, color=MUTED)


# --- the QR code --------------------------------------------------------------------------------------------------

def draw_qr(pen: _Pen, value: str, x: float, top: float, size: float) -> None:
    """The QR code in a white square of side ``size`` (quiet zone of 2 modules included — the white square and
    the sheet's margin around it make up the rest); dark runs of each row drawn as one path, which keeps the
    PDF small and the drawing fast."""
    matrix = qr_modules(value)
    n = len(matrix)
    quiet = 2
    module = size / (n + 2 * quiet)
    pen.rect(x, top, size, size, stroke=None, fill=WHITE)
    # in module units with y down from the code's top-left corner, every rectangle is four small integers:
    # written as one literal path ("re" per run, one "f"), not thousands of canvas calls each formatting floats
    ops: list[str] = []
    for r, row in enumerate(matrix):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {r} {col - start} 1 re")
            else:
                col += 1
    c = pen.c
    c.saveState()
    c.translate(x + quiet * module, PAGE_H - top - quiet * module)
    c.scale(module, -module)
    c.setFillColor(INK)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


# --- the slip ------------------------------------------------------------------------------------------------------

@dataclass
class _Block:
    """One item of the Rp area: a drug group or the notes; drawn at a given top, ``height`` points tall."""
    height: float
    draw: Callable[[_Pen, float], None]


HEADER_TOP = 8 * mm
QR_SIZE = 21 * mm
MARK_W, MARK_H = 20 * mm, 9 * mm
FRONT_TOP = 36 * mm          # first row of the front matter (baseline)
ROW = 6.8 * mm
FOOTER_H = 34 * mm           # from the footer's rule to the bottom margin
RP_SIZE = 10.5
DIR_SIZE = 9.0


def _drug_block(index: int, line: Mapping[str, Any]) -> _Block:
    name = str(line.get("name") or "")
    strength = str(line.get("strength") or "")
    form = str(line.get("form") or "")
    qty = str(line.get("quantity_label") or "")
    directions = str(line.get("directions") or "")
    name_size = fit_size(name, RP_SIZE, NAME_WIDTH, minimum=7.5)
    dir_lines = wrap(f"用法用量：{directions}", DIR_SIZE, RIGHT - LEFT - COL_NAME - 2 * mm)
    first = 5.2 * mm
    height = first + len(dir_lines) * 4.6 * mm + 2.6 * mm

    def draw(pen: _Pen, top: float) -> None:
        base = top + 4.2 * mm
        pen.text(LEFT + COL_NAME - 2.4 * mm, base, f"{index}.", RP_SIZE, anchor="right")
        pen.text(LEFT + COL_NAME, base, name, name_size, bold=True)
        pen.text(LEFT + COL_STRENGTH, base, strength, fit_size(strength, RP_SIZE - 0.5, COL_FORM - COL_STRENGTH
                                                                 - 2 * mm, minimum=6.5))
        pen.text(LEFT + COL_FORM, base, form, fit_size(form, RP_SIZE - 0.5, 20 * mm, minimum=6.5))
        pen.text(RIGHT - 2 * mm, base, f"×{qty}" if qty else "", RP_SIZE, anchor="right", bold=True)
        y = base + 4.6 * mm
        for dl in dir_lines:
            pen.text(LEFT + COL_NAME, y, dl, DIR_SIZE, color=MUTED)
            y += 4.6 * mm

    return _Block(height, draw)


def _notes_block(notes: str) -> _Block:
    lines = wrap(f"备注：{notes}", 8.5, RIGHT - LEFT - COL_NAME - 2 * mm)
    height = len(lines) * 4.2 * mm + 2 * mm

    def draw(pen: _Pen, top: float) -> None:
        y = top + 3.6 * mm
        for ln in lines:
            pen.text(LEFT + COL_NAME, y, ln, 8.5, color=MUTED)
            y += 4.2 * mm

    return _Block(height, draw)


def _front_matter(pen: _Pen, data: Mapping[str, Any]) -> float:
    """前记; returns the top of the Rp area."""
    patient = data.get("patient") or {}
    width = RIGHT - LEFT
    third = width / 3
    top = FRONT_TOP
    pen.field(LEFT, top, "费别：", str(data.get("fee_category_label") or ""), third - 3 * mm)
    pen.field(LEFT + third, top, "科别：", str(data.get("department") or ""), third - 3 * mm)
    pen.field(LEFT + 2 * third, top, "开具日期：", str(data.get("date") or ""), third)
    top += ROW
    pen.field(LEFT, top, "姓名：", str(patient.get("name") or ""), third - 3 * mm)
    pen.field(LEFT + third, top, "性别：", str(patient.get("sex") or ""), third - 3 * mm)
    pen.field(LEFT + 2 * third, top, "年龄：", str(patient.get("age_label") or ""), third)
    top += ROW
    half = width / 2
    pen.field(LEFT, top, "门诊号/卡号：", str(patient.get("card_no") or "—"), half - 3 * mm)
    pen.field(LEFT + half, top, "身份证号：", str(patient.get("id_masked") or "—"), half)
    top += ROW
    # the diagnosis may be long ("E11.9 2型糖尿病；I10 原发性高血压；…"): wrapped, every line underlined
    label = "临床诊断："
    lw = _width(label, 9.5)
    diag_lines = wrap(str(data.get("diagnosis") or ""), 10, width - lw - 2 * mm)
    pen.text(LEFT, top, label, 9.5, color=MUTED)
    for i, dl in enumerate(diag_lines[:3]):
        y = top + i * 5.2 * mm
        pen.text(LEFT + lw + 1 * mm, y, dl if i < 2 or len(diag_lines) <= 3 else dl[:-1] + "…", 10)
        pen.line(LEFT + lw + 0.5 * mm, y + 1.4 * mm, RIGHT, y + 1.4 * mm, width=0.4, color=MUTED)
    top += ROW + (min(len(diag_lines), 3) - 1) * 5.2 * mm
    allergies = data.get("allergies") or []
    allergy_text = "、".join(str(a) for a in allergies) if allergies else "无"
    pen.field(LEFT, top, "过敏史：", allergy_text, width)
    top += 3.4 * mm
    pen.line(LEFT, top, RIGHT, top, width=1.0, color=RULE)
    return top


def _header(pen: _Pen, data: Mapping[str, Any], *, page: int, pages: int) -> None:
    centre = PAGE_W / 2
    hospital = str(data.get("hospital") or "")
    hs = fit_size(hospital, 14, RIGHT - LEFT - 2 * QR_SIZE - 6 * mm, minimum=9)
    pen.text(centre, HEADER_TOP + 7 * mm, hospital, hs, anchor="centre", bold=True)
    title = str(data.get("title") or "处方笺")
    pen.text(centre, HEADER_TOP + 16 * mm, title, 18, anchor="centre", bold=True, char_space=3 * mm)
    # the slip type's mark, top right, in a box
    mark = str(data.get("slip_mark") or DEFAULT_MARKS.get(str(data.get("slip_type")), ""))
    mx = RIGHT - MARK_W
    pen.rect(mx, HEADER_TOP, MARK_W, MARK_H, width=1.2, stroke=INK, fill=WHITE)
    pen.text(mx + MARK_W / 2, HEADER_TOP + MARK_H / 2 + 1.6 * mm, mark,
             fit_size(mark, 13, MARK_W - 3 * mm, minimum=8), anchor="centre", bold=True)
    no = str(data.get("no") or "")
    pen.text(RIGHT, HEADER_TOP + 14 * mm, "No.", 7.5, anchor="right", color=MUTED)
    pen.text(RIGHT, HEADER_TOP + 18 * mm, no, fit_size(no, 8.5, 36 * mm, minimum=6), anchor="right")
    if pages > 1:
        pen.text(RIGHT, HEADER_TOP + 22.5 * mm, f"第 {page}/{pages} 页", 7.5, anchor="right", color=MUTED)
    # the QR code of the verification page, top left
    url = str(data.get("verify_url") or "")
    if url:
        draw_qr(pen, url, LEFT - 1.5 * mm, HEADER_TOP - 2 * mm, QR_SIZE)
        pen.text(LEFT - 1.5 * mm + QR_SIZE / 2, HEADER_TOP + QR_SIZE + 0.8 * mm, "扫码核验处方", 6.5,
                 anchor="centre", color=MUTED)


def _footer(pen: _Pen, data: Mapping[str, Any], *, last: bool) -> None:
    """后记: signature and amount, the four pharmacists' boxes, the validity."""
    top = PAGE_H - MARGIN - FOOTER_H
    pen.line(LEFT, top, RIGHT, top, width=1.0)
    y = top + 6.5 * mm
    doctor = str(data.get("doctor_name") or "")
    lw = pen.text(LEFT, y, "医师：", 9.5, color=MUTED)
    dw = pen.text(LEFT + lw + 1 * mm, y, doctor, 11, bold=True)
    signed = signed_at_label(data.get("signed_at"))
    pen.text(LEFT + lw + dw + 3 * mm, y, f"（电子签名 {signed}）" if signed else "（电子签名）", 7.5, color=MUTED)
    amount = yuan(data.get("amount_fen")) if last else "见末页"
    aw = pen.text(RIGHT, y, amount, 11.5, anchor="right", bold=True)
    pen.text(RIGHT - aw - 1 * mm, y, "药品金额：", 9.5, anchor="right", color=MUTED)
    # 审核 / 调配 / 核对 / 发药: a box each to sign in; the reviewing pharmacist's name when the server has it
    box_top = top + 10 * mm
    box_h = 15 * mm
    gap = 2 * mm
    box_w = (RIGHT - LEFT - 3 * gap) / 4
    reviewer = data.get("reviewer_name")
    for i, label in enumerate(("审核药师", "调配药师", "核对药师", "发药药师")):
        bx = LEFT + i * (box_w + gap)
        pen.rect(bx, box_top, box_w, box_h, width=0.6, stroke=RULE, fill=WHITE)
        pen.text(bx + 1.5 * mm, box_top + 3.6 * mm, label, 7.5, color=MUTED)
        if i == 0 and reviewer:
            pen.text(bx + box_w / 2, box_top + 10.5 * mm, str(reviewer),
                     fit_size(str(reviewer), 11, box_w - 3 * mm, minimum=7), anchor="centre")
    y = box_top + box_h + 5 * mm
    validity = str(data.get("validity_label") or "")
    left_note = f"有效期：{validity}" if validity else ""
    if left_note:
        pen.text(LEFT, y, left_note, 8, color=INK)
    pen.text(RIGHT, y, "互联网医院电子处方 · 扫码核验真伪 · 取药时请核对姓名", 7, anchor="right", color=MUTED)


def _paginate(blocks: list[_Block], room: float) -> list[list[_Block]]:
    pages: list[list[_Block]] = [[]]
    used = 0.0
    for b in blocks:
        if pages[-1] and used + b.height > room:
            pages.append([])
            used = 0.0
        pages[-1].append(b)
        used += b.height
    return pages


_render_lock = threading.Lock()


def render_slip(data: Mapping[str, Any], *, font_name: str | None = None) -> bytes:
    """The slip as PDF bytes. ``data`` is a ``SlipData`` dict (docs/api-contract.md). Thread-safe (reportlab's
    shared font state is guarded); call it off the GUI thread — it takes 10–15 ms warm, ~0.2 s the first
    time in a process (the font is parsed once).

    ``font_name``: another registered reportlab font instead of the CJK TrueType one; only the ``slip_render``
    benchmark's baseline uses it (Latin text in Helvetica, nothing embedded)."""
    global _font_override
    if font_name is None:
        cjk_font_name()  # parse/register the font before taking the lock (it has its own)
    with _render_lock:
        # no ASCII85 on top of Flate (it makes a stream 25 % bigger and is encoded in pure Python); restored after,
        # as rl_config is reportlab's process-wide setting
        saved = rl_config.useA85
        rl_config.useA85 = 0
        _font_override = font_name
        try:
            return _render(data)
        finally:
            rl_config.useA85 = saved
            _font_override = None


def _render(data: Mapping[str, Any]) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A5, invariant=True, pageCompression=1, initialFontName=_font(),
               initialFontSize=10)
    c.setTitle(f"{data.get('title') or '处方笺'} {data.get('no') or ''}".strip())
    c.setAuthor(str(data.get("hospital") or ""))
    c.setSubject(str(data.get("verify_url") or ""))
    c.setCreator("clinic workstation")
    _date_document(c, data.get("signed_at"))
    pen = _Pen(c)

    blocks = [_drug_block(i + 1, line) for i, line in enumerate(data.get("lines") or [])]
    if data.get("notes"):
        blocks.append(_notes_block(str(data["notes"])))
    tint = SLIP_TINTS.get(str(data.get("slip_type") or "ordinary"))
    # the front matter's height depends only on how many lines the diagnosis wraps to: computed without drawing
    rp_top_estimate = _measure_front(data)
    rp_bottom = PAGE_H - MARGIN - FOOTER_H - 2 * mm
    rp_first = rp_top_estimate + 11 * mm  # below the "Rp" mark
    pages = _paginate(blocks, rp_bottom - rp_first - 8 * mm)

    for p, page_blocks in enumerate(pages, start=1):
        last = p == len(pages)
        if tint:
            pen.rect(0, 0, PAGE_W, PAGE_H, stroke=None, fill=HexColor(tint))
        _header(pen, data, page=p, pages=len(pages))
        rp_top = _front_matter(pen, data)
        pen.text(LEFT, rp_top + 9 * mm, "Rp", 17, bold=True)
        y = rp_top + 11 * mm
        for b in page_blocks:
            b.draw(pen, y)
            y += b.height
        if last:
            _blank_below(pen, y, rp_bottom)
        else:
            pen.text(PAGE_W / 2, rp_bottom - 2 * mm, "（续下页）", 8.5, anchor="centre", color=MUTED)
        _footer(pen, data, last=last)
        c.showPage()
        pen.new_page()
    c.save()
    return buf.getvalue()


def _date_document(c: Canvas, signed_at: str | None) -> None:
    """The PDF's CreationDate/ModDate: when the doctor signed (invariant mode would say 2000-01-01), in China
    time — still deterministic, the same slip gives the same bytes. reportlab has no public setter, so its
    document's time stamp is replaced; left at reportlab's if its internals change."""
    if not signed_at:
        return
    try:
        dt = datetime.fromisoformat(signed_at)
    except ValueError:
        return
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=CHINA_TZ)
    dt = dt.astimezone(CHINA_TZ)
    ts = getattr(getattr(c, "_doc", None), "_timeStamp", None)
    if ts is None or not hasattr(ts, "YMDhms"):
        return
    ts.t = dt.timestamp()
    ts.lt = dt.timetuple()
    ts.YMDhms = tuple(ts.lt)[:6]
    ts.dhh, ts.dmm, ts.tzname = 8, 0, "CST"


def _measure_front(data: Mapping[str, Any]) -> float:
    """Where ``_front_matter`` will end (it only grows with the diagnosis' line count)."""
    lw = _width("临床诊断：", 9.5)
    n = min(len(wrap(str(data.get("diagnosis") or ""), 10, RIGHT - LEFT - lw - 2 * mm)), 3)
    return FRONT_TOP + 4 * ROW + (n - 1) * 5.2 * mm + 3.4 * mm


def _blank_below(pen: _Pen, top: float, bottom: float) -> None:
    """"以下空白" and the diagonal line through the unused space, so nothing can be added after signing."""
    y = top + 1.5 * mm
    if bottom - y < 8 * mm:
        pen.text(PAGE_W / 2, bottom - 1 * mm, "（以下空白）", 8.5, anchor="centre", color=MUTED)
        return
    pen.text(LEFT + COL_NAME, y + 3.5 * mm, "以下空白", 8.5, color=MUTED)
    pen.line(LEFT + COL_NAME + _width("以下空白", 8.5) + 2 * mm, y + 2.2 * mm, RIGHT - 2 * mm, bottom - 1 * mm,
             width=0.8, color=RULE)
