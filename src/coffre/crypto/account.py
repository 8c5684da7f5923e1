"""From a password to the account's keys, and back again.

::

    password ──Argon2id(salt, t, m, p)──▶ stretched (32 bytes)
    stretched ──HKDF(info="coffre/v1 auth" 0x00 params)──▶ auth secret  (sent at login)
    stretched ──HKDF(info="coffre/v1 kek"  0x00 params)──▶ key-encryption key (never leaves)
    key-encryption key ──seal("master-key", user_id || params)──▶ wrapped master key
    master key ──seal("identity-keys", user_id)──▶ X25519 and Ed25519 private keys
    master key ──seal("root-key", user_id || root_id)──▶ root folder key
    master key ──HKDF-Expand("coffre/v1 recovery-verifier")──▶ recovery verifier
    master key ──seal("tree-copy", user_id || previous)──▶ the client's kept copy of its tree

``params`` is the 30-byte encoding of the Argon2id parameters (:meth:`KdfParams.encode`), so
parameters other than those the client used give other keys; and the client refuses
parameters below :data:`MINIMUM` before it derives anything (SECURITY.md A2). The server
gets the auth secret (and stores only its SHA-256), never the stretched password, the
key-encryption key or the master key (A3).
"""

from __future__ import annotations

import base64
import struct
import unicodedata
from dataclasses import dataclass

from coffre.crypto import _primitives as p
from coffre.crypto.envelope import Purpose, open_, seal
from coffre.errors import DowngradeError, UsageError

KDF_ALGORITHM = 0x01  # Argon2id, version 0x13
SALT_SIZE = 16
ID_SIZE = 16


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters and the account's salt, as stored by the server."""

    time_cost: int
    memory_kib: int
    lanes: int
    salt: bytes

    def encode(self) -> bytes:
        """``0x01 || t u32 || m u32 || p u32 || salt_len u8 || salt`` (big-endian)."""
        return (
            struct.pack(
                ">BIIIB", KDF_ALGORITHM, self.time_cost, self.memory_kib, self.lanes, len(self.salt)
            )
            + self.salt
        )

    def check(self, floor: KdfParams | None = None) -> None:
        """Refuse parameters weaker than ``floor`` (default :data:`MINIMUM`) or absurdly large."""
        floor = floor or MINIMUM
        if (
            self.time_cost < floor.time_cost
            or self.memory_kib < floor.memory_kib
            or self.lanes < floor.lanes
            or len(self.salt) < SALT_SIZE
        ):
            raise DowngradeError(
                "the server offered password-hashing parameters weaker than this client accepts "
                f"(t={self.time_cost}, m={self.memory_kib} KiB, p={self.lanes}, "
                f"salt {len(self.salt)} bytes); refusing to derive keys with them"
            )
        if (
            self.time_cost > MAXIMUM.time_cost
            or self.memory_kib > MAXIMUM.memory_kib
            or self.lanes > MAXIMUM.lanes
            or len(self.salt) > 64
        ):
            raise DowngradeError(
                "the server offered password-hashing parameters beyond what this client allows "
                f"(t={self.time_cost}, m={self.memory_kib} KiB, p={self.lanes})"
            )

    @classmethod
    def new(cls, template: KdfParams | None = None) -> KdfParams:
        """Fresh parameters with a new random salt."""
        t = template or DEFAULT
        return cls(t.time_cost, t.memory_kib, t.lanes, p.random_bytes(SALT_SIZE))


DEFAULT = KdfParams(time_cost=3, memory_kib=64 * 1024, lanes=1, salt=b"")
MINIMUM = DEFAULT
MAXIMUM = KdfParams(time_cost=16, memory_kib=1024 * 1024, lanes=8, salt=b"")


@dataclass(frozen=True, slots=True)
class LoginSecrets:
    auth_secret: bytes
    kek: bytes


def normalize_password(password: str) -> bytes:
    return unicodedata.normalize("NFC", password).encode()


