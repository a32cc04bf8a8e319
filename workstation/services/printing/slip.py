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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from workstation.services.printing.layout import (
    CHINA_TZ,
    INK,
    MUTED,
    NO_LINE_START,
    RULE,
    WHITE,
    Pen,
    date_document,
    fit_size,
    font,
    rendering,
    text_width,
    time_label,
    wrap,
)
from workstation.services.printing.money import yuan
from workstation.services.printing.qr import qr_modules

# the shared helpers (layout.py, money.py) that callers and tests have always imported from here
__all__ = ["CHINA_TZ", "INK", "MUTED", "NO_LINE_START", "RULE", "WHITE", "fit_size", "qr_modules", "render_slip",
           "signed_at_label", "slip_filename", "wrap", "yuan"]

PAGE_W, PAGE_H = A5                       # 148 × 210 mm
MARGIN = 10 * mm
LEFT, RIGHT = MARGIN, PAGE_W - MARGIN

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

# the drug table's columns, as x offsets from LEFT
COL_NAME = 8 * mm
COL_STRENGTH = 66 * mm
COL_FORM = 88 * mm
NAME_WIDTH = COL_STRENGTH - COL_NAME - 3 * mm


def signed_at_label(value: str | None) -> str:
    """An ISO timestamp → "2026-11-26 10:31" in China time (as given when it carries no offset)."""
    return time_label(value)


def slip_filename(data: Mapping[str, Any]) -> str:
    """A file name for "save as PDF": 处方笺_RX20261126001.pdf."""
    no = "".join(ch for ch in str(data.get("no") or "") if ch.isalnum() or ch in "-_") or "slip"
    return f"{data.get('title') or '处方笺'}_{no}.pdf"


# --- the QR code --------------------------------------------------------------------------------------------------

def draw_qr(pen: Pen, value: str, x: float, top: float, size: float) -> None:
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
    c.translate(x + quiet * module, pen.page_h - top - quiet * module)
    c.scale(module, -module)
    c.setFillColor(INK)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


# --- the slip ------------------------------------------------------------------------------------------------------

@dataclass
class _Block:
    """One item of the Rp area: a drug group or the notes; drawn at a given top, ``height`` points tall."""
    height: float
    draw: Callable[[Pen, float], None]


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

    def draw(pen: Pen, top: float) -> None:
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

    def draw(pen: Pen, top: float) -> None:
        y = top + 3.6 * mm
        for ln in lines:
            pen.text(LEFT + COL_NAME, y, ln, 8.5, color=MUTED)
            y += 4.2 * mm

    return _Block(height, draw)


def _front_matter(pen: Pen, data: Mapping[str, Any]) -> float:
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
    lw = text_width(label, 9.5)
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


def _header(pen: Pen, data: Mapping[str, Any], *, page: int, pages: int) -> None:
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


def _footer(pen: Pen, data: Mapping[str, Any], *, last: bool) -> None:
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


def render_slip(data: Mapping[str, Any], *, font_name: str | None = None) -> bytes:
    """The slip as PDF bytes. ``data`` is a ``SlipData`` dict (docs/api-contract.md). Thread-safe (reportlab's
    shared font state is guarded); call it off the GUI thread — it takes 10–15 ms warm, ~0.2 s the first
    time in a process (the font is parsed once).

    ``font_name``: another registered reportlab font instead of the CJK TrueType one; only the ``slip_render``
    benchmark's baseline uses it (Latin text in Helvetica, nothing embedded)."""
    with rendering(font_name):
        return _render(data)


def _render(data: Mapping[str, Any]) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A5, invariant=True, pageCompression=1, initialFontName=font(),
               initialFontSize=10)
    c.setTitle(f"{data.get('title') or '处方笺'} {data.get('no') or ''}".strip())
    c.setAuthor(str(data.get("hospital") or ""))
    c.setSubject(str(data.get("verify_url") or ""))
    c.setCreator("clinic workstation")
    date_document(c, data.get("signed_at"))
    pen = Pen(c, PAGE_H)

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


def _measure_front(data: Mapping[str, Any]) -> float:
    """Where ``_front_matter`` will end (it only grows with the diagnosis' line count)."""
    lw = text_width("临床诊断：", 9.5)
    n = min(len(wrap(str(data.get("diagnosis") or ""), 10, RIGHT - LEFT - lw - 2 * mm)), 3)
    return FRONT_TOP + 4 * ROW + (n - 1) * 5.2 * mm + 3.4 * mm


def _blank_below(pen: Pen, top: float, bottom: float) -> None:
    """"以下空白" and the diagonal line through the unused space, so nothing can be added after signing."""
    y = top + 1.5 * mm
    if bottom - y < 8 * mm:
        pen.text(PAGE_W / 2, bottom - 1 * mm, "（以下空白）", 8.5, anchor="centre", color=MUTED)
        return
    pen.text(LEFT + COL_NAME, y + 3.5 * mm, "以下空白", 8.5, color=MUTED)
    pen.line(LEFT + COL_NAME + text_width("以下空白", 8.5) + 2 * mm, y + 2.2 * mm, RIGHT - 2 * mm, bottom - 1 * mm,
             width=0.8, color=RULE)
