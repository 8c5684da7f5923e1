"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, six digits,
30-second steps, as every authenticator app computes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP = 30
DIGITS = 6
DRIFT = 1  # steps accepted either side of now: clocks differ, people type slowly


def new_secret() -> bytes:
    return secrets.token_bytes(20)


def b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def hotp(secret: bytes, counter: int) -> str:
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step_at(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP)


def code_at(secret: bytes, at: float | None = None) -> str:
    return hotp(secret, step_at(at))


def match(secret: bytes, code: str, at: float | None = None) -> int | None:
    """The time step ``code`` is valid for, near ``at``; None if it matches none."""
    current = step_at(at)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(hotp(secret, step), code):
            found = step
    return found


def uri(secret: bytes, account: str, issuer: str = "Coffre") -> str:
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": b32(secret), "issuer": issuer, "digits": DIGITS})
    return f"otpauth://totp/{label}?{query}&period={STEP}"
