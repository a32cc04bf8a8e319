"""The staff event stream (Server-Sent Events) and its JSON companions for clients that catch up in bulk."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from server.deps import CurrentStaff, DbDep, SessionDep, SettingsDep, StaffCtx, bearer, current_staff
from server.events import service, stream

router = APIRouter(tags=["events"])

MAX_ID = 2**53


class EventPublic(BaseModel):
    id: int
    kind: str
    topic: str
    object_type: str
    object_id: int
    at: dt.datetime
    payload: dict[str, Any]


class CursorOut(BaseModel):
    last_id: int = Field(description="The newest event id; 0 when there is none yet")


class EventPage(BaseModel):
    events: list[EventPublic]
    next_after: int = Field(description="Pass as `after` for the next page (also past events you may not see)")
    more: bool = Field(description="true: the page is full, ask again at once")
    resync: bool = Field(description="true: events after `after` were removed by retention; reload, then "
                                     "continue from `next_after`")


def stream_staff(request: Request, db: DbDep, settings: SettingsDep,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> StaffCtx:
    """The caller, checked with a session of its own that is closed at once: a stream lasts hours, and must not
    hold a pooled connection (and on SQLite an open read) for all that time."""
    with db.session(write=False) as session:
        return current_staff(request, session, db, settings, creds)


StreamStaff = Annotated[StaffCtx, Depends(stream_staff)]


def staff_reader(ctx: StaffCtx) -> service.Reader:
    return service.Reader(ctx.staff.role, doctor_id=ctx.staff.doctor_id)

SSE_DESCRIPTION = """\
`text/event-stream`. Each event: `id: <id>`, `event: <kind>`, `data: {id, kind, topic, object_type, object_id, at,
payload}`, only the events the caller may see (admin: all; doctor: clinical and prescription events of their own
patients; pharmacist: prescription; clerk: money), in id order.

Resume with the `Last-Event-ID` header (a browser's EventSource sends it) or `?after=`; without either the stream
starts at the newest event. Control events: `cursor` (`data: {last_id}`, with an `id:`) after the catch-up and
when the caller has been moved past events they may not see; `resync` (`data: {last_id}`) when events after the
cursor were removed by retention: reload, then continue; `session_expired` when the login ends, after which the
stream closes. A `: keep-alive` comment comes every 15 seconds of silence."""


@router.get("/staff/events", response_class=StreamingResponse, summary="Live event stream (Server-Sent Events)",
            description=SSE_DESCRIPTION,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "An endless stream of events"}})
async def events_stream(
    ctx: StreamStaff,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id")] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_ID,
                                                description="Resume after this event id (wins over `after`)")]
    = None,
) -> StreamingResponse:
    cursor = last_event_id if last_event_id is not None else after
    body = stream.stream(reader=staff_reader(ctx), session_id=ctx.session_id, cursor=cursor)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/staff/events/cursor", response_model=CursorOut, summary="The newest event id")
def events_cursor(ctx: CurrentStaff, session: SessionDep) -> CursorOut:
    return CursorOut(last_id=service.bounds(session)[1])


@router.get("/staff/events/since", response_model=EventPage, summary="A page of events after a cursor")
def events_since(
    ctx: CurrentStaff,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Events with a greater id")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> EventPage:
    oldest, newest = service.bounds(session)
    if service.cursor_too_old(cursor=after, oldest=oldest, newest=newest):
        return EventPage(events=[], next_after=newest, more=False, resync=True)
    # read up to the newest id seen above: ids commit in order, so nothing at or below it can still appear
    rows = service.visible_after(session, reader=staff_reader(ctx), after=after, upto=newest, limit=limit)
    full = len(rows) == limit
    return EventPage(events=[EventPublic.model_validate(service.public(e)) for e in rows],
                     next_after=rows[-1].id if full else newest, more=full, resync=False)
