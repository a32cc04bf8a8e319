"""The HTTP client of the staff API (docs/api-contract.md): blocking ``requests`` calls, run on a worker.

Every failure becomes one of three exceptions the windows know how to word: :class:`NetworkError` (the server
cannot be reached: retry later, the outbox keeps the action), :class:`SessionExpired` (sign in again, nothing is
lost) and :class:`ApiError` (the server refused, with its Chinese message and stable code).

One ``requests.Session`` per thread: sessions are not documented as thread-safe, and the network pool runs
several calls at once.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from workstation.services.ops import ensure_off_gui_loop

V1 = "/api/v1"
USER_AGENT = "clinic-workstation/0.1"
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TRANSIENT_CODES = frozenset({"request_in_progress"})
SESSION_CODES = frozenset({"session_expired", "unauthenticated"})


class NetworkError(Exception):
    """The server could not be reached (refused, reset, timed out, DNS): nothing is known to have happened."""


class ApiError(Exception):
    """The server answered with an error: ``status``, stable ``code``, Chinese ``message``, ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def transient(self) -> bool:
        """Worth retrying unchanged later (server overloaded or restarting, a twin request still running)."""
        return self.status in TRANSIENT_STATUSES or self.code in TRANSIENT_CODES

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


class SessionExpired(ApiError):
    """The staff session ended (idle timeout, logout elsewhere, deactivated): sign in again."""


