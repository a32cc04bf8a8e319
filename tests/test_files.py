"""Uploads through the live server: judged by content, size-capped, private, ID photos encrypted at rest."""
from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator

import httpx
import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import insert, select, text

from server.appointments.models import Appointment, ConditionDescription, DescriptionFile
from server.catalogue.models import Doctor, Slot
from tests.conftest import LiveServer
from tests.helpers import register_account, staff_login

V1 = "/api/v1"
CAP = 10 * 1024 * 1024  # settings.upload_max_bytes (the test server runs with the default)


@pytest.fixture()
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client with its own address (through the loopback proxy header), so the shared server's per-address
    SMS cap is not spent by this module's registrations."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with live_server.client(headers={"X-Forwarded-For": ip}) as client:
        yield client


@pytest.fixture()
def holder(api: httpx.Client) -> dict:
    return register_account(api)


# --- content makers --------------------------------------------------------------------------------------


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48),
          colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def pdf(pages: int = 1) -> bytes:
    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    doc.close()
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of the given size whose pixels are all zero: tiny on the wire, huge when decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 500) for _ in range(height // 500))
    body += comp.compress(row * (height % 500))
    body += comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def upload(api: httpx.Client, who: dict, data: bytes, *, purpose: str = "feedback", name: str = "photo.jpg",
           ctype: str = "image/jpeg") -> httpx.Response:
    return api.post(f"{V1}/files", files={"file": (name, data, ctype)}, data={"purpose": purpose},
                    headers=who["headers"])


def stored_row(engine, file_id: int) -> dict:  # noqa: ANN001 - a SQLAlchemy engine
    with engine.connect() as c:
        return dict(c.execute(text("SELECT * FROM files WHERE id = :i"), {"i": file_id}).mappings().one())


def file_count(engine, account_id: int) -> int:  # noqa: ANN001
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM files WHERE account_id = :a"),
                         {"a": account_id}).scalar_one()


# --- judged by content -----------------------------------------------------------------------------------


