"""QueueModel and QueueFilterProxy: row-by-row updates from stream events, always in appointment order, a filter
by name, pinyin initials and number that follows the source, and Qt's model contract (qtmodeltester)."""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from workstation.models.queue import (
    TZ,
    QueueEntry,
    QueueFilterProxy,
    QueueModel,
    load_rows,
    synthetic_entries,
)

pytestmark = pytest.mark.db_independent

DAY = dt.date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).isoformat()


def event(kind_status: str, appt: int, *, starts: str, name: str = "张三", waiting_since: str | None = None,
          event_id: int = 1) -> dict[str, Any]:
    return {"id": event_id, "kind": f"appointment.{kind_status}", "topic": "clinical", "object_type": "appointment",
            "object_id": appt, "at": starts,
            "payload": {"appointment_id": appt, "number": f"A{appt:06d}", "status": kind_status,
                        "status_label": "", "doctor_id": 1, "patient_id": appt, "patient_name": name,
                        "starts_at": starts, "ends_at": starts, "waiting_since": waiting_since}}


def api_row(appt: int, *, name: str, starts: str, status: str = "waiting", waiting_since: str | None = None,
            sex: str = "female", age: int = 54) -> dict[str, Any]:
    return {"id": appt, "number": f"A{appt:06d}", "status": status, "status_label": "候诊中", "doctor_id": 1,
            "doctor_name": "王医生", "department_id": 3, "department_name": "内分泌科", "starts_at": starts,
            "ends_at": starts, "waiting_since": waiting_since, "waiting_s": None,
            "patient": {"id": appt, "name": name, "sex": sex, "age": age, "id_number_masked": "1101**",
                        "card_type": "hospital", "card_no": f"C{appt:05d}"}}


def ids(model: Any) -> list[int]:
    return [model.data(model.index(r, 0), QueueModel.AppointmentIdRole) for r in range(model.rowCount())]


def assert_sorted(model: QueueModel) -> None:
    keys = [model.entry(r).sort_key for r in range(model.rowCount())]
    assert keys == sorted(keys)
    for r in range(model.rowCount()):
        assert model.row_of(model.entry(r).appointment_id) == r


@pytest.fixture()
def model(qapp: Any) -> QueueModel:
    m = QueueModel(day=DAY)
    m.load_api_rows([
        api_row(1, name="张三", starts=at(9), waiting_since=at(8, 40)),
        api_row(2, name="李四", starts=at(9), waiting_since=at(8, 30)),
        api_row(3, name="曾强", starts=at(10), status="checked_in"),
        api_row(4, name="王五", starts=at(8, 30), status="completed", sex="male", age=61),
    ])
    return m


def test_model_contract_and_display(model: QueueModel, qtmodeltester: Any) -> None:
    qtmodeltester.check(model)
    assert ids(model) == [4, 2, 1, 3]  # by time; at 09:00 who waited longest first
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == \
        ["Time", "Patient", "Sex / age", "Status", "Waiting", "Department"]
    first = model.index(0, 0)
    assert model.data(first) == "08:30"
    assert model.data(model.index(0, QueueModel.COL_PATIENT)) == "王五"
    assert model.data(model.index(0, QueueModel.COL_SEX_AGE)) == "Male · 61 y"
    assert model.data(model.index(0, QueueModel.COL_STATUS)) == "Finished"
    assert model.data(first, QueueModel.StateRole) == "finished"
    assert model.data(model.index(0, QueueModel.COL_DEPARTMENT)) == "内分泌科"
    assert model.data(model.index(1, QueueModel.COL_WAITING)).endswith("min")
    assert model.data(model.index(3, QueueModel.COL_WAITING)) == ""  # checked in, not yet waiting
    entry = model.data(model.index(1, 3), QueueModel.EntryRole)
    assert isinstance(entry, QueueEntry) and entry.patient_name == "李四"
    assert model.data(QModelIndex()) is None


