from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, TZDateTime
from server.ids import BigId, created_at, pk


class Patient(Base):
    """A patient (就诊人) held by an account: every field of seed 2.2.

    The ID number is stored encrypted (``id_number_enc``), with a keyed digest for look-ups (HIS matching,
    duplicates) and a masked form for display. A removed patient keeps its row (appointments point at it).
    """

    __tablename__ = "patients"

    id: Mapped[int] = pk()
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # returning | first_visit
    name: Mapped[str] = mapped_column(String(32))
    sex: Mapped[str] = mapped_column(String(8))  # male | female
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    nationality: Mapped[str] = mapped_column(String(32), default="中国")
    ethnicity: Mapped[str] = mapped_column(String(16), default="")
    id_type: Mapped[str] = mapped_column(String(24))  # resident_id | passport | hk_macau_permit | taiwan_permit …
    id_number_enc: Mapped[str] = mapped_column(String(200))
    id_number_digest: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(32))
    card_type: Mapped[str | None] = mapped_column(String(16), nullable=True)  # hospital | insurance
    card_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    id_front_file_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("files.id"), nullable=True)
    id_back_file_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("files.id"), nullable=True)
    came_to_beijing: Mapped[bool] = mapped_column(default=False)
    residence_region: Mapped[str] = mapped_column(String(64), default="")
    residence_address: Mapped[str] = mapped_column(String(200), default="")
    beijing_region: Mapped[str] = mapped_column(String(64), default="")
    beijing_address: Mapped[str] = mapped_column(String(200), default="")
    visit_type: Mapped[str] = mapped_column(String(32), default="")
    employer: Mapped[str] = mapped_column(String(100), default="")
    contact_name: Mapped[str] = mapped_column(String(32), default="")
    contact_id_number_enc: Mapped[str] = mapped_column(String(200), default="")
    contact_id_number_masked: Mapped[str] = mapped_column(String(32), default="")
    contact_mobile: Mapped[str] = mapped_column(String(11), default="")
    occupation: Mapped[str] = mapped_column(String(32), default="")
    marital_status: Mapped[str] = mapped_column(String(16), default="")
    relation: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(TZDateTime(), nullable=True)
