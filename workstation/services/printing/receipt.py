"""The printed refund receipt (退费凭证) the refund-window clerk hands to the patient.

``ReceiptData.from_refund(refund, hospital=, clerk=, printed_at=)`` reads a ``RefundPublic`` dict as the
workstation receives it (docs/api-contract.md, "Refunds (issue 6)" and "Refunds part 2": money in integer fen,
times ISO 8601 with ``+08:00``); ``render_receipt(data) -> bytes`` draws it as a one-page PDF.

The sheet is A5 landscape (210 × 148 mm, half an A4 sheet): the size of the receipts a hospital's cashier prints
on a laser printer (on A4 paper it prints 1:1 on the top half, to be cut off). Layout:

- the hospital, the title 退费凭证 and the copy's mark (患者留存联), the receipt number (``out_refund_no``) and
  the time printed;
- a ruled table of label/value cells: the patient (name, masked ID number and mobile), what was paid for
  (挂号诊疗费 or 药品费), the appointment (number, department / doctor, time), the original payment (order
  number, time, amount), the refund amount in figures and in Chinese capitals (人民币大写), how it was asked for
  (``path_label``), the reason, the status — with 退款处理中，将于1-15个工作日内按原支付路径退回 while the money
  has not arrived — the channel (原路退回（微信支付）) and the time refunded;
- the clerk (经办人), a box for the patient's signature, and a note.

Long values wrap inside their cell (the row grows); when everything would no longer fit on the sheet the values
are set smaller, and as a last resort the longest cells are cut with "…", so nothing is ever drawn past the page.
Drawn with the slip's helpers (:mod:`.layout`: the embedded TrueType subset of :mod:`.fonts`, wrapping, the pen)
under the same render lock; deterministic: the same data gives the same bytes.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from workstation.services.printing.layout import (
    INK,
    MUTED,
    RULE,
    WHITE,
    Pen,
    date_document,
    fit_size,
    font,
    parse_time,
    rendering,
    text_width,
    time_label,
    wrap,
)
from workstation.services.printing.money import rmb_capital, yuan

TITLE = "退费凭证"
COPY_MARK = "患者留存联"
CHANNEL = "原路退回（微信支付）"
PENDING_NOTE = "退款处理中，将于1-15个工作日内按原支付路径退回"
REVIEW_NOTE = "退费申请已受理，审核通过后将于1-15个工作日内按原支付路径退回"
FOOTER_NOTE = ("注：本凭证为医院办理退费的凭据，不作报销凭证，请妥善保管。退款按原支付路径退回，到账时间以微信支付"
               "通知为准，逾期未到账请持本凭证到窗口查询。")
ITEM_LABELS = {"consultation": "挂号诊疗费", "drug": "药品费"}
EMPTY = "—"

PAGE_W, PAGE_H = landscape(A5)            # 210 × 148 mm
MARGIN_X = 10 * mm
MARGIN_TOP = 8 * mm
MARGIN_BOTTOM = 7 * mm
LEFT, RIGHT = MARGIN_X, PAGE_W - MARGIN_X

LABEL_W = 27 * mm                          # the label columns
VALUE_W = (RIGHT - LEFT - 2 * LABEL_W) / 2
PAD_X = 2 * mm
PAD_Y = 1.9 * mm
LABEL_SIZE = 9.0
AMOUNT_SIZE = 12.0
VALUE_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5)   # tried in turn until the table fits
LINE = 1.42                                # line height, in font sizes
TABLE_TOP = 36 * mm
SIGN_H = 15 * mm                           # the signature area below the table
NOTE_SIZE = 7.5

AIR = 1.6 * mm                             # at most this much added to each row when the sheet has room
AMOUNT_LABEL = "退费金额"
NOTE_LABEL = "退费说明"

LABEL_FILL = HexColor("#F1F3F5")
NOTE_FILL = HexColor("#FFF8E1")


def _dt(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, (str, datetime)) else None


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class ReceiptData:
    """What the receipt shows. Money in integer fen; times aware, in China time (None when not known)."""

    hospital: str
    receipt_no: str                        # out_refund_no
    printed_at: datetime
    clerk: str                             # 经办人: the clerk at the window
    patient_name: str
    id_number_masked: str
    mobile_masked: str
    purpose: str                           # consultation | drug
    appointment_number: str
    department_name: str
    doctor_name: str
    starts_at: datetime | None             # the appointment's time (a drug refund: the prescription's visit)
    out_trade_no: str                      # the original payment's order number
    paid_at: datetime | None
    paid_fen: int
    amount_fen: int                        # refunded
    path_label: str                        # 就诊前取消|退号申请|窗口退费|医生停诊|号源无法就诊|药费退费
    reason: str
    status: str                            # requested|approved|processing|refunded|failed|closed
    status_label: str
    refunded_at: datetime | None
    created_at: datetime | None = None
    prescription_id: int | None = None
    channel: str = CHANNEL
    title: str = TITLE

    @classmethod
    def from_refund(cls, refund: Mapping[str, Any], *, hospital: str, clerk: str,
                    printed_at: datetime) -> ReceiptData:
        """From a ``RefundPublic`` dict. Raises ValueError for a rejected refund (no money goes back: it has no
        receipt) and for one without a number or an amount."""
        status = _str(refund.get("status"))
        if status == "rejected":
            raise ValueError("a rejected refund has no receipt")
        receipt_no = _str(refund.get("out_refund_no"))
        if not receipt_no:
            raise ValueError("the refund has no out_refund_no")
        amount = refund.get("amount_fen")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError(f"the refund's amount_fen is not a whole number of fen: {amount!r}")
        paid = refund.get("paid_fen")
        rx = refund.get("prescription_id")
        printed = parse_time(printed_at)
        assert printed is not None
        return cls(
            hospital=_str(hospital), receipt_no=receipt_no, printed_at=printed, clerk=_str(clerk),
            patient_name=_str(refund.get("patient_name")),
            id_number_masked=_str(refund.get("id_number_masked")),
            mobile_masked=_str(refund.get("mobile_masked")),
            purpose=_str(refund.get("purpose")) or ("drug" if rx else "consultation"),
            appointment_number=_str(refund.get("appointment_number")),
            department_name=_str(refund.get("department_name")),
            doctor_name=_str(refund.get("doctor_name")),
            starts_at=_dt(refund.get("starts_at")),
            out_trade_no=_str(refund.get("out_trade_no")),
            paid_at=_dt(refund.get("paid_at")),
            paid_fen=paid if isinstance(paid, int) and not isinstance(paid, bool) else 0,
            amount_fen=amount,
            path_label=_str(refund.get("path_label")) or _str(refund.get("path")),
            reason=_str(refund.get("reason")),
            status=status,
            status_label=_str(refund.get("status_label")) or status,
            refunded_at=_dt(refund.get("refunded_at")),
            created_at=_dt(refund.get("created_at")),
            prescription_id=rx if isinstance(rx, int) and not isinstance(rx, bool) else None,
        )

    @property
    def refunded(self) -> bool:
        return self.status == "refunded"

    @property
    def item_label(self) -> str:
        """项目: 挂号诊疗费 for a consultation fee, 药品费 for drugs."""
        return ITEM_LABELS.get(self.purpose, self.purpose or EMPTY)

    @property
    def status_note(self) -> str:
        """The line under the status while the money has not arrived ("" once refunded)."""
        if self.refunded:
            return ""
        return REVIEW_NOTE if self.status == "requested" else PENDING_NOTE

    @property
    def amount_capital(self) -> str:
        """退费金额 in Chinese capitals: 壹拾贰元叁角肆分."""
        return rmb_capital(self.amount_fen)

    @property
    def filename(self) -> str:
        """A file name for "save as PDF": 退费凭证_R20261126140215a1b2c3.pdf."""
        no = "".join(ch for ch in self.receipt_no if ch.isalnum() or ch in "-_") or "receipt"
        return f"{self.title}_{no}.pdf"

    @property
    def doctor_label(self) -> str:
        """就诊科室/医生: "内分泌科 / 李慧敏" (either alone when the other is unknown)."""
        return " / ".join(x for x in (self.department_name, self.doctor_name) if x) or EMPTY


def receipt_filename(data: ReceiptData) -> str:
    return data.filename


# --- the table ----------------------------------------------------------------------------------------------------

@dataclass
class _Cell:
    label: str
    value: str
    span: bool = False                     # the value takes the three columns to the right of the label
    bold: bool = False
    lines: list[str] = field(default_factory=list)


def _rows(data: ReceiptData) -> list[list[_Cell]]:
    """The table's rows: two label/value pairs, or one label with a value across the rest."""
    def v(text: str) -> str:
        return text or EMPTY

    rows = [
        [_Cell("患者姓名", v(data.patient_name), bold=True), _Cell("证件号", v(data.id_number_masked))],
        [_Cell("手机号", v(data.mobile_masked)), _Cell("项目", data.item_label)],
        [_Cell("预约号", v(data.appointment_number)), _Cell("就诊科室/医生", data.doctor_label)],
        [_Cell("就诊时间", v(time_label(data.starts_at))), _Cell("原支付订单号", v(data.out_trade_no))],
        [_Cell("支付时间", v(time_label(data.paid_at))), _Cell("实付金额", yuan(data.paid_fen))],
        [_Cell(AMOUNT_LABEL, "", span=True)],         # drawn by _amount_row: figures and capitals
        [_Cell("退费方式", v(data.path_label)), _Cell("退回渠道", data.channel)],
        [_Cell("退费原因", v(data.reason), span=True)],
        [_Cell("退费状态", v(data.status_label), bold=True),
         _Cell("退费时间", v(time_label(data.refunded_at)) if data.refunded else "—（尚未到账）")],
    ]
    if data.status_note:
        rows.append([_Cell(NOTE_LABEL, data.status_note, span=True, bold=True)])
    return rows


