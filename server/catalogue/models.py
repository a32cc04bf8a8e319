from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)  # bone_tumor | neurology | endocrinology | hematology
    name: Mapped[str] = mapped_column(String(32))
    introduction: Mapped[str] = mapped_column(Text, default="")
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Doctor(Base):
    __tablename__ = "doctors"

    id: Mapped[int] = pk()
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(32))  # 主任医师, 副主任医师, 主治医师 …
    specialty: Mapped[str] = mapped_column(String(200), default="")
    introduction: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("files.id"), nullable=True)
    fee_fen: Mapped[int] = mapped_column()  # consultation fee in fen
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("fee_fen >= 0", name="fee_non_negative"),)


class Schedule(Base):
    """A doctor's online clinic session (排班) on one day, cut into slots."""

    __tablename__ = "schedules"

    id: Mapped[int] = pk()
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | stopped | deleted
    created_at: Mapped[dt.datetime] = created_at()


class Slot(Base):
    """A bookable unit (号源). ``booked`` counts holds and bookings; it never exceeds ``capacity``.

    Booking is one conditional UPDATE (``booked < capacity``), so concurrent clients cannot overbook on any
    database.
    """

    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        Index("ix_slots_doctor_start", "doctor_id", "starts_at"),
    )

    id: Mapped[int] = pk()
    schedule_id: Mapped[int] = mapped_column(BigId, ForeignKey("schedules.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(TZDateTime())
    capacity: Mapped[int] = mapped_column()
    booked: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | stopped | removed


class Notice(Base):
    """The revisit notice (复诊须知); the patient accepts one version before booking."""

    __tablename__ = "notices"

    id: Mapped[int] = pk()
    version: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = created_at()


class NoticeAcceptance(Base):
    __tablename__ = "notice_acceptances"
    __table_args__ = (UniqueConstraint("account_id", "notice_version"),)

    id: Mapped[int] = pk()
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    notice_version: Mapped[int] = mapped_column()
    accepted_at: Mapped[dt.datetime] = created_at()


class HisVisit(Base):
    """A past outpatient visit as the hospital's HIS knows it: the evidence for revisit eligibility.

    Matched by card (type + number) or by the ID number's keyed digest (never the plain number).
    """

    __tablename__ = "his_visits"
    __table_args__ = (Index("ix_his_visits_card", "card_type", "card_no"),)

    id: Mapped[int] = pk()
    card_type: Mapped[str | None] = mapped_column(String(16), nullable=True)  # hospital | insurance
    card_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    id_number_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    patient_name: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(32))
    visit_date: Mapped[dt.date] = mapped_column(Date)
    doctor_name: Mapped[str] = mapped_column(String(32), default="")
    diagnosis: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16), default="demo")  # demo | import


class Drug(Base):
    """The drug catalogue (处方药品目录), copied from ``resources/catalogues/drugs.csv``
    (server/prescriptions/catalogue.py). ``dose_per_unit`` is how much of ``dose_unit`` one dispensing ``unit``
    holds; ``max_daily_dose`` is in ``dose_unit`` (null: no fixed maximum on the label)."""

    __tablename__ = "drugs"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    generic_name: Mapped[str] = mapped_column(String(64))
    brand_name: Mapped[str] = mapped_column(String(64), default="")
    initials: Mapped[list[str]] = mapped_column(JSON, default=list)  # pinyin initials of generic and brand name
    strength: Mapped[str] = mapped_column(String(48))
    form: Mapped[str] = mapped_column(String(16))  # 片剂, 胶囊, 注射液 …
    unit: Mapped[str] = mapped_column(String(8))  # the dispensing unit: 片, 粒, 支, 瓶 …
    dose_unit: Mapped[str] = mapped_column(String(8))  # mg, g, ml, IU, μg, 片 …
    dose_per_unit: Mapped[float] = mapped_column(Float)
    package: Mapped[str] = mapped_column(String(64), default="")
    max_daily_dose: Mapped[float | None] = mapped_column(Float, nullable=True)
    default_route: Mapped[str] = mapped_column(String(8), default="po")
    default_frequency: Mapped[str] = mapped_column(String(8), default="qd")
    control: Mapped[str] = mapped_column(String(16), default="ordinary")
    atc: Mapped[str] = mapped_column(String(8), default="")
    allergy_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_fen: Mapped[int] = mapped_column()  # per dispensing unit
    active: Mapped[bool] = mapped_column(default=True)
