"""File content: AES-256-GCM in the STREAM construction, one fresh key per file version.

A version's content key ``CK`` (random, 32 bytes) and content id (random, 16 bytes) live
only inside its version envelope (:mod:`coffre.crypto.nodes`). From ``CK``::

    okm        = HKDF-Expand-SHA256(CK, "coffre/v1 content", 64)
    chunk key  = okm[0:32]
    commitment = okm[32:64]

The header, stored beside the chunks, 37 bytes::

    0x01 || chunk_size (u32, big-endian, plaintext bytes per chunk) || commitment (32)

Chunk ``i`` of ``n`` (``n = max(1, ceil(size / chunk_size))``; an empty file is one empty
final chunk)::

    nonce_i = 0x000000 || i (u64, big-endian) || last (0x01 for i = n-1, else 0x00)
    AD      = 0x01 || "coffre/v1 content" || 0x00 || content_id || header
    chunk_i = AES-256-GCM(chunk key, nonce_i, plaintext_i, AD)   (plaintext + 16-byte tag)

The commitment is checked before any chunk is decrypted (SECURITY.md A6). The index and
the final flag in the nonce, with the content id and header in the AD, make reordering,
dropping, duplicating, truncating, extending or splicing chunks an integrity error (A5);
each chunk is authenticated before a byte of it is released (A15). The key is fresh for
every version and the nonce is a function of the index, so nonces never repeat under a key
as long as a version's chunks are encrypted once (A16; resumed uploads check this).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from coffre.crypto import _primitives as p
from coffre.errors import IntegrityError

HEADER_VERSION = 0x01
HEADER_SIZE = 37
TAG_SIZE = p.TAG_SIZE
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_CHUNK_SIZE = 1 << 26
_LABEL = b"coffre/v1 content"
_WHAT = "file content"


def chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def ciphertext_size(size: int, chunk_size: int) -> int:
    return size + TAG_SIZE * chunk_count(size, chunk_size)


def chunk_plaintext_size(size: int, chunk_size: int, index: int) -> int:
    n = chunk_count(size, chunk_size)
    if not 0 <= index < n:
        raise IndexError(index)
    return chunk_size if index < n - 1 else size - chunk_size * (n - 1)


def _nonce(index: int, last: bool) -> bytes:
    return b"\x00\x00\x00" + struct.pack(">Q", index) + (b"\x01" if last else b"\x00")


@dataclass(frozen=True, slots=True)
class Header:
    chunk_size: int
    commitment: bytes

    def encode(self) -> bytes:
        return struct.pack(">BI", HEADER_VERSION, self.chunk_size) + self.commitment

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        if len(raw) != HEADER_SIZE or raw[0] != HEADER_VERSION:
            raise IntegrityError(_WHAT)
        (chunk_size,) = struct.unpack(">I", raw[1:5])
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise IntegrityError(_WHAT)
        return cls(chunk_size, raw[5:])


class ContentCipher:
    """Encrypts and decrypts the chunks of one version's content.

    Built for decryption with :meth:`for_decryption`, which checks the header's version
    and key commitment first and raises :class:`IntegrityError` before anything else.
    """

    __slots__ = ("_ad", "_aead", "header")

    def __init__(self, content_key: bytes, content_id: bytes, chunk_size: int) -> None:
        if len(content_key) != 32 or len(content_id) != 16:
            raise ValueError("content keys are 32 bytes and content ids 16")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be 1..{MAX_CHUNK_SIZE}")
        okm = p.hkdf_expand(content_key, _LABEL, 64)
        self._aead = p.Aead(okm[:32])
        self.header = Header(chunk_size, okm[32:])
        self._ad = bytes([HEADER_VERSION]) + _LABEL + b"\x00" + content_id + self.header.encode()

    @classmethod
    def for_decryption(
        cls, content_key: bytes, content_id: bytes, header: bytes, chunk_size: int | None = None
    ) -> ContentCipher:
        """Check the header before anything is fetched or decrypted: its commitment, and its
        chunk size against ``chunk_size`` from the (authenticated) version record."""
        claimed = Header.decode(header)
        if chunk_size is not None and claimed.chunk_size != chunk_size:
            raise IntegrityError(_WHAT)
        cipher = cls(content_key, content_id, claimed.chunk_size)
        if not p.equal(cipher.header.commitment, claimed.commitment):
            raise IntegrityError(_WHAT)
        return cipher

    @property
    def chunk_size(self) -> int:
        return self.header.chunk_size

    def _check_length(self, plaintext: bytes | memoryview, last: bool) -> None:
        if len(plaintext) > self.chunk_size or (not last and len(plaintext) != self.chunk_size):
            raise ValueError("only the last chunk may be short")

    def encrypt_chunk(self, index: int, plaintext: bytes, *, last: bool) -> bytes:
        self._check_length(plaintext, last)
        return self._aead.encrypt(_nonce(index, last), plaintext, self._ad)

    def encrypt_chunk_into(
        self, index: int, plaintext: bytes | memoryview, out: memoryview, *, last: bool
    ) -> None:
        """:meth:`encrypt_chunk` into ``out``, which must be ``len(plaintext) + TAG_SIZE``
        bytes long."""
        self._check_length(plaintext, last)
        self._aead.encrypt_into(_nonce(index, last), plaintext, self._ad, out)

    def decrypt_chunk_into(
        self, index: int, ciphertext: bytes | memoryview, out: memoryview, *, last: bool
    ) -> int:
        """:meth:`decrypt_chunk` into ``out`` (at least ``len(ciphertext) - TAG_SIZE`` bytes
        long); the plaintext's length. If it raises, what ``out`` holds must not be used."""
        length = len(ciphertext) - TAG_SIZE
        if length < 0 or length > self.chunk_size or (not last and length != self.chunk_size):
            raise IntegrityError(_WHAT)
        try:
            self._aead.decrypt_into(_nonce(index, last), ciphertext, self._ad, out[:length])
        except p.AuthenticationFailed:
            raise IntegrityError(_WHAT) from None
        return length

    def decrypt_chunk(self, index: int, ciphertext: bytes | memoryview, *, last: bool) -> bytes:
        try:
            plaintext = self._aead.decrypt(_nonce(index, last), ciphertext, self._ad)
        except p.AuthenticationFailed:
            raise IntegrityError(_WHAT) from None
        if len(plaintext) > self.chunk_size or (not last and len(plaintext) != self.chunk_size):
            raise IntegrityError(_WHAT)
        return plaintext


