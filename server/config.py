"""Service settings, read from the environment (prefix ``CLINIC_``) by pydantic-settings.

Defaults give a working development service: a SQLite file in WAL mode under the user's data directory,
the development SMS provider and the sandbox payment gateway. Production sets ``CLINIC_ENVIRONMENT=production``,
``CLINIC_DATABASE_URL`` (PostgreSQL) and ``CLINIC_ENCRYPTION_KEY``; development-only routes then disappear.
"""
from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "clinic"


def default_data_dir() -> Path:
    return user_data_path(APP_NAME, appauthor=False)


class IceServer(BaseModel):
    """One entry of ``RTCConfiguration.iceServers``: a STUN or TURN server the call's peers may use."""

    urls: list[str] = Field(min_length=1, description="stun:host:port, turn:host:port?transport=udp, turns:…")
    username: str | None = None
    credential: str | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value  # RTCIceServer.urls may be a single string


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLINIC_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite file in data_dir
    # 32 bytes, urlsafe base64. Development derives a stable key from the data directory; production must set it.
    encryption_key: str = ""
    hospital_name: str = "北京大学人民医院互联网医院"
    public_base_url: str = "http://127.0.0.1:8000"

    # accounts
    sms_code_ttl_s: int = 300
    sms_resend_interval_s: int = 60
    sms_hourly_cap_per_mobile: int = 10
    sms_hourly_cap_per_client: int = 30
    sms_max_attempts: int = 5
    session_idle_s: int = 7 * 24 * 3600
    session_absolute_s: int = 30 * 24 * 3600
    staff_session_idle_s: int = 30 * 60
    staff_session_absolute_s: int = 12 * 3600
    staff_lockout_failures: int = 5
    staff_lockout_s: int = 15 * 60
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2

    # uploads
    upload_max_bytes: int = 10 * 1024 * 1024
    description_max_files: int = 9

    # booking
    hold_minutes: int = 15
    reminder_minutes_before: int = 60
    checkin_opens_minutes_before: int = 30
    checkin_closes_minutes_after: int = 30
    eligibility_days: int = 183

    # payments (sandbox gateway; behaves like WeChat Pay v3)
    payment_gateway: Literal["sandbox"] = "sandbox"
    sandbox_autopay: bool = False
    wechatpay_mchid: str = "1900000109"
    wechatpay_appid: str = "wx8888888888888888"
    # Production: the platform public key (PEM text) with its serial, and the merchant's APIv3 key (32 chars).
    # Empty in development: the sandbox gateway's keys, generated once under data_dir/sandbox_gateway/, are used.
    wechatpay_platform_public_key: str = ""
    wechatpay_platform_serial: str = ""
    wechatpay_apiv3_key: str = ""
    wechatpay_notify_tolerance_s: int = 300
    # the sandbox's misbehaviour: notifications arrive late and more than once
    sandbox_notify_delay_ms: int = 200
    sandbox_notify_duplicates: int = 1
    # refunds: the sandbox settles a refund this long after it was asked; our reconciler queries refunds still
    # processing after refund_query_base_s, doubling up to refund_query_max_s
    sandbox_refund_delay_ms: int = 300
    refund_query_base_s: float = 5.0
    refund_query_max_s: float = 600.0
    # a clinic stop's refunds: gateway calls in flight at once per process (each a round trip to WeChat Pay)
    refund_submit_concurrency: int = 8

    # staff event stream (SSE): keep-alive and session check interval, safety poll, retention of old events
    events_heartbeat_s: float = 15.0
    events_poll_s: float = 2.0
    # SQLite has no NOTIFY: commits of other processes on the file (a second worker, the CLI) are found by polling,
    # so it polls often; a poll that finds nothing is one indexed query, and it only runs while a stream is open
    events_poll_sqlite_s: float = 0.1
    events_retention_days: int = 7
    events_prune_interval_s: float = 3600.0

    # video visit (server/video): CLINIC_ICE_SERVERS is a JSON list of {urls, username?, credential?}; none are
    # needed on loopback or a LAN, production names its STUN and TURN servers
    ice_servers: list[IceServer] = Field(default_factory=list)
    call_answer_timeout_s: float = 60.0

    # background jobs (hold expiry, reminders, unanswered calls); tests may switch them off
    scheduler_enabled: bool = True
    scheduler_interval_s: float = 5.0

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'clinic.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def encryption_key_bytes(self) -> bytes:
        """The 32-byte key for data at rest (ID numbers, ID photos)."""
        if self.encryption_key:
            raw = base64.urlsafe_b64decode(self.encryption_key + "=" * (-len(self.encryption_key) % 4))
            if len(raw) != 32:
                raise ValueError("CLINIC_ENCRYPTION_KEY must be 32 bytes, urlsafe base64")
            return raw
        if self.production:
            raise ValueError("CLINIC_ENCRYPTION_KEY is required in production")
        return hashlib.sha256(b"clinic-dev-key:" + str(self.data_dir.resolve()).encode()).digest()


@functools.cache
def get_settings() -> Settings:
    return Settings()
