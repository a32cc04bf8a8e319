"""The clerk's models and the reconciliation CSV, without a server: the applications queue oldest first with its
waiting clock and live row-by-row changes from ``refund.*`` money events, the exception list (a failed refund
leaves when sent again; a closed one when its retry under a new number is seen), the search results kept in
place on a live refresh, money formatting, and the CSV an accountant opens in Excel."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from workstation.models.money import yuan, yuan_text
from workstation.models.queue import TZ
from workstation.models.refunds import (
    APPLICATIONS,
    EXCEPTIONS,
    ORDER_REFUND_COLUMNS,
    OrderListModel,
    RecordsModel,
    RefundListModel,
    order_key,
    order_touched_by,
)
from workstation.services import api as api_mod
from workstation.services.refund_export import (
    HEADERS,
    csv_filename,
    reconciliation_csv,
    reconciliation_rows,
    write_reconciliation_csv,
)
from workstation.ui.i18n import current_language, install_language

pytestmark = pytest.mark.db_independent

NOW = dt.datetime(2026, 5, 1, 11, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def english(qapp: Any) -> Any:
    """The source texts, whichever language an earlier test of the session left installed."""
    before = current_language()
    install_language("en")
    yield
    install_language(before)


def at(minutes_ago: float) -> str:
    return (NOW - dt.timedelta(minutes=minutes_ago)).isoformat()


def refund(refund_id: int, *, status: str = "requested", path: str = "application", minutes_ago: float = 10,
           changed_ago: float | None = None, amount: int = 3000, patient: str = "张三", trade: str | None = None,
           retry_of: int | None = None, **extra: Any) -> dict[str, Any]:
    r = {"id": refund_id, "out_refund_no": f"R2026050100{refund_id:04d}", "out_trade_no": trade or f"P{refund_id}",
         "payment_id": refund_id, "account_id": 1, "appointment_id": 100 + refund_id, "prescription_id": None,
         "amount_fen": amount, "path": path, "reason": "临时有事，未能参加视频问诊", "status": status,
         "status_label": "", "gateway_status": "", "retry_of_id": retry_of, "reviewer_id": None,
         "reject_reason": "", "query_attempts": 0, "last_error": "", "created_at": at(minutes_ago),
         "updated_at": at(minutes_ago if changed_ago is None else changed_ago), "submitted_at": None,
         "refunded_at": None, "path_label": "", "purpose": "consultation", "paid_fen": amount,
         "paid_at": at(600), "patient_name": patient, "id_number_masked": "1101**********123X",
         "mobile_masked": "138****1234", "appointment_number": f"A2026050109{refund_id:04d}",
         "appointment_status": "missed", "appointment_status_label": "未到", "starts_at": at(120),
         "doctor_name": "王医生", "department_name": "内分泌科", "reviewer_name": ""}
    r.update(extra)
    return r


def event(refund_id: int, status: str, *, path: str = "application", minutes_ago: float = 0, amount: int = 3000,
          trade: str | None = None, kind: str | None = None) -> dict[str, Any]:
    return {"id": refund_id * 10, "kind": kind or f"refund.{status}", "object_type": "refund",
            "object_id": refund_id, "at": at(minutes_ago),
            "payload": {"refund_id": refund_id, "out_refund_no": f"R{refund_id}", "out_trade_no": trade or f"P{refund_id}",
                        "amount_fen": amount, "path": path, "status": status, "gateway_status": "",
                        "appointment_id": 100 + refund_id, "prescription_id": None}}


def names(m: RefundListModel) -> list[str]:
    return [e.patient_name for e in m.entries()]


@pytest.fixture()
def queue(qapp: Any) -> RefundListModel:
    m = RefundListModel(kind=APPLICATIONS, clock=lambda: NOW)
    m.load_api_rows([refund(1, minutes_ago=5, patient="新来"), refund(2, minutes_ago=90, patient="等最久"),
                     refund(3, minutes_ago=30, patient="中间"), refund(4, status="processing", path="cancel"),
                     refund(5, status="rejected", patient="已拒绝")])
    return m


@pytest.fixture()
def exceptions(qapp: Any) -> RefundListModel:
    m = RefundListModel(kind=EXCEPTIONS, clock=lambda: NOW)
    m.load_api_rows([refund(7, status="failed", path="cancel", changed_ago=50, patient="异常甲",
                            last_error="ABNORMAL：用户银行卡已注销", trade="P-A"),
                     refund(8, status="closed", path="clinic_stop", changed_ago=5, patient="关闭乙", trade="P-B"),
                     refund(9, status="closed", path="cancel", patient="已重发", trade="P-C"),
                     refund(10, status="processing", path="cancel", retry_of=9, trade="P-C")])
    return m


# --- money ---------------------------------------------------------------------------------------------------------


def test_money_is_formatted_from_integer_fen() -> None:
    assert yuan(3000) == "¥30.00" and yuan(5) == "¥0.05" and yuan(123456789) == "¥1234567.89"
    assert yuan_text(-5) == "-0.05" and yuan(-250) == "-¥2.50" and yuan(0) == "¥0.00"
    assert yuan(None) == "" and yuan_text("") == ""
    assert sum(int(yuan_text(f).replace(".", "")) for f in (10, 20)) == 30  # no float drift anywhere


# --- the applications queue -------------------------------------------------------------------------------------


def test_applications_oldest_first_with_the_waiting_clock(queue: RefundListModel, qtmodeltester: Any) -> None:
    qtmodeltester.check(queue)
    assert names(queue) == ["等最久", "中间", "新来"]  # requested applications only, oldest first
    col = queue.col
    assert queue.index(0, col("waiting")).data() == "1 h 30 min"
    assert queue.index(2, col("waiting")).data() == "5 min"
    assert queue.index(0, col("amount")).data() == "¥30.00"
    assert queue.index(0, col("doctor")).data() == "王医生 · 内分泌科"
    assert queue.index(0, col("reason")).data() == "临时有事，未能参加视频问诊"
    assert queue.index(0, col("reason")).data(Qt.ItemDataRole.ToolTipRole) == "临时有事，未能参加视频问诊"
    assert queue.total_fen() == 9000
    assert queue.headerData(col("appointment"), Qt.Orientation.Horizontal) == "Appointment no."


def test_an_application_arrives_and_leaves_live(queue: RefundListModel, qtbot: Any) -> None:
    with qtbot.waitSignal(queue.sig_details_needed) as needed:
        assert queue.apply_event(event(20, "requested", minutes_ago=0))
    assert needed.args == [20]
    assert queue.ids()[-1] == 20 and not queue.entry_by_id(20).complete  # type: ignore[union-attr]
    queue.fill(refund(20, minutes_ago=0, patient="刚申请"))
    assert names(queue)[-1] == "刚申请" and queue.entry_by_id(20).complete  # type: ignore[union-attr]
    # a window refund or a cancellation is never an application
    assert not queue.apply_event(event(21, "processing", path="cancel"))
    # approved or rejected at any desk: out
    assert queue.apply_event(event(2, "approved"))
    assert queue.apply_event(event(3, "rejected"))
    assert names(queue) == ["新来", "刚申请"]
    # the same event twice changes nothing
    assert not queue.apply_event(event(2, "approved"))
    assert not queue.apply_event({"kind": "appointment.cancelled", "object_type": "appointment", "object_id": 1})


def test_pending_rows_say_sending_and_an_answer_takes_them_out(queue: RefundListModel) -> None:
    queue.set_pending(2, "approve")
    row = queue.row_of(2)
    assert row == 0 and queue.index(0, queue.col("waiting")).data() == "sending…"
    assert queue.index(0, 0).data(RefundListModel.PendingRole) == "approve"
    # a snapshot reload keeps the mark while the action is on its way
    queue.load_api_rows([refund(2, minutes_ago=90, patient="等最久"), refund(1, minutes_ago=5)])
    assert queue.entry_by_id(2).pending == "approve"  # type: ignore[union-attr]
    assert queue.apply_refund(refund(2, status="processing", reviewer_name="李收费"))
    assert queue.row_of(2) is None


# --- the exception list ------------------------------------------------------------------------------------------


def test_exceptions_newest_change_first_and_a_retried_closed_one_is_not_listed(exceptions: RefundListModel,
                                                                               qtmodeltester: Any) -> None:
    qtmodeltester.check(exceptions)
    assert names(exceptions) == ["关闭乙", "异常甲"]  # 9 was sent again under a new number (10)
    col = exceptions.col
    assert exceptions.index(1, col("error")).data() == "ABNORMAL：用户银行卡已注销"
    assert exceptions.index(0, col("status")).data() == "Refund closed"
    assert exceptions.index(0, col("path")).data() == "Clinic stopped"


def test_a_failed_refund_sent_again_leaves(exceptions: RefundListModel) -> None:
    assert exceptions.apply_event(event(7, "processing", path="cancel", trade="P-A"))
    assert names(exceptions) == ["关闭乙"]
    assert exceptions.apply_event(event(7, "failed", path="cancel", trade="P-A"))  # failed once more: back in
    assert exceptions.row_of(7) is not None


def test_a_closed_refund_leaves_when_its_retry_is_seen(exceptions: RefundListModel, qtbot: Any) -> None:
    # the retry is a new refund of the same order: its event alone cannot say which one it replaces
    with qtbot.waitSignal(exceptions.sig_details_needed) as needed:
        exceptions.apply_event(event(30, "processing", path="clinic_stop", trade="P-B"))
    assert needed.args == [30]
    assert exceptions.row_of(8) is not None
    exceptions.fill(refund(30, status="processing", path="clinic_stop", retry_of=8, trade="P-B"))
    assert exceptions.row_of(8) is None
    # and a retry's answer does the same
    exceptions.apply_refund(refund(11, status="closed", trade="P-D"))
    assert exceptions.row_of(11) is not None
    exceptions.apply_refund(refund(12, status="processing", retry_of=11, trade="P-D"))
    assert exceptions.row_of(11) is None
    # a later close event of a retried one does not bring it back
    assert not exceptions.apply_event(event(11, "closed", trade="P-D"))


# --- search results ------------------------------------------------------------------------------------------------


def order(appt: int, *, kind: str = "consultation", rx: int | None = None, refunded: int = 0, refunding: int = 0,
          refundable: int = 3000, refund_status: str | None = None, actions: list[str] | None = None,
          refunds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"kind": kind, "appointment_id": appt, "appointment_number": f"A{appt}", "appointment_status": "booked",
            "appointment_status_label": "已预约", "starts_at": at(-60), "doctor_name": "王医生",
            "department_name": "内分泌科", "prescription_id": rx, "prescription_status": "paid" if rx else None,
            "prescription_status_label": "已支付" if rx else None, "patient_name": "张三",
            "id_number_masked": "1101**********123X", "mobile_masked": "138****1234", "payment_id": appt,
            "out_trade_no": f"P{appt}{rx or ''}", "payment_status": "paid", "paid_fen": 3000,
            "paid_at": at(600), "refunded_fen": refunded, "refunding_fen": refunding,
            "refundable_fen": refundable, "refund_status": refund_status, "refund_status_label": None,
            "refunds": refunds or [], "actions": actions if actions is not None else ["window_refund"]}


def test_search_results_display_and_a_live_refresh_keeps_their_place(qapp: Any, qtmodeltester: Any) -> None:
    m = OrderListModel(clock=lambda: NOW)
    m.load("138", [order(1), order(1, kind="drug", rx=7, actions=["drug_refund"]), order(2, refunded=3000,
                                                                                           refundable=0,
                                                                                           refund_status="refunded")])
    qtmodeltester.check(m)
    col = m.col
    assert m.index(0, col("fee")).data() == "Consultation fee" and m.index(1, col("fee")).data() == "Drug fee"
    assert m.index(1, col("status")).data() == "Paid, not dispensed"
    assert m.index(2, col("refund")).data() == "Refunded" and m.index(2, col("refundable")).data() == "¥0.00"
    assert m.index(0, 0).data(OrderListModel.KeyRole) == "consultation:1:0"
    assert m.row_of("drug:1:7") == 1 and order_key(m.rows()[1]) == "drug:1:7"
    resets: list[int] = []
    m.modelReset.connect(lambda: resets.append(1))
    m.update_rows([order(1, refunding=3000, refundable=0, refund_status="refunding"),
                   order(1, kind="drug", rx=7, actions=["drug_refund"]), order(2)])
    assert not resets  # same rows: updated in place
    assert m.index(0, col("refunded")).data() == "¥0.00"
    assert m.index(0, col("refund")).data() == "Refunding ¥30.00"
    m.update_rows([order(2)])
    assert resets and m.rowCount() == 1


def test_which_money_events_touch_an_order() -> None:
    consultation, drug = order(1), order(1, kind="drug", rx=7)
    e = event(5, "refunded")
    e["payload"].update(appointment_id=1, out_trade_no="X")
    assert order_touched_by(consultation, e) and not order_touched_by(drug, e)
    e["payload"].update(prescription_id=7)
    assert order_touched_by(drug, e) and not order_touched_by(consultation, e)
    e["payload"].update(prescription_id=None, appointment_id=None, out_trade_no="P17")
    assert order_touched_by(drug, e)


def test_an_orders_refunds_table(qapp: Any, qtmodeltester: Any) -> None:
    m = RecordsModel(ORDER_REFUND_COLUMNS)
    m.load([refund(1, status="refunded", path="window", reviewer_name="李收费"), refund(2, status="processing")])
    qtmodeltester.check(m)
    assert m.index(0, m.col("status")).data() == "Refunded" and m.index(0, m.col("path")).data() == "Window refund"
    assert m.index(0, m.col("reviewer")).data() == "李收费" and m.index(1, m.col("amount")).data() == "¥30.00"
    assert m.row_of_id(2) == 1


# --- the outbox actions ----------------------------------------------------------------------------------------


def test_refund_actions_name_their_target() -> None:
    cases = [(api_mod.approve_refund_request(12), ("refund", 12)),
             (api_mod.reject_refund_request(12, "other", "x"), ("refund", 12)),
             (api_mod.retry_refund_request(13), ("refund", 13)),
             (api_mod.window_refund_request(5, "患者要求"), ("appointment", 5)),
             (api_mod.drug_refund_request(7, "不需要了"), ("prescription", 7))]
    for request, target in cases:
        assert request.kind in api_mod.REFUND_ACTION_KINDS
        assert api_mod.refund_action_target(request.kind, request.path) == target
    assert api_mod.reject_refund_request(1, "other", "已就诊").body == {"reason_code": "other", "text": "已就诊"}
    assert api_mod.refund_action_target("rx_approve", "/api/v1/staff/prescriptions/1/approve") is None


# --- the reconciliation CSV ---------------------------------------------------------------------------------------


def recon() -> dict[str, Any]:
    return {
        "day": "2026-05-01",
        "payments": [
            {"payment_id": 2, "out_trade_no": "D20260501101500aa", "purpose": "drug", "amount_fen": 4560,
             "refunded_fen": 0, "paid_at": "2026-05-01T10:15:00+08:00", "patient_name": "李四",
             "appointment_number": "A2", "prescription_id": 7, "status": "paid"},
            {"payment_id": 1, "out_trade_no": "P20260501090000aa", "purpose": "consultation", "amount_fen": 3000,
             "refunded_fen": 3000, "paid_at": "2026-05-01T09:00:00+08:00", "patient_name": "=HYPERLINK(\"x\")",
             "appointment_number": "A1", "prescription_id": None, "status": "paid"},
        ],
        "refunds": [refund(1, status="refunded", path="window", trade="P20260501090000aa", reviewer_name="李收费",
                           refunded_at="2026-05-01T10:00:05+08:00", status_label="已退费", path_label="窗口退费",
                           reason="患者要求退号"),
                    refund(3, status="failed", path="cancel", status_label="退款异常", path_label="就诊前取消")],
        "exceptions": [refund(3, status="failed", path="cancel", status_label="退款异常"),
                       refund(4, status="closed", path="clinic_stop", status_label="退款关闭",
                              created_at="2026-04-30T16:00:00+08:00")],
        "totals": {"paid_count": 2, "paid_fen": 7560, "refunded_count": 1, "refunded_fen": 3000,
                   "refunding_count": 0, "refunding_fen": 0, "exception_count": 2, "net_fen": 4560},
    }


def test_the_csv_rows_an_accountant_reads() -> None:
    rows = reconciliation_rows(recon())
    assert rows[0] == list(HEADERS) and rows[0][0] == "类别" and "收款金额(元)" in rows[0]
    h = {name: i for i, name in enumerate(HEADERS)}
    body = rows[1:rows.index([""] * len(HEADERS))]
    assert [r[h["类别"]] for r in body] == ["收款", "收款", "退款", "退款", "退款异常"]
    first, second = body[0], body[1]
    assert first[h["时间"]] == "2026-05-01 09:00:00" and first[h["收款金额(元)"]] == "30.00"
    assert first[h["状态"]] == "已全额退款" and first[h["费用类型"]] == "诊费"
    assert first[h["患者"]] == "'=HYPERLINK(\"x\")"  # never a formula
    assert second[h["收款金额(元)"]] == "45.60" and second[h["费用类型"]] == "药费" and second[h["状态"]] == "已支付"
    window = body[2]
    assert window[h["退款金额(元)"]] == "30.00" and window[h["收款金额(元)"]] == ""
    assert window[h["退费方式"]] == "窗口退费" and window[h["经办人"]] == "李收费"
    assert window[h["退款到账时间"]] == "2026-05-01 10:00:05" and window[h["退费原因"]] == "患者要求退号"
    assert body[4][h["退款单号"]] == "R2026050100" + "0004"  # refund 3 is listed once, as the day's refund
    totals = rows[rows.index([""] * len(HEADERS)) + 1:]
    assert all(r[0] == "合计" for r in totals)
    assert totals[0][1] == "对账日期 2026-05-01"
    by_label = {r[1]: r for r in totals}
    assert by_label["收款 2 笔"][h["收款金额(元)"]] == "75.60"
    assert by_label["已退款 1 笔"][h["退款金额(元)"]] == "30.00"
    assert by_label["净收款"][h["收款金额(元)"]] == "45.60"


def test_the_csv_file_is_utf8_with_a_bom_and_reads_back(tmp_path: Path) -> None:
    written = write_reconciliation_csv(tmp_path / "对账_2026-05-01", recon())
    assert written.name == csv_filename("2026-05-01") and written.suffix == ".csv"
    raw = written.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    text = raw.decode("utf-8-sig")
    assert text == reconciliation_csv(recon())
    back = list(csv.reader(io.StringIO(text)))
    assert back[0][0] == "类别" and back[1][6] == "'=HYPERLINK(\"x\")"
    assert len(back) == len(reconciliation_rows(recon()))


def test_an_empty_day_exports_the_header_and_zero_totals() -> None:
    rows = reconciliation_rows({"day": "2026-05-02", "payments": [], "refunds": [], "exceptions": [],
                                "totals": {}})
    assert rows[0] == list(HEADERS) and rows[1] == [""] * len(HEADERS)
    assert rows[-1][1] == "净收款" and rows[-1][HEADERS.index("收款金额(元)")] == "0.00"


def test_a_window_refund_pays_what_is_left_or_the_application_under_review() -> None:
    from workstation.models.refunds import refund_amount_of

    assert refund_amount_of(order(1, refundable=3000)) == 3000
    held = order(1, refundable=0, refunding=3000, refund_status="reviewing",
                 refunds=[refund(5, status="requested", path="application", amount=3000)])
    assert refund_amount_of(held) == 3000
    assert refund_amount_of(order(1, refundable=0, refunded=3000, refunds=[refund(6, status="refunded")])) == 0


# --- the feed ---------------------------------------------------------------------------------------------------


class FakeApi:
    """The three reads the feed makes; the applications snapshot waits until the test lets it go."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.details: list[int] = []

    def refunds(self, **params: Any) -> list[dict[str, Any]]:
        assert params["status"] == "requested" and params["path"] == "application"
        self.release.wait(5)
        return [refund(1, minutes_ago=30, patient="快照里")]

    def refund_exceptions(self, **params: Any) -> list[dict[str, Any]]:
        return [refund(7, status="failed", path="cancel", patient="异常")]

    def refund(self, refund_id: int) -> dict[str, Any]:
        self.details.append(refund_id)
        return refund(refund_id, minutes_ago=0, patient="事件带来的")


