"""The printed refund receipt (退费凭证): ``ReceiptData.from_refund`` over ``RefundPublic`` dicts, the PDF's text
read back cell by cell in both states (refunded, still processing), long values wrapping inside their cells and
the page, the embedded font, and the Chinese capital amounts (人民币大写).

No screen needed: pages are read with pypdfium2."""
from __future__ import annotations

import itertools
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium
import pytest
from reportlab.lib.units import mm

from tests.workstation.test_slip import pages_text
from workstation.services.printing import receipt
from workstation.services.printing.layout import CHINA_TZ
from workstation.services.printing.money import rmb_capital, yuan
from workstation.services.printing.receipt import (
    PENDING_NOTE,
    REVIEW_NOTE,
    ReceiptData,
    receipt_filename,
    render_receipt,
)
from workstation.services.printing.samples import (
    LONG_PATIENT_NAME,
    LONG_REFUND_REASON,
    RECEIPT_CLERK,
    RECEIPT_HOSPITAL,
    sample_receipt,
    sample_refund,
)
from workstation.services.printing.slip import render_slip

pytestmark = pytest.mark.db_independent

PRINTED = datetime(2026, 11, 26, 14, 16, 30, tzinfo=CHINA_TZ)

# the table's labels, in reading order; a value is the text between its label and the next one
LABELS = ["患者姓名", "证件号", "手机号", "项目", "预约号", "就诊科室/医生", "就诊时间", "原支付订单号", "支付时间",
          "实付金额", "退费金额", "退费方式", "退回渠道", "退费原因", "退费状态", "退费时间", "退费说明", "经办人："]


def cells(text: str) -> dict[str, str]:
    """Every table value by its label, whitespace removed (a wrapped value comes back whole)."""
    flat = re.sub(r"\s+", "", text)
    found = [(flat.index(lb), lb) for lb in LABELS if lb in flat]
    assert [lb for _, lb in sorted(found)] == [lb for _, lb in found], "labels out of order"
    out = {}
    for (start, label), (end, _) in itertools.pairwise(found):
        out[label] = flat[start + len(label):end]
    return out


def squash(value: str) -> str:
    return re.sub(r"\s+", "", value)


def chars(pdf: bytes) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every character of page 1 with its box (left, bottom, right, top) in points."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        tp = page.get_textpage()
        out = []
        for i in range(tp.count_chars()):
            ch = tp.get_text_range(i, 1)
            if ch.strip():
                out.append((ch, tuple(tp.get_charbox(i))))
        tp.close()
        page.close()
        return out
    finally:
        doc.close()


def text_within(pdf: bytes, x0: float, x1: float) -> str:
    """The characters whose box lies wholly between x0 and x1, in reading order, whitespace dropped."""
    return "".join(ch for ch, (left, _, right, _) in chars(pdf) if left >= x0 - 0.01 and right <= x1 + 0.01)


@pytest.fixture(scope="module")
def refunded() -> tuple[ReceiptData, bytes]:
    data = sample_receipt("refunded")
    return data, render_receipt(data)


@pytest.fixture(scope="module")
def processing() -> tuple[ReceiptData, bytes]:
    data = sample_receipt("processing")
    return data, render_receipt(data)


# --- ReceiptData --------------------------------------------------------------------------------------------------

