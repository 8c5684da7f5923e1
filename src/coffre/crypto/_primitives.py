"""The one module that imports ``cryptography`` and ``nacl``.

Everything else in Coffre calls these small wrappers, so the set of primitives in use
is visible in one place and can be audited (or swapped) here alone:

- AES-256-GCM (12-byte nonce, 16-byte tag), the only cipher;
- HKDF-SHA256, full (extract and expand) and expand-only (for keys that are already
  uniformly random, RFC 5869 section 3.3);
- HMAC-SHA256 and SHA-256;
- Argon2id, for passwords;
- X25519 and Ed25519, for public-key work.

All from OpenSSL (``cryptography``) but Ed25519, from libsodium (``nacl``): its signatures
are the same bytes (Ed25519 is deterministic, RFC 8032), made and checked in half the time
or less (22 against 49 us, 54 against 114 us; docs/performance-history.md), and its check refuses
a key of small order, which OpenSSL's takes (under the neutral point as the key, R = the
neutral point and S = 0 is a signature of every message).

Functions take and return ``bytes``; none does I/O except reading the OS's randomness.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import nacl.bindings as _sodium
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from nacl.exceptions import BadSignatureError

_SHA256 = hashes.SHA256()
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16


class AuthenticationFailed(Exception):
    """A tag, a commitment or a signature did not verify. Never shown to users as is."""


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def equal(a: bytes | memoryview, b: bytes) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)


def sha256(data: bytes | memoryview) -> bytes:
    return hashlib.sha256(data).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


def hkdf(ikm: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
    """HKDF-SHA256 (RFC 5869) with extract and expand; an empty salt means 32 zero bytes."""
    return HKDF(algorithm=_SHA256, length=length, salt=salt or None, info=info).derive(ikm)


def hkdf_expand(key: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand-SHA256 alone, for ``key`` that is already a uniformly random 256-bit key."""
    return HKDFExpand(algorithm=_SHA256, length=length, info=info).derive(key)


def argon2id(password: bytes, salt: bytes, *, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    """Argon2id (RFC 9106), version 0x13, 32-byte output, no secret and no associated data."""
    kdf = Argon2id(
        salt=salt, length=KEY_SIZE, iterations=time_cost, lanes=lanes, memory_cost=memory_kib
    )
    return kdf.derive(password)


class Aead:
    """AES-256-GCM under one key. Constructing it once and reusing it saves key scheduling."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, associated_data)

    def encrypt_into(
        self, nonce: bytes, plaintext: bytes | memoryview, associated_data: bytes, out: memoryview
    ) -> None:
        self._aead.encrypt_into(nonce, plaintext, associated_data, out)

    def decrypt(
        self, nonce: bytes | memoryview, ciphertext: bytes | memoryview, associated_data: bytes
    ) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise AuthenticationFailed from None

    def decrypt_into(
        self,
        nonce: bytes | memoryview,
        ciphertext: bytes | memoryview,
        associated_data: bytes,
        out: memoryview,
    ) -> None:
        """:meth:`decrypt` into ``out`` (exactly the plaintext's length). On failure ``out``
        may hold unauthenticated bytes: the caller must not use them."""
        try:
            self._aead.decrypt_into(nonce, ciphertext, associated_data, out)
        except InvalidTag:
            raise AuthenticationFailed from None


# -- X25519 -------------------------------------------------------------------------------


def x25519_generate() -> bytes:
    """A new raw 32-byte X25519 private key."""
    return X25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def x25519_public(private: bytes) -> bytes:
    key = X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x25519_shared(private: bytes, peer_public: bytes) -> bytes:
    key = X25519PrivateKey.from_private_bytes(private)
    return key.exchange(X25519PublicKey.from_public_bytes(peer_public))


# -- Ed25519 ------------------------------------------------------------------------------


def ed25519_generate() -> bytes:
    """A new raw 32-byte Ed25519 private key: the seed, 32 random bytes (RFC 8032 5.1.5)."""
    return random_bytes(32)


def ed25519_public(private: bytes) -> bytes:
    return _sodium.crypto_sign_seed_keypair(private)[0]


class Ed25519Signer:
    """An Ed25519 private key loaded once, for many signatures: deriving the public key
    from the seed (a scalar multiplication) costs as much as the signature itself."""

    __slots__ = ("_key",)

    def __init__(self, private: bytes) -> None:
        self._key = _sodium.crypto_sign_seed_keypair(private)[1]

    def __repr__(self) -> str:
        return "Ed25519Signer(<private key hidden>)"

    def sign(self, message: bytes) -> bytes:
        return _sodium.crypto_sign(message, self._key)[: _sodium.crypto_sign_BYTES]


def ed25519_sign(private: bytes, message: bytes) -> bytes:
    return Ed25519Signer(private).sign(message)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> None:
    if len(signature) != _sodium.crypto_sign_BYTES:
        raise AuthenticationFailed
    try:
        _sodium.crypto_sign_open(signature + message, public)
    except (BadSignatureError, ValueError, TypeError):
        raise AuthenticationFailed from None
