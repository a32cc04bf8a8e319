"""WeChat Pay API v3 wire format: signed notifications with an AES-256-GCM encrypted resource.

Both sides live here so they cannot drift apart: the sandbox gateway builds notifications with the platform's
private key, and the service verifies them with the platform's public key exactly as it would verify the real
gateway's. The message signed is ``"{timestamp}\\n{nonce}\\n{body}\\n"`` (RSA-SHA256, PKCS#1 v1.5, base64); the
resource is ``AEAD_AES_256_GCM`` under the merchant's 32-byte APIv3 key, with a 12-character nonce and
``associated_data``.

The sandbox's key pair and APIv3 key are generated once per data directory and kept there (mode 600), so every
worker process, the CLI and the tests read the same keys.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.config import Settings
from server.timeutil import TZ, now

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
H_TIMESTAMP = "Wechatpay-Timestamp"
H_NONCE = "Wechatpay-Nonce"
H_SIGNATURE = "Wechatpay-Signature"
H_SERIAL = "Wechatpay-Serial"
H_SIGNATURE_TYPE = "Wechatpay-Signature-Type"

SANDBOX_DIR = "sandbox_gateway"
_ALNUM = string.ascii_letters + string.digits


def random_nonce(length: int = 32) -> str:
    """``length`` random letters and digits (a byte each, kept when it falls in the first 4 × 62 values: no bias)."""
    out: list[str] = []
    while len(out) < length:
        out += [_ALNUM[b % 62] for b in secrets.token_bytes(length) if b < 248][:length - len(out)]
    return "".join(out)


def wechat_time(value: dt.datetime) -> str:
    """RFC 3339 in the hospital's zone, seconds precision, as WeChat writes it (2026-01-02T10:34:56+08:00)."""
    return value.astimezone(TZ).replace(microsecond=0).isoformat()