def _value_width(cell: _Cell) -> float:
    return (RIGHT - LEFT - LABEL_W if cell.span else VALUE_W) - 2 * PAD_X


def _row_height(row: list[_Cell], size: float) -> float:
    n = max(max(len(c.lines), 1) for c in row)
    return 2 * PAD_Y + size * 0.78 + (n - 1) * size * LINE + size * 0.22


def _layout(rows: list[list[_Cell]], size: float, room: float) -> tuple[list[float], bool]:
    """Wrap every value at ``size``; the rows' heights and whether they fit in ``room``."""
    for row in rows:
        for c in row:
            c.lines = wrap(c.value, size, _value_width(c)) if c.value else [""]
    heights = [_row_height(row, AMOUNT_SIZE if row[0].label == AMOUNT_LABEL else size) for row in rows]
    return heights, sum(heights) <= room


def _cut_to_fit(rows: list[list[_Cell]], size: float, room: float) -> list[float]:
    """Drop the last lines of the tallest cells (ending them with "…") until the table fits ``room``."""
    heights, fits = _layout(rows, size, room)
    while not fits:
        cell = max((c for row in rows for c in row), key=lambda c: len(c.lines))
        if len(cell.lines) <= 1:
            break
        cell.lines = cell.lines[:-1]
        last = cell.lines[-1]
        while last and text_width(last + "…", size) > _value_width(cell):
            last = last[:-1]
        cell.lines[-1] = last + "…"
        heights = [_row_height(row, AMOUNT_SIZE if row[0].label == AMOUNT_LABEL else size) for row in rows]
        fits = sum(heights) <= room
    return heights