def test_events_update_row_by_row_without_reset(model: QueueModel, qtbot: Any, qtmodeltester: Any) -> None:
    details: list[int] = []
    model.sig_details_needed.connect(details.append)
    with qtbot.assertNotEmitted(model.modelReset):
        # a new check-in: inserted in time order, details (sex, age, department) to be fetched
        with qtbot.waitSignal(model.rowsInserted):
            assert model.apply_event(event("checked_in", 5, starts=at(9, 30), name="赵六"))
        assert ids(model) == [4, 2, 1, 5, 3] and details == [5]
        # 10:00's patient starts waiting before 09:00's did: no move (time first), status changes
        with qtbot.waitSignal(model.sig_patient_waiting, check_params_cb=lambda i: i == 3):
            model.apply_event(event("waiting", 3, starts=at(10), name="曾强", waiting_since=at(8, 10)))
        assert model.data(model.index(4, QueueModel.COL_STATUS)) == "Waiting"
        # 09:30 starts waiting: stays; 09:00's 张三 is called
        model.apply_event(event("in_consultation", 1, starts=at(9), waiting_since=at(8, 40)))
        assert model.entry(model.row_of(1)).state == "in_consultation"
        model.set_interrupted(1, True)
        assert model.entry(model.row_of(1)).state == "interrupted"
        model.apply_event(event("completed", 1, starts=at(9), waiting_since=at(8, 40)))
        assert model.entry(model.row_of(1)).state == "finished" and not model.entry(model.row_of(1)).interrupted
        # a waiting_since earlier than 李四's moves 赵六's row… only among equal times: give 赵六 09:00
        with qtbot.waitSignal(model.rowsMoved):
            model.apply_event(event("waiting", 5, starts=at(9), name="赵六", waiting_since=at(8, 0)))
        assert ids(model) == [4, 5, 2, 1, 3]
        # cancelled by the hospital (clinic stop): the row goes
        with qtbot.waitSignal(model.rowsRemoved):
            assert model.apply_event(event("cancelled_by_hospital", 2, starts=at(9)))
        assert ids(model) == [4, 5, 1, 3]
        # not the queue's business: another day, another kind, an unknown partial update
        assert not model.apply_event(event("checked_in", 9, starts=at(9, day=DAY + dt.timedelta(days=1))))
        assert not model.apply_event({"kind": "refund.requested", "object_id": 1, "payload": {}})
        assert not model.apply_event({"kind": "appointment.record_saved", "object_id": 99, "payload": {}})
        # the same event twice changes nothing the second time
        before = [(e.appointment_id, e.status) for e in model.entries()]
        model.apply_event(event("waiting", 5, starts=at(9), name="赵六", waiting_since=at(8, 0)))
        assert [(e.appointment_id, e.status) for e in model.entries()] == before
    assert_sorted(model)
    qtmodeltester.check(model)
    # details fetched later fill the row without touching its status
    assert model.fill_details(QueueEntry.from_api(api_row(5, name="赵六", starts=at(9), status="checked_in",
                                                          sex="male", age=33)))
    e5 = model.entry(model.row_of(5))
    assert (e5.sex, e5.age, e5.status, e5.department_name) == ("male", 33, "waiting", "内分泌科")


def test_random_updates_keep_appointment_order(qapp: Any, qtmodeltester: Any) -> None:
    rnd = random.Random(7)
    model = QueueModel(day=DAY)
    qtmodeltester.check(model)
    statuses = ("checked_in", "waiting", "in_consultation", "completed", "missed", "cancelled")
    for n in range(250):
        appt = rnd.randint(1, 60)
        status = rnd.choice(statuses)
        starts = at(8 + rnd.randint(0, 3), rnd.choice((0, 15, 30, 45)))
        waiting_since = at(7, rnd.randint(0, 59)) if status != "checked_in" and rnd.random() < 0.8 else None
        model.apply_event(event(status, appt, starts=starts, name=f"患者{appt}", waiting_since=waiting_since,
                                event_id=n))
    assert_sorted(model)
    assert model.rowCount() > 10
    qtmodeltester.check(model)


def test_tick_redraws_the_waiting_column_only(model: QueueModel, qtbot: Any) -> None:
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.tick()
    tl, br = blocker.args[0], blocker.args[1]
    assert (tl.row(), tl.column(), br.row(), br.column()) == (0, QueueModel.COL_WAITING, 3, QueueModel.COL_WAITING)


