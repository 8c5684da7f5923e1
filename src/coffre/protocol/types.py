"""Field types shared by every wire model: ids, base64 bytes, emails.

Binary values travel as standard base64 (RFC 4648 section 4, with padding), checked
strictly; ids and name tags are 32 lowercase hex digits (16 random bytes).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""16 random bytes as 32 lowercase hex digits: users, nodes, versions, contents, sessions."""

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
    ),
]


def _decode(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None


def _encode(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _limit(min_size: int, max_size: int) -> AfterValidator:
    def check(value: bytes) -> bytes:
        if not min_size <= len(value) <= max_size:
            raise ValueError(f"must decode to {min_size}..{max_size} bytes")
        return value

    return AfterValidator(check)


_SERIALIZE = PlainSerializer(_encode, return_type=str, when_used="json")
_SCHEMA = WithJsonSchema({"type": "string", "format": "byte"})

Secret = Annotated[bytes, BeforeValidator(_decode), _limit(32, 32), _SERIALIZE, _SCHEMA]
"""A 32-byte value derived on the client: an auth secret or a recovery verifier."""

Salt = Annotated[bytes, BeforeValidator(_decode), _limit(16, 64), _SERIALIZE, _SCHEMA]

Envelope = Annotated[bytes, BeforeValidator(_decode), _limit(61, 4096), _SERIALIZE, _SCHEMA]
"""A sealed envelope (docs/crypto.md): a wrapped key, a name, a version."""

ContentHeader = Annotated[bytes, BeforeValidator(_decode), _limit(37, 37), _SERIALIZE, _SCHEMA]

PublicKeys = Annotated[bytes, BeforeValidator(_decode), _limit(145, 145), _SERIALIZE, _SCHEMA]

ChunkData = Annotated[bytes, BeforeValidator(_decode), _limit(16, 1 << 20), _SERIALIZE, _SCHEMA]
"""One whole small content sent inline (a single encrypted chunk)."""


def b64(value: bytes) -> str:
    return _encode(value)


def unb64(value: str) -> bytes:
    return _decode(value)
