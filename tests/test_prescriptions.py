"""Prescriptions through the live server: the consent gate, drafts and findings, the signature, the pharmacist's
review, the patient's side (fulfilment, the drug fee through the payment sandbox, expiry), voiding, the slip,
verification and the rating of a visit. Every refusal is checked to change nothing."""
from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.booking_helpers import admin_headers, db_staff, sms_to, wait_for
from tests.conftest import LiveServer
from tests.prescription_helpers import (
    AMOXICILLIN,
    ASPIRIN,
    DIAGNOSIS,
    GOOD_DRAFT,
    GOOD_LINE,
    METFORMIN,
    MORPHINE,
    WARFARIN,
    answer_consent,
    approve,
    consent,
    create_rx,
    pharmacist,
    refusals,
    request_consent,
    rx_events,
    rx_row,
    sign,
    signed_rx,
    signing_doctor,
)
from tests.workstation_helpers import ABSENT, V1, in_consultation, new_key, waiting


@pytest.fixture(scope="module")
def admin(live_server: LiveServer, db_engine: Engine) -> dict[str, str]:
    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def clinic(api: httpx.Client, admin: dict[str, str], db_engine: Engine) -> dict[str, Any]:
    return signing_doctor(api, admin, db_engine)


@pytest.fixture(scope="module")
def pharm(db_engine: Engine) -> dict[str, str]:
    return pharmacist(db_engine)


def visit(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], int]:
    """A patient in consultation who consented to a prescription."""
    acc, appt = in_consultation(api, db_engine, clinic, **kw)
    consent(api, clinic, acc, appt)
    return acc, appt


def rx_url(rx: dict[str, Any] | int, action: str = "") -> str:
    rx_id = rx if isinstance(rx, int) else rx["id"]
    return f"{V1}/staff/prescriptions/{rx_id}" + (f"/{action}" if action else "")


def put(api: httpx.Client, clinic: dict[str, Any], rx: dict[str, Any], body: dict[str, Any], **kw: Any
        ) -> httpx.Response:
    return api.put(rx_url(rx), headers=clinic["headers"], json={**body, "revision": rx["revision"]}, **kw)


def finding_keys(rx: dict[str, Any]) -> set[str]:
    return {f["key"] for f in rx["findings"]}


# --- the formulary ---------------------------------------------------------------------------------------------