def test_png_named_pdf_is_stored_as_png(api: httpx.Client, holder: dict) -> None:
    data = image("PNG")
    r = upload(api, holder, data, name="report.pdf", ctype="application/pdf", purpose="description")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "purpose", "content_type", "size", "created_at"}
    assert body["content_type"] == "image/png" and body["size"] == len(data)
    assert body["purpose"] == "description"
    got = api.get(f"{V1}/files/{body['id']}", headers=holder["headers"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png" and got.content == data
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("fmt,ctype", [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_jpeg_and_webp_accepted(api: httpx.Client, holder: dict, fmt: str, ctype: str) -> None:
    r = upload(api, holder, image(fmt), name="x.png", ctype="image/png", purpose="id_photo")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == ctype


def test_text_named_jpg_is_refused(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    r = upload(api, holder, "这不是图片 not an image\n".encode() * 20, name="photo.jpg", ctype="image/jpeg")
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "file_type_unsupported" and "JPG" in r.json()["message"]
    assert file_count(db_engine, holder["account"]["id"]) == 0


def test_truncated_jpeg_is_refused(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    whole = image("JPEG", size=(640, 480), colour=(10, 120, 240))
    r = upload(api, holder, whole[: len(whole) // 2])
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "image_invalid"
    assert file_count(db_engine, holder["account"]["id"]) == 0


def test_huge_dimension_pngs_are_refused(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    bomb = png_bomb(30_000, 30_000)  # 900 megapixels in about a hundred kilobytes
    assert len(bomb) < 1024 * 1024
    r = upload(api, holder, bomb, name="a.png", ctype="image/png")
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "image_too_large"
    # above the service's own limit but below the decoder's bomb guard
    r = upload(api, holder, png_bomb(8_000, 8_000), name="b.png", ctype="image/png")
    assert r.status_code == 413 and r.json()["code"] == "image_too_large"
    assert file_count(db_engine, holder["account"]["id"]) == 0


def test_pdf_only_for_descriptions(api: httpx.Client, holder: dict) -> None:
    doc = pdf(pages=2)
    ok = upload(api, holder, doc, name="lab.pdf", ctype="application/pdf", purpose="description")
    assert ok.status_code == 201, ok.text
    assert ok.json()["content_type"] == "application/pdf"
    assert api.get(f"{V1}/files/{ok.json()['id']}", headers=holder["headers"]).content == doc
    for purpose in ("id_photo", "feedback"):
        r = upload(api, holder, doc, name="lab.pdf", ctype="application/pdf", purpose=purpose)
        assert r.status_code == 415, r.text
        assert r.json()["code"] == "file_type_unsupported"
        assert "PDF" not in r.json()["message"]


def test_broken_and_oversized_pdfs_are_refused(api: httpx.Client, holder: dict) -> None:
    r = upload(api, holder, b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", name="x.pdf",
               ctype="application/pdf", purpose="description")
    assert r.status_code == 415 and r.json()["code"] == "pdf_invalid", r.text
    r = upload(api, holder, pdf(pages=51), name="x.pdf", ctype="application/pdf", purpose="description")
    assert r.status_code == 413 and r.json()["code"] == "pdf_too_many_pages", r.text


def test_empty_file_is_refused(api: httpx.Client, holder: dict) -> None:
    r = upload(api, holder, b"")
    assert r.status_code == 422 and r.json()["code"] == "file_empty", r.text


def test_bad_purpose_and_missing_file(api: httpx.Client, holder: dict) -> None:
    r = upload(api, holder, image(), purpose="doctor_photo")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = api.post(f"{V1}/files", data={"purpose": "feedback"}, headers=holder["headers"],
                 files={"other": ("x", b"1", "text/plain")})
    assert r.status_code == 422


def test_upload_needs_login(api: httpx.Client) -> None:
    r = api.post(f"{V1}/files", files={"file": ("a.png", image(), "image/png")}, data={"purpose": "feedback"})
    assert r.status_code == 401


def test_too_large_is_refused(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    # one byte over the cap: the file is read up to the cap and refused
    data = image("JPEG") + b"\x00" * (CAP + 1 - len(image("JPEG")))
    r = upload(api, holder, data)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "file_too_large" and "10MB" in r.json()["message"]
    # far over: the declared length alone refuses it
    r = upload(api, holder, b"\xff\xd8\xff" + b"\x00" * (CAP + 512 * 1024))
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "file_too_large"
    # exactly the cap is fine as far as size goes (then judged by content)
    r = upload(api, holder, b"\xff\xd8\xff" + b"\x00" * (CAP - 3))
    assert r.status_code == 415 and r.json()["code"] == "image_invalid"
    assert file_count(db_engine, holder["account"]["id"]) == 0


# --- storage ---------------------------------------------------------------------------------------------


def test_id_photos_are_encrypted_at_rest(api: httpx.Client, holder: dict, live_server: LiveServer,
                                         db_engine) -> None:  # noqa: ANN001
    data = image("PNG", colour=(1, 2, 3))
    r = upload(api, holder, data, name="front.png", ctype="image/png", purpose="id_photo")
    assert r.status_code == 201, r.text
    row = stored_row(db_engine, r.json()["id"])
    assert row["encrypted"] in (1, True) and row["content_type"] == "image/png"
    assert "front" not in row["storage_name"]
    on_disk = (live_server.data_dir / "files" / row["storage_name"]).read_bytes()
    assert on_disk != data and b"PNG" not in on_disk[:64] and data not in on_disk
    assert api.get(f"{V1}/files/{r.json()['id']}", headers=holder["headers"]).content == data

    plain = upload(api, holder, data, name="report.png", ctype="image/png", purpose="description")
    prow = stored_row(db_engine, plain.json()["id"])
    assert prow["encrypted"] in (0, False)
    assert (live_server.data_dir / "files" / prow["storage_name"]).read_bytes() == data
    assert prow["storage_name"] != row["storage_name"]
    assert len(prow["storage_name"].split("/")) == 3  # two-level fan-out


def test_files_are_private_to_their_owner(api: httpx.Client, holder: dict) -> None:
    mine = upload(api, holder, image(), name="a.png", ctype="image/png", purpose="id_photo").json()["id"]
    other = register_account(api)
    theirs = api.get(f"{V1}/files/{mine}", headers=other["headers"])
    absent = api.get(f"{V1}/files/{2**53}", headers=other["headers"])
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json() == absent.json()
    assert theirs.json()["code"] == "not_found"
    assert api.get(f"{V1}/files/{mine}").status_code == 401
    assert api.get(f"{V1}/files/{2**63}", headers=holder["headers"]).status_code == 422
    assert api.get(f"{V1}/files/0", headers=holder["headers"]).status_code == 422


# --- staff access ----------------------------------------------------------------------------------------


def _attach_to_appointment(engine, *, account_id: int, file_id: int, doctor_id: int) -> None:  # noqa: ANN001
    """Arrange what the appointments slice does on a submitted description: an appointment with the doctor,
    its description, the attachment. A patient row is needed for the appointment's foreign key."""
    from server.patients.models import Patient
    from server.timeutil import now

    with engine.begin() as c:
        slot = c.execute(select(Slot).where(Slot.doctor_id == doctor_id).limit(1)).mappings().first()
        doctor = c.execute(select(Doctor).where(Doctor.id == doctor_id)).mappings().one()
        assert slot is not None, "demo data should give every doctor slots"
        t = now()
        patient_id = c.execute(insert(Patient).values(
            account_id=account_id, kind="first_visit", name="测试", sex="male", nationality="中国",
            ethnicity="汉族",
            id_type="passport", id_number_enc="x", id_number_digest=f"test-{random.random()}",
            id_number_masked="E1****67", created_at=t).returning(Patient.id)).scalar_one()
        appt_id = c.execute(insert(Appointment).values(
            number=f"T{random.getrandbits(48)}", account_id=account_id, patient_id=patient_id,
            doctor_id=doctor_id, department_id=doctor["department_id"], slot_id=slot["id"],
            starts_at=slot["starts_at"], ends_at=slot["ends_at"], fee_fen=doctor["fee_fen"],
            status="completed", notice_version=1, created_at=t).returning(Appointment.id)).scalar_one()
        desc_id = c.execute(insert(ConditionDescription).values(appointment_id=appt_id, text="头晕两周",
                                                                submitted_at=t)
                            .returning(ConditionDescription.id)).scalar_one()
        c.execute(insert(DescriptionFile).values(description_id=desc_id, file_id=file_id, position=0))


def test_staff_file_access(api: httpx.Client, holder: dict, db_engine) -> None:  # noqa: ANN001
    report = upload(api, holder, pdf(), name="r.pdf", ctype="application/pdf",
                    purpose="description").json()["id"]
    photo = upload(api, holder, image(), name="id.png", ctype="image/png", purpose="id_photo").json()["id"]
    admin, clerk, pharmacist = (staff_login(api, u) for u in ("admin", "clerk", "pharmacist"))
    doctor1, doctor2 = staff_login(api, "doctor1"), staff_login(api, "doctor2")

    assert api.get(f"{V1}/staff/files/{report}", headers=admin).status_code == 200
    got = api.get(f"{V1}/staff/files/{photo}", headers=admin)
    assert got.status_code == 200 and got.content == image()
    absent = api.get(f"{V1}/staff/files/{2**53}", headers=doctor1)
    assert absent.status_code == 404
    for who in (clerk, pharmacist, doctor1, doctor2):
        for fid in (report, photo):
            r = api.get(f"{V1}/staff/files/{fid}", headers=who)
            assert r.status_code == 404 and r.json() == absent.json()

    d1 = api.get(f"{V1}/staff/me", headers=doctor1).json()["doctor_id"]
    _attach_to_appointment(db_engine, account_id=holder["account"]["id"], file_id=report, doctor_id=d1)
    r = api.get(f"{V1}/staff/files/{report}", headers=doctor1)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    # the doctor of the appointment, nobody else; and never the ID photo
    assert api.get(f"{V1}/staff/files/{report}", headers=doctor2).status_code == 404
    assert api.get(f"{V1}/staff/files/{report}", headers=clerk).status_code == 404
    assert api.get(f"{V1}/staff/files/{photo}", headers=doctor1).status_code == 404
    # patients cannot use the staff route
    assert api.get(f"{V1}/staff/files/{report}", headers=holder["headers"]).status_code == 401
