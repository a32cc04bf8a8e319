"""``clinic-server simulate``: account holders who use the service the way the mini-program does.

Each simulated holder registers (the SMS code comes from the development outbox), adds one of the demo HIS
patients as a returning patient (ID photos drawn on the fly), accepts the notice, books the earliest slot in the
department of the patient's past visit, pays through the sandbox gateway, checks in when the window opens,
describes the condition with a drawn lab report, and waits for the doctor — then starts over. While waiting it
stays on the waiting page with its phone's side of the video call running (server/patient_call.py: it answers the
doctor's call with a moving test picture and a tone, echoes the heartbeat, answers consent requests), so a doctor at
the workstation can call it; ``--no-video`` leaves that out. It speaks only the public HTTP API
(docs/api-contract.md); from the server package it imports nothing but the static demo data and the patient's call
client, so it can run against any deployment that has the demo data loaded.

A failed request is logged with its code and message and retried after a pause; a step that keeps failing ends
the journey (counted as failed). Ctrl-C stops every holder after its current request.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import random
import re
import signal
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from PIL import Image, ImageDraw, ImageFont

from server import demo_catalogue as cat

TZ = ZoneInfo("Asia/Shanghai")
API = "/api/v1"
ACTIVE = ("pending_payment", "booked", "checked_in", "waiting", "in_consultation")
FINISHED = ("completed", "expired", "cancelled", "missed", "cancelled_by_hospital")
STEP_ATTEMPTS = 8
POLL_S = 3.0
PAYMENT_WAIT_S = 120.0
# after a visit with a prescription consent: how long the patient waits for the doctor to sign and the pharmacist
# to approve (a person at a desk) before going on without the drugs
PRESCRIPTION_WAIT_S = 900.0
# how long a patient follows a refund before going on: the gateway settles in moments, while a clerk may review an
# application hours later (the next journey must not wait for that)
REFUND_WAIT_S = 120.0
REVIEW_WAIT_S = 20.0
APPLICATION_REASONS = ("临时有事未能按时就诊，申请退号", "网络信号差，没有接到医生的视频呼叫", "家中老人突发不适，未能签到",
                       "记错了就诊时间，未能签到")
# a patient at home in Beijing (Xicheng), for the nearest pickup pharmacy
HOME = (39.91, 116.37)
# the doctor may run late: keep waiting this long after the slot's check-in window has closed
WAIT_GRACE = dt.timedelta(minutes=30)

T = TypeVar("T")


def now() -> dt.datetime:
    return dt.datetime.now(TZ)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(TZ)


# ------------------------------------------------------------------------------------------------- errors


class ApiError(Exception):
    """A refused or failed request: HTTP status (0 for a network failure), the service's code and message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    @property
    def retry_after(self) -> float | None:
        if isinstance(self.details, dict) and isinstance(self.details.get("retry_after_s"), (int, float)):
            return float(self.details["retry_after_s"])
        return None


class Stopped(Exception):
    """Ctrl-C: leave at once, nothing failed."""


class JourneyFailed(Exception):
    """A step kept failing; this journey is given up."""


# ------------------------------------------------------------------------------------------------ drawing

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


@functools.cache
def cjk_font_path() -> str | None:
    """A font that can draw Chinese, if the machine has one (fontconfig first, then well-known paths)."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5,
                             check=False).stdout
        for line in sorted(out.splitlines()):
            path = line.strip().rstrip(":")
            if path and Path(path).is_file():
                return path
    except (OSError, subprocess.SubprocessError):
        pass
    return next((p for p in _FONT_CANDIDATES if Path(p).is_file()), None)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, fill: str = "#222") -> None:
    if cjk_font_path() is None:
        text = text.encode("ascii", "replace").decode()  # without a CJK font Chinese would draw as boxes
    draw.text(xy, text, font=_font(size), fill=fill)


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def id_card_image(patient: cat.DemoPatient, *, side: str) -> bytes:
    """A small card-like JPEG standing in for a photo of the ID card's front (portrait side) or back."""
    img = Image.new("RGB", (428, 270), "#e9f1f7")
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((6, 6, 421, 263), radius=18, outline="#7a9cb8", width=3)
    if side == "front":
        sex = "男" if patient.sex == "male" else "女"
        b = patient.birth_date
        _text(d, (24, 26), f"姓名  {patient.name}", 20)
        _text(d, (24, 62), f"性别  {sex}    民族  汉", 18)
        _text(d, (24, 94), f"出生  {b.year}年{b.month}月{b.day}日", 18)
        _text(d, (24, 126), f"住址  {patient.residence_region}", 16)
        _text(d, (72, 150), patient.residence_address, 16)
        _text(d, (24, 212), f"公民身份号码  {patient.id_number}", 18)
        d.rectangle((300, 30, 400, 160), fill="#c9d6e2", outline="#8aa")
        d.ellipse((325, 48, 375, 98), fill="#9fb3c8")
        d.rounded_rectangle((315, 100, 385, 160), radius=20, fill="#9fb3c8")
    else:
        d.ellipse((24, 22, 94, 92), outline="#c0392b", width=3)
        _text(d, (120, 30), "中华人民共和国", 24, "#333")
        _text(d, (120, 70), "居民身份证", 30, "#333")
        _text(d, (60, 170), "签发机关  某某市公安局某某分局", 16)
        _text(d, (60, 205), "有效期限  2016.05.10-2036.05.10", 16)
    return _jpeg(img)