def chunk_digest(plaintext: bytes | memoryview) -> bytes:
    """SHA-256 of one plaintext chunk."""
    return p.sha256(plaintext)


def content_hash(chunk_digests: Iterable[bytes]) -> bytes:
    """The file's content hash: SHA-256 of its chunks' SHA-256 digests, in order.

    Computed chunk by chunk, in parallel, as a file is read once for encryption; it names
    the plaintext (for a given chunk size) and is kept in the version envelope.
    """
    return p.sha256(b"".join(chunk_digests))


def encrypt_all(
    content_key: bytes, content_id: bytes, data: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[bytes, list[bytes]]:
    """The header and every chunk of ``data``, for small contents, tests and vectors."""
    cipher = ContentCipher(content_key, content_id, chunk_size)
    n = chunk_count(len(data), chunk_size)
    chunks = [
        cipher.encrypt_chunk(i, data[i * chunk_size : (i + 1) * chunk_size], last=i == n - 1)
        for i in range(n)
    ]
    return cipher.header.encode(), chunks


def decrypt_all(
    content_key: bytes, content_id: bytes, header: bytes, chunks: Iterable[bytes]
) -> Iterator[bytes]:
    """Yield authenticated plaintext chunk by chunk; a stream without its final chunk fails.

    The caller does not know where the stream ends, so a chunk is held back until the next
    arrives (or the stream ends) to learn whether it must be the final one.
    """
    cipher = ContentCipher.for_decryption(content_key, content_id, header)
    pending: bytes | None = None
    index = 0
    for chunk in chunks:
        if pending is not None:
            yield cipher.decrypt_chunk(index, pending, last=False)
            index += 1
        pending = chunk
    if pending is None:
        raise IntegrityError(_WHAT)
    yield cipher.decrypt_chunk(index, pending, last=True)