def new_idempotency_key() -> str:
    """A request number the server accepts (16–64 of ``A–Z a–z 0–9 _ -``)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """A mutating call as data, so the outbox can store it and send it again after a restart."""

    method: str
    path: str
    body: Any = None
    kind: str = ""
    appointment_id: int | None = None
    expect: tuple[int, ...] = field(default=(200, 201, 204))


# --- the workstation's actions (paths from server/consultation/routes.py) ----------------------------------------


def accept_request(appointment_id: int) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/appointments/{appointment_id}/accept", None, "accept", appointment_id)


def save_record_request(appointment_id: int, payload: dict[str, Any]) -> ActionRequest:
    return ActionRequest("PUT", f"{V1}/staff/appointments/{appointment_id}/record", payload, "save_record",
                         appointment_id)


def finish_request(appointment_id: int, payload: dict[str, Any]) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/appointments/{appointment_id}/finish", payload, "finish",
                         appointment_id)


def missed_request(appointment_id: int, reason: str) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/appointments/{appointment_id}/missed", {"reason": reason}, "missed",
                         appointment_id)


def clinic_stop_request(payload: dict[str, Any]) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/clinic-stops", payload, "clinic_stop", None)


class ApiClient:
    """Methods return parsed JSON. Mutations take ``key`` (sent as ``Idempotency-Key``) so a retry of the same
    action takes effect once."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10,
                 on_session_expired: Callable[[], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # told whenever any call finds the session over (the session service brings sign-in back)
        self.on_session_expired = on_session_expired
        self._local = threading.local()

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            s.trust_env = False  # a desktop's proxy settings must not capture calls to a loopback server
            self._local.session = s
        return s

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, path: str) -> str:
        return f"{self.base_url}{path if path.startswith('/') else '/' + path}"

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                idempotency_key: str | None = None, raw: bool = False, timeout: float | None = None,
                report_expiry: bool = True) -> Any:
        """One call; JSON (or bytes with ``raw``) back, or one of the module's exceptions."""
        ensure_off_gui_loop(f"{method} {path}")
        headers = self.headers()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            r = self._session().request(method, self.url(path), params=params, json=json, headers=headers,
                                        timeout=timeout or self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise NetworkError(f"无法连接服务器：{self.base_url}") from exc
        except requests.RequestException as exc:  # a reset mid-body, an invalid chunk
            raise NetworkError(f"与服务器的连接中断：{exc}") from exc
        if r.status_code >= 400:
            error = self._error(r, path)
            if isinstance(error, SessionExpired) and report_expiry and self.on_session_expired is not None:
                self.on_session_expired()
            raise error
        if raw:
            return r.content
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError as exc:
            raise ApiError(r.status_code, "bad_response", "服务器返回了无法识别的内容") from exc

    def _error(self, r: requests.Response, path: str) -> ApiError:
        code, message, details = "http_error", "", None
        try:
            body = r.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("code") or code)
            message = str(body.get("message") or "")
            details = body.get("details")
        if not message:
            message = (f"服务器暂时不可用（{r.status_code}），请稍后重试" if r.status_code >= 500
                       else f"请求失败（{r.status_code}）")
            if r.status_code >= 500 and code == "http_error":
                code = "server_unavailable"
        if r.status_code == 401 and code in SESSION_CODES and not path.endswith("/staff/auth/login"):
            return SessionExpired(r.status_code, code, message, details)
        return ApiError(r.status_code, code, message, details)

    def send(self, action: ActionRequest, *, key: str | None) -> Any:
        """Send a stored action (what the outbox replays)."""
        return self.request(action.method, action.path, json=action.body, idempotency_key=key)

    # --- staff session ----------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """``{token, staff{id, username, name, role, doctor_id}, idle_timeout_s, expires_at}``; keeps the token.

        401 ``bad_credentials`` and 423 ``account_locked`` (``details.locked_until``) come as ApiError.
        """
        body = self.request("POST", f"{V1}/staff/auth/login", json={"username": username, "password": password})
        self.token = body["token"]
        return body

    def logout(self) -> None:
        """Ends the session on the server (and its event stream). The token is forgotten even when the server
        says it had already ended."""
        try:
            self.request("POST", f"{V1}/staff/auth/logout", report_expiry=False)
        except SessionExpired:
            pass
        finally:
            self.token = None

    def me(self) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/me")

    # --- reading ----------------------------------------------------------------------------------------------

    def queue(self, *, day: str | None = None) -> list[dict[str, Any]]:
        """The doctor's checked-in patients of a day (ISO date; default today), in appointment order."""
        return self.request("GET", f"{V1}/staff/queue", params={"day": day} if day else None)

    def appointment(self, appointment_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/appointments/{appointment_id}")

    def chart(self, appointment_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/appointments/{appointment_id}/chart")

    def file_bytes(self, file_id: int) -> bytes:
        return self.request("GET", f"{V1}/staff/files/{file_id}", raw=True, timeout=max(self.timeout, 60))

    def clinic_stops(self, *, doctor_id: int | None = None, limit: int = 50, offset: int = 0
                     ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if doctor_id is not None:
            params["doctor_id"] = doctor_id
        return self.request("GET", f"{V1}/staff/clinic-stops", params=params)

    def clinic_stop_preview(self, starts_at: str, ends_at: str, *, doctor_id: int | None = None
                            ) -> dict[str, Any]:
        """``{appointments, slots}`` a stop of that period would cancel and stop (asked for by the clinic-stop
        dialog; needs ``GET /staff/clinic-stops/preview`` on the server)."""
        params: dict[str, Any] = {"starts_at": starts_at, "ends_at": ends_at}
        if doctor_id is not None:
            params["doctor_id"] = doctor_id
        return self.request("GET", f"{V1}/staff/clinic-stops/preview", params=params)

    def events_since(self, after: int, limit: int = 200) -> dict[str, Any]:
        """``{events, next_after, more, resync}`` (the bulk catch-up companion of the stream)."""
        return self.request("GET", f"{V1}/staff/events/since", params={"after": after, "limit": limit})

    def events_cursor(self) -> int:
        """The newest event id (0 when there is none)."""
        return int(self.request("GET", f"{V1}/staff/events/cursor")["last_id"])

    # --- acting (each with its idempotency key) ---------------------------------------------------------------

    def accept(self, appointment_id: int, *, key: str | None) -> dict[str, Any]:
        return self.send(accept_request(appointment_id), key=key)

    def save_record(self, appointment_id: int, payload: dict[str, Any], *, key: str | None) -> dict[str, Any]:
        return self.send(save_record_request(appointment_id, payload), key=key)

    def finish(self, appointment_id: int, payload: dict[str, Any], *, key: str | None) -> dict[str, Any]:
        return self.send(finish_request(appointment_id, payload), key=key)

    def mark_missed(self, appointment_id: int, reason: str, *, key: str | None) -> dict[str, Any]:
        return self.send(missed_request(appointment_id, reason), key=key)

    def clinic_stop(self, payload: dict[str, Any], *, key: str | None) -> dict[str, Any]:
        return self.send(clinic_stop_request(payload), key=key)

    # --- the video visit (docs/api-contract.md "Video visit") -------------------------------------------------
    # Live actions, not outbox items: a call only makes sense while the server answers now.

    def start_call(self, appointment_id: int, *, key: str | None) -> dict[str, Any]:
        """Invite the patient (a new segment; accepts a waiting patient) → the ``Call``."""
        return self.request("POST", f"{V1}/staff/appointments/{appointment_id}/call", idempotency_key=key)

    def call(self, appointment_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/appointments/{appointment_id}/call")

    def call_signal(self, appointment_id: int, body: dict[str, Any], *, key: str | None) -> dict[str, Any]:
        """``{segment_id, type: offer|candidate|hangup, description?, candidate?}``."""
        return self.request("POST", f"{V1}/staff/appointments/{appointment_id}/call/signals", json=body,
                            idempotency_key=key)

    def call_state(self, appointment_id: int, segment_id: int, state: str, *, reason: str | None = None,
                   key: str | None) -> dict[str, Any]:
        """What this side observed: ``connected`` or ``interrupted`` (``line_dropped`` | ``failed``)."""
        body: dict[str, Any] = {"segment_id": segment_id, "state": state}
        if reason:
            body["reason"] = reason
        return self.request("POST", f"{V1}/staff/appointments/{appointment_id}/call/state", json=body,
                            idempotency_key=key)

    def request_consent(self, appointment_id: int, *, key: str | None) -> dict[str, Any]:
        return self.request("POST", f"{V1}/staff/appointments/{appointment_id}/consent-requests",
                            idempotency_key=key)

    def consent(self, appointment_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/appointments/{appointment_id}/consent")

    # --- prescriptions: doctor ---------------------------------------------------------------------------------
    # docs/api-contract.md "Prescriptions". Autosave PUTs carry the draft's ``revision``: a stale one answers
    # 409 ``draft_conflict``. Live calls, not outbox items: the editor keeps its own crash-safe local copy.

    def formulary(self, *, etag: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
        """``(formulary, etag)``; ``(None, etag)`` when the server answers 304 (the cached copy is current)."""
        ensure_off_gui_loop("GET /staff/formulary")
        path = f"{V1}/staff/formulary"
        headers = self.headers()
        if etag:
            headers["If-None-Match"] = etag
        try:
            r = self._session().get(self.url(path), headers=headers, timeout=max(self.timeout, 30))
        except requests.RequestException as exc:
            raise NetworkError(f"无法连接服务器：{self.base_url}") from exc
        if r.status_code == 304:
            return None, etag
        if r.status_code >= 400:
            error = self._error(r, path)
            if isinstance(error, SessionExpired) and self.on_session_expired is not None:
                self.on_session_expired()
            raise error
        body = r.json()
        return body, r.headers.get("ETag") or str(body.get("version") or "") or None

    def prescriptions_of(self, appointment_id: int) -> list[dict[str, Any]]:
        """The appointment's prescriptions, oldest first."""
        return self.request("GET", f"{V1}/staff/appointments/{appointment_id}/prescriptions")

    # --- prescriptions: pharmacist ------------------------------------------------------------------------------
    # (docs/api-contract.md "Prescriptions"; approve/return/dispense go through the outbox: see the request
    # builders at the end of this module)

    def prescriptions(self, *, status: str, limit: int = 200, offset: int = 0, changed_since: str | None = None
                      ) -> list[dict[str, Any]]:
        """``[Prescription]`` of one status (``signed``: the review queue, oldest signed first); with
        ``changed_since`` (ISO time) only those changed at or after it."""
        params: dict[str, Any] = {"status": status, "limit": limit, "offset": offset}
        if changed_since:
            params["changed_since"] = changed_since
        return self.request("GET", f"{V1}/staff/prescriptions", params=params)

    def prescription(self, rx_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/prescriptions/{rx_id}")

    def create_prescription(self, appointment_id: int, draft: dict[str, Any], *, key: str | None
                            ) -> dict[str, Any]:
        """A new ``draft``; 409 ``consent_required`` until the patient consented on the video call."""
        return self.request("POST", f"{V1}/staff/appointments/{appointment_id}/prescriptions", json=draft,
                            idempotency_key=key)

    def update_prescription(self, rx_id: int, draft: dict[str, Any], *, revision: int, key: str | None
                            ) -> dict[str, Any]:
        """The autosave: findings recomputed, ``revision`` + 1 (409 ``draft_conflict`` on a stale one)."""
        return self.request("PUT", f"{V1}/staff/prescriptions/{rx_id}", json={**draft, "revision": revision},
                            idempotency_key=key)

    def sign_prescription(self, rx_id: int, *, password: str, revision: int, key: str | None) -> dict[str, Any]:
        """403 ``signature_password_incorrect``, 409 ``checks_unresolved`` (``details.findings``)."""
        return self.request("POST", f"{V1}/staff/prescriptions/{rx_id}/sign",
                            json={"password": password, "revision": revision}, idempotency_key=key)

    def void_prescription(self, rx_id: int, reason: str, *, key: str | None) -> dict[str, Any]:
        return self.request("POST", f"{V1}/staff/prescriptions/{rx_id}/void", json={"reason": reason},
                            idempotency_key=key)

    def prescription_slip(self, rx_id: int) -> dict[str, Any]:
        """``SlipData`` of a signed-or-later prescription (what the slip PDF is drawn from)."""
        return self.request("GET", f"{V1}/staff/prescriptions/{rx_id}/slip")

    def approve_prescription(self, rx_id: int, *, key: str | None) -> dict[str, Any]:
        return self.send(approve_prescription_request(rx_id), key=key)

    def return_prescription(self, rx_id: int, reason: str, *, key: str | None) -> dict[str, Any]:
        return self.send(return_prescription_request(rx_id, reason), key=key)

    def dispense_prescription(self, rx_id: int, *, key: str | None) -> dict[str, Any]:
        return self.send(dispense_prescription_request(rx_id), key=key)

    # --- refunds: the clerk's window (docs/api-contract.md "Refunds", parts 1 and 2) ----------------------------
    # Reading here; approve, reject, retry, window and drug refunds go through the outbox (request builders at
    # the end of this module): money must move once, whatever the network does.

    def refunds(self, *, status: str | None = None, path: str | None = None, appointment_id: int | None = None,
                prescription_id: int | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        """``[RefundPublic]``, newest first (``status=requested&path=application``: the applications queue)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        for name, value in (("status", status), ("path", path), ("appointment_id", appointment_id),
                            ("prescription_id", prescription_id)):
            if value is not None:
                params[name] = value
        return self.request("GET", f"{V1}/staff/refunds", params=params)

    def refund(self, refund_id: int) -> dict[str, Any]:
        return self.request("GET", f"{V1}/staff/refunds/{refund_id}")

    def refund_exceptions(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Refunds needing a clerk: ABNORMAL at the gateway, or CLOSED and not yet sent again."""
        return self.request("GET", f"{V1}/staff/refunds/exceptions", params={"limit": limit})

    def reject_reasons(self) -> list[dict[str, Any]]:
        """``[{code, label}]``: the preset reasons of a rejected application (``other`` needs a text)."""
        return self.request("GET", f"{V1}/staff/refunds/reject-reasons")

    def orders(self, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """``[OrderRow]`` matching a mobile, ID number, order, refund or appointment number, or a name."""
        return self.request("GET", f"{V1}/staff/orders", params={"q": q, "limit": limit})

    def reconciliation(self, day: str | None = None) -> dict[str, Any]:
        """``{day, payments, refunds, exceptions, totals}`` of a day (ISO date; default today)."""
        return self.request("GET", f"{V1}/staff/reconciliation", params={"day": day} if day else None)


# --- prescriptions: pharmacist (outbox actions) -------------------------------------------------------------------

RX_ACTION_KINDS = ("rx_approve", "rx_return", "rx_dispense")


def approve_prescription_request(rx_id: int) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/prescriptions/{rx_id}/approve", None, "rx_approve", None)


def return_prescription_request(rx_id: int, reason: str) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/prescriptions/{rx_id}/return", {"reason": reason}, "rx_return", None)


def dispense_prescription_request(rx_id: int) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/prescriptions/{rx_id}/dispense", None, "rx_dispense", None)


def prescription_id_of(action_path: str) -> int | None:
    """The prescription an outbox action of :data:`RX_ACTION_KINDS` is about (from its path)."""
    parts = action_path.rstrip("/").split("/")
    try:
        i = parts.index("prescriptions")
        return int(parts[i + 1])
    except (ValueError, IndexError):
        return None


# --- refunds: the clerk (outbox actions) --------------------------------------------------------------------------

REFUND_ACTION_KINDS = ("refund_approve", "refund_reject", "refund_retry", "window_refund", "drug_refund")


def approve_refund_request(refund_id: int) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/refunds/{refund_id}/approve", {}, "refund_approve", None)


def reject_refund_request(refund_id: int, reason_code: str, text: str) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/refunds/{refund_id}/reject", {"reason_code": reason_code, "text": text},
                         "refund_reject", None)


def retry_refund_request(refund_id: int) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/refunds/{refund_id}/retry", None, "refund_retry", None)


def window_refund_request(appointment_id: int, reason: str) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/appointments/{appointment_id}/window-refund", {"reason": reason},
                         "window_refund", None)


def drug_refund_request(prescription_id: int, reason: str) -> ActionRequest:
    return ActionRequest("POST", f"{V1}/staff/prescriptions/{prescription_id}/refund", {"reason": reason},
                         "drug_refund", None)


def refund_action_target(kind: str, action_path: str) -> tuple[str, int] | None:
    """What a refund action of the outbox is about: ``("refund", id)`` for approve/reject/retry,
    ``("appointment", id)`` for a window refund, ``("prescription", id)`` for a drug refund."""
    collection = {"refund_approve": "refunds", "refund_reject": "refunds", "refund_retry": "refunds",
                  "window_refund": "appointments", "drug_refund": "prescriptions"}.get(kind)
    if collection is None:
        return None
    parts = action_path.rstrip("/").split("/")
    try:
        i = parts.index(collection)
        return collection[:-1], int(parts[i + 1])
    except (ValueError, IndexError):
        return None