def report_image(patient: cat.DemoPatient, *, title: str, rng: random.Random) -> bytes:
    """A lab-report-like JPEG (检验报告) with a few plausible-looking rows."""
    img = Image.new("RGB", (600, 420), "white")
    d = ImageDraw.Draw(img)
    _text(d, (170, 16), "北京大学人民医院 检验报告", 22)
    _text(d, (24, 56), f"{title}    姓名：{patient.name}    日期：{now():%Y-%m-%d}", 16)
    d.line((20, 86, 580, 86), fill="#555", width=2)
    for x, head in ((24, "项目"), (220, "结果"), (340, "参考范围")):
        _text(d, (x, 96), head, 16)
    rows = (("白细胞计数", 4.0, 10.0, "10^9/L"), ("血红蛋白", 115, 160, "g/L"), ("血小板计数", 100, 300, "10^9/L"),
            ("空腹血糖", 3.9, 6.1, "mmol/L"), ("碱性磷酸酶", 45, 125, "U/L"), ("促甲状腺激素", 0.27, 4.2, "mIU/L"))
    for i, (name, lo, hi, unit) in enumerate(rows):
        value = round(rng.uniform(lo * 0.8, hi * 1.15), 1)
        flag = "↑" if value > hi else ("↓" if value < lo else "")
        y = 130 + i * 34
        _text(d, (24, y), name, 16)
        _text(d, (220, y), f"{value} {flag}", 16, "#c0392b" if flag else "#222")
        _text(d, (340, y), f"{lo}-{hi} {unit}", 16)
    _text(d, (24, 380), "本报告仅对本次标本负责", 14, "#777")
    return _jpeg(img)


# ------------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class Holder:
    """A simulated account holder and the demo patient they bring."""

    index: int
    mobile: str
    password: str
    name: str
    relation: str  # the patient's relation to the holder (与本人关系): self | parent
    patient: cat.DemoPatient


_GIVEN = ("明", "丽", "军", "静", "磊", "婷", "浩", "霞", "鹏", "敏")
MARITAL = {"未婚": "unmarried", "已婚": "married", "离异": "divorced", "丧偶": "widowed"}


def plan(*, patients: int, seed: int | None, department_code: str | None = None) -> list[Holder]:
    """Who is simulated: distinct demo patients (while they last), distinct mobile numbers, from ``seed``.

    With ``department_code`` only patients eligible there are chosen (to fill one doctor's queue)."""
    rng = random.Random(seed)
    pool = eligible_pool(department_code)
    rng.shuffle(pool)
    mobiles: set[str] = set()
    return [new_holder(i + 1, pool[i % len(pool)], rng, mobiles) for i in range(patients)]


def eligible_pool(department_code: str | None) -> list[cat.DemoPatient]:
    return [p for p in cat.DEMO_HIS_PATIENTS if department_code is None or department_code in p.department_codes]


def new_holder(index: int, p: cat.DemoPatient, rng: random.Random, mobiles: set[str]) -> Holder:
    """An account holder with a mobile number not in ``mobiles`` (added to it), bringing demo patient ``p``."""
    while True:
        mobile = "1" + rng.choice("3456789") + "".join(rng.choice(string.digits) for _ in range(9))
        if mobile not in mobiles:
            mobiles.add(mobile)
            break
    password = "".join(rng.choice(string.ascii_lowercase) for _ in range(6)) + \
        "".join(rng.choice(string.digits) for _ in range(4))
    if p.birth_date.year < 1956:  # an elderly patient: a son or daughter holds the account
        name, relation = p.name[0] + rng.choice(_GIVEN), "parent"
    else:
        name, relation = p.name, "self"
    return Holder(index, mobile, password, name, relation, p)


# ---------------------------------------------------------------------------------------------- the API