def test_from_refund_reads_every_field() -> None:
    refund = sample_refund("refunded")
    data = ReceiptData.from_refund(refund, hospital=RECEIPT_HOSPITAL, clerk=RECEIPT_CLERK, printed_at=PRINTED)
    assert data.hospital == RECEIPT_HOSPITAL and data.clerk == RECEIPT_CLERK and data.printed_at == PRINTED
    assert data.receipt_no == refund["out_refund_no"] and data.out_trade_no == refund["out_trade_no"]
    assert (data.patient_name, data.id_number_masked, data.mobile_masked) == (
        "王建国", "330***********1234", "138****5678")
    assert data.purpose == "consultation" and data.item_label == "挂号诊疗费"
    assert data.appointment_number == refund["appointment_number"]
    assert data.doctor_label == "内分泌科 / 李慧敏"
    assert data.starts_at == datetime(2026, 11, 26, 9, 30, tzinfo=CHINA_TZ)
    assert data.paid_at == datetime(2026, 11, 24, 20, 33, 41, tzinfo=CHINA_TZ)
    assert data.refunded_at == datetime(2026, 11, 26, 14, 15, 9, tzinfo=CHINA_TZ)
    assert data.created_at == datetime(2026, 11, 26, 14, 15, 2, tzinfo=CHINA_TZ)
    assert (data.paid_fen, data.amount_fen) == (5000, 5000)
    assert (data.path_label, data.reason) == ("窗口退费", refund["reason"])
    assert (data.status, data.status_label, data.refunded, data.status_note) == ("refunded", "已退费", True, "")
    assert data.amount_capital == "伍拾元整"
    assert data.channel == "原路退回（微信支付）" and data.title == "退费凭证"
    assert data.filename == receipt_filename(data) == "退费凭证_R20261126141502c4e9a1.pdf"


def test_from_refund_drug_and_times_in_china_time() -> None:
    refund = sample_refund("processing")
    refund.update(purpose="", paid_at="2026-11-26T02:12:37Z", starts_at="2026-11-26T10:00:00")
    data = ReceiptData.from_refund(refund, hospital="H", clerk="C", printed_at=datetime(2026, 11, 26, 8, 9,
                                                                                       tzinfo=UTC))
    assert data.purpose == "drug" and data.item_label == "药品费"        # inferred from prescription_id
    assert data.prescription_id == 1188
    assert data.paid_at == datetime(2026, 11, 26, 10, 12, 37, tzinfo=CHINA_TZ)   # a UTC time shown in China time
    assert data.starts_at == datetime(2026, 11, 26, 10, 0, tzinfo=CHINA_TZ)      # no offset: China time
    assert data.printed_at.utcoffset() == timedelta(hours=8) and data.printed_at.hour == 16
    assert not data.refunded and data.refunded_at is None and data.status_note == PENDING_NOTE


@pytest.mark.parametrize(("status", "note"), [("requested", REVIEW_NOTE), ("approved", PENDING_NOTE),
                                              ("processing", PENDING_NOTE), ("failed", PENDING_NOTE),
                                              ("closed", PENDING_NOTE), ("refunded", "")])
def test_status_note_while_the_money_has_not_arrived(status: str, note: str) -> None:
    refund = sample_refund("processing")
    refund["status"] = status
    data = ReceiptData.from_refund(refund, hospital="H", clerk="C", printed_at=PRINTED)
    assert data.status_note == note
    (text,) = pages_text(render_receipt(data))
    if note:
        assert cells(text)["退费说明"] == note
    else:
        assert "退费说明" not in text and PENDING_NOTE not in text


def test_refusals() -> None:
    refund = sample_refund("refunded")
    with pytest.raises(ValueError, match="rejected"):
        ReceiptData.from_refund({**refund, "status": "rejected", "status_label": "已拒绝"}, hospital="H", clerk="C",
                                printed_at=PRINTED)
    with pytest.raises(ValueError, match="out_refund_no"):
        ReceiptData.from_refund({**refund, "out_refund_no": ""}, hospital="H", clerk="C", printed_at=PRINTED)
    for bad in (None, 12.5, "5000", -1, True):
        with pytest.raises(ValueError, match="amount_fen"):
            ReceiptData.from_refund({**refund, "amount_fen": bad}, hospital="H", clerk="C", printed_at=PRINTED)


def test_missing_context_prints_dashes() -> None:
    """A refund whose appointment is gone (an orphaned payment): the cells say "—", nothing breaks."""
    refund = sample_refund("processing")
    for key in ("patient_name", "id_number_masked", "mobile_masked", "appointment_number", "doctor_name",
                "department_name", "out_trade_no", "reason", "path_label"):
        refund[key] = ""
    refund.update(starts_at=None, paid_at=None, path="slot_unavailable")
    data = ReceiptData.from_refund(refund, hospital="H", clerk="", printed_at=PRINTED)
    got = cells(pages_text(render_receipt(data))[0])
    for label in ("患者姓名", "证件号", "手机号", "预约号", "就诊科室/医生", "就诊时间", "原支付订单号", "支付时间",
                  "退费原因"):
        assert got[label] == "—", label
    assert got["退费方式"] == "slot_unavailable"                       # the code when the label is missing