def signing_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signature_valid(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def encrypt_resource(api_v3_key: bytes, plaintext: bytes, *, associated_data: str,
                     original_type: str) -> dict[str, str]:
    nonce = random_nonce(12)
    ciphertext = AESGCM(api_v3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
            "nonce": nonce, "associated_data": associated_data, "original_type": original_type}


class DecryptError(ValueError):
    pass


def decrypt_resource(api_v3_key: bytes, resource: dict[str, Any]) -> bytes:
    """The resource's plaintext; raises :class:`DecryptError` on any malformed or tampered resource."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise DecryptError("algorithm")
    try:
        nonce = str(resource["nonce"]).encode()
        data = base64.b64decode(str(resource["ciphertext"]), validate=True)
        aad = str(resource.get("associated_data") or "").encode()
        if len(nonce) != 12:
            raise DecryptError("nonce")
        return AESGCM(api_v3_key).decrypt(nonce, data, aad)
    except (KeyError, binascii.Error, InvalidTag, ValueError) as exc:
        raise DecryptError(str(exc) or type(exc).__name__) from exc


@dataclass(frozen=True)
class PlatformKeys:
    """What the merchant side needs to verify notifications: serial → public key, and the APIv3 key."""

    public_keys: dict[str, rsa.RSAPublicKey]
    api_v3_key: bytes


@dataclass(frozen=True)
class SandboxKeys:
    """The sandbox platform's signing key: it is the gateway, so it also holds the private half."""

    serial: str
    private_key: rsa.RSAPrivateKey
    api_v3_key: bytes
    data_dir: Path  # where they were read from (the sandbox's notifier process reads them there too)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @functools.cached_property
    def _platform(self) -> PlatformKeys:
        return PlatformKeys({self.serial: self.public_key}, self.api_v3_key)

    def platform(self) -> PlatformKeys:
        return self._platform


_cache: dict[str, SandboxKeys] = {}
_lock = threading.Lock()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _generate(directory: Path) -> None:
    """Create the key set in a scratch directory and rename it into place: the rename is atomic, so of several
    processes starting at once exactly one set wins and everybody reads that one."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = directory.parent / f".{directory.name}.{os.getpid()}.{secrets.token_hex(4)}"
    scratch.mkdir(mode=0o700)
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(scratch / "platform_private_key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        _write_private(scratch / "platform_public_key.pem", key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        _write_private(scratch / "apiv3_key", random_nonce(32).encode())
        _write_private(scratch / "serial", secrets.token_hex(20).upper().encode())
        try:
            scratch.rename(directory)
        except OSError:
            if not (directory / "serial").exists():
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def sandbox_keys(data_dir: Path) -> SandboxKeys:
    known = _cache.get(str(data_dir))  # every notification asks: no file system calls once read
    if known is not None:
        return known
    directory = data_dir / SANDBOX_DIR
    cache_key = str(directory.resolve())
    with _lock:
        if cache_key in _cache:
            _cache[str(data_dir)] = _cache[cache_key]
            return _cache[cache_key]
        if not (directory / "serial").exists():
            _generate(directory)
        private = serialization.load_pem_private_key((directory / "platform_private_key.pem").read_bytes(),
                                                     password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise TypeError("sandbox platform key is not RSA")
        keys = SandboxKeys(serial=(directory / "serial").read_text().strip(), private_key=private,
                           api_v3_key=(directory / "apiv3_key").read_bytes().strip(), data_dir=data_dir)
        _cache[cache_key] = _cache[str(data_dir)] = keys
        return keys


def platform_keys(settings: Settings) -> PlatformKeys | None:
    """The keys that verify notifications: configured ones in production, the sandbox's otherwise.

    ``None`` means nothing is configured, and every notification is refused.
    """
    if settings.wechatpay_platform_public_key and settings.wechatpay_apiv3_key:
        return _configured_keys(settings.wechatpay_platform_public_key, settings.wechatpay_platform_serial,
                                settings.wechatpay_apiv3_key)
    if settings.production:
        return None
    return sandbox_keys(settings.data_dir).platform()


@functools.lru_cache(maxsize=4)
def _configured_keys(public_pem: str, serial: str, api_v3_key: str) -> PlatformKeys:
    public = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(public, rsa.RSAPublicKey):
        raise TypeError("CLINIC_WECHATPAY_PLATFORM_PUBLIC_KEY is not an RSA public key")
    key = api_v3_key.encode()
    if len(key) != 32:
        raise ValueError("CLINIC_WECHATPAY_APIV3_KEY must be 32 characters")
    return PlatformKeys({serial: public}, key)


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]
    body: bytes


def build_notification(keys: SandboxKeys, *, notification_id: str, event_type: str, summary: str,
                       resource: dict[str, Any], original_type: str, associated_data: str,
                       create_time: dt.datetime | None = None) -> bytes:
    """The notification body (unsigned): sign each delivery separately with :func:`sign_delivery`."""
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    body = {
        "id": notification_id,
        "create_time": wechat_time(create_time or now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": encrypt_resource(keys.api_v3_key, plaintext, associated_data=associated_data,
                                     original_type=original_type),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign_delivery(keys: SandboxKeys, body: bytes, *, timestamp: int | None = None) -> SignedRequest:
    """Headers for one delivery: every retry carries a fresh timestamp, nonce and signature, like WeChat's."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = random_nonce(32)
    return SignedRequest(headers={
        H_TIMESTAMP: ts,
        H_NONCE: nonce,
        H_SIGNATURE: sign(keys.private_key, signing_message(ts, nonce, body)),
        H_SERIAL: keys.serial,
        H_SIGNATURE_TYPE: SIGNATURE_TYPE,
        "Content-Type": "application/json",
    }, body=body)


class NotificationRefused(Exception):
    """A notification that must change nothing; ``reason`` is stable snake_case, ``status`` the HTTP answer."""

    def __init__(self, reason: str, message: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class VerifiedNotification:
    notification_id: str
    event_type: str
    create_time: str
    resource: dict[str, Any]


def verify_notification(keys: PlatformKeys | None, *, headers: Any, body: bytes, tolerance_s: int,
                        at: float | None = None) -> VerifiedNotification:
    """Check the signature, freshness and encryption of one delivery; return the decrypted resource.

    The order matters: nothing in the body is trusted (not even parsed as more than JSON) before the signature
    over the exact bytes received has been checked.
    """
    if keys is None:
        raise NotificationRefused("gateway_not_configured", "未配置支付平台证书")
    ts, nonce, signature, serial = (headers.get(h) for h in (H_TIMESTAMP, H_NONCE, H_SIGNATURE, H_SERIAL))
    if not (ts and nonce and signature and serial):
        raise NotificationRefused("missing_signature", "缺少签名头")
    public = keys.public_keys.get(serial)
    if public is None:
        raise NotificationRefused("unknown_serial", "平台证书序列号不匹配")
    if not (ts.isascii() and ts.isdigit()) or len(ts) > 12:
        raise NotificationRefused("bad_timestamp", "时间戳格式不正确")
    if abs((time.time() if at is None else at) - int(ts)) > tolerance_s:
        raise NotificationRefused("stale_timestamp", "通知时间戳已过期")
    if not signature_valid(public, signing_message(ts, nonce, body), signature):
        raise NotificationRefused("bad_signature", "签名验证失败")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotificationRefused("malformed_body", "通知内容不是有效的JSON", status=400) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("resource"), dict) or not isinstance(doc.get("id"), str):
        raise NotificationRefused("malformed_body", "通知内容缺少必要字段", status=400)
    try:
        plaintext = decrypt_resource(keys.api_v3_key, doc["resource"])
        resource = json.loads(plaintext)
    except (DecryptError, ValueError, UnicodeDecodeError) as exc:
        raise NotificationRefused("decrypt_failed", "通知资源解密失败", status=400) from exc
    if not isinstance(resource, dict):
        raise NotificationRefused("malformed_resource", "通知资源格式不正确", status=400)
    return VerifiedNotification(notification_id=doc["id"][:64], event_type=str(doc.get("event_type", ""))[:48],
                                create_time=str(doc.get("create_time", "")), resource=resource)
