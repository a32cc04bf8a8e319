"""The hospital information system (HIS) as this service sees it: past outpatient visits.

Revisit eligibility needs the hospital's own visit records. A real hospital plugs in an adapter that asks its HIS;
the default reads the ``his_visits`` table, which ``clinic-server import-visits FILE.csv`` fills from an export
(and demo-data fills with made-up visits). Either way the rest of the service only calls :func:`get_his`.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from server.catalogue.models import Department, HisVisit

CSV_COLUMNS = ("card_type", "card_no", "id_number", "patient_name", "department_code", "visit_date",
               "doctor_name", "diagnosis")
CARD_TYPES = ("hospital", "insurance")
# the seed's four online departments; an import may also name any department code present in the database
KNOWN_DEPARTMENT_CODES = ("bone_tumor", "neurology", "endocrinology", "hematology")


class HisVisitLike(Protocol):
    """What eligibility needs from a visit. ``id`` is the ``his_visits`` row id, or None for a live HIS."""

    id: int | None
    patient_name: str
    department_code: str
    visit_date: dt.date
    doctor_name: str
    diagnosis: str


class HisAdapter(Protocol):
    def visits_for(self, session: Session, *, card_type: str | None, card_no: str | None,
                   id_number_digest: str | None, department_code: str,
                   since: dt.date | None) -> list[HisVisitLike]:
        """Visits of one patient in one department on or after ``since`` (all when None), newest first."""
        ...


class TableHis:
    """Reads the ``his_visits`` table: matched by card (type + number) or by the ID number's digest."""

    name = "table"

    def visits_for(self, session: Session, *, card_type: str | None, card_no: str | None,
                   id_number_digest: str | None, department_code: str,
                   since: dt.date | None) -> list[HisVisitLike]:
        by_card = bool(card_type and card_no)
        if not (by_card or id_number_digest):
            return []
        q = _visits_query(by_card=by_card, by_digest=bool(id_number_digest), since=since is not None)
        return list(session.execute(q, {"card_type": card_type, "card_no": card_no, "digest": id_number_digest,
                                        "department_code": department_code, "since": since}).scalars())


@functools.cache
def _visits_query(*, by_card: bool, by_digest: bool, since: bool) -> Select[tuple[HisVisit]]:
    """One statement per shape, built once: every booking checks eligibility (see take_slot's comment)."""
    who = []
    if by_card:
        who.append(and_(HisVisit.card_type == bindparam("card_type"), HisVisit.card_no == bindparam("card_no")))
    if by_digest:
        who.append(HisVisit.id_number_digest == bindparam("digest"))
    q = select(HisVisit).where(or_(*who), HisVisit.department_code == bindparam("department_code"))
    if since:
        q = q.where(HisVisit.visit_date >= bindparam("since"))
    return q.order_by(HisVisit.visit_date.desc(), HisVisit.id.desc()).limit(50)


_his: HisAdapter = TableHis()


def get_his() -> HisAdapter:
    return _his


def set_his(adapter: HisAdapter) -> None:
    """Install another adapter (a hospital's live HIS); called once at start-up by the deployment."""
    global _his
    _his = adapter


# --- CSV import --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    card_type: str | None
    card_no: str | None
    id_number_digest: str | None
    patient_name: str
    department_code: str
    visit_date: dt.date
    doctor_name: str
    diagnosis: str


def _digest(value: str) -> str:
    from server.crypto import digest

    return digest(value)


def normalise_id_number(value: str) -> str:
    """ID numbers are compared by digest, so the same number must always be written the same way
    (the same spelling as ``server.crypto.normalise_id_number``)."""
    return "".join(value.split()).upper()


def _check_id_number(value: str) -> str | None:
    if len(value) > 32 or not value.isascii() or not value.replace("-", "").isalnum():
        return "id_number 证件号码格式不正确"
    if len(value) == 18 and value[:17].isdigit():
        from stdnum.cn import ric

        if not ric.is_valid(value):
            return "id_number 身份证号码校验位不正确"
    return None


