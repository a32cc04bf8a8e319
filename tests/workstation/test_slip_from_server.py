"""The slip of a prescription written through the real backend: ``GET /staff/prescriptions/{id}/slip`` rendered by
the workstation's renderer, the PDF's text read back and compared with what the server holds (the sample-data
tests in test_slip.py check the layout; this one checks the two ends agree)."""
from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer
from tests.workstation.test_slip import field, pages_text
from tests.workstation.test_ui_pharmacist import consented_visit, login, signed_rx
from tests.workstation.ui_support import doctor_clinic, new_staff
from tests.workstation_helpers import V1
from workstation.services.printing.slip import render_slip, yuan

pytestmark = pytest.mark.integration


def test_the_servers_slip_prints_what_the_server_holds(live_server: LiveServer, api: httpx.Client,
                                                        admin: dict[str, str], db_engine: Engine) -> None:
    clinic = doctor_clinic(api, admin)
    doc = login(api, clinic["username"])
    _acc, appt = consented_visit(api, db_engine, clinic, doc, name="欧阳建国")
    rx = signed_rx(api, doc, appt)
    pharmacist = login(api, new_staff(api, admin, role="pharmacist", name="林审方"))
    r = api.post(f"{V1}/staff/prescriptions/{rx['id']}/approve", headers=pharmacist)
    assert r.status_code == 200, r.text
    r = api.get(f"{V1}/staff/prescriptions/{rx['id']}/slip", headers=doc)
    assert r.status_code == 200, r.text
    slip: dict[str, Any] = r.json()

    text = "\n".join(pages_text(render_slip(slip)))
    assert slip["hospital"] in text and "处方笺" in text and rx["no"] in text
    assert field(text, "姓名") == "欧阳建国" == slip["patient"]["name"]
    assert field(text, "费别") == "自费" and field(text, "开具日期") == slip["date"]
    assert field(text, "临床诊断") == "E11.9 2型糖尿病"
    for line in slip["lines"]:
        assert line["name"] in text and line["directions"] in text and line["quantity_label"] in text
    assert [ln["drug"]["generic_name"] for ln in rx["lines"]] == [ln["name"] for ln in slip["lines"]]
    assert yuan(rx["amount_fen"]) in text and slip["doctor_name"] in text
    assert "林审方" in text  # the reviewing pharmacist's box is filled after the approval