# --- the filter ----------------------------------------------------------------------------------------------------


def visible(proxy: QueueFilterProxy) -> list[str]:
    return [proxy.data(proxy.index(r, QueueModel.COL_PATIENT)) for r in range(proxy.rowCount())]


def test_filter_by_name_initials_and_number(model: QueueModel, qtmodeltester: Any) -> None:
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    assert visible(proxy) == ["王五", "李四", "张三", "曾强"]
    proxy.set_filter_text("张")
    assert visible(proxy) == ["张三"]
    proxy.set_filter_text("ZS")  # initials, any case
    assert visible(proxy) == ["张三"]
    proxy.set_filter_text("zq")  # 曾 read as a surname
    assert visible(proxy) == ["曾强"]
    proxy.set_filter_text("cq")  # and as the character usually reads
    assert visible(proxy) == ["曾强"]
    proxy.set_filter_text("000002")  # appointment number
    assert visible(proxy) == ["李四"]
    proxy.set_filter_text("c00004")  # card number
    assert visible(proxy) == ["王五"]
    proxy.set_filter_text("nobody")
    assert proxy.rowCount() == 0 and not proxy.hasChildren()
    qtmodeltester.check(proxy)
    proxy.setFilterFixedString("")
    assert proxy.rowCount() == 4
    assert proxy.entry(1).patient_name == "李四" and proxy.row_of(1) == 2
    src = proxy.mapToSource(proxy.index(2, 1))
    assert model.entry(src.row()).appointment_id == 1 and proxy.mapFromSource(src).row() == 2


@pytest.mark.parametrize("needle", ["", "z", "患者1"])
def test_filtered_view_follows_the_source(qapp: Any, qtmodeltester: Any, needle: str) -> None:
    model = QueueModel(day=DAY)
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text(needle)
    qtmodeltester.check(proxy)
    names = ["张伟", "赵敏", "李娜", "周杰", "患者1", "患者12", "曾华", "王芳"]
    rnd = random.Random(3)
    for n in range(120):
        appt = rnd.randint(1, 40)
        status = rnd.choice(("checked_in", "waiting", "completed", "cancelled"))
        starts = at(8 + rnd.randint(0, 2), rnd.choice((0, 20, 40)))
        ws = at(7, rnd.randint(0, 59)) if status != "checked_in" else None
        model.apply_event(event(status, appt, starts=starts, name=names[appt % len(names)], waiting_since=ws,
                                event_id=n))
        expected = [model.entry(r).appointment_id for r in range(model.rowCount())
                    if needle in model.entry(r).build_search_key()]
        assert ids(proxy) == expected
    qtmodeltester.check(proxy)


def test_selection_survives_a_move_under_a_filter(model: QueueModel, qtbot: Any) -> None:
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text("s")  # 张三 zs, 李四 ls, 王五 ww? no: only names with an s
    assert set(visible(proxy)) == {"张三", "李四"}
    selected = QPersistentModelIndex(proxy.index(proxy.row_of(1), 1))
    assert proxy.data(selected) == "张三"
    with qtbot.assertNotEmitted(proxy.modelReset):
        # 张三 waited longer than anyone: moves up
        model.apply_event(event("waiting", 1, starts=at(9), waiting_since=at(8, 0)))
    assert visible(proxy) == ["张三", "李四"]
    assert selected.isValid() and proxy.data(selected) == "张三" and selected.row() == 0


def test_hundred_thousand_rows_load_and_filter(qapp: Any) -> None:
    model = load_rows(100_000)
    assert model.rowCount() == 100_000
    assert_sorted_sample(model)
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text("zs")
    assert 0 < proxy.rowCount() < 100_000
    assert all("zs" in proxy.entry(r).search_key for r in range(min(50, proxy.rowCount())))
    assert len(synthetic_entries(10)) == 10


def assert_sorted_sample(model: QueueModel) -> None:
    keys = [model.entry(r).sort_key for r in range(0, model.rowCount(), 997)]
    assert keys == sorted(keys)