class Api:
    """The public HTTP API as one account holder's phone talks to it."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.token: str | None = None

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            r = self.http.request(method, API + path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise ApiError(0, "network_error", f"{type(exc).__name__}: {exc}") from exc
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise ApiError(r.status_code, str(body.get("code", "http_error")),
                           str(body.get("message", r.text[:200])), body.get("details"))
        if r.status_code == 204 or not r.content:
            return None
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None) -> Any:
        return self.call("POST", path, json=json)

    def upload(self, *, purpose: str, name: str, data: bytes) -> int:
        body = self.call("POST", "/files", data={"purpose": purpose}, files={"file": (name, data, "image/jpeg")})
        return int(body["id"])


# ------------------------------------------------------------------------------------------------ output


class Log:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            print(f"{now():%H:%M:%S} {text}", flush=True)


# -------------------------------------------------------------------------------------------- a journey


@dataclass
class Booking:
    id: int
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    department_code: str
    department_name: str
    doctor_name: str
    checkin_opens_at: dt.datetime
    checkin_closes_at: dt.datetime

    @property
    def give_up_at(self) -> dt.datetime:
        """When waiting for a call that has not come stops (the doctor may run a little late)."""
        return max(self.checkin_closes_at, self.ends_at) + WAIT_GRACE

    @property
    def where(self) -> str:
        """How the log names it: 神经内科 张秀兰医生 10:30."""
        return f"{self.department_name} {self.doctor_name}医生 {self.starts_at:%H:%M}"


@dataclass
class Sim:
    holder: Holder
    base_url: str
    pace: float
    rounds: int
    stop: threading.Event
    log: Log
    rng: random.Random
    done: int = 0
    failed: int = 0
    patient_id: int | None = None
    # book only with this doctor (and so only in their department): `make run` fills the signed-in doctor's queue
    only_doctor: int | None = None
    only_department: str | None = None
    # keep the phone's side of the video call running while waiting (server/patient_call.py)
    video: bool = True
    # the share of paid bookings the patient cancels before the time (退号, path 1 of the refunds)
    cancel_rate: float = 0.0
    # how long the patient watches an application wait for the clerk's review before going on
    review_wait: float = REVIEW_WAIT_S
    _departments: dict[str, dict[str, Any]] = field(default_factory=dict)
    _doctors: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (doctor id, day) the service refused as a duplicate booking, and appointments given up on
    _avoid: set[tuple[int, dt.date]] = field(default_factory=set)
    _abandoned: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.api = Api(self.base_url)
        self.tag = f"[sim {self.holder.index}] {self.holder.patient.name}"

    def next_holder(self) -> None:
        """``--doctor`` mode, after each journey: the doctor's next patient comes with an account of their own.
        A patient books a doctor once a day, so the same patient cannot come back today; without this the
        doctor's queue would stop growing after the first round."""
        p = self.rng.choice(eligible_pool(self.only_department))
        self.holder = new_holder(self.holder.index, p, self.rng, set())
        self.tag = f"[sim {self.holder.index}] {p.name}"
        self.api.token = None
        self.patient_id = None
        self._avoid.clear()
        self.say("a new patient arrives")
        self.register()
        self.beat()
        self.add_patient()

    # --- plumbing --------------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.log.line(f"{self.tag}: {text}")

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise Stopped
        if self.stop.is_set():
            raise Stopped

    def beat(self) -> None:
        """The pause between two steps, with jitter, as a person taps through the pages."""
        self.sleep(self.pace * self.rng.uniform(0.5, 1.5) if self.pace > 0 else 0)

    def step(self, label: str, fn: Callable[[], T], *, attempts: int = STEP_ATTEMPTS) -> T:
        """Run one step; on an API error log it, pause and try again, up to ``attempts`` times."""
        tries = 0
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return fn()
            except ApiError as exc:
                if exc.status == 401 and self.api.token is not None:
                    self.say(f"{label}: {exc.code} {exc.message}; logging in again")
                    self.api.token = None
                    self.login()
                    continue
                wait = exc.retry_after
                if exc.status == 429 and wait is not None:  # throttled: waiting is the fix, not a failure
                    self.say(f"{label}: {exc.code} {exc.message}; waiting {wait:.0f}s")
                    self.sleep(wait + 0.5)
                    continue
                tries += 1
                if tries >= attempts:
                    self.say(f"{label}: {exc.status} {exc.code} {exc.message}; giving up after {tries} tries")
                    raise JourneyFailed(label) from exc
                pause = min(30.0, max(self.pace, 1.0) * 2 ** (tries - 1)) * self.rng.uniform(0.8, 1.2)
                self.say(f"{label}: {exc.status} {exc.code} {exc.message}; retrying in {pause:.1f}s")
                self.sleep(pause)

    def sms_code(self, mobile: str, after_id: int) -> str:
        """The six digits of the newest message to ``mobile`` newer than ``after_id`` (the development outbox)."""
        deadline = time.monotonic() + 15
        while True:
            for msg in self.api.get("/dev/sms", mobile=mobile, limit=5):
                if int(msg["id"]) > after_id:
                    m = re.search(r"(?<!\d)(\d{6})(?!\d)", msg["body"])
                    if m:
                        return m.group(1)
            if time.monotonic() > deadline:
                raise ApiError(0, "sms_missing", f"no SMS code reached {mobile}")
            self.sleep(0.3)

    def last_sms_id(self, mobile: str) -> int:
        msgs = self.api.get("/dev/sms", mobile=mobile, limit=1)
        return int(msgs[0]["id"]) if msgs else 0

    # --- account and patient -----------------------------------------------------------------------------------

    def login(self) -> None:
        h = self.holder

        def by_password() -> None:
            try:
                body = self.api.post("/auth/login/password", {"mobile": h.mobile, "password": h.password})
            except ApiError as exc:
                if exc.status not in (400, 401):
                    raise
                before = self.last_sms_id(h.mobile)  # the password was changed elsewhere: an SMS code works
                self.api.post("/sms/codes", {"mobile": h.mobile, "purpose": "login"})
                body = self.api.post("/auth/login/sms", {"mobile": h.mobile,
                                                         "code": self.sms_code(h.mobile, before)})
            self.api.token = body["token"]

        self.step("log in", by_password)
        self.say(f"logged in as {h.mobile}")

    def register(self) -> None:
        h = self.holder

        def attempt() -> bool:
            before = self.last_sms_id(h.mobile)
            try:
                self.api.post("/sms/codes", {"mobile": h.mobile, "purpose": "register"})
            except ApiError as exc:
                if exc.code == "mobile_registered":
                    return False
                raise
            code = self.sms_code(h.mobile, before)
            body = self.api.post("/auth/register", {"mobile": h.mobile, "code": code, "password": h.password,
                                                    "password_confirm": h.password, "name": h.name})
            self.api.token = body["token"]
            return True

        if self.step("register", attempt):
            self.say(f"registered {h.mobile} as {h.name}")
        else:
            self.say(f"{h.mobile} is already registered")
            self.login()

    def patient_body(self, *, front: int, back: int, code: str) -> dict[str, Any]:
        """The seed 2.2 form of a returning patient, filled from the demo HIS record."""
        p, h = self.holder.patient, self.holder
        card_type, card_no = p.card
        in_beijing = p.residence_region.startswith("北京")
        if card_type == "hospital":
            visit_type = "self_pay"
        else:
            visit_type = "beijing_insurance" if in_beijing else "other_region_insurance"
        contact = h.name if h.relation != "self" else p.name[0] + self.rng.choice(_GIVEN)
        return {
            "kind": "returning", "name": p.name, "sex": p.sex, "nationality": "中国", "ethnicity": "汉族",
            "id_type": "resident_id", "id_number": p.id_number, "card_type": card_type, "card_no": card_no,
            "id_front_file_id": front, "id_back_file_id": back,
            "came_to_beijing": not in_beijing,
            "residence_region": p.residence_region, "residence_address": p.residence_address,
            "beijing_region": p.residence_region if in_beijing else "北京市 西城区",
            "beijing_address": p.residence_address if in_beijing else "西直门南大街11号 宾馆",
            "visit_type": visit_type,
            "employer": "" if p.occupation in ("退休", "学生", "研究生") else "北京某某有限公司",
            "contact_name": contact, "contact_mobile": h.mobile, "occupation": p.occupation,
            "marital_status": MARITAL.get(p.marital_status, "other"), "relation": h.relation, "code": code,
        }

    def add_patient(self) -> None:
        p = self.holder.patient

        def find() -> int | None:
            for row in self.api.get("/patients"):
                if row.get("name") == p.name and row.get("card_no") == p.card[1]:
                    return int(row["id"])
            return None

        existing = self.step("list patients", find)
        if existing is not None:
            self.patient_id = existing
            self.say(f"patient {p.name} already on the account (#{existing})")
            return
        front = self.step("upload ID front", lambda: self.api.upload(
            purpose="id_photo", name="id_front.jpg", data=id_card_image(p, side="front")))
        back = self.step("upload ID back", lambda: self.api.upload(
            purpose="id_photo", name="id_back.jpg", data=id_card_image(p, side="back")))
        self.say("uploaded the ID card photos")
        self.beat()
        code: list[str] = []  # the SMS code in hand; a new one only when it is missing or refused

        def submit() -> int:
            again = find()  # a retry after a lost answer must not add the patient twice
            if again is not None:
                return again
            if not code:
                before = self.last_sms_id(self.holder.mobile)
                self.api.post("/me/sms/codes", {"purpose": "add_patient"})
                code.append(self.sms_code(self.holder.mobile, before))
            try:
                return int(self.api.post("/patients", self.patient_body(front=front, back=back,
                                                                         code=code[0]))["id"])
            except ApiError as exc:
                if exc.code.startswith("code_"):
                    code.clear()
                raise

        self.patient_id = self.step("add patient", submit)
        card_type, card_no = p.card
        self.say(f"added returning patient {p.name} ({'就诊卡' if card_type == 'hospital' else '医保卡'} {card_no})")

    # --- booking -------------------------------------------------------------------------------------------------

    def departments(self) -> dict[str, dict[str, Any]]:
        if not self._departments:
            self._departments = {d["code"]: d for d in self.step("departments", lambda: self.api.get("/departments"))}
        return self._departments

    def doctor(self, doctor_id: int) -> dict[str, Any]:
        if doctor_id not in self._doctors:
            self._doctors[doctor_id] = self.step("doctor", lambda: self.api.get(f"/doctors/{doctor_id}"))
        return self._doctors[doctor_id]

    def booking(self, appt: dict[str, Any]) -> Booking:
        doc = self.doctor(int(appt["doctor_id"]))
        by_id = {int(d["id"]): d for d in self.departments().values()}
        dep = by_id.get(int(appt.get("department_id") or doc["department_id"]), {})
        starts = parse_time(appt["starts_at"])
        # the service says when its check-in window is; the demo's defaults stand in when it does not
        opens = appt.get("checkin_opens_at")
        closes = appt.get("checkin_closes_at")
        return Booking(int(appt["id"]), appt["status"], starts, parse_time(appt["ends_at"]),
                       dep.get("code", ""), dep.get("name", ""), doc["name"],
                       parse_time(opens) if opens else starts - dt.timedelta(minutes=cat.SLOT_CHECKIN_OPENS_MIN),
                       parse_time(closes) if closes else starts + dt.timedelta(minutes=cat.SLOT_CHECKIN_CLOSES_MIN))

    def active_booking(self) -> Booking | None:
        """An unfinished appointment of this patient (after a restart the journey resumes from it)."""
        rows = self.step("my appointments", lambda: self.api.get("/appointments"))
        if isinstance(rows, dict):
            rows = rows.get("items", [])
        for appt in rows:
            if int(appt.get("patient_id", 0)) == self.patient_id and appt.get("status") in ACTIVE \
                    and int(appt["id"]) not in self._abandoned:
                b = self.booking(appt)
                late = b.checkin_closes_at if b.status in ("pending_payment", "booked") else b.give_up_at
                if b.status != "in_consultation" and now() > late:
                    self._abandoned.add(b.id)  # too late for it; the service settles it
                    continue
                return b
        return None

    def accept_notice(self) -> int:
        notice = self.step("read notice", lambda: self.api.get("/notice"))
        self.beat()
        self.step("accept notice", lambda: self.api.post("/notice/accept", {"version": notice["version"]}))
        self.say(f"read and accepted the notice v{notice['version']} ({notice['title']})")
        return int(notice["version"])

    def pick_slot(self, department_code: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The earliest bookable slot of the department: its check-in window is open or opens soonest.

        Only slots that have not started can be booked, and check-in opens half an hour before the start, so with
        the demo's back-to-back slots the wait for check-in is at most that half hour.
        """
        dep = self.departments()[department_code]
        doctors = self.step("doctors", lambda: self.api.get("/doctors", department_id=dep["id"]))
        t = now()
        best: list[tuple[dt.datetime, float, dict[str, Any], dict[str, Any]]] = []
        for doc in doctors:
            self._doctors[int(doc["id"])] = doc
            if self.only_doctor is not None and int(doc["id"]) != self.only_doctor:
                continue
            slots = self.step("slots", lambda d=doc: self.api.get(
                f"/doctors/{d['id']}/slots", date_from=t.date().isoformat(),
                date_to=(t + dt.timedelta(days=1)).date().isoformat()))
            for s in slots:
                starts = parse_time(s["starts_at"])
                if s.get("bookable", True) and s.get("remaining", 1) > 0 and s.get("status", "open") == "open" \
                        and starts > t and (int(doc["id"]), starts.date()) not in self._avoid:
                    best.append((starts, self.rng.random(), s, doc))
        if not best:
            return None
        best.sort(key=lambda x: (x[0], x[1]))
        return best[0][2], best[0][3]

    def book(self, version: int) -> Booking:
        p = self.holder.patient
        dep_code = self.only_department or self.rng.choice(p.department_codes)
        dep = self.departments()[dep_code]
        elig = self.step("eligibility", lambda: self.api.get("/eligibility", patient_id=self.patient_id,
                                                             department_id=dep["id"]))
        self.say(f"{dep['name']}: {elig.get('reason', '')}")
        self.beat()

        def attempt() -> dict[str, Any]:
            picked = self.pick_slot(dep_code)
            if picked is None:
                raise ApiError(0, "no_slot", f"{dep['name']}暂无可预约号源")
            slot, doc = picked
            try:
                return self.api.post("/appointments", {"patient_id": self.patient_id, "slot_id": slot["id"],
                                                       "notice_version": version})
            except ApiError as exc:
                if exc.code == "duplicate_booking":  # one booking per doctor and day: try another doctor
                    self._avoid.add((int(doc["id"]), parse_time(slot["starts_at"]).date()))
                raise

        b = self.booking(self.step("book", attempt))
        self.say(f"booked {b.where} (appointment #{b.id}, pending payment)")
        return b

    def pay(self, b: Booking) -> None:
        def attempt() -> None:
            prepay = self.api.post(f"/appointments/{b.id}/payment")
            self.beat()
            self.api.post(f"/sandbox/pay/{prepay['prepay_id']}/confirm")
            self.say(f"paid {prepay['amount_fen'] / 100:.2f} yuan ({prepay['out_trade_no']})")

        self.step("pay", attempt)
        # the gateway's notification confirms the payment a moment later (or the service's reconciler does,
        # when the notification is lost: that takes longer)
        started = time.monotonic()
        told = False
        while True:
            appt = self.step("payment status", lambda: self.api.get(f"/appointments/{b.id}"))
            b.status = appt["status"]
            if b.status != "pending_payment":
                break
            waited = time.monotonic() - started
            if waited > PAYMENT_WAIT_S:
                self.say(f"payment not confirmed within {PAYMENT_WAIT_S:.0f}s")
                raise JourneyFailed("pay")
            if waited > 5 and not told:
                self.say("waiting for the payment confirmation")
                told = True
            self.sleep(0.5)
        if b.status != "booked":
            raise JourneyFailed(f"after payment the appointment is {b.status}")
        self.say(f"appointment #{b.id} booked")

    def check_in(self, b: Booking) -> None:
        opens, closes = b.checkin_opens_at, b.checkin_closes_at
        if now() < opens:
            self.say(f"check-in opens at {opens:%H:%M}; waiting")
            self.sleep((opens - now()).total_seconds() + 1)
        tries = 0
        while True:
            try:
                self.api.post(f"/appointments/{b.id}/check-in")
                break
            except ApiError as exc:
                tries += 1
                if now() > closes or tries >= 4 * STEP_ATTEMPTS:
                    self.say(f"check in: {exc.status} {exc.code} {exc.message}; giving up")
                    raise JourneyFailed("check in") from exc
                self.say(f"check in: {exc.status} {exc.code} {exc.message}; retrying")
                self.sleep(max(self.pace, 2.0) * self.rng.uniform(0.8, 1.2))
        b.status = "checked_in"
        self.say(f"checked in to {b.where}")

    def describe(self, b: Booking) -> None:
        p = self.holder.patient
        dep = b.department_code if b.department_code in cat.COMPLAINTS else p.department_codes[0]
        text = self.rng.choice(cat.COMPLAINTS[dep])
        title = self.rng.choice(cat.REPORT_TITLES[dep])
        file_id = self.step("upload report", lambda: self.api.upload(
            purpose="description", name="report.jpg", data=report_image(p, title=title, rng=self.rng)))
        self.beat()

        def submit() -> None:
            try:
                self.api.post(f"/appointments/{b.id}/description", {"text": text, "file_ids": [file_id]})
            except ApiError as exc:  # a retry after a lost answer: already submitted is success
                appt = self.api.get(f"/appointments/{b.id}")
                if appt["status"] not in ("waiting", "in_consultation", "completed"):
                    raise exc from None

        self.step("describe", submit)
        b.status = "waiting"
        self.say(f"described the condition with a {title}; waiting for {b.where}")

    def start_call(self, b: Booking) -> Any:
        """The waiting page's video call: a :class:`~server.patient_call.PatientCallThread` answering the doctor
        (None with ``--no-video``, or when aiortc is not installed)."""
        if not self.video:
            return None
        try:
            from server.patient_call import PatientCallThread
        except ImportError as exc:  # aiortc or numpy missing: the journey goes on without video
            self.say(f"no video call: {exc}")
            return None
        return PatientCallThread(self.base_url, b.id, lambda: self.api.token, notify=self.say,
                                 name=f"{self.tag} call").start()

    def wait(self, b: Booking) -> bool:
        """Poll until the doctor finishes or the slot has passed; True when the consultation took place. Meanwhile
        the phone's side of the video call runs (:meth:`start_call`)."""
        call = self.start_call(b)
        try:
            return self._wait(b)
        finally:
            if call is not None and not call.stop(timeout=10):
                self.say("the video call did not stop within 10 s")

    def _wait(self, b: Booking) -> bool:
        give_up = b.give_up_at
        seen = b.status
        while True:
            try:
                appt = self.api.get(f"/appointments/{b.id}")
            except ApiError as exc:
                self.say(f"waiting: {exc.status} {exc.code} {exc.message}")
                appt = {"status": seen}
            status = appt["status"]
            if status != seen:
                self.say({"in_consultation": f"{b.doctor_name}医生 is calling (video consultation)",
                          "completed": "the doctor finished the consultation"}.get(status, f"appointment {status}"))
                seen = status
            if status in FINISHED:
                return status == "completed"
            if now() > give_up + dt.timedelta(hours=2) or (status != "in_consultation" and now() > give_up):
                self.say(f"the doctor did not call before {give_up:%H:%M}; the slot has passed")
                self._abandoned.add(b.id)
                return False
            self.sleep(POLL_S * self.rng.uniform(0.8, 1.2))

    def journey(self) -> None:
        b = self.active_booking()
        if b is not None:
            self.say(f"resuming appointment #{b.id} ({b.status}) at {b.where}")
        else:
            version = self.accept_notice()
            self.beat()
            b = self.book(version)
            self.beat()
        if b.status == "pending_payment":
            self.pay(b)
            self.beat()
        if b.status == "booked" and self.cancel_rate > 0 and self.rng.random() < self.cancel_rate:
            self.cancel(b)
            return
        if b.status == "booked":
            self.check_in(b)
            self.beat()
        if b.status == "checked_in":
            self.describe(b)
        if self.wait(b):
            self.after_visit(b)
        else:
            self.apply_for_refund(b)

    # --- refunds (seed: 退号 before the time; 申请退号 after it, not seen) ---------------------------------------

    def cancel(self, b: Booking) -> None:
        """Plans change: cancel before the time (the confirmation is part of the request) and follow the refund."""
        def attempt() -> dict[str, Any]:
            try:
                return self.api.post(f"/appointments/{b.id}/cancel", {"confirm": True})
            except ApiError as exc:  # a retry after a lost answer: cancelled already is success
                appt = self.api.get(f"/appointments/{b.id}")
                if appt["status"] != "cancelled":
                    raise exc from None
                return appt

        appt = self.step("cancel", attempt)
        b.status = appt["status"]
        self.say(f"cancelled appointment #{b.id} before the time ({appt.get('refund_status_label') or 'no fee'})")
        self.follow_refund(b)

    def apply_for_refund(self, b: Booking) -> None:
        """Not seen (missed the check-in, or the doctor never called): apply for the fee back with a reason, which
        a clerk at the refund window reviews."""
        try:
            appt = self.api.get(f"/appointments/{b.id}")
        except ApiError as exc:
            self.say(f"refund application: {exc.status} {exc.code} {exc.message}")
            return
        if appt.get("refund_status") or appt["status"] not in ("missed", "booked", "checked_in", "waiting"):
            return  # refunded by the hospital already (a clinic stop, a slot no longer served), or seen
        reason = self.rng.choice(APPLICATION_REASONS)
        try:
            self.api.post(f"/appointments/{b.id}/refund-application", {"reason": reason})
        except ApiError as exc:
            self.say(f"refund application: {exc.status} {exc.code} {exc.message}")
            return
        self.say(f"applied for a refund of appointment #{b.id} (申请退号: {reason})")
        self.follow_refund(b)

    def follow_refund(self, b: Booking) -> None:
        """Watch 退号申请审核中 → 退费中 → 已退费 (or the rejection) on the appointment, as the patient would."""
        started, seen = time.monotonic(), None
        while time.monotonic() - started < REFUND_WAIT_S and not self.stop.is_set():
            if seen == "reviewing" and time.monotonic() - started > self.review_wait:
                self.say(f"appointment #{b.id}: the refund window reviews the application later; going on")
                return
            try:
                appt = self.api.get(f"/appointments/{b.id}")
            except ApiError as exc:
                self.say(f"refund status: {exc.status} {exc.code} {exc.message}")
                appt = {}
            status = appt.get("refund_status")
            if status != seen and status is not None:
                note = f": {appt['refund_note']}" if appt.get("refund_note") else ""
                self.say(f"appointment #{b.id}: {appt.get('refund_status_label')}{note}")
                seen = status
            if status in (None, "refunded", "rejected"):
                return
            self.sleep(POLL_S * self.rng.uniform(0.8, 1.2))
        self.say(f"appointment #{b.id}: refund not settled within {REFUND_WAIT_S / 60:.0f} minutes; going on")

    # --- after the visit: the prescription (seed 2.3 (6)-(7)) and the rating --------------------------------

    def after_visit(self, b: Booking) -> None:
        """When the patient consented to a prescription: wait for it to be issued (the doctor signs, a pharmacist
        approves), choose pickup at the nearest pharmacy or home delivery, pay the drug fee; then rate the visit."""
        try:
            consent = self.api.get(f"/appointments/{b.id}/consent")
        except ApiError:
            consent = {"state": "none"}
        if consent.get("state") == "consented":
            self.take_prescriptions(b)
        stars = self.rng.choice((5, 5, 5, 4, 4, 3))
        text = self.rng.choice(("医生很耐心，讲解清楚", "视频很流畅，不用跑医院了", "回复及时，谢谢医生", ""))
        try:
            self.api.post(f"/appointments/{b.id}/rating", {"stars": stars, "text": text})
            self.say(f"rated the visit {stars} stars")
        except ApiError as exc:
            if exc.code != "already_rated":
                self.say(f"rating: {exc.status} {exc.code} {exc.message}")

    def take_prescriptions(self, b: Booking) -> None:
        started = time.monotonic()
        self.say("waiting for the prescription (doctor's signature, pharmacist's review)")
        handled: set[int] = set()
        while time.monotonic() - started < PRESCRIPTION_WAIT_S:
            try:
                mine = [rx for rx in self.api.get("/prescriptions") if rx["appointment_id"] == b.id]
            except ApiError as exc:
                self.say(f"prescriptions: {exc.status} {exc.code} {exc.message}")
                mine = []
            for rx in mine:
                if rx["id"] not in handled and rx["status"] in ("issued", "fulfilment_chosen"):
                    self.fulfil(rx)
                    handled.add(rx["id"])
            if handled:
                return
            self.sleep(POLL_S * self.rng.uniform(0.8, 1.2))
        self.say(f"no prescription issued within {PRESCRIPTION_WAIT_S / 60:.0f} minutes; going on")

    def fulfil(self, rx: dict[str, Any]) -> None:
        if self.rng.random() < 0.6:
            pharmacies = self.step("pharmacies", lambda: self.api.get("/pharmacies", lat=HOME[0], lng=HOME[1]))
            choice: dict[str, Any] = {"method": "pickup", "pharmacy_id": pharmacies[0]["id"]}
            where = f"pickup at {pharmacies[0]['name']}"
        else:
            p = self.holder.patient
            choice = {"method": "delivery", "address": {"name": p.name, "mobile": self.holder.mobile,
                                                        "region": "北京市西城区", "detail": "西直门南大街2号院3号楼501"}}
            where = "home delivery"
        self.step("choose pickup or delivery",
                  lambda: self.api.post(f"/prescriptions/{rx['id']}/fulfilment", choice))
        self.say(f"prescription {rx['no']}: {where}")

        def pay() -> dict[str, Any]:
            prepay = self.api.post(f"/prescriptions/{rx['id']}/payment")
            try:
                self.api.post(f"/sandbox/pay/{prepay['prepay_id']}/confirm")
            except ApiError:  # a retry after a lost answer: paid already is success
                if self.api.get(f"/prescriptions/{rx['id']}")["status"] not in ("paid", "dispensed", "shipped"):
                    raise
            return prepay

        try:
            prepay = self.step("pay the drug fee", pay)
        except JourneyFailed:
            self.say(f"prescription {rx['no']}: the drug fee could not be paid")
            return
        self.say(f"paid the drug fee {prepay['amount_fen'] / 100:.2f} yuan ({prepay['out_trade_no']})")

    # --- the whole life --------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            try:
                self.register()
                self.beat()
                self.add_patient()
                self.beat()
            except JourneyFailed:
                self.failed = max(self.rounds, 1)
                self.say("could not set up the account and patient; stopping")
                return
            n = 0
            while self.rounds == 0 or n < self.rounds:
                n += 1
                try:
                    self.journey()
                    self.done += 1
                    self.say(f"journey {n} done")
                except JourneyFailed as exc:
                    self.failed += 1
                    self.say(f"journey {n} failed at: {exc}")
                    if self.rounds == 0 or n < self.rounds:
                        self.sleep(max(self.pace, 5.0))  # a failing service is not hammered
                self.beat()
                if self.only_doctor is not None and (self.rounds == 0 or n < self.rounds):
                    try:
                        self.next_holder()
                    except JourneyFailed as exc:
                        self.failed += 1
                        self.say(f"the next patient could not set up an account: {exc}")
                        self.sleep(max(self.pace, 5.0))
        except Stopped:
            pass
        except Exception as exc:  # noqa: BLE001 - a bug or an unexpected answer: report it, never hang the rest
            self.failed += 1
            self.say(f"stopped by an unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.api.close()


# --------------------------------------------------------------------------------------------------- run


def _department_of(base_url: str, doctor_id: int) -> str | None:
    """The department code of a doctor, through the public catalogue."""
    try:
        doc = httpx.get(f"{base_url.rstrip('/')}/api/v1/doctors/{doctor_id}", timeout=10)
        deps = httpx.get(f"{base_url.rstrip('/')}/api/v1/departments", timeout=10)
    except httpx.HTTPError:
        return None
    if doc.status_code != 200 or deps.status_code != 200:
        return None
    by_id = {int(d["id"]): d["code"] for d in deps.json()}
    return by_id.get(int(doc.json()["department_id"]))


def run(*, base_url: str, patients: int, pace: float, rounds: int, seed: int | None,
        doctor: int | None = None, video: bool = True, cancel_rate: float = 0.1,
        review_wait: float = REVIEW_WAIT_S) -> int:
    if patients < 1 or rounds < 0 or pace < 0 or review_wait < 0 or not 0 <= cancel_rate <= 1:
        print("simulate: --patients must be at least 1, --rounds, --pace and --review-wait not negative, "
              "--cancel-rate between 0 and 1", file=sys.stderr)
        return 2
    try:
        httpx.get(base_url.rstrip("/") + "/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        print(f"simulate: the service at {base_url} does not answer ({exc})", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per step is the simulator's own log
    for name in ("aioice", "aiortc", "server.patient_call"):  # the call's steps are told through Sim.say
        logging.getLogger(name).setLevel(logging.WARNING)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    department = None
    if doctor is not None:
        department = _department_of(base_url, doctor)
        if department is None:
            print(f"simulate: no doctor {doctor} in the public catalogue", file=sys.stderr)
            return 2
    holders = plan(patients=patients, seed=seed, department_code=department)
    if patients > len(cat.DEMO_HIS_PATIENTS):
        print(f"simulate: only {len(cat.DEMO_HIS_PATIENTS)} demo patients; some are added by two holders",
              file=sys.stderr)
    log = Log()
    stop = threading.Event()
    log.line(f"simulate: {patients} holder(s) against {base_url}, pace {pace}s, "
             f"{'endless' if rounds == 0 else f'{rounds} journey(s) each'}, seed {seed}"
             f"{'' if video else ', no video'} (Ctrl-C stops)")
    master = random.Random(seed)
    sims = [Sim(h, base_url, pace, rounds, stop, log, random.Random(master.randrange(2**63)), only_doctor=doctor,
                only_department=department, video=video, cancel_rate=cancel_rate, review_wait=review_wait)
            for h in holders]
    threads = [threading.Thread(target=s.run, name=f"sim-{s.holder.index}", daemon=True) for s in sims]

    interrupted = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if interrupted.is_set():  # a second Ctrl-C: leave at once
            raise KeyboardInterrupt
        interrupted.set()
        stop.set()
        log.line("simulate: stopping (finishing the current requests; Ctrl-C again to quit at once)")

    installed = threading.current_thread() is threading.main_thread()
    previous = {}
    if installed:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        log.line("simulate: interrupted")
        return 130
    finally:
        if installed:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    done = sum(s.done for s in sims)
    failed = sum(s.failed for s in sims)
    log.line(f"simulate: {done} journey(s) done, {failed} failed")
    if interrupted.is_set():
        return 130
    return 1 if failed else 0
