"""Development-only routes: read the SMS outbox (the app mounts this router only outside production)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from server.deps import SessionDep
from server.sms.models import SmsMessage

router = APIRouter(tags=["development"])


class SmsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    mobile: str
    kind: str
    body: str
    created_at: dt.datetime


@router.get("/dev/sms", response_model=list[SmsPublic],
            summary="Messages the development SMS provider recorded, newest first (not in production)")
def outbox(session: SessionDep, mobile: Annotated[str | None, Query(max_length=11, pattern=r"^[0-9]*$")] = None,
           limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[SmsPublic]:
    q = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if mobile:
        q = q.where(SmsMessage.mobile == mobile)
    return [SmsPublic.model_validate(m) for m in session.execute(q).scalars()]
