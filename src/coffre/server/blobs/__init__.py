"""Where encrypted chunks live: a small interface and its implementations."""

from __future__ import annotations

from coffre.server.blobs.base import BlobStore, chunk_key
from coffre.server.blobs.local import LocalBlobStore


def open_blob_store(location: str) -> BlobStore:
    """The blob store a ``COFFRE_BLOBS`` value names: for now, a local folder."""
    return LocalBlobStore(location)


__all__ = ["BlobStore", "LocalBlobStore", "chunk_key", "open_blob_store"]
