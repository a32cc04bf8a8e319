from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.ids import BigId, created_at, pk


class StoredFile(Base):
    """An uploaded file: bytes live on disk under a server-made name, never in the database.

    ID photos are encrypted on disk (AES-GCM with the settings' key).
    """

    __tablename__ = "files"

    id: Mapped[int] = pk()
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), nullable=True, index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # id_photo | description | feedback | doctor_photo
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    encrypted: Mapped[bool] = mapped_column(default=False)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = created_at()
