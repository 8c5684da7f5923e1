"""Public links: a node key handed to whoever holds a URL, and nobody else.

A link has a random id (16 bytes) and a link key ``LK`` (32 bytes). The URL is
``https://HOST/s/LINK_ID#LK`` (id in hex, key in unpadded URL-safe base64): the key is in
the fragment, which browsers never send, so the server never sees it (SECURITY.md A12).
For a password link there is no key in the URL; ``LK`` comes from the password::

    stretched = Argon2id(password, salt, t, m, p)
    LK = HKDF-SHA256(stretched, "", "coffre/v1 link-password" 0x00 params, 32)

with a random per-link salt and the account parameters' layout (``params``, docs/crypto.md
section 3), stored by the server, checked against the same floor as account passwords.

What the server stores::

    envelope = seal(LK, "link-key", link_id || node_id || kind, node key)
    auth     = SHA-256("coffre/v1 auth-hash" 0x00 || HKDF-Expand(LK, "coffre/v1 link-auth", 32))

A visitor proves knowledge of ``LK`` with the unhashed link-auth value before the server
hands out anything of the link (not even ciphertext), which lets the server count and
limit wrong passwords; it learns nothing it could use to open the envelope.
"""

from __future__ import annotations

import base64
import binascii

from coffre.crypto import _primitives as p
from coffre.crypto.account import KdfParams, normalize_password
from coffre.crypto.envelope import Purpose, open_, seal
from coffre.crypto.nodes import Kind
from coffre.errors import IntegrityError, UsageError


def new_link_key() -> bytes:
    return p.random_bytes(32)


def encode_key(link_key: bytes) -> str:
    return base64.urlsafe_b64encode(link_key).decode().rstrip("=")


def decode_key(text: str) -> bytes:
    bad = UsageError("that link key is not valid (check the part after '#')")
    text = text.strip()
    if len(text) != 43:
        raise bad
    try:
        key = base64.urlsafe_b64decode(text + "=")
    except (binascii.Error, ValueError):
        raise bad from None
    if len(key) != 32 or encode_key(key) != text:
        raise bad
    return key


def password_key(password: str, params: KdfParams, *, floor: KdfParams | None = None) -> bytes:
    """The link key of a password link."""
    params.check(floor)
    stretched = p.argon2id(
        normalize_password(password),
        params.salt,
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
    )
    return p.hkdf(stretched, b"coffre/v1 link-password\x00" + params.encode(), 32)


def link_auth(link_key: bytes) -> bytes:
    """What a visitor sends to show it holds the link key (the server keeps its hash)."""
    return p.hkdf_expand(link_key, b"coffre/v1 link-auth", 32)


def _ctx(link_id: bytes, node_id: bytes, kind: Kind) -> bytes:
    return link_id + node_id + bytes([kind])


def wrap(link_key: bytes, link_id: bytes, node_id: bytes, kind: Kind, node_key: bytes) -> bytes:
    return seal(link_key, Purpose.LINK_KEY, _ctx(link_id, node_id, kind), node_key)


def unwrap(link_key: bytes, link_id: bytes, node_id: bytes, kind: Kind, envelope: bytes) -> bytes:
    key = open_(link_key, Purpose.LINK_KEY, _ctx(link_id, node_id, kind), envelope, what="link")
    if len(key) != 32:
        raise IntegrityError("link")
    return key
