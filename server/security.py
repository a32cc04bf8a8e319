"""Password hashing (argon2id) shared by account holders and staff."""
from __future__ import annotations

import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.config import get_settings


@functools.cache
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=max(2, s.argon2_time_cost), memory_cost=max(19 * 1024, s.argon2_memory_kib),
                          parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # burn the same time as a real check, so a missing account is not told apart by timing
        try:
            hasher().verify(_DUMMY, password + "x")
        except VerificationError:
            pass
        return False
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


_DUMMY = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID).hash("dummy-password")
