"""Thumbnails: one small preview image per file version, made and sealed by a client.

The server keeps the envelope (docs/crypto.md, purpose ``thumbnail``) and hands it to whoever
may read the file; it can neither open it nor move it to another version (the envelope is
bound to the node and the version). A thumbnail is not counted in the storage quota, so it
may never be larger than the file it belongs to: thumbnails can at most double what an
account stores.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from coffre.crypto.envelope import OVERHEAD
from coffre.crypto.nodes import THUMBNAIL_MAX_BYTES
from coffre.errors import NotFound, PayloadTooLarge
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services.records import Access, node_access, visible_version

MAX_SEALED_BYTES = THUMBNAIL_MAX_BYTES + OVERHEAD


def _version(db: Session, who: Principal, version_id: str, need: Access) -> t.Version:
    version, node = visible_version(db, who, version_id)
    node_access(db, who, node.id, need)
    return version


def put(ctx: Context, who: Principal, version_id: str, sealed: bytes) -> None:
    """Store (or replace) a version's thumbnail; needs write access to the file."""
    if len(sealed) > MAX_SEALED_BYTES:
        raise PayloadTooLarge(
            "thumbnail_too_large", f"a thumbnail is at most {MAX_SEALED_BYTES} bytes sealed"
        )
    with ctx.db.write() as db:
        version = _version(db, who, version_id, Access.WRITE)
        content = db.get(t.Content, version.content_id)
        if content is None or len(sealed) > max(content.size, OVERHEAD + 1):
            raise PayloadTooLarge(
                "thumbnail_too_large", "a thumbnail may not be larger than its file"
            )
        existing = db.get(t.Thumbnail, version_id)
        if existing is None:
            db.add(t.Thumbnail(version_id=version_id, data=sealed, created_at=now()))
        else:
            existing.data = sealed
            existing.created_at = now()


def get(ctx: Context, who: Principal, version_id: str) -> bytes:
    """A version's sealed thumbnail, for anyone who may read the file."""
    with ctx.db.read() as db:
        _version(db, who, version_id, Access.READ)
        thumbnail = db.get(t.Thumbnail, version_id)
        if thumbnail is None:
            raise NotFound("thumbnail_not_found", "this version has no thumbnail")
        return thumbnail.data