def _amount_row(pen: Pen, data: ReceiptData, base: float) -> None:
    """退费金额's value: "¥12.34" and "人民币（大写）壹拾贰元叁角肆分" on one line at baseline ``base``."""
    x = LEFT + LABEL_W + PAD_X
    fig = yuan(data.amount_fen)
    x += pen.text(x, base, fig, AMOUNT_SIZE, bold=True) + 8 * mm
    x += pen.text(x, base, "人民币（大写）", LABEL_SIZE, color=MUTED) + 1.5 * mm
    capital = data.amount_capital
    pen.text(x, base, capital, fit_size(capital, AMOUNT_SIZE - 1, RIGHT - PAD_X - x, minimum=7), bold=True)


def _table(pen: Pen, data: ReceiptData, top: float, bottom: float) -> float:
    """The ruled table from ``top``; returns its bottom (never below ``bottom``)."""
    rows = _rows(data)
    room = bottom - top
    size = VALUE_SIZES[-1]
    for size in VALUE_SIZES:
        heights, fits = _layout(rows, size, room)
        if fits:
            break
    else:
        heights = _cut_to_fit(rows, size, room)
    # room to spare: the rows open up a little (at most AIR each), the text staying centred in its padding
    air = min(AIR, max(0.0, room - sum(heights)) / len(rows))
    heights = [h + air for h in heights]
    label_size = min(LABEL_SIZE, size)
    col_l2 = LEFT + LABEL_W + VALUE_W
    tops = [top + sum(heights[:i]) for i in range(len(rows))]
    end = top + sum(heights)
    # fills first (label cells tinted; a pending refund's note tinted as a notice), then the text, then the rules
    for row, y, h in zip(rows, tops, heights):
        pen.rect(LEFT, y, LABEL_W, h, stroke=None, fill=LABEL_FILL)
        if len(row) == 2:
            pen.rect(col_l2, y, LABEL_W, h, stroke=None, fill=LABEL_FILL)
        if row[0].label == NOTE_LABEL:
            pen.rect(LEFT + LABEL_W, y, RIGHT - LEFT - LABEL_W, h, stroke=None, fill=NOTE_FILL)
    for row, y, h in zip(rows, tops, heights):
        if row[0].label == AMOUNT_LABEL:
            base = y + air / 2 + PAD_Y + AMOUNT_SIZE * 0.78
            _amount_row(pen, data, base)
        else:
            base = y + air / 2 + PAD_Y + size * 0.78
        for i, cell in enumerate(row):
            lx = LEFT if i == 0 else col_l2
            pen.text(lx + PAD_X, base, cell.label, fit_size(cell.label, label_size, LABEL_W - 2 * PAD_X,
                                                            minimum=6.5), color=MUTED)
            if cell.label == AMOUNT_LABEL:
                continue
            vy = base
            for ln in cell.lines:
                pen.text(lx + LABEL_W + PAD_X, vy, ln, size, bold=cell.bold)
                vy += size * LINE
    for row, y, h in zip(rows, tops, heights):
        if y > top:
            pen.line(LEFT, y, RIGHT, y, width=0.5)
        pen.line(LEFT + LABEL_W, y, LEFT + LABEL_W, y + h, width=0.5)
        if len(row) == 2:
            pen.line(col_l2, y, col_l2, y + h, width=0.5)
            pen.line(col_l2 + LABEL_W, y, col_l2 + LABEL_W, y + h, width=0.5)
    pen.rect(LEFT, top, RIGHT - LEFT, end - top, stroke=RULE, width=1.1)
    return end


