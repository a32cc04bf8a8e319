"""The formulary: drugs, interactions and pharmacies from ``resources/catalogues/*.csv``.

The CSV files are the one source of the catalogue. Drugs are copied into the ``drugs`` table (by
``clinic-server demo-data`` and, when the table is empty, when the service starts) so that a prescription's
lines point at rows; interactions and pharmacies are small reference tables read from the files once per
process. Pinyin initials (what a doctor types to find 二甲双胍: ``EJSG``) are computed here with pypinyin, so the
files stay hand-editable.

The files are found next to the repository (``resources/catalogues``) or, for an installed package, in the
package data ``server/resources/catalogues`` (a link to the same directory in the repository).
"""
from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalogue.models import Drug

CONTROL_CLASSES = ("ordinary", "narcotic", "psychotropic_1", "psychotropic_2", "toxic", "radioactive")
SEVERITIES = ("contraindicated", "major", "moderate")

# (code, label_zh, label_en, per_day): prn counts 1 a day; st is one dose (per_day None)
FREQUENCIES: tuple[tuple[str, str, str, float | None], ...] = (
    ("qd", "每日一次", "once daily", 1),
    ("bid", "每日两次", "twice daily", 2),
    ("tid", "每日三次", "three times daily", 3),
    ("qid", "每日四次", "four times daily", 4),
    ("q8h", "每8小时一次", "every 8 hours", 3),
    ("q12h", "每12小时一次", "every 12 hours", 2),
    ("qn", "每晚一次", "every night", 1),
    ("hs", "睡前", "at bedtime", 1),
    ("qod", "隔日一次", "every other day", 0.5),
    ("qw", "每周一次", "once weekly", 1 / 7),
    ("biw", "每周两次", "twice weekly", 2 / 7),
    ("prn", "必要时", "as needed", 1),
    ("st", "立即", "at once", None),
)
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("po", "口服", "oral"),
    ("sl", "舌下含服", "sublingual"),
    ("inh", "吸入", "inhalation"),
    ("ext", "外用", "topical"),
    ("sc", "皮下注射", "subcutaneous injection"),
    ("im", "肌内注射", "intramuscular injection"),
    ("iv", "静脉注射", "intravenous injection"),
    ("ivgtt", "静脉滴注", "intravenous infusion"),
    ("eye", "滴眼", "eye drops"),
    ("nasal", "鼻用", "nasal"),
    ("rect", "直肠给药", "rectal"),
)
FREQUENCY_CODES = tuple(f[0] for f in FREQUENCIES)
ROUTE_CODES = tuple(r[0] for r in ROUTES)
LIMITS = {"max_drugs": 5, "max_days_plain": 7, "max_days_chronic": 84, "max_validity_days": 3}


def catalogue_dir() -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "resources" / "catalogues", here.parents[1] / "resources" / "catalogues"):
        if (candidate / "drugs.csv").is_file():
            return candidate
    raise FileNotFoundError("resources/catalogues/drugs.csv not found (repository or package data)")


def initials(*names: str) -> list[str]:
    """Pinyin initials of each non-empty name (阿司匹林肠溶片 → ASPLCRP); Latin letters and digits are kept."""
    out = []
    for name in names:
        if not name:
            continue
        letters = "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p)
        letters = "".join(ch for ch in letters.upper() if ch.isalnum())
        if letters and letters not in out:
            out.append(letters)
    return out


@dataclass(frozen=True)
class DrugInfo:
    """A drug as the checks and the API see it (the ``Drug`` shape of the contract)."""

    code: str
    generic_name: str
    brand_name: str
    initials: list[str]
    strength: str
    form: str
    unit: str
    dose_unit: str
    dose_per_unit: float
    package: str
    max_daily_dose: float | None
    default_route: str
    default_frequency: str
    control: str
    atc: str
    allergy_classes: list[str] = field(default_factory=list)
    price_fen: int = 0

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Interaction:
    a: str
    b: str
    severity: str
    message: str

    def matches(self, atc_x: str, atc_y: str) -> bool:
        return ((atc_x.startswith(self.a) and atc_y.startswith(self.b))
                or (atc_x.startswith(self.b) and atc_y.startswith(self.a)))


@dataclass(frozen=True)
class Pharmacy:
    id: int
    name: str
    address: str
    district: str
    phone: str
    hours: str
    lat: float
    lng: float

    def distance_m(self, lat: float, lng: float) -> int:
        """Great-circle distance (haversine), metres."""
        r = 6_371_000.0
        p1, p2 = math.radians(self.lat), math.radians(lat)
        dp, dl = p2 - p1, math.radians(lng - self.lng)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return round(2 * r * math.asin(math.sqrt(h)))


