"""Where encrypted chunks live: a small interface and its implementations."""

from __future__ import annotations

from coffre.errors import UsageError
from coffre.server.blobs.base import BlobStore, Presigned, chunk_key, storage_unavailable
from coffre.server.blobs.local import LocalBlobStore
from coffre.server.config import Settings


def open_blob_store(location: str, settings: Settings | None = None) -> BlobStore:
    """The blob store a ``COFFRE_BLOBS`` value names: a local folder, or ``s3://BUCKET/PREFIX``
    (reached as ``settings`` and the AWS variables say). With ``COFFRE_BLOBS_FALLBACK`` set,
    reads that miss fall back to that second store."""
    settings = settings or Settings()
    store = _open_one(location, settings)
    if settings.blobs_fallback and settings.blobs_fallback != location:
        from coffre.server.blobs.fallback import FallbackBlobStore

        return FallbackBlobStore(store, _open_one(settings.blobs_fallback, settings))
    return store


def _open_one(location: str, settings: Settings) -> BlobStore:
    if location.startswith("s3://"):
        from coffre.server.blobs.s3 import S3BlobStore, S3Location, S3Options

        try:
            where = S3Location.parse(location)
        except ValueError as exc:
            raise UsageError(f"COFFRE_BLOBS={location}: {exc}") from None
        return S3BlobStore(
            where,
            S3Options(
                endpoint=settings.s3_endpoint,
                public_endpoint=settings.s3_public_endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                region=settings.s3_region,
                multipart_bytes=settings.s3_multipart_bytes,
            ),
        )
    if "://" in location:
        raise UsageError(f"COFFRE_BLOBS={location}: a folder or s3://BUCKET/PREFIX, please")
    return LocalBlobStore(location)


__all__ = [
    "BlobStore",
    "LocalBlobStore",
    "Presigned",
    "chunk_key",
    "open_blob_store",
    "storage_unavailable",
]
