"""Data at rest: AES-256-GCM for ID numbers and ID photos; a keyed digest to find ID numbers without storing
them.

One 32-byte master key (``Settings.encryption_key_bytes``) feeds everything; HKDF derives a separate key per
use, so the digest key is never the encryption key and a future use cannot collide with either. Every
ciphertext carries a version prefix, so a later key or algorithm can be introduced while old rows stay
readable.

Text form: ``v1:`` + urlsafe base64 of nonce (96 random bits) + ciphertext + tag.
Bytes form: ``CLF1`` + nonce + ciphertext + tag.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.config import get_settings

TEXT_PREFIX = "v1:"
BYTES_MAGIC = b"CLF1"
NONCE_BYTES = 12

_ENC_INFO = b"clinic/v1/aes-256-gcm"
_DIGEST_INFO = b"clinic/v1/id-number-digest"


class DecryptionError(ValueError):
    """The ciphertext is damaged, truncated, of an unknown version, or was made with another key."""


def _master(key: bytes | None) -> bytes:
    return key if key is not None else get_settings().encryption_key_bytes()


@functools.lru_cache(maxsize=8)
def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def _aead(key: bytes | None) -> AESGCM:
    return AESGCM(_derive(_master(key), _ENC_INFO))


def encrypt_bytes(data: bytes, *, aad: bytes = b"", key: bytes | None = None) -> bytes:
    """Encrypt ``data``; ``aad`` binds the ciphertext to its place (e.g. a file's storage name), so a
    ciphertext moved elsewhere fails to decrypt instead of showing up as someone else's photo."""
    nonce = os.urandom(NONCE_BYTES)
    return BYTES_MAGIC + nonce + _aead(key).encrypt(nonce, bytes(data), aad or None)


def decrypt_bytes(blob: bytes, *, aad: bytes = b"", key: bytes | None = None) -> bytes:
    if not blob.startswith(BYTES_MAGIC) or len(blob) < len(BYTES_MAGIC) + NONCE_BYTES + 16:
        raise DecryptionError("not an encrypted blob of a known version")
    body = blob[len(BYTES_MAGIC):]
    try:
        return _aead(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad or None)
    except InvalidTag as exc:
        raise DecryptionError("authentication failed (wrong key or damaged data)") from exc


def encrypt_text(value: str, *, key: bytes | None = None) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _aead(key).encrypt(nonce, value.encode(), TEXT_PREFIX.encode())
    return TEXT_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")


def decrypt_text(token: str, *, key: bytes | None = None) -> str:
    if not token.startswith(TEXT_PREFIX):
        raise DecryptionError("not an encrypted value of a known version")
    try:
        sealed = base64.urlsafe_b64decode(token[len(TEXT_PREFIX):].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise DecryptionError("damaged encrypted value") from exc
    if len(sealed) < NONCE_BYTES + 16:
        raise DecryptionError("damaged encrypted value")
    try:
        plain = _aead(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], TEXT_PREFIX.encode())
    except InvalidTag as exc:
        raise DecryptionError("authentication failed (wrong key or damaged data)") from exc
    return plain.decode()


def normalise_id_number(value: str) -> str:
    """The canonical spelling of an ID number: no whitespace, upper case (the check character X, passport
    letters), so that the same number typed twice always yields the same digest."""
    return "".join(value.split()).upper()


def digest(value: str, *, key: bytes | None = None) -> str:
    """HMAC-SHA256 (hex) of the normalised ID number under a key derived from the master key.

    Equal numbers give equal digests, so HIS matching and duplicate checks work on the digest alone; without
    the key the digest cannot be reversed by enumerating the (small) space of valid ID numbers.
    """
    return hmac.new(_derive(_master(key), _DIGEST_INFO), normalise_id_number(value).encode(),
                    hashlib.sha256).hexdigest()