def _parse_row(raw: dict[str, str], *, today: dt.date, departments: set[str]) -> tuple[_Row | None, list[str]]:
    errors: list[str] = []
    v = {k: (raw.get(k) or "").strip() for k in CSV_COLUMNS}
    card_type = v["card_type"] or None
    card_no = v["card_no"] or None
    id_number = normalise_id_number(v["id_number"]) or None
    if card_type is not None and card_type not in CARD_TYPES:
        errors.append(f"card_type 应为 {' 或 '.join(CARD_TYPES)}")
    if (card_type is None) != (card_no is None):
        errors.append("card_type 与 card_no 须同时填写或同时留空")
    if card_no is not None and (len(card_no) > 32 or not card_no.isascii() or not card_no.isalnum()):
        errors.append("card_no 卡号应为不超过32位的字母或数字")
    if card_no is None and id_number is None:
        errors.append("card_no 与 id_number 至少填写一项")
    if id_number is not None and (problem := _check_id_number(id_number)):
        errors.append(problem)
    if not v["patient_name"] or len(v["patient_name"]) > 32:
        errors.append("patient_name 姓名必填且不超过32个字")
    if v["department_code"] not in departments:
        errors.append(f"department_code 未知科室代码“{v['department_code']}”")
    visit_date = None
    try:
        visit_date = dt.date.fromisoformat(v["visit_date"])
        if len(v["visit_date"]) != 10:
            raise ValueError
    except ValueError:
        errors.append("visit_date 日期格式不正确（应为 YYYY-MM-DD）")
    else:
        if visit_date > today:
            errors.append("visit_date 就诊日期不能晚于今天")
    if len(v["doctor_name"]) > 32:
        errors.append("doctor_name 医生姓名不超过32个字")
    if len(v["diagnosis"]) > 200:
        errors.append("diagnosis 诊断不超过200个字")
    if errors or visit_date is None:
        return None, errors
    return _Row(card_type, card_no, _digest(id_number) if id_number else None, v["patient_name"],
                v["department_code"], visit_date, v["doctor_name"], v["diagnosis"]), []


def _key(r: _Row | HisVisit) -> tuple[object, ...]:
    return (r.card_type, r.card_no, r.id_number_digest, r.patient_name, r.department_code, r.visit_date,
            r.doctor_name, r.diagnosis)


def import_csv(path: str | Path) -> int:
    """Load visits from a HIS export. All rows are checked first: one bad row imports nothing (exit code 2).

    Re-importing the same file adds nothing: a row equal in every column to a stored visit is skipped.
    """
    from server.actor import SYSTEM
    from server.audit.service import audit
    from server.db import get_db
    from server.timeutil import today

    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        print(f"import-visits: cannot open {path}: {exc.strerror}", file=sys.stderr)
        return 2
    db = get_db()
    with db.session(write=False) as s:
        departments = set(KNOWN_DEPARTMENT_CODES) | set(s.execute(select(Department.code)).scalars())
    rows: list[_Row] = []
    problems: list[str] = []
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in CSV_COLUMNS if c not in header]
            extra = [c for c in header if c not in CSV_COLUMNS]
            if missing or extra or len(header) != len(set(header)):
                print(f"import-visits: line 1: the header must be exactly: {','.join(CSV_COLUMNS)}"
                      + (f" (missing: {','.join(missing)})" if missing else "")
                      + (f" (unknown: {','.join(extra)})" if extra else ""), file=sys.stderr)
                return 2
            reader.fieldnames = header
            day = today()
            for raw in reader:
                if None in raw or any(v is None for v in raw.values()):
                    problems.append(f"line {reader.line_num}: 列数与表头不一致")
                    continue
                row, errors = _parse_row(raw, today=day, departments=departments)
                if errors:
                    problems.append(f"line {reader.line_num}: " + "；".join(errors))
                elif row is not None:
                    rows.append(row)
        except (csv.Error, UnicodeDecodeError) as exc:
            print(f"import-visits: {path} is not a readable UTF-8 CSV file: {exc}", file=sys.stderr)
            return 2
    if problems:
        for line in problems:
            print(f"import-visits: {line}", file=sys.stderr)
        print(f"import-visits: {len(problems)} bad row(s); nothing was imported", file=sys.stderr)
        return 2
    imported = skipped = 0
    with db.transaction() as s:
        seen: set[tuple[object, ...]] = set()
        for row in rows:
            key = _key(row)
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            q = select(HisVisit.id).where(HisVisit.department_code == row.department_code,
                                          HisVisit.visit_date == row.visit_date,
                                          HisVisit.patient_name == row.patient_name,
                                          HisVisit.doctor_name == row.doctor_name,
                                          HisVisit.diagnosis == row.diagnosis)
            for col, value in (("card_type", row.card_type), ("card_no", row.card_no),
                               ("id_number_digest", row.id_number_digest)):
                c = getattr(HisVisit, col)
                q = q.where(c.is_(None) if value is None else c == value)
            if s.execute(q.limit(1)).first() is not None:
                skipped += 1
                continue
            s.add(HisVisit(card_type=row.card_type, card_no=row.card_no, id_number_digest=row.id_number_digest,
                           patient_name=row.patient_name, department_code=row.department_code,
                           visit_date=row.visit_date, doctor_name=row.doctor_name, diagnosis=row.diagnosis,
                           source="import"))
            imported += 1
        s.flush()
        audit(s, actor=SYSTEM, action="his.import", object_type="his_visits",
              details={"file": path.name, "rows": len(rows), "imported": imported, "skipped": skipped})
    print(f"import-visits: {len(rows)} row(s) read, {imported} imported, {skipped} duplicate(s) skipped")
    return 0
