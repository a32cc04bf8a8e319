"""Sending text messages: every message goes through :func:`send_sms`.

The message is written to the outbox in the caller's transaction, so an SMS exists if and only if the change
that caused it committed. The provider delivers it: the development provider only records it (read with
``clinic-server sms-outbox`` or ``GET /api/v1/dev/sms``); a real provider implements :class:`SmsProvider`.
"""
from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from server.sms.models import SmsMessage
from server.timeutil import now


class SmsProvider(Protocol):
    name: str

    def deliver(self, message: SmsMessage) -> bool: ...


class DevelopmentProvider:
    """Records only: the outbox row is the delivered message."""

    name = "development"

    def deliver(self, message: SmsMessage) -> bool:
        return True


_provider: SmsProvider = DevelopmentProvider()


def provider() -> SmsProvider:
    return _provider


def send_sms(session: Session, *, mobile: str, kind: str, body: str) -> SmsMessage:
    message = SmsMessage(mobile=mobile, kind=kind, body=body)
    p = provider()
    # The development provider cannot fail, so it delivers at once; a network provider would be driven by a
    # background sender reading queued rows after commit. (Known before the INSERT: one statement, not two.)
    if isinstance(p, DevelopmentProvider):
        message.status, message.sent_at, message.provider = "sent", now(), p.name
    session.add(message)
    session.flush()
    return message
