"""Where encrypted chunks live: a small interface and its implementations."""

from __future__ import annotations

from coffre.errors import UsageError
from coffre.server.blobs.base import BlobStore, chunk_key
from coffre.server.blobs.local import LocalBlobStore


def open_blob_store(location: str) -> BlobStore:
    """The blob store a ``COFFRE_BLOBS`` value names: for now, a local folder."""
    if "://" in location:
        raise UsageError(f"COFFRE_BLOBS={location}: only a local folder is supported so far")
    return LocalBlobStore(location)


__all__ = ["BlobStore", "LocalBlobStore", "chunk_key", "open_blob_store"]
