"""Uploaded files: judged by their content, stored under server-made names, encrypted when they are ID photos.

What a client says about a file (its name, its Content-Type) is never believed: the type comes from the magic
bytes, and the file must then open completely in the matching decoder (Pillow for images, PDFium for PDFs). A
truncated photo, a text file called ``.jpg`` or a tiny PNG that claims a billion pixels is refused before
anything is written.

Bytes go to ``settings.files_dir`` under a random name in a two-level fan-out, written to a temporary file,
fsynced and renamed into place, so a crash leaves either the whole file or none. A file written in a
transaction that is then rolled back is deleted again (see the session listeners at the bottom), so a refused
request leaves no stray file behind.

Other slices use :func:`store`, :func:`read`, :func:`owned_files` and :func:`get_owned`.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pypdfium2 as pdfium
from PIL import Image
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from server import crypto
from server.actor import Actor
from server.appointments.models import Appointment, ConditionDescription, DescriptionFile
from server.config import get_settings
from server.errors import AppError, NotFound
from server.events.service import record_change
from server.files.models import StoredFile
from server.staff.models import Staff

log = logging.getLogger(__name__)

UploadPurpose = Literal["id_photo", "description", "feedback"]
PURPOSES = ("id_photo", "description", "feedback", "doctor_photo")

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
IMAGE_TYPES = (JPEG, PNG, WEBP)
CONTENT_TYPES = (JPEG, PNG, WEBP, PDF)
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}

ALLOWED: dict[str, tuple[str, ...]] = {
    "id_photo": IMAGE_TYPES,
    "feedback": IMAGE_TYPES,
    "doctor_photo": IMAGE_TYPES,
    "description": CONTENT_TYPES,  # lab reports and imaging often come as PDF
}
ENCRYPTED_PURPOSES = frozenset({"id_photo"})

# A phone camera's photo is 12–50 megapixels; decoding a bigger one costs hundreds of MB for nothing.
MAX_IMAGE_PIXELS = 50_000_000
PDF_MAX_PAGES = 50
CHUNK = 64 * 1024
# what a multipart request may carry besides the file itself (boundary, headers, the purpose field)
MULTIPART_OVERHEAD = 64 * 1024

# PDFium is not thread-safe; route handlers run in a thread pool
_PDFIUM_LOCK = threading.Lock()

_PENDING = "files_written"


# ----------------------------------------------------------------------------------------------------------
# errors


def file_too_large() -> AppError:
    mib = get_settings().upload_max_bytes / (1024 * 1024)
    return AppError("file_too_large", f"文件超过{mib:g}MB，请压缩后重新上传", status=413)


def _unsupported(purpose: str) -> AppError:
    if PDF in ALLOWED.get(purpose, ()):
        message = "仅支持JPG、PNG、WebP格式的图片或PDF文件，请重新选择"
    else:
        message = "仅支持JPG、PNG、WebP格式的图片，请重新选择"
    return AppError("file_type_unsupported", message, status=415, details={"purpose": purpose})


def _image_invalid() -> AppError:
    return AppError("image_invalid", "图片已损坏或不完整，无法打开，请重新拍摄或选择", status=415)


def _image_too_large() -> AppError:
    limit = f"{MAX_IMAGE_PIXELS // 10_000}万像素"
    return AppError("image_too_large", f"图片像素过大（超过{limit}），请缩小后重新上传", status=413)


def _file_not_found() -> AppError:
    return AppError("file_not_found", "文件不存在或无权使用，请重新上传", status=404)


# ----------------------------------------------------------------------------------------------------------
# content checks


def sniff(head: bytes) -> str | None:
    """The type the bytes themselves announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _check_image(data: bytes, content_type: str) -> None:
    fmt = _PIL_FORMATS[content_type]
    try:
        # only the decoder the magic bytes named may read it: no format confusion
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            width, height = im.size
            if width < 1 or height < 1:
                raise _image_invalid()
            if width * height > MAX_IMAGE_PIXELS:
                raise _image_too_large()
            im.verify()
        # verify() leaves the image unusable and does not decode pixels; a full load catches truncation
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            im.load()
    except AppError:
        raise
    except Image.DecompressionBombError as exc:
        raise _image_too_large() from exc
    except Exception as exc:  # Pillow reports damage as OSError, SyntaxError, ValueError, struct.error …
        raise _image_invalid() from exc


def _check_pdf(data: bytes) -> None:
    with _PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except Exception as exc:  # PdfiumError mostly; whatever the parser dislikes is a broken file to us
            if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
                raise AppError("pdf_encrypted", "PDF文件设有密码，请取消密码后重新上传", status=415) from exc
            raise AppError("pdf_invalid", "PDF文件已损坏或无法打开，请重新选择", status=415) from exc
        try:
            pages = len(doc)
            if pages < 1:
                raise AppError("pdf_invalid", "PDF文件没有内容，请重新选择", status=415)
            if pages > PDF_MAX_PAGES:
                raise AppError("pdf_too_many_pages",
                               f"PDF文件页数过多（最多{PDF_MAX_PAGES}页），请拆分后上传", status=413)
            for i in range(pages):
                doc[i].close()
        except AppError:
            raise
        except Exception as exc:
            raise AppError("pdf_invalid", "PDF文件已损坏或无法打开，请重新选择", status=415) from exc
        finally:
            doc.close()


def inspect_content(data: bytes, *, purpose: str) -> str:
    """Decide the file's type from its content and prove it opens; return the content type to store."""
    if not data:
        raise AppError("file_empty", "文件内容为空，请重新选择", status=422)
    if len(data) > get_settings().upload_max_bytes:
        raise file_too_large()
    content_type = sniff(data[:16])
    if content_type is None or content_type not in ALLOWED.get(purpose, ()):
        raise _unsupported(purpose)
    if content_type == PDF:
        _check_pdf(data)
    else:
        _check_image(data, content_type)
    return content_type


