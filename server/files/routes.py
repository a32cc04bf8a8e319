"""Uploading and fetching files: one file per upload; owners and entitled staff fetch the bytes."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, Response, UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from server.config import get_settings
from server.deps import CurrentAccount, CurrentStaff, SessionDep
from server.files import service
from server.files.models import StoredFile
from server.files.service import CONTENT_TYPES, EXTENSIONS, UploadPurpose

FileId = Annotated[int, Path(ge=1, le=2**53, description="File id")]


class FilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    purpose: str
    content_type: str
    size: int
    created_at: dt.datetime


class _BodyTooLarge(Exception):
    pass


class UploadRoute(APIRoute):
    """Caps the request body while it streams in: an oversized upload is refused after at most the cap has
    been read (at once when Content-Length already says so), with the service's ``file_too_large`` error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            limit = get_settings().upload_max_bytes + service.MULTIPART_OVERHEAD
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise service.file_too_large()
            seen = 0
            receive = request.receive

            async def limited() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _BodyTooLarge()
                return message

            try:
                return await original(Request(request.scope, limited))
            except StarletteHTTPException as exc:
                # FastAPI reports any failure while parsing a form as a 400 with the cause chained
                if isinstance(exc.__cause__, _BodyTooLarge):
                    raise service.file_too_large() from exc
                raise

        return handler


router = APIRouter(tags=["files"])
upload_router = APIRouter(tags=["files"], route_class=UploadRoute)

_BYTES = {
    200: {
        "description": "The file's bytes, with the type detected at upload",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in CONTENT_TYPES},
    }
}


def _file_response(row: StoredFile, data: bytes) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="file-{row.id}.{EXTENSIONS.get(row.content_type, "bin")}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content=data, media_type=row.content_type, headers=headers)


@upload_router.post(
    "/files", status_code=201, response_model=FilePublic,
    summary="Upload one file (ID photo, description, feedback)",
    description="Multipart: `file` and `purpose`. The type is judged by content: JPEG, PNG or WebP images "
                "for every purpose, PDF also for `description`. ID photos are stored encrypted.",
    form_limits={"max_files": 1, "max_fields": 4},
)
def upload_file(ctx: CurrentAccount, session: SessionDep,
                file: Annotated[UploadFile, File(description="The file (one per request)")],
                purpose: Annotated[UploadPurpose, Form(description="What the file is for")]) -> FilePublic:
    # End the login check's transaction: on SQLite a writer request holds the database's write lock from its
    # first statement, and decoding an image or a PDF must not keep every other writer waiting. The service
    # judges and writes the bytes before its first statement, so the lock is held only for the insert.
    session.commit()
    row = service.upload(session, actor=ctx.actor, account_id=ctx.account.id, purpose=purpose, data=file.file,
                         filename=file.filename or "")
    session.commit()
    return FilePublic.model_validate(row)


@router.get("/files/{file_id}", response_class=Response, responses=_BYTES, summary="Fetch one of my files")
def get_my_file(ctx: CurrentAccount, session: SessionDep, file_id: FileId) -> Response:
    row = service.get_owned(session, account_id=ctx.account.id, file_id=file_id)
    return _file_response(row, service.read(row))


@router.get("/staff/files/{file_id}", response_class=Response, responses=_BYTES,
            summary="Fetch a file as staff (admin; a doctor for attachments of own appointments)")
def get_staff_file(ctx: CurrentStaff, session: SessionDep, file_id: FileId) -> Response:
    row = service.get_for_staff(session, staff=ctx.staff, file_id=file_id)
    return _file_response(row, service.read(row))


router.include_router(upload_router)