def test_formulary_for_staff_with_etag(api: httpx.Client, db_engine: Engine, pharm: dict[str, str]) -> None:
    r = api.get(f"{V1}/staff/formulary", headers=pharm)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["drugs"]) >= 120 and r.headers["ETag"] == f'"{body["version"]}"'
    met = next(d for d in body["drugs"] if d["code"] == METFORMIN)
    assert met["generic_name"] == "盐酸二甲双胍片" and met["max_daily_dose"] == 2550 and met["dose_unit"] == "mg"
    assert {f["code"] for f in body["frequencies"]} >= {"qd", "bid", "tid", "prn", "st"}
    assert next(f for f in body["frequencies"] if f["code"] == "st")["per_day"] is None
    assert next(x for x in body["routes"] if x["code"] == "po")["label_zh"] == "口服"
    assert body["limits"] == {"max_drugs": 5, "max_days_plain": 7, "max_days_chronic": 84, "max_validity_days": 3}
    again = api.get(f"{V1}/staff/formulary", headers={**pharm, "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert api.get(f"{V1}/staff/formulary").status_code == 401


# --- the doctor ------------------------------------------------------------------------------------------------


def test_consent_gate_on_create_and_on_sign(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    url = f"{V1}/staff/appointments/{appt}/prescriptions"
    r = api.post(url, headers=clinic["headers"], json=GOOD_DRAFT)
    assert r.status_code == 409 and r.json()["code"] == "consent_required", r.text
    assert "同意" in r.json()["message"]
    # asked but not yet answered, then declined: still refused
    req = request_consent(api, clinic, appt)
    assert api.post(url, headers=clinic["headers"], json=GOOD_DRAFT).json()["code"] == "consent_required"
    answer_consent(api, acc, appt, req, agree=False)
    assert api.post(url, headers=clinic["headers"], json=GOOD_DRAFT).json()["code"] == "consent_required"
    assert api.get(url, headers=clinic["headers"]).json() == []
    consent(api, clinic, acc, appt)
    rx = create_rx(api, clinic, appt)
    assert rx["status"] == "draft" and rx["revision"] == 1 and rx["no"].startswith("RX")
    # a later request the patient has not answered (or declined) withdraws it: signing is refused
    req = request_consent(api, clinic, appt)
    r = sign(api, clinic, rx)
    assert r.status_code == 409 and r.json()["code"] == "consent_required", r.text
    assert rx_row(db_engine, rx["id"])["status"] == "draft"
    answer_consent(api, acc, appt, req, agree=True)
    assert sign(api, clinic, rx).json()["status"] == "signed"


def test_create_needs_the_visit_in_consultation(api: httpx.Client, db_engine: Engine,
                                                clinic: dict[str, Any]) -> None:
    _, appt = waiting(api, db_engine, clinic)
    r = api.post(f"{V1}/staff/appointments/{appt}/prescriptions", headers=clinic["headers"], json=GOOD_DRAFT)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert r.json()["details"] == {"status": "waiting", "to": "draft"}
    # another doctor's appointment answers like an absent one
    other = db_staff(db_engine, role="doctor")
    for appt_id in (appt, ABSENT):
        r = api.post(f"{V1}/staff/appointments/{appt_id}/prescriptions", headers=other, json=GOOD_DRAFT)
        assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_draft_findings_revision_conflict_and_sign(api: httpx.Client, db_engine: Engine,
                                                   clinic: dict[str, Any]) -> None:
    acc, appt = visit(api, db_engine, clinic)
    rx = create_rx(api, clinic, appt, {})
    assert finding_keys(rx) == {"diagnosis_required", "no_lines"} and rx["amount_fen"] == 0
    body = {"diagnosis": DIAGNOSIS, "allergies": ["青霉素"],
            "lines": [{**GOOD_LINE, "dose": 1000, "frequency": "tid"},
                      {"drug_code": AMOXICILLIN, "dose": 0.5, "route": "po", "frequency": "tid", "days": 7},
                      {"drug_code": WARFARIN, "dose": 3, "route": "po", "frequency": "qd", "days": 7},
                      {"drug_code": ASPIRIN, "dose": 100, "route": "po", "frequency": "qd", "days": 7}]}
    r = put(api, clinic, rx, body)
    assert r.status_code == 200, r.text
    rx = r.json()
    interaction = "interaction:" + "+".join(sorted((WARFARIN, ASPIRIN)))
    assert finding_keys(rx) == {f"max_daily_dose:{METFORMIN}", f"allergy:{AMOXICILLIN}", interaction}
    assert rx["revision"] == 2
    amox = rx["lines"][1]
    assert amox["quantity"] == amox["quantity_computed"] == 42 and amox["directions"] == "口服 一次0.5g 每日三次 7天"
    assert amox["amount_fen"] == 42 * amox["drug"]["price_fen"]
    assert rx["amount_fen"] == sum(ln["amount_fen"] for ln in rx["lines"])
    # a stale revision: refused, nothing saved
    r = api.put(rx_url(rx), headers=clinic["headers"], json={**body, "lines": [], "revision": 1})
    assert r.status_code == 409 and r.json()["code"] == "draft_conflict" and r.json()["details"] == {"revision": 2}
    # unknown drug: 422, nothing saved
    r = put(api, clinic, rx, {**body, "lines": [{**GOOD_LINE, "drug_code": "XX999"}]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_drug"
    assert rx_row(db_engine, rx["id"])["revision"] == 2
    # a rule is never a 422; a shape is
    r = put(api, clinic, rx, {**body, "lines": [{**GOOD_LINE, "dose": 0.0001}]})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    # wrong password: 403, audited, nothing changed
    before = rx_row(db_engine, rx["id"])
    r = sign(api, clinic, rx, password="not-my-password")
    assert r.status_code == 403 and r.json()["code"] == "signature_password_incorrect", r.text
    assert rx_row(db_engine, rx["id"]) == before and refusals(db_engine, rx["id"], "prescription.sign") == 1
    # unresolved findings
    r = sign(api, clinic, rx)
    assert r.status_code == 409 and r.json()["code"] == "checks_unresolved"
    assert {f["key"] for f in r.json()["details"]["findings"]} == finding_keys(rx)
    assert rx_row(db_engine, rx["id"])["status"] == "draft"
    # overrides with reasons resolve the overridable ones
    overrides = [{"key": f"max_daily_dose:{METFORMIN}", "reason": "内分泌科会诊意见"},
                 {"key": f"allergy:{AMOXICILLIN}", "reason": "既往皮试阴性"},
                 {"key": interaction, "reason": "机械瓣置换术后，监测INR"}]
    rx = put(api, clinic, rx, {**body, "overrides": overrides}).json()
    assert all(f["overridden"] for f in rx["findings"]) and rx["revision"] == 3
    key = new_key()
    r = sign(api, clinic, rx, key=key)
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and signed["signed_at"] and len(signed["content_hash"]) == 64
    # the replay answers the same without signing twice
    again = sign(api, clinic, rx, key=key)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["content_hash"] == signed["content_hash"]
    assert len(rx_events(db_engine, rx["id"], "prescription.signed")) == 1
    # the signature's audit entry keeps the hash
    from server.audit.models import AuditEntry

    with Session(db_engine) as s:
        entry = s.query(AuditEntry).filter_by(object_type="prescription", object_id=rx["id"],
                                              action="prescription.signed").one()
        assert entry.details["content_hash"] == signed["content_hash"]
    # signed is immutable
    r = put(api, clinic, signed, GOOD_DRAFT)
    assert r.status_code == 409 and r.json()["code"] == "prescription_immutable"
    r = sign(api, clinic, signed)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # the chart lists it for the next visit's doctor; allergies carry over to the patient's next draft
    listed = api.get(f"{V1}/staff/appointments/{appt}/prescriptions", headers=clinic["headers"]).json()
    assert [p["id"] for p in listed] == [rx["id"]]
    assert create_rx(api, clinic, appt, {})["allergies"] == ["青霉素"]


def test_blocks_that_cannot_be_overridden(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    _, appt = visit(api, db_engine, clinic)
    body = {"diagnosis": DIAGNOSIS, "lines": [{**GOOD_LINE, "drug_code": MORPHINE, "dose": 30, "frequency": "q12h"}],
            "overrides": [{"key": f"controlled_drug:{MORPHINE}", "reason": "癌痛"}]}
    rx = create_rx(api, clinic, appt, body)
    (f,) = rx["findings"]
    assert f["code"] == "controlled_drug" and not f["overridable"] and not f["overridden"]
    r = sign(api, clinic, rx)
    assert r.status_code == 409 and r.json()["code"] == "checks_unresolved"
    rx = create_rx(api, clinic, appt, {**GOOD_DRAFT, "validity_days": 3})
    assert "validity_note_required" in finding_keys(rx)
    rx = put(api, clinic, rx, {**GOOD_DRAFT, "validity_days": 3, "validity_note": "行动不便，家属代取"}).json()
    assert rx["findings"] == [] and sign(api, clinic, rx).status_code == 200


def test_pharmacist_gate_then_the_patient_pays_once(api: httpx.Client, db_engine: Engine,
                                                    clinic: dict[str, Any], pharm: dict[str, str]) -> None:
    acc, appt = visit(api, db_engine, clinic)
    rx = signed_rx(api, clinic, appt)
    pat = acc["headers"]
    # before the pharmacist: the patient sees nothing and cannot pay
    assert api.get(f"{V1}/prescriptions", headers=pat).json() == []
    for method, path in (("GET", ""), ("POST", "/payment")):
        r = api.request(method, f"{V1}/prescriptions/{rx['id']}{path}", headers=pat)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (path, r.text)
    r = api.post(f"{V1}/prescriptions/{rx['id']}/fulfilment", headers=pat, json={"method": "pickup",
                                                                                   "pharmacy_id": 1})
    assert r.status_code == 404
    # the review queue: oldest signature first, never drafts
    queue = api.get(f"{V1}/staff/prescriptions", headers=pharm, params={"status": "signed", "limit": 200}).json()
    assert rx["id"] in [p["id"] for p in queue] and all(p["status"] == "signed" for p in queue)
    assert [p["signed_at"] for p in queue] == sorted(p["signed_at"] for p in queue)
    assert api.get(rx_url(rx), headers=pharm).json()["status"] == "signed"
    # doctors and clerks do not review
    for who in (clinic["headers"], db_staff(db_engine, role="clerk")):
        r = api.post(rx_url(rx, "approve"), headers=who)
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    issued = approve(api, pharm, rx)
    assert issued["approved_at"] and issued["issued_at"] and issued["valid_until"] and issued["reviewed_by"]
    kinds = [e.kind for e in rx_events(db_engine, rx["id"])]
    assert kinds == ["prescription.signed", "prescription.approved", "prescription.issued"]
    assert [e.account_id for e in rx_events(db_engine, rx["id"])][1:] == [None, acc["account_id"]]
    (sms,) = sms_to(api, acc["mobile"], kind="prescription_issued")
    assert rx["no"] in sms["body"] and f"/m/prescriptions/{rx['id']}" in sms["body"]
    r = api.post(rx_url(rx, "approve"), headers=pharm)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # the patient's view: no findings, no overrides
    mine = api.get(f"{V1}/prescriptions", headers=pat).json()
    assert [p["id"] for p in mine] == [rx["id"]] and "findings" not in mine[0]
    view = api.get(f"{V1}/prescriptions/{rx['id']}", headers=pat).json()
    assert view["lines"][0]["name"] == "盐酸二甲双胍片" and view["lines"][0]["quantity"] == 14
    assert view["lines"][0]["unit"] == "片" and view["amount_fen"] == rx["amount_fen"]
    # pay needs a fulfilment first
    r = api.post(f"{V1}/prescriptions/{rx['id']}/payment", headers=pat)
    assert r.status_code == 409 and r.json()["code"] == "fulfilment_required"
    shops = api.get(f"{V1}/pharmacies", params={"lat": 39.9382, "lng": 116.3528}).json()
    assert len(shops) >= 10 and shops[0]["distance_m"] < 500
    assert [s["distance_m"] for s in shops] == sorted(s["distance_m"] for s in shops)
    r = api.post(f"{V1}/prescriptions/{rx['id']}/fulfilment", headers=pat,
                 json={"method": "pickup", "pharmacy_id": 999})
    assert r.status_code == 422 and r.json()["code"] == "unknown_pharmacy"
    r = api.post(f"{V1}/prescriptions/{rx['id']}/fulfilment", headers=pat,
                 json={"method": "pickup", "pharmacy_id": shops[0]["id"]})
    assert r.status_code == 200 and r.json()["status"] == "fulfilment_chosen", r.text
    assert r.json()["fulfilment"]["pharmacy"]["id"] == shops[0]["id"]
    address = {"name": "李患者", "mobile": acc["mobile"], "region": "北京市西城区", "detail": "西直门南大街11号"}
    r = api.post(f"{V1}/prescriptions/{rx['id']}/fulfilment", headers=pat, json={"method": "delivery",
                                                                                  "address": address})
    assert r.status_code == 200 and r.json()["fulfilment"]["method"] == "delivery", r.text
    # one open payment, asked twice
    r = api.post(f"{V1}/prescriptions/{rx['id']}/payment", headers=pat)
    assert r.status_code == 201, r.text
    prepay = r.json()
    assert prepay["amount_fen"] == rx["amount_fen"]
    r = api.post(f"{V1}/prescriptions/{rx['id']}/payment", headers=pat)
    assert r.status_code == 200 and r.json()["out_trade_no"] == prepay["out_trade_no"]
    # the gateway confirms, its notification delivered three times: paid once
    r = api.post(f"{prepay['sandbox_url']}/confirm", params={"duplicates": 3, "delay_ms": 0})
    assert r.status_code == 200, r.text
    wait_for(lambda: api.get(f"{V1}/prescriptions/{rx['id']}", headers=pat).json()["status"] == "paid",
             what="the prescription to be paid")

    def delivered() -> bool:
        from server.payments.models import GatewayNotification

        with Session(db_engine) as s:
            rows = s.query(GatewayNotification).filter_by(out_trade_no=prepay["out_trade_no"]).all()
            return bool(rows) and rows[0].deliveries == 3

    wait_for(delivered, what="three deliveries")
    assert len(rx_events(db_engine, rx["id"], "prescription.paid")) == 1
    row = rx_row(db_engine, rx["id"])
    assert row["paid_at"] is not None and row["payment_id"] is not None
    # after paying: no more choosing, no void, no second payment
    r = api.post(f"{V1}/prescriptions/{rx['id']}/fulfilment", headers=pat,
                 json={"method": "pickup", "pharmacy_id": 1})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = api.post(rx_url(rx, "void"), headers=clinic["headers"], json={"reason": "开错药"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = api.post(f"{V1}/prescriptions/{rx['id']}/payment", headers=pat)
    assert r.status_code == 409
    # dispensing: delivery ships
    r = api.post(rx_url(rx, "dispense"), headers=pharm)
    assert r.status_code == 200 and r.json()["status"] == "shipped" and r.json()["shipped_at"], r.text
    r = api.post(rx_url(rx, "dispense"), headers=pharm)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert api.get(f"{V1}/prescriptions/{rx['id']}", headers=pat).json()["status"] == "shipped"


def test_return_reopens_the_draft(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any],
                                  pharm: dict[str, str]) -> None:
    _, appt = visit(api, db_engine, clinic)
    rx = signed_rx(api, clinic, appt)
    r = api.post(rx_url(rx, "return"), headers=pharm, json={"reason": "x"})
    assert r.status_code == 422
    r = api.post(rx_url(rx, "return"), headers=pharm, json={"reason": "剂量需按肾功能调整"})
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    returned = api.get(rx_url(rx), headers=clinic["headers"]).json()
    assert returned["return_reason"] == "剂量需按肾功能调整" and returned["reviewed_by"]
    r = sign(api, clinic, returned)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = api.post(rx_url(rx, "approve"), headers=pharm)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    edited = put(api, clinic, returned, {**GOOD_DRAFT, "lines": [{**GOOD_LINE, "dose": 250}]}).json()
    assert edited["status"] == "draft"
    assert [e.kind for e in rx_events(db_engine, rx["id"])][-2:] == ["prescription.returned",
                                                                     "prescription.reopened"]
    assert sign(api, clinic, edited).json()["status"] == "signed"


def test_void_rules_and_the_patient_is_told(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any],
                                            pharm: dict[str, str]) -> None:
    acc, appt = visit(api, db_engine, clinic)
    draft = create_rx(api, clinic, appt)
    r = api.post(rx_url(draft, "void"), headers=clinic["headers"], json={"reason": "重"})
    assert r.status_code == 422
    r = api.post(rx_url(draft, "void"), headers=clinic["headers"], json={"reason": "重复开具"})
    assert r.status_code == 200 and r.json()["status"] == "voided" and r.json()["void_reason"] == "重复开具"
    r = api.post(rx_url(draft, "void"), headers=clinic["headers"], json={"reason": "重复开具"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert sms_to(api, acc["mobile"], kind="prescription_voided") == []
    issued = approve(api, pharm, signed_rx(api, clinic, appt))
    r = api.post(rx_url(issued, "void"), headers=clinic["headers"], json={"reason": "患者诉已有存药"})
    assert r.status_code == 200 and r.json()["status"] == "voided"
    (sms,) = sms_to(api, acc["mobile"], kind="prescription_voided")
    assert issued["no"] in sms["body"] and "患者诉已有存药" in sms["body"]
    assert api.get(f"{V1}/prescriptions/{issued['id']}", headers=acc["headers"]).json()["status"] == "voided"
    r = api.post(f"{V1}/prescriptions/{issued['id']}/fulfilment", headers=acc["headers"],
                 json={"method": "pickup", "pharmacy_id": 1})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    voided = rx_events(db_engine, issued["id"], "prescription.voided")
    assert voided[0].payload["reason"] == "患者诉已有存药" and voided[0].account_id == acc["account_id"]
    # another doctor cannot void it (absent)
    other = db_staff(db_engine, role="doctor")
    r = api.post(rx_url(draft, "void"), headers=other, json={"reason": "越权作废"})
    assert r.status_code == 404


def test_expiry_by_the_scheduler(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any],
                                 pharm: dict[str, str]) -> None:
    from server.prescriptions.models import Prescription
    from tests.booking_helpers import now

    acc, appt = visit(api, db_engine, clinic)
    pat = acc["headers"]
    first = approve(api, pharm, signed_rx(api, clinic, appt))
    second = approve(api, pharm, signed_rx(api, clinic, appt))
    r = api.post(f"{V1}/prescriptions/{second['id']}/fulfilment", headers=pat,
                 json={"method": "pickup", "pharmacy_id": 2})
    assert r.status_code == 200
    # the day of validity has passed (the clock cannot be moved for the live server: the row's end is)
    with Session(db_engine) as s, s.begin():
        s.execute(update(Prescription).where(Prescription.id.in_((first["id"], second["id"])))
                  .values(valid_until=now() - dt.timedelta(minutes=1)))
    for rx in (first, second):
        # refused by time even before the job has run
        r = api.post(f"{V1}/prescriptions/{rx['id']}/payment", headers=pat)
        assert r.status_code == 409 and r.json()["code"] == "prescription_expired", r.text
    wait_for(lambda: all(rx_row(db_engine, rx["id"])["status"] == "expired" for rx in (first, second)),
             what="the scheduler to expire both")
    r = api.post(f"{V1}/prescriptions/{first['id']}/fulfilment", headers=pat,
                 json={"method": "pickup", "pharmacy_id": 1})
    assert r.status_code == 409 and r.json()["code"] == "prescription_expired"
    assert r.json()["message"] == "处方已过期，请重新问诊"
    assert len(rx_events(db_engine, first["id"], "prescription.expired")) == 1
    r = api.post(rx_url(first, "void"), headers=clinic["headers"], json={"reason": "已过期作废"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


def test_slip_data_and_verification(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                    clinic: dict[str, Any], pharm: dict[str, str]) -> None:
    acc, appt = visit(api, db_engine, clinic, name="王小明")
    draft = create_rx(api, clinic, appt)
    r = api.get(rx_url(draft, "slip"), headers=clinic["headers"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    rx = signed_rx(api, clinic, appt)
    slip = api.get(rx_url(rx, "slip"), headers=clinic["headers"]).json()
    assert slip["title"] == "处方笺" and slip["slip_type"] == "ordinary" and slip["slip_mark"] == "普通"
    assert slip["no"] == rx["no"] and slip["fee_category_label"] == "自费" and slip["diagnosis"] == "E11.9 2型糖尿病"
    assert slip["patient"]["name"] == "王小明" and slip["patient"]["age_label"].endswith("岁")
    assert slip["lines"] == [{"name": "盐酸二甲双胍片", "strength": "0.5g", "form": "片剂", "quantity_label": "14片",
                              "directions": "口服 一次500mg 每日两次 7天"}]
    assert slip["validity_label"] == "当日有效" and slip["reviewer_name"] is None
    assert api.get(rx_url(rx, "slip"), headers=pharm).status_code == 200
    assert api.get(rx_url(rx, "slip"), headers=db_staff(db_engine, role="clerk")).status_code == 403
    approve(api, pharm, rx)
    assert api.get(rx_url(rx, "slip"), headers=clinic["headers"]).json()["reviewer_name"]
    token = slip["verify_url"].rsplit("/", 1)[1]
    r = httpx.get(f"{live_server.base_url}{V1}/rx/verify/{token}")
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["no"] == rx["no"] and v["patient_masked"] == "王*明" and v["status"] == "issued" and v["issued_on"]
    assert "王小明" not in r.text
    r = httpx.get(f"{live_server.base_url}{V1}/rx/verify/{'0' * 32}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_rating_once_after_the_visit(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any]) -> None:
    acc, appt = in_consultation(api, db_engine, clinic)
    url = f"{V1}/appointments/{appt}/rating"
    r = api.post(url, headers=acc["headers"], json={"stars": 5, "text": "很好"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = api.post(f"{V1}/staff/appointments/{appt}/finish", headers=clinic["headers"],
                 json={"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病"})
    assert r.status_code == 200, r.text
    r = api.post(url, headers=acc["headers"], json={"stars": 6})
    assert r.status_code == 422
    key = new_key()
    r = api.post(url, headers={**acc["headers"], "Idempotency-Key": key}, json={"stars": 4, "text": "医生很耐心"})
    assert r.status_code == 201 and r.json()["stars"] == 4, r.text
    replay = api.post(url, headers={**acc["headers"], "Idempotency-Key": key}, json={"stars": 4, "text": "医生很耐心"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    r = api.post(url, headers=acc["headers"], json={"stars": 1})
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    staff_view = api.get(f"{V1}/staff/appointments/{appt}", headers=clinic["headers"]).json()
    assert staff_view["rating"]["stars"] == 4 and staff_view["rating"]["text"] == "医生很耐心"
    from tests.workstation_helpers import events_of

    assert len(events_of(db_engine, object_type="appointment", object_id=appt, kind="appointment.rated")) == 1
    # a staff token is no account holder's
    other = db_staff(db_engine, role="doctor")
    r = api.post(url, headers=other, json={"stars": 3})
    assert r.status_code == 401


def test_staff_reads_by_role(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any],
                             pharm: dict[str, str]) -> None:
    _, appt = visit(api, db_engine, clinic)
    draft = create_rx(api, clinic, appt)
    assert api.get(rx_url(draft), headers=clinic["headers"]).status_code == 200
    assert api.get(rx_url(draft), headers=pharm).status_code == 404  # pharmacists never see drafts
    r = api.get(rx_url(draft), headers=db_staff(db_engine, role="clerk"))
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    assert api.get(rx_url(draft), headers=db_staff(db_engine, role="admin")).status_code == 200
    queue = api.get(f"{V1}/staff/prescriptions", headers=pharm, params={"limit": 200}).json()
    assert all(p["status"] != "draft" for p in queue)
    chart = api.get(f"{V1}/staff/appointments/{appt}/chart", headers=clinic["headers"])
    assert chart.status_code == 200 and chart.json()["previous_prescriptions"] == []


def test_racing_reviews_and_numbers(live_server: LiveServer, api: httpx.Client, db_engine: Engine,
                                    clinic: dict[str, Any], pharm: dict[str, str]) -> None:
    """Two pharmacists approve the same prescription at once: one issues it (one SMS, one pair of events), the
    other is refused. Drafts made at once get distinct numbers."""
    from concurrent.futures import ThreadPoolExecutor

    acc, appt = visit(api, db_engine, clinic)
    rx = signed_rx(api, clinic, appt)
    other = pharmacist(db_engine)

    def approve_as(headers: dict[str, str]) -> int:
        with live_server.client() as c:
            return c.post(rx_url(rx, "approve"), headers=headers).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(approve_as, [pharm, other, pharm, other]))
    assert codes == [200, 409, 409, 409], codes
    assert len(rx_events(db_engine, rx["id"], "prescription.issued")) == 1
    assert len(sms_to(api, acc["mobile"], kind="prescription_issued")) == 1

    def draft(_: int) -> str:
        with live_server.client() as c:
            r = c.post(f"{V1}/staff/appointments/{appt}/prescriptions", headers=clinic["headers"], json=GOOD_DRAFT)
            assert r.status_code == 201, r.text
            return r.json()["no"]

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(draft, range(6)))
    assert len(set(numbers)) == 6


def test_review_list_since_a_time(api: httpx.Client, db_engine: Engine, clinic: dict[str, Any],
                                  pharm: dict[str, str]) -> None:
    """``changed_since`` gives a desk its "done today" without the archive: a prescription approved after the
    time is listed, one asked for from a later time is not."""
    from zoneinfo import ZoneInfo

    _acc, appt = visit(api, db_engine, clinic)
    rx = signed_rx(api, clinic, appt)
    before = dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(seconds=2)
    r = api.post(rx_url(rx, "approve"), headers=pharm)
    assert r.status_code == 200 and r.json()["status"] == "issued", r.text

    def listed(since: dt.datetime) -> list[int]:
        r = api.get(f"{V1}/staff/prescriptions", headers=pharm,
                    params={"status": "issued", "changed_since": since.isoformat(), "limit": 200})
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()]

    assert rx["id"] in listed(before)
    assert rx["id"] not in listed(before + dt.timedelta(minutes=10))
    r = api.get(f"{V1}/staff/prescriptions", headers=pharm, params={"changed_since": "yesterday"})
    assert r.status_code == 422, r.text