def stretch(password: str, params: KdfParams, *, floor: KdfParams | None = None) -> bytes:
    """Argon2id of the normalised ``password`` with ``params``, refused below ``floor`` (A2)."""
    params.check(floor)
    return p.argon2id(
        normalize_password(password),
        params.salt,
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
    )


def derive_login_secrets(
    password: str, params: KdfParams, *, floor: KdfParams | None = None
) -> LoginSecrets:
    """Stretch ``password`` and derive the auth secret and key-encryption key."""
    stretched = stretch(password, params, floor=floor)
    encoded = params.encode()
    return LoginSecrets(
        auth_secret=p.hkdf(stretched, b"coffre/v1 auth\x00" + encoded, 32),
        kek=p.hkdf(stretched, b"coffre/v1 kek\x00" + encoded, 32),
    )


def auth_hash(auth_secret: bytes) -> bytes:
    """What the server stores to check an auth secret (or a recovery verifier)."""
    return p.sha256(b"coffre/v1 auth-hash\x00" + auth_secret)


def new_key() -> bytes:
    return p.random_bytes(32)


def new_id() -> bytes:
    return p.random_bytes(ID_SIZE)


def wrap_master_key(kek: bytes, user_id: bytes, params: KdfParams, master_key: bytes) -> bytes:
    return seal(kek, Purpose.MASTER_KEY, user_id + params.encode(), master_key)


def unwrap_master_key(kek: bytes, user_id: bytes, params: KdfParams, wrapped: bytes) -> bytes:
    return open_(kek, Purpose.MASTER_KEY, user_id + params.encode(), wrapped, what="master key")


def wrap_root_key(master_key: bytes, user_id: bytes, root_id: bytes, root_key: bytes) -> bytes:
    return seal(master_key, Purpose.ROOT_KEY, user_id + root_id, root_key)


def unwrap_root_key(master_key: bytes, user_id: bytes, root_id: bytes, wrapped: bytes) -> bytes:
    return open_(master_key, Purpose.ROOT_KEY, user_id + root_id, wrapped, what="root folder key")


def seal_tree_copy(
    master_key: bytes,
    user_id: bytes,
    previous: bytes,
    plaintext: bytes,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """One frame of the client's kept copy of its tree (docs/crypto.md, section 11), sealed
    for its own disk and bound to the frame before it (``previous``: the SHA-256 of that
    frame's envelope, or 32 zero bytes for the first); ``nonce`` is for test vectors only."""
    context = user_id + previous
    return seal(master_key, Purpose.TREE_COPY, context, plaintext, nonce=nonce)


def open_tree_copy(
    master_key: bytes, user_id: bytes, previous: bytes, sealed: bytes | memoryview
) -> bytes:
    context = user_id + previous
    return open_(master_key, Purpose.TREE_COPY, context, sealed, what="kept copy of the tree")


def recovery_verifier(master_key: bytes) -> bytes:
    """Proof of the master key for password reset; the key itself never leaves the client."""
    return p.hkdf_expand(master_key, b"coffre/v1 recovery-verifier", 32)


def encode_recovery_key(master_key: bytes) -> str:
    """The master key as 11 groups of 5 base32 letters, with a 2-byte checksum."""
    raw = master_key + p.sha256(b"coffre/v1 recovery-key\x00" + master_key)[:2]
    text = base64.b32encode(raw).decode().rstrip("=").lower()
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def decode_recovery_key(text: str) -> bytes:
    letters = "".join(ch for ch in text if ch.isalnum()).upper()
    bad = UsageError("that is not a Coffre recovery key (check for a typing mistake)")
    if len(letters) != 55:
        raise bad
    try:
        raw = base64.b32decode(letters + "=")
    except ValueError:
        raise bad from None
    key, check = raw[:32], raw[32:]
    if not p.equal(check, p.sha256(b"coffre/v1 recovery-key\x00" + key)[:2]):
        raise bad
    return key
