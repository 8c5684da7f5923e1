"""Two stores as one, while blobs move from an old store to a new one.

Everything is written to the new store (``primary``); a read that misses there is served
from the old one (``fallback``); deletes go to both. ``coffre admin migrate-blobs`` copies
the old store's blobs meanwhile, so reads never stop while an installation moves to S3.
Downloads go through the API in this mode (no presigned GET URLs): a chunk may still be
only in the old store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from coffre.server.blobs.base import BlobStore, Buffer, Presigned, RangeWriter


class FallbackBlobStore:
    def __init__(self, primary: BlobStore, fallback: BlobStore) -> None:
        self.primary = primary
        self.fallback = fallback

    def put(self, key: str, data: bytes) -> None:
        self.primary.put(key, data)

    def store(self, key: str, pieces: Sequence[Buffer]) -> None:
        self.primary.store(key, pieces)

    def open_range(self, content_id: str, first: int, size: int) -> RangeWriter:
        return self.primary.open_range(content_id, first, size)

    def sync(self, content_id: str) -> None:
        self.primary.sync(content_id)

    def get(self, key: str) -> bytes:
        try:
            return self.primary.get(key)
        except KeyError:
            return self.fallback.get(key)

    def delete(self, key: str) -> None:
        self.primary.delete(key)
        self.fallback.delete(key)

    def delete_many(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self.primary.delete_many(keys)
        self.fallback.delete_many(keys)

    def exists(self, key: str) -> bool:
        return self.primary.exists(key) or self.fallback.exists(key)

    def chunks(self, content_id: str) -> set[int]:
        return self.primary.chunks(content_id) | self.fallback.chunks(content_id)

    def chunk_sizes(self, content_id: str) -> dict[int, int]:
        return {**self.fallback.chunk_sizes(content_id), **self.primary.chunk_sizes(content_id)}

    def range_sizes(self, content_id: str, first: int, count: int) -> dict[int, int]:
        sizes = self.primary.range_sizes(content_id, first, count)
        if len(sizes) < count:
            sizes = {**self.fallback.range_sizes(content_id, first, count), **sizes}
        return sizes

    def check(self) -> None:
        self.primary.check()
        self.fallback.check()

    def presign_put(self, key: str, size: int, expires: int) -> Presigned | None:
        return self.primary.presign_put(key, size, expires)

    def presign_get(self, key: str, expires: int) -> Presigned | None:
        return None

    def __str__(self) -> str:
        return f"{self.primary} (reading {self.fallback} too)"
