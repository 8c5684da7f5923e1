"""The blob-store interface. Blobs are opaque ciphertext chunks, at most a few MiB each.

Keys are ``CONTENT_ID/INDEX``; a content's chunks are written once and never changed, so
a store needs no locking: a put either lands whole or not at all.
"""

from __future__ import annotations

from typing import Protocol


def chunk_key(content_id: str, index: int) -> str:
    return f"{content_id}/{index}"


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` durably under ``key``, replacing any earlier blob atomically."""

    def get(self, key: str) -> bytes:
        """The blob's bytes; :class:`KeyError` if there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob if it exists."""

    def exists(self, key: str) -> bool: ...

    def chunks(self, content_id: str) -> set[int]:
        """The indexes of the chunks stored for ``content_id``."""

    def check(self) -> None:
        """Raise if the store cannot be used (for /healthz)."""