def test_the_feed_keeps_events_that_arrive_during_a_snapshot(qapp: Any, qtbot: Any, hub: Any) -> None:
    from workstation.services.refund_feed import RefundFeed

    queue = RefundListModel(kind=APPLICATIONS, clock=lambda: NOW)
    exceptions = RefundListModel(kind=EXCEPTIONS, clock=lambda: NOW)
    api = FakeApi()
    feed = RefundFeed(models=[queue, exceptions], api=api, hub=hub)  # type: ignore[arg-type]
    money: list[list[dict[str, Any]]] = []
    feed.sig_money_events.connect(money.append)
    feed.start()
    qtbot.waitUntil(lambda: exceptions.rowCount() == 1, timeout=5000)
    # an application made while the queue's snapshot is on its way, and a payment: both told
    hub.stream_event(event(20, "requested"))
    hub.stream_event({"id": 999, "kind": "payment.paid", "object_type": "payment", "object_id": 3,
                      "payload": {"out_trade_no": "P3"}})
    qtbot.waitUntil(lambda: len(money) >= 1, timeout=5000)
    assert [e["kind"] for batch in money for e in batch] == ["refund.requested", "payment.paid"]
    api.release.set()
    qtbot.waitUntil(lambda: queue.rowCount() == 2, timeout=5000)  # the snapshot did not undo the event
    qtbot.waitUntil(lambda: queue.entry_by_id(20) is not None and queue.entry_by_id(20).complete, timeout=5000)
    assert names(queue) == ["快照里", "事件带来的"] and 20 in api.details
    # approved elsewhere: out, live
    hub.stream_event(event(1, "approved"))
    qtbot.waitUntil(lambda: queue.row_of(1) is None, timeout=5000)
    feed.stop()