# --- the sheet ----------------------------------------------------------------------------------------------------

def _header(pen: Pen, data: ReceiptData) -> None:
    centre = PAGE_W / 2
    hs = fit_size(data.hospital, 14, RIGHT - LEFT - 2 * 34 * mm, minimum=9)
    pen.text(centre, MARGIN_TOP + 6 * mm, data.hospital, hs, anchor="centre", bold=True)
    tw = pen.text(centre, MARGIN_TOP + 15.5 * mm, data.title, 18, anchor="centre", bold=True, char_space=2.5 * mm)
    # a double rule under the title, as on a printed form
    for dy in (2.0 * mm, 2.8 * mm):
        pen.line(centre - tw / 2 - 2 * mm, MARGIN_TOP + 15.5 * mm + dy, centre + tw / 2 + 2 * mm,
                 MARGIN_TOP + 15.5 * mm + dy, width=0.6, color=INK)
    # the copy's mark, top right
    mw, mh = 24 * mm, 7 * mm
    pen.rect(RIGHT - mw, MARGIN_TOP + 1 * mm, mw, mh, width=0.8, stroke=INK, fill=WHITE)
    pen.text(RIGHT - mw / 2, MARGIN_TOP + 1 * mm + mh / 2 + 1.3 * mm, COPY_MARK, 9.5, anchor="centre")
    # number and time printed
    y = TABLE_TOP - 2.4 * mm
    lw = pen.text(LEFT, y, "凭证号：", 9, color=MUTED)
    pen.text(LEFT + lw, y, data.receipt_no, fit_size(data.receipt_no, 10, 80 * mm, minimum=6.5))
    printed = time_label(data.printed_at, "%Y-%m-%d %H:%M:%S")
    pw = pen.text(RIGHT, y, printed, 9.5, anchor="right")
    pen.text(RIGHT - pw, y, "打印时间：", 9, anchor="right", color=MUTED)


