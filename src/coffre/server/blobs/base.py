"""The blob-store interface. Blobs are opaque ciphertext chunks, at most a few MiB each.

Keys are ``CONTENT_ID/INDEX``; a content's chunks are written once and never changed, so
a store needs no locking: a put either lands whole or not at all.

Two implementations: a local folder (:mod:`.local`, the embedded default) and any
S3-compatible object store (:mod:`.s3`). Only the second can hand out presigned URLs, with
which clients move chunks to and from storage without the API processes in the way; the
local store answers ``None`` and clients send chunks through the API. A store that cannot
be reached raises :func:`storage_unavailable`'s error (a 503).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coffre.errors import ServiceUnavailable


def storage_unavailable(detail: str) -> ServiceUnavailable:
    """The error for a blob store that could not be reached or failed (a 503)."""
    return ServiceUnavailable(
        "storage_unavailable", f"the blob store is unavailable ({detail}); retry shortly"
    )


@dataclass(frozen=True, slots=True)
class Presigned:
    """A URL that lets its holder do one thing to one blob, until it expires. The request
    must carry ``headers`` (they are part of the signature)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


Buffer = bytes | bytearray | memoryview
"""Bytes as a chunk arrives: a request body's pieces are stored without being joined."""


def chunk_key(content_id: str, index: int) -> str:
    return f"{content_id}/{index}"


class RangeWriter(Protocol):
    """Where the consecutive chunks of one request go (:meth:`BlobStore.open_range`)."""

    def write(self, index: int, pieces: Sequence[Buffer]) -> None:
        """Store chunk ``index``, given as the pieces it arrived in; from any thread, in
        any order, each chunk once."""

    def close(self, written: int) -> None:
        """Once no write is running: keep the range's first ``written`` chunks (every
        write returned; a request cut short keeps the whole chunks before the cut), each
        durable after :meth:`BlobStore.sync` of its content."""

    def abort(self) -> None:
        """Once no write is running, after one failed: keep nothing the writes of this
        range alone hold."""


class ChunkByChunk:
    """A range written as one blob a chunk (:meth:`BlobStore.store` of each): what a store
    that keeps no ranges of its own does."""

    def __init__(self, store: BlobStore, content_id: str) -> None:
        self.store, self.content_id = store, content_id

    def write(self, index: int, pieces: Sequence[Buffer]) -> None:
        self.store.store(chunk_key(self.content_id, index), pieces)

    def close(self, written: int) -> None:
        pass

    def abort(self) -> None:
        pass  # each chunk stored is whole: it stays, as any chunk sent again would


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` durably under ``key``, replacing any earlier blob atomically."""

    def store(self, key: str, pieces: Sequence[Buffer]) -> None:
        """Like :meth:`put` of the pieces joined, but the blob may be durable only after
        :meth:`sync` of its content: for the chunks of one request, synced together before
        it is answered."""

    def open_range(self, content_id: str, first: int, size: int) -> RangeWriter:
        """A writer for consecutive chunks from ``first`` of one request, each ``size``
        bytes but the upload's last: a store may keep them together (a file a range
        instead of a file a chunk), and read them back one by one as any other."""

    def sync(self, content_id: str) -> None:
        """Make every blob stored for ``content_id`` so far durable."""

    def get(self, key: str) -> bytes:
        """The blob's bytes; :class:`KeyError` if there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob if it exists (and, where a range's chunks are kept together,
        the other chunks of every range that holds it)."""

    def exists(self, key: str) -> bool: ...

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove these blobs, those that exist (in as few requests as the store allows)."""

    def chunks(self, content_id: str) -> set[int]:
        """The indexes of the chunks stored for ``content_id``."""

    def chunk_sizes(self, content_id: str) -> dict[int, int]:
        """The size of each chunk stored for ``content_id``, by index."""

    def range_sizes(self, content_id: str, first: int, count: int) -> dict[int, int]:
        """The sizes of those of chunks ``first`` .. ``first + count - 1`` that are stored,
        by index (what a ranged download checks before its answer starts)."""

    def check(self) -> None:
        """Raise if the store cannot be used (for /healthz)."""

    def presign_put(self, key: str, size: int, expires: int) -> Presigned | None:
        """A URL to store exactly ``size`` bytes under ``key`` (only if there is no blob
        there yet, where the store can refuse a replacement); None if the store cannot
        hand out URLs."""

    def presign_get(self, key: str, expires: int) -> Presigned | None:
        """A URL to read the blob at ``key``; None if the store cannot hand out URLs."""