# --- the PDF, field by field --------------------------------------------------------------------------------------

def test_refunded_receipt_every_field(refunded: tuple[ReceiptData, bytes]) -> None:
    data, pdf = refunded
    (text,) = pages_text(pdf)
    lines = text.splitlines()
    assert lines[0] == RECEIPT_HOSPITAL
    assert lines[1] == "退费凭证"
    assert "患者留存联" in lines[:4]
    assert re.search(r"凭证号：\s*R20261126141502c4e9a1\b", text)
    assert re.search(r"打印时间：\s*2026-11-26 14:16:30", text)
    got = cells(text)
    assert got["患者姓名"] == "王建国"
    assert got["证件号"] == "330***********1234"                       # masked as given, never unmasked
    assert got["手机号"] == "138****5678"
    assert got["项目"] == "挂号诊疗费"
    assert got["预约号"] == "A20261124203305e1d0c7"
    assert got["就诊科室/医生"] == "内分泌科/李慧敏"
    assert got["就诊时间"] == "2026-11-2609:30"
    assert got["原支付订单号"] == "P20261124203318f07b2d"
    assert got["支付时间"] == "2026-11-2420:33"
    assert got["实付金额"] == "¥50.00"
    assert got["退费金额"] == "¥50.00人民币（大写）伍拾元整"
    assert got["退费方式"] == "窗口退费"
    assert got["退回渠道"] == "原路退回（微信支付）"
    assert got["退费原因"] == squash(data.reason)
    assert got["退费状态"] == "已退费"
    assert got["退费时间"] == "2026-11-2614:15"
    assert "退费说明" not in got and PENDING_NOTE not in text
    assert re.search(r"经办人：\s*周晓梅", text)
    assert "患者（代办人）签字：" in text
    assert lines[-1].startswith("注：本凭证为医院办理退费的凭据")


def test_processing_receipt_every_field(processing: tuple[ReceiptData, bytes]) -> None:
    data, pdf = processing
    (text,) = pages_text(pdf)
    got = cells(text)
    assert re.search(r"凭证号：\s*R20261126160847a93f02\b", text)
    assert re.search(r"打印时间：\s*2026-11-26 16:09:05", text)
    assert got["项目"] == "药品费"
    assert got["原支付订单号"] == "P20261126101224b81c6e"
    assert got["实付金额"] == "¥486.50"
    assert got["退费金额"] == "¥486.50人民币（大写）肆佰捌拾陆元伍角整"
    assert got["退费方式"] == "药费退费"
    assert got["退费原因"] == squash(data.reason)
    assert got["退费状态"] == "退费中"
    assert got["退费时间"] == "—（尚未到账）"
    assert got["退费说明"] == "退款处理中，将于1-15个工作日内按原支付路径退回"
    assert re.search(r"经办人：\s*周晓梅", text)


def test_one_a5_landscape_page(refunded: tuple[ReceiptData, bytes]) -> None:
    _, pdf = refunded
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 1
        w, h = doc.get_page_size(0)
    finally:
        doc.close()
    assert abs(w - 210 * mm) < 0.5 and abs(h - 148 * mm) < 0.5


def test_same_data_same_bytes_dated_when_printed(refunded: tuple[ReceiptData, bytes]) -> None:
    data, pdf = refunded
    assert render_receipt(data) == pdf
    assert re.search(rb"/CreationDate \(D:20261126141630\+08'00'\)", pdf)
    assert render_receipt(replace(data, printed_at=PRINTED + timedelta(minutes=1))) != pdf


