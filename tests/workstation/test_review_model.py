"""ReviewListModel: the pharmacist's queue oldest signed first with its waiting clock and override mark, live
row-by-row updates from ``prescription.*`` events (signed in; approved, issued, returned, voided out), the
to-dispense and done-today lists, and Qt's model contract (qtmodeltester)."""
from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.workstation.rx_samples import NOW, at, event, rx
from workstation.models.review import (
    DISPENSE_STATUSES,
    DONE_STATUSES,
    OVERRIDE_FLAG,
    REVIEW_STATUSES,
    ReviewListModel,
)

pytestmark = pytest.mark.db_independent


@pytest.fixture()
def queue(qapp: Any) -> ReviewListModel:
    m = ReviewListModel(statuses=REVIEW_STATUSES, clock=lambda: NOW)
    m.load_api_rows([rx(1, signed_min_ago=5, patient="新来"), rx(2, signed_min_ago=42, patient="等最久",
                                                                  overridden=True),
                     rx(3, signed_min_ago=20, patient="中间"), rx(9, status="issued")])
    return m


def names(m: ReviewListModel) -> list[str]:
    return [e.patient_name for e in m.entries()]


def test_contract_and_display(queue: ReviewListModel, qtmodeltester: Any) -> None:
    qtmodeltester.check(queue)
    assert names(queue) == ["等最久", "中间", "新来"]  # oldest signed first; the issued one is not in the queue
    assert queue.index(0, ReviewListModel.COL_FLAG).data() == OVERRIDE_FLAG
    assert queue.index(1, ReviewListModel.COL_FLAG).data() == ""
    assert queue.index(0, ReviewListModel.COL_FLAG).data(Qt.ItemDataRole.ToolTipRole)
    assert queue.index(0, ReviewListModel.COL_DOCTOR).data() == "王医生"
    assert queue.index(0, ReviewListModel.COL_DEPARTMENT).data() == "内分泌科"
    assert queue.index(0, ReviewListModel.COL_SIGNED).data() == "09:48"
    assert "42" in queue.index(0, ReviewListModel.COL_WAITING).data()
    assert queue.entries()[0].waiting_minutes(NOW) == 42
    assert queue.headerData(0, Qt.Orientation.Horizontal) and queue.columnCount() == 6


def test_signed_event_adds_at_its_place_and_asks_for_details(queue: ReviewListModel, qtbot: Any) -> None:
    with qtbot.waitSignal(queue.sig_details_needed) as asked:
        assert queue.apply_event(event("signed", 4, minutes_ago=0, patient="刚签名"))
    assert asked.args == [4]
    assert names(queue) == ["等最久", "中间", "新来", "刚签名"]
    entry = queue.entry_by_id(4)
    assert entry is not None and not entry.complete and entry.no == "RX202603020004"
    # the details arrive: the row fills in without moving
    queue.fill(rx(4, signed_min_ago=0, patient="刚签名", overridden=True))
    assert entry.complete and entry.doctor_name == "王医生" and entry.overridden == 1
    assert queue.row_of(4) == 3
    # the same event twice changes nothing
    assert not queue.apply_event(event("signed", 4, minutes_ago=0, patient="刚签名"))


@pytest.mark.parametrize("kind", ["approved", "issued", "returned", "voided"])
def test_reviewed_elsewhere_or_voided_leaves_the_queue(queue: ReviewListModel, kind: str) -> None:
    assert queue.apply_event(event(kind, 3))
    assert names(queue) == ["等最久", "新来"]
    assert not queue.apply_event(event(kind, 3))  # already gone
    assert not queue.apply_event({"kind": "appointment.completed", "object_type": "appointment", "object_id": 1,
                                  "payload": {"status": "completed"}})


def test_returned_then_signed_again_comes_back(queue: ReviewListModel) -> None:
    queue.apply_event(event("returned", 2))
    queue.apply_event(event("reopened", 2, status="draft"))
    assert queue.row_of(2) is None
    queue.apply_event(event("signed", 2, minutes_ago=1, patient="等最久"))
    assert names(queue)[-1] == "等最久"  # signed again: waits from now


def test_an_action_answer_and_a_stale_fill(queue: ReviewListModel) -> None:
    queue.set_pending(3, "approve")
    assert queue.index(queue.row_of(3), ReviewListModel.COL_WAITING).data() != ""  # type: ignore[arg-type]
    assert queue.entry_by_id(3).pending == "approve"  # type: ignore[union-attr]
    assert queue.apply_rx(rx(3, status="issued", approved_at=at(0), issued_at=at(0)))
    assert queue.row_of(3) is None
    queue.fill(rx(3))  # details of a prescription no longer listed: ignored
    assert queue.row_of(3) is None


def test_dispense_and_done_today(qapp: Any, qtmodeltester: Any) -> None:
    paid = ReviewListModel(statuses=DISPENSE_STATUSES, clock=lambda: NOW)
    done = ReviewListModel(statuses=DONE_STATUSES, newest_first=True, today_only=True, clock=lambda: NOW)
    rows = [rx(1, status="paid", paid_at=at(30), fulfilment={"method": "pickup", "pharmacy": {"name": "东院药房"}}),
            rx(2, status="issued", approved_at=at(50), issued_at=at(50)),
            rx(3, status="returned", returned_at=at(10), return_reason="重复用药：请删去其一"),
            rx(4, status="issued", approved_at=at(60 * 24 * 2), issued_at=at(60 * 24 * 2))]  # two days ago
    paid.load_api_rows(rows)
    done.load_api_rows(rows)
    qtmodeltester.check(paid)
    qtmodeltester.check(done)
    assert paid.ids() == [1]
    assert "东院药房" not in paid.index(0, ReviewListModel.COL_STATUS).data()
    assert done.ids() == [3, 1, 2]  # newest action first; yesterday's work is not "today"
    # the patient pays for #2: it joins the to-dispense list; dispensing takes #1 out of it
    assert paid.apply_event(event("paid", 2, minutes_ago=0))
    assert paid.ids() == [1, 2]
    assert paid.apply_event(event("dispensed", 1, minutes_ago=0))
    assert paid.ids() == [2]
    done.apply_event(event("dispensed", 1, minutes_ago=0))
    assert done.ids()[0] == 1