def _signatures(pen: Pen, data: ReceiptData, top: float) -> float:
    """经办人 and the patient's signature box from ``top``; returns the bottom."""
    box_w, box_h = 78 * mm, 12 * mm
    y = top + 3 * mm
    base = y + box_h / 2 + 1.3 * mm
    lw = pen.text(LEFT, base, "经办人：", 9.5, color=MUTED)
    clerk = data.clerk or ""
    room = 44 * mm
    pen.text(LEFT + lw + 1 * mm, base, clerk, fit_size(clerk, 11, room - 2 * mm, minimum=7), bold=True)
    pen.line(LEFT + lw, base + 1.5 * mm, LEFT + lw + room, base + 1.5 * mm, width=0.4, color=MUTED)
    # the patient signs (or the person collecting for them) in a box, right
    bx = RIGHT - box_w
    label = "患者（代办人）签字："
    pen.text(bx - 1.5 * mm, base, label, 9.5, anchor="right", color=MUTED)
    pen.rect(bx, y, box_w, box_h, width=0.8, stroke=RULE, fill=WHITE)
    pen.text(RIGHT - 2 * mm, y + box_h - 1.6 * mm, "年　　月　　日", 7.5, anchor="right", color=MUTED)
    return y + box_h


def _footer(pen: Pen) -> None:
    lines = wrap(FOOTER_NOTE, NOTE_SIZE, RIGHT - LEFT)
    y = PAGE_H - MARGIN_BOTTOM - (len(lines) - 1) * NOTE_SIZE * 1.35
    for ln in lines:
        pen.text(LEFT, y, ln, NOTE_SIZE, color=MUTED)
        y += NOTE_SIZE * 1.35


def render_receipt(data: ReceiptData) -> bytes:
    """The receipt as PDF bytes (one A5 landscape page). Thread-safe; call it off the GUI thread (~10 ms warm,
    the font's first parse ~0.2 s once per process)."""
    with rendering():
        return _render(data)


def _render(data: ReceiptData) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=True, pageCompression=1, initialFontName=font(),
               initialFontSize=10)
    c.setTitle(f"{data.title} {data.receipt_no}")
    c.setAuthor(data.hospital)
    c.setSubject(f"{data.patient_name} {yuan(data.amount_fen)}".strip())
    c.setCreator("clinic workstation")
    date_document(c, data.printed_at)
    pen = Pen(c, PAGE_H)
    _header(pen, data)
    footer_lines = len(wrap(FOOTER_NOTE, NOTE_SIZE, RIGHT - LEFT))
    footer_top = PAGE_H - MARGIN_BOTTOM - footer_lines * NOTE_SIZE * 1.35 - 1 * mm
    table_bottom = _table(pen, data, TABLE_TOP, footer_top - SIGN_H - 2 * mm)
    _signatures(pen, data, table_bottom)
    _footer(pen)
    c.showPage()
    c.save()
    return buf.getvalue()