def test_font_is_an_embedded_truetype_subset(refunded: tuple[ReceiptData, bytes],
                                            processing: tuple[ReceiptData, bytes]) -> None:
    for _, pdf in (refunded, processing):
        base_fonts = re.findall(rb"/BaseFont\s*/([^\s/<>\[\]]+)", pdf)
        assert base_fonts, "no font in the PDF"
        for name in base_fonts:                         # every font a subset: nothing left to the viewer
            assert re.fullmatch(rb"[A-Z]{6}\+.+", name), name
        assert pdf.count(b"/FontFile2") == len(set(base_fonts))
        assert b"/FontFile3" not in pdf and b"/FontFile " not in pdf
        assert len(pdf) <= 60 * 1024, len(pdf)


# --- long values wrap inside their cells and the page -------------------------------------------------------------

def _inside_page(pdf: bytes) -> None:
    hang = 10.0                                         # closing punctuation may hang by less than a character
    boxes = chars(pdf)
    assert boxes
    for ch, (left, bottom, right, top) in boxes:
        assert receipt.LEFT - 0.5 <= left and right <= receipt.RIGHT + hang, (ch, left, right)
        assert bottom >= 3 * mm and top <= receipt.PAGE_H - 3 * mm, (ch, bottom, top)


def test_long_name_department_and_reason_wrap_in_their_cells() -> None:
    data = sample_receipt("processing", long_text=True)
    pdf = render_receipt(data)
    (text,) = pages_text(pdf)
    got = cells(text)
    assert got["患者姓名"] == squash(LONG_PATIENT_NAME)
    assert got["就诊科室/医生"] == squash(data.doctor_label)
    assert got["退费原因"] == squash(LONG_REFUND_REASON)               # all of it, on several lines
    assert got["退费说明"] == PENDING_NOTE
    _inside_page(pdf)
    # each value stays in its own column: the first value column, the second one, the whole width for the reason
    col1 = receipt.LEFT + receipt.LABEL_W
    col2 = col1 + receipt.VALUE_W
    assert squash(LONG_PATIENT_NAME) in text_within(pdf, col1, col2)
    assert squash(data.doctor_label) in text_within(pdf, col2 + receipt.LABEL_W, receipt.RIGHT)
    assert squash(LONG_REFUND_REASON) in text_within(pdf, col1, receipt.RIGHT + 10)
    # and the table ends above the signatures, which end above the note
    boxes = chars(pdf)
    lowest_reason = min(b[1] for ch, b in boxes if ch == "况")        # the reason's last character
    sign_top = max(b[3] for ch, b in boxes if ch == "签")
    note_top = max(b[3] for ch, b in boxes if ch == "注")
    assert lowest_reason > sign_top > note_top


def test_far_too_much_text_is_cut_not_drawn_off_the_page() -> None:
    refund = sample_refund("processing", long_text=True)
    refund.update(reason=LONG_REFUND_REASON * 5, patient_name=LONG_PATIENT_NAME * 4,
                  amount_fen=987654321098, paid_fen=987654321098)
    data = ReceiptData.from_refund(refund, hospital=RECEIPT_HOSPITAL + "（互联网诊疗服务平台总院区）" * 2,
                                   clerk="欧阳娜娜·古力巴哈尔·买买提明", printed_at=PRINTED)
    pdf = render_receipt(data)
    (text,) = pages_text(pdf)
    got = cells(text)
    assert got["退费原因"].endswith("…") and LONG_REFUND_REASON[:40] in got["退费原因"]
    assert got["退费金额"] == "¥9876543210.98人民币（大写）玖拾捌亿柒仟陆佰伍拾肆万叁仟贰佰壹拾元零玖角捌分"
    assert got["退费说明"] == PENDING_NOTE                              # the notice is never cut
    _inside_page(pdf)
    assert "患者（代办人）签字：" in text and text.splitlines()[-1].startswith("注：")


def test_slips_and_receipts_rendered_at_once_are_the_same() -> None:
    """The slip and the receipt share the render lock (reportlab's font state is process-wide)."""
    from workstation.services.printing.samples import sample_slip

    slip_data, rc_data = sample_slip("ordinary"), sample_receipt("processing")
    want_slip, want_rc = render_slip(slip_data), render_receipt(rc_data)
    got: list[bytes] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        pdf = render_slip(slip_data) if i % 2 else render_receipt(rc_data)
        with lock:
            got.append(pdf)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted([want_slip, want_rc] * 4)