def _number(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


def _rows(name: str) -> list[dict[str, str]]:
    with (catalogue_dir() / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def drugs_from_file() -> tuple[DrugInfo, ...]:
    out = []
    for r in _rows("drugs.csv"):
        if r["control"] not in CONTROL_CLASSES:
            raise ValueError(f"drugs.csv {r['code']}: unknown control class {r['control']!r}")
        out.append(DrugInfo(
            code=r["code"], generic_name=r["generic_name"], brand_name=r["brand_name"],
            initials=initials(r["generic_name"], r["brand_name"]), strength=r["strength"], form=r["form"],
            unit=r["unit"], dose_unit=r["dose_unit"], dose_per_unit=float(r["dose_per_unit"]),
            package=r["package"], max_daily_dose=_number(r["max_daily_dose"]), default_route=r["default_route"],
            default_frequency=r["default_frequency"], control=r["control"], atc=r["atc"],
            allergy_classes=[c for c in r["allergy_classes"].split("|") if c], price_fen=int(r["price_fen"])))
    return tuple(out)


@functools.cache
def interactions() -> tuple[Interaction, ...]:
    out = []
    for r in _rows("drug_interactions.csv"):
        if r["severity"] not in SEVERITIES:
            raise ValueError(f"drug_interactions.csv: unknown severity {r['severity']!r}")
        out.append(Interaction(a=r["a"], b=r["b"], severity=r["severity"], message=r["message"]))
    return tuple(out)


@functools.cache
def pharmacies() -> tuple[Pharmacy, ...]:
    return tuple(Pharmacy(id=int(r["id"]), name=r["name"], address=r["address"], district=r["district"],
                          phone=r["phone"], hours=r["hours"], lat=float(r["lat"]), lng=float(r["lng"]))
                 for r in _rows("pharmacies.csv"))


def pharmacy(pharmacy_id: int) -> Pharmacy | None:
    return next((p for p in pharmacies() if p.id == pharmacy_id), None)


# --- the drugs table ----------------------------------------------------------------------------------------


def _row_values(d: DrugInfo) -> dict[str, Any]:
    return {"generic_name": d.generic_name, "brand_name": d.brand_name, "initials": d.initials,
            "strength": d.strength, "form": d.form, "unit": d.unit, "dose_unit": d.dose_unit,
            "dose_per_unit": d.dose_per_unit, "package": d.package, "max_daily_dose": d.max_daily_dose,
            "default_route": d.default_route, "default_frequency": d.default_frequency, "control": d.control,
            "atc": d.atc, "allergy_classes": d.allergy_classes, "price_fen": d.price_fen}


def sync_drugs(session: Session) -> tuple[int, int]:
    """Bring the ``drugs`` table to the file: add missing codes, update changed rows. Returns (added,
    updated). Drugs no longer in the file are kept (old prescriptions point at them) but not offered."""
    rows = {d.code: d for d in session.execute(select(Drug)).scalars()}
    added = updated = 0
    in_file = set()
    for spec in drugs_from_file():
        in_file.add(spec.code)
        values = _row_values(spec)
        row = rows.get(spec.code)
        if row is None:
            session.add(Drug(code=spec.code, active=True, **values))
            added += 1
        elif any(getattr(row, k) != v for k, v in values.items()) or not row.active:
            for k, v in values.items():
                setattr(row, k, v)
            row.active = True
            updated += 1
    for code, row in rows.items():
        if code not in in_file and row.active:
            row.active = False
            updated += 1
    session.flush()
    return added, updated


def info(row: Drug) -> DrugInfo:
    return DrugInfo(code=row.code, generic_name=row.generic_name, brand_name=row.brand_name,
                    initials=list(row.initials or []), strength=row.strength, form=row.form, unit=row.unit,
                    dose_unit=row.dose_unit, dose_per_unit=row.dose_per_unit, package=row.package,
                    max_daily_dose=row.max_daily_dose, default_route=row.default_route,
                    default_frequency=row.default_frequency, control=row.control, atc=row.atc,
                    allergy_classes=list(row.allergy_classes or []), price_fen=row.price_fen)


def active_drugs(session: Session) -> list[DrugInfo]:
    return [info(r) for r in session.execute(select(Drug).where(Drug.active.is_(True)).order_by(Drug.code))
            .scalars()]


def drugs_by_code(session: Session, codes: list[str]) -> dict[str, DrugInfo]:
    if not codes:
        return {}
    return {r.code: info(r) for r in session.execute(select(Drug).where(Drug.code.in_(set(codes)))).scalars()}


def version_of(drugs: list[DrugInfo]) -> str:
    """The formulary's version (its ETag): a digest of everything the workstation caches."""
    doc = {"drugs": [d.public() for d in drugs], "frequencies": FREQUENCIES, "routes": ROUTES, "limits": LIMITS}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def load_if_empty(settings: Any) -> int:
    """On start: a database without drugs gets the formulary (a later ``demo-data`` keeps it in step with the
    file). Returns the number of drugs added."""
    from server.actor import SYSTEM
    from server.audit.service import audit
    from server.db import Database

    db = Database(settings)
    try:
        with db.transaction() as session:
            if session.execute(select(Drug.id).limit(1)).first() is not None:
                return 0
            added, _ = sync_drugs(session)
            audit(session, actor=SYSTEM, action="drugs.synced", object_type="drugs", details={"added": added})
            return added
    finally:
        db.dispose()
