"""The day's reconciliation (``GET /staff/reconciliation?day=``) as a CSV file for the hospital's accountant.

One flat table, header first, one row per payment, refund and open exception, so Excel's filter and pivot work
from the first row; the day's totals follow after a blank row. Choices, and why:

- **UTF-8 with a byte-order mark** (``utf-8-sig``): Excel on a Chinese Windows opens a BOM-less UTF-8 CSV as
  GBK and shows mojibake; with the BOM it reads UTF-8. CRLF line ends (the csv module's default), as Excel writes.
- **Column names in Chinese, whatever the window's language**: the file is an accounting record compared
  with the WeChat Pay merchant bill and filed; the same day exported from an English desk must give the same
  file. (Like the printed slip and receipt, it is a document in the hospital's language, not window text.)
- **Money in yuan with two decimals, no fen column**: the accountant's ledger and the WeChat Pay bill
  (交易账单) are kept in yuan to the fen; a second column in fen next to it would only invite a SUM over the
  wrong one (100× off). Formatted from the API's integer fen with integer arithmetic, so every cell is exact.
  Payments and refunds have separate amount columns, so a column's SUM means one thing.
- **Times with seconds**, as on the gateway's bill, to match rows one to one.
- **No masked ID or mobile numbers**: not needed to reconcile money, and the file leaves the window.
- Text cells starting with ``= + - @`` get a leading apostrophe: a patient's name or a reason must never run as
  a spreadsheet formula (CSV injection). Numbers we format ourselves are left alone.

Pure functions, no Qt: the window asks for a path and calls :func:`write_reconciliation_csv`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workstation.models.money import yuan_text

TZ = ZoneInfo("Asia/Shanghai")

HEADERS = ("类别", "时间", "商户订单号", "退款单号", "费用类型", "退费方式", "患者", "预约号", "收款金额(元)",
           "退款金额(元)", "状态", "退款到账时间", "经办人", "退费原因")
CATEGORY_PAYMENT, CATEGORY_REFUND, CATEGORY_EXCEPTION, CATEGORY_TOTAL = "收款", "退款", "退款异常", "合计"

PURPOSES = {"consultation": "诊费", "drug": "药费"}
# the server's labels (RefundPublic carries them); these only fill in for a row that lacks one
REFUND_STATUSES = {"requested": "待审核", "approved": "已同意", "rejected": "已拒绝", "processing": "退费中",
                   "refunded": "已退费", "failed": "退款异常", "closed": "退款关闭"}
REFUND_PATHS = {"cancel": "就诊前取消", "application": "退号申请", "window": "窗口退费", "clinic_stop": "医生停诊",
                "slot_unavailable": "号源无法就诊", "drug": "药费退费"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_filename(day: str) -> str:
    return f"对账_{day}.csv"


def _time(value: Any) -> str:
    """The API's ISO 8601 time as Beijing time with seconds (``2026-05-01 09:30:12``)."""
    if not value:
        return ""
    t = dt.datetime.fromisoformat(str(value))
    t = t.replace(tzinfo=TZ) if t.tzinfo is None else t.astimezone(TZ)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _safe(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return "'" + text if text.startswith(_FORMULA_START) else text


def payment_state(amount_fen: int, refunded_fen: int) -> str:
    if refunded_fen <= 0:
        return "已支付"
    return "已全额退款" if refunded_fen >= amount_fen else "部分退款"


def _payment_row(p: dict[str, Any]) -> list[str]:
    amount, refunded = int(p.get("amount_fen") or 0), int(p.get("refunded_fen") or 0)
    state = payment_state(amount, refunded)
    if refunded and refunded < amount:
        state += f"（已退{yuan_text(refunded)}元）"
    return [CATEGORY_PAYMENT, _time(p.get("paid_at")), _safe(p.get("out_trade_no")), "",
            PURPOSES.get(str(p.get("purpose") or ""), _safe(p.get("purpose"))), "", _safe(p.get("patient_name")),
            _safe(p.get("appointment_number")), yuan_text(amount), "", state, "", "", ""]


def _refund_row(r: dict[str, Any], category: str) -> list[str]:
    status, path = str(r.get("status") or ""), str(r.get("path") or "")
    return [category, _time(r.get("created_at")), _safe(r.get("out_trade_no")), _safe(r.get("out_refund_no")),
            PURPOSES.get(str(r.get("purpose") or ""), _safe(r.get("purpose"))),
            _safe(r.get("path_label") or REFUND_PATHS.get(path, path)), _safe(r.get("patient_name")),
            _safe(r.get("appointment_number")), "", yuan_text(int(r.get("amount_fen") or 0)),
            _safe(r.get("status_label") or REFUND_STATUSES.get(status, status)), _time(r.get("refunded_at")),
            _safe(r.get("reviewer_name")), _safe(r.get("reason"))]


def _total_row(label: str, *, paid: int | None = None, refunded: int | None = None, note: str = "") -> list[str]:
    row = [CATEGORY_TOTAL, label] + [""] * (len(HEADERS) - 2)
    if paid is not None:
        row[HEADERS.index("收款金额(元)")] = yuan_text(paid)
    if refunded is not None:
        row[HEADERS.index("退款金额(元)")] = yuan_text(refunded)
    row[HEADERS.index("状态")] = note
    return row


def reconciliation_rows(recon: dict[str, Any]) -> list[list[str]]:
    """The table: header, payments (oldest first), the day's refunds, open exceptions not already among them,
    a blank row, the totals."""
    out: list[list[str]] = [list(HEADERS)]
    payments = sorted(recon.get("payments") or [], key=lambda p: (str(p.get("paid_at") or ""),
                                                                  str(p.get("out_trade_no") or "")))
    out += [_payment_row(p) for p in payments]
    refunds = sorted(recon.get("refunds") or [], key=lambda r: (str(r.get("created_at") or ""), int(r["id"])))
    out += [_refund_row(r, CATEGORY_REFUND) for r in refunds]
    listed = {int(r["id"]) for r in refunds}
    exceptions = [r for r in recon.get("exceptions") or [] if int(r["id"]) not in listed]
    out += [_refund_row(r, CATEGORY_EXCEPTION) for r in sorted(exceptions, key=lambda r: int(r["id"]))]

    t = recon.get("totals") or {}
    out.append([""] * len(HEADERS))
    out.append(_total_row(f"对账日期 {recon.get('day') or ''}".strip()))
    out.append(_total_row(f"收款 {int(t.get('paid_count') or 0)} 笔", paid=int(t.get("paid_fen") or 0)))
    out.append(_total_row(f"已退款 {int(t.get('refunded_count') or 0)} 笔",
                          refunded=int(t.get("refunded_fen") or 0)))
    out.append(_total_row(f"退费中 {int(t.get('refunding_count') or 0)} 笔",
                          refunded=int(t.get("refunding_fen") or 0), note="尚未到账，不计入净额"))
    out.append(_total_row(f"退款异常 {int(t.get('exception_count') or 0)} 笔", note="待退费窗口重新发起"))
    out.append(_total_row("净收款", paid=int(t.get("net_fen") or 0), note="收款金额 − 已退款金额"))
    return out


def write_rows(rows: Iterable[list[str]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return buf.getvalue()


def reconciliation_csv(recon: dict[str, Any]) -> str:
    """The file's text (without the byte-order mark: :func:`write_reconciliation_csv` adds it)."""
    return write_rows(reconciliation_rows(recon))


def write_reconciliation_csv(path: str | Path, recon: dict[str, Any]) -> Path:
    """Write the file (UTF-8 with BOM) and return its path; ``.csv`` is added when missing."""
    target = Path(path)
    if target.suffix.lower() != ".csv":
        target = target.with_name(target.name + ".csv")
    target.write_bytes(reconciliation_csv(recon).encode("utf-8-sig"))
    return target
