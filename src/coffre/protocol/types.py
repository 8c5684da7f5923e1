"""Field types shared by every wire model: ids, binary values, emails.

Binary values travel as base64 with the URL-safe alphabet (RFC 4648 section 5, padded on
output; padding optional on input), decoded and length-checked by pydantic's native code,
which matters when a listing carries a hundred thousand envelopes. Ids and name tags are
32 lowercase hex digits (16 random bytes).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, WithJsonSchema

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


def _b64(low: int, high: int) -> Any:
    return WithJsonSchema(
        {
            "type": "string",
            "format": "base64url",
            "description": f"{low}..{high} bytes, URL-safe base64"
            if low != high
            else f"{low} bytes, URL-safe base64",
        }
    )


Secret = Annotated[bytes, Field(min_length=32, max_length=32), _b64(32, 32)]
"""A 32-byte value derived on the client: an auth secret or a recovery verifier."""

Salt = Annotated[bytes, Field(min_length=16, max_length=64), _b64(16, 64)]

Envelope = Annotated[bytes, Field(min_length=61, max_length=4096), _b64(61, 4096)]
"""A sealed envelope (docs/crypto.md): a wrapped key, a name, a version."""

ContentHeader = Annotated[bytes, Field(min_length=37, max_length=37), _b64(37, 37)]

PublicKeys = Annotated[bytes, Field(min_length=145, max_length=145), _b64(145, 145)]

_CHUNK_MAX = (1 << 20) + 16
ChunkData = Annotated[bytes, Field(min_length=16, max_length=_CHUNK_MAX), _b64(16, _CHUNK_MAX)]
"""One whole small content sent inline (a single encrypted chunk)."""

Signature = Annotated[bytes, Field(min_length=64, max_length=64), _b64(64, 64)]
"""An Ed25519 signature."""

ShareEnvelope = Annotated[bytes, Field(min_length=189, max_length=189), _b64(189, 189)]
