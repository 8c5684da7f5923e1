"""Presigned URLs: clients move chunks straight to and from the object store.

With S3 blobs (and ``COFFRE_DIRECT_TRANSFERS`` on), the API hands out short-lived URLs
instead of carrying chunk bytes (MEGA's storage-server model): a PUT URL for each chunk of
an upload, signed for its exact length and only if the chunk is not there yet, and a GET
URL for each chunk of a version the caller may read. The API still decides everything:
who may upload what (the upload was checked and reserved at its start), that every chunk
is there with its exact size (at commit, by listing the store), who may read what. With a
local blob folder the answer is an empty list, and chunks go through the API.

A URL lives ``presign_seconds`` (at most a quarter of the upload expiry); handing out PUT
URLs keeps an upload alive, so no URL outlives the upload it was made for.
"""

from __future__ import annotations

from sqlalchemy import update

from coffre.protocol import models as m
from coffre.server.blobs import chunk_key
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services.transfers import chunk_source, chunk_target


def _none() -> m.ChunkUrls:
    return m.ChunkUrls(urls=[], expires=0.0)


def upload_urls(ctx: Context, who: Principal, upload_id: str, indexes: list[int]) -> m.ChunkUrls:
    """PUT URLs for these chunks of the caller's upload (in the order asked)."""
    target = chunk_target(ctx, who, upload_id)
    for index in indexes:
        target.check_index(index)
    if not ctx.settings.direct_transfers:
        return _none()
    seconds = ctx.settings.presign_seconds
    urls: list[m.ChunkUrl] = []
    for index in indexes:
        signed = ctx.blobs.presign_put(
            chunk_key(target.content_id, index), target.expected(index), seconds
        )
        if signed is None:
            return _none()
        urls.append(m.ChunkUrl(index=index, url=signed.url, headers=signed.headers))
    if target.stale:
        # The URLs are the upload's only activity the server sees: keep it from expiring
        # while they may be used (at most one write a minute per upload).
        with ctx.db.write() as db:
            db.execute(update(t.Upload).where(t.Upload.id == upload_id).values(updated_at=now()))
    return m.ChunkUrls(urls=urls, expires=now() + seconds)


def download_urls(
    ctx: Context, who: Principal, version_id: str, first: int, count: int
) -> m.ChunkUrls:
    """GET URLs for chunks ``first`` .. ``first + count - 1`` of a version the caller may
    read; none for a content kept inside the database (small files)."""
    source = chunk_source(ctx, who, version_id)
    source.check_range(first, count)
    if source.inline is not None or not ctx.settings.direct_transfers:
        return _none()
    seconds = ctx.settings.presign_seconds
    urls: list[m.ChunkUrl] = []
    for index in range(first, first + count):
        signed = ctx.blobs.presign_get(chunk_key(source.content_id, index), seconds)
        if signed is None:
            return _none()
        urls.append(m.ChunkUrl(index=index, url=signed.url, headers=signed.headers))
    return m.ChunkUrls(urls=urls, expires=now() + seconds)