def read_capped(stream: BinaryIO, *, limit: int | None = None) -> bytes:
    """Read a stream in chunks, stopping as soon as it passes the cap (the rest is never read)."""
    limit = get_settings().upload_max_bytes if limit is None else limit
    buf = bytearray()
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise file_too_large()


# ----------------------------------------------------------------------------------------------------------
# storage


def _root() -> Path:
    return get_settings().files_dir


def _path(storage_name: str) -> Path:
    return _root() / storage_name


def _new_storage_name() -> str:
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name[2:4]}/{name}"


def _fsync_dir(path: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a directory for fsync
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def store(session: Session, *, account_id: int | None, purpose: str, data: bytes | BinaryIO,
          filename: str = "") -> StoredFile:
    """Check, write and record one file in the caller's transaction; return its row (flushed, with an id).

    ``data`` may be the bytes or a binary stream (read in chunks up to the size cap). Nothing touches the
    database until the bytes are judged and safely on disk, so a caller that has no transaction open holds no
    database lock during the slow part.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown file purpose: {purpose}")
    raw = data if isinstance(data, (bytes, bytearray, memoryview)) else read_capped(data)
    raw = bytes(raw)
    content_type = inspect_content(raw, purpose=purpose)
    storage_name = _new_storage_name()
    encrypted = purpose in ENCRYPTED_PURPOSES
    blob = crypto.encrypt_bytes(raw, aad=storage_name.encode()) if encrypted else raw
    path = _path(storage_name)
    _write_atomically(path, blob)
    session.info.setdefault(_PENDING, []).append(str(path))
    row = StoredFile(account_id=account_id, purpose=purpose, content_type=content_type, size=len(raw),
                     sha256=hashlib.sha256(raw).hexdigest(), storage_name=storage_name, encrypted=encrypted,
                     original_name=_safe_name(filename))
    session.add(row)
    session.flush()
    return row


def upload(session: Session, *, actor: Actor, account_id: int, purpose: str, data: bytes | BinaryIO,
           filename: str = "") -> StoredFile:
    """An account holder's upload: :func:`store` plus the audited event (no file content in the payload)."""
    row = store(session, account_id=account_id, purpose=purpose, data=data, filename=filename)
    record_change(session, actor=actor, kind="file.uploaded", object_type="file", object_id=row.id,
                  topic="admin", account_id=account_id,
                  payload={"purpose": purpose, "content_type": row.content_type, "size": row.size})
    return row


def _safe_name(filename: str | None) -> str:
    """The client's name, kept only as a label: no path, no control characters, bounded."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200]


def read(file: StoredFile) -> bytes:
    """The file's original bytes (decrypted when stored encrypted), checked against the recorded digest."""
    try:
        blob = _path(file.storage_name).read_bytes()
        data = crypto.decrypt_bytes(blob, aad=file.storage_name.encode()) if file.encrypted else blob
    except (OSError, crypto.DecryptionError) as exc:
        log.error("file %s unreadable: %s", file.id, exc)
        raise AppError("file_unavailable", "文件暂时无法读取，请重新上传", status=404) from exc
    if hashlib.sha256(data).hexdigest() != file.sha256:
        log.error("file %s does not match its recorded digest", file.id)
        raise AppError("file_unavailable", "文件暂时无法读取，请重新上传", status=404)
    return data


# ----------------------------------------------------------------------------------------------------------
# look-ups and access


def get_owned(session: Session, *, account_id: int, file_id: int) -> StoredFile:
    row = session.get(StoredFile, file_id)
    if row is None or row.account_id != account_id:
        raise NotFound("文件")
    return row


def owned_files(session: Session, *, account_id: int, file_ids: Iterable[int],
                purpose: str) -> list[StoredFile]:
    """The account's files of ``purpose`` in the order given (repeats dropped); ``file_not_found`` if any of
    them is absent, someone else's, or uploaded for another purpose."""
    wanted = list(dict.fromkeys(file_ids))
    if not wanted:
        return []
    rows = session.execute(select(StoredFile).where(StoredFile.id.in_(wanted),
                                                    StoredFile.account_id == account_id,
                                                    StoredFile.purpose == purpose)).scalars().all()
    by_id = {r.id: r for r in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        err = _file_not_found()
        err.details = {"file_ids": missing}
        raise err
    return [by_id[i] for i in wanted]


def staff_may_read(session: Session, *, staff: Staff, file: StoredFile) -> bool:
    """Admins read every file; a doctor reads what patients attached to descriptions of appointments with that
    doctor; nobody else (clerks and pharmacists never see ID photos or clinical attachments)."""
    if staff.role == "admin":
        return True
    if staff.role == "doctor" and staff.doctor_id is not None and file.purpose == "description":
        hit = session.execute(
            select(DescriptionFile.id)
            .join(ConditionDescription, ConditionDescription.id == DescriptionFile.description_id)
            .join(Appointment, Appointment.id == ConditionDescription.appointment_id)
            .where(DescriptionFile.file_id == file.id, Appointment.doctor_id == staff.doctor_id)
            .limit(1)).first()
        return hit is not None
    return False


def get_for_staff(session: Session, *, staff: Staff, file_id: int) -> StoredFile:
    row = session.get(StoredFile, file_id)
    if row is None or not staff_may_read(session, staff=staff, file=row):
        raise NotFound("文件")
    return row


# ----------------------------------------------------------------------------------------------------------
# no stray files: bytes written in a transaction that does not commit are deleted


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_unreferenced(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:
        return
    for p in session.info.pop(_PENDING, ()):
        try:
            Path(p).unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove the file of a rolled-back upload: %s", p)