# --- 人民币大写 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fen", "capital"), [
    (1234, "壹拾贰元叁角肆分"),
    (5, "伍分"),                                      # 0.05: no 元 when there are no yuan
    (50, "伍角整"),
    (45, "肆角伍分"),
    (0, "零元整"),
    (100, "壹元整"),
    (1000, "壹拾元整"),                               # 10.00: a leading ten is 壹拾
    (10050, "壹佰元零伍角整"),                        # 100.50: 元位 zero before 角
    (100100, "壹仟零壹元整"),                         # 1,001.00: zeros inside written once
    (1001001, "壹万零壹拾元零壹分"),                  # 10,010.01
    (1230, "壹拾贰元叁角整"),
    (1204, "壹拾贰元零肆分"),                         # 角 zero, 分 not
    (1004, "壹拾元零肆分"),                           # both zero: one 零
    (32504, "叁佰贰拾伍元零肆分"),                    # 325.04 (支付结算办法's example)
    (1640902, "壹万陆仟肆佰零玖元零贰分"),            # 16,409.02 (id.)
    (140950, "壹仟肆佰零玖元伍角整"),                 # 1,409.50 (id.)
    (600714, "陆仟零柒元壹角肆分"),                   # 6,007.14 (id.)
    (168032, "壹仟陆佰捌拾元零叁角贰分"),             # 1,680.32 (id., first form)
    (10700053, "壹拾万柒仟元零伍角叁分"),             # 107,000.53 (id., first form)
    (10070000, "壹拾万零柒佰元整"),                   # 100,700
    (100000000, "壹佰万元整"),
    (100000100, "壹佰万零壹元整"),
    (1000000000, "壹仟万元整"),
    (10000000000, "壹亿元整"),
    (10001000000, "壹亿零壹万元整"),
    (10100000000, "壹亿零壹佰万元整"),
    (11000000000, "壹亿壹仟万元整"),
    (10000000100, "壹亿零壹元整"),
    (99999999999999, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    (48650, "肆佰捌拾陆元伍角整"),
    (2000000, "贰万元整"),
    (2010000, "贰万零壹佰元整"),
])
def test_rmb_capital(fen: int, capital: str) -> None:
    assert rmb_capital(fen) == capital


def test_rmb_capital_never_misses_a_digit() -> None:
    """Every amount up to 100,000.00 in steps that hit every pattern: the capitals read back to the same fen."""
    values = {d: i for i, d in enumerate("零壹贰叁肆伍陆柒捌玖")}

    def back(text: str) -> int:
        total, section, digit = 0, 0, 0
        for ch in text:
            if ch in values:
                digit = values[ch]
            elif ch in "拾佰仟":
                section += digit * {"拾": 10, "佰": 100, "仟": 1000}[ch]
                digit = 0
            elif ch in "万亿":
                total += (section + digit) * (10000 if ch == "万" else 10 ** 8)
                section = digit = 0
            elif ch == "元":
                total += section + digit
                total *= 100
                section = digit = 0
            elif ch == "角":
                total += digit * 10
                digit = 0
            elif ch == "分":
                total += digit
                digit = 0
        return total

    for fen in list(range(0, 20000, 7)) + list(range(0, 10_000_001, 9973)) + [10 ** k for k in range(12)]:
        text = rmb_capital(fen)
        assert back(text) == fen, (fen, text)
        assert "零零" not in text and not text.startswith("零") or fen == 0
        assert text.endswith("分") != text.endswith("整")
        assert "拾" not in text or not re.search(r"(^|[万亿元零])拾", text)   # always 壹拾, never a bare 拾


def test_rmb_capital_refuses() -> None:
    for bad in (-1, 10 ** 14):
        with pytest.raises(ValueError):
            rmb_capital(bad)
    for wrong in (12.5, "100", True):
        with pytest.raises(TypeError):
            rmb_capital(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fen", "label"), [(1234, "¥12.34"), (5, "¥0.05"), (0, "¥0.00"), (None, "—"),
                                            (-250, "-¥2.50")])
def test_yuan(fen: Any, label: str) -> None:
    assert yuan(fen) == label
