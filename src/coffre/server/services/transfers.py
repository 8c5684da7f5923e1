"""Uploads and downloads of encrypted chunks.

An upload is one new file version. The client declares its shape (chunk size, count,
ciphertext size) and its sealed envelopes, then PUTs chunks in any order and in parallel;
the server keeps which it has, so an upload resumes after either side restarts. The
commit makes the version (and, for a new file, the node) visible in one transaction.
Quota is reserved at the start (committed bytes plus pending uploads) and checked again
at commit. Uploads untouched for ``upload_expiry`` seconds are collected with their blobs.

Small files (one chunk each) can skip the three-step dance: see :mod:`.small_files`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, QuotaExceeded
from coffre.protocol import models as m
from coffre.server.blobs import chunk_key
from coffre.server.blobs.base import Buffer, RangeWriter
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import events
from coffre.server.services.accounts import prune_login_failures
from coffre.server.services.records import (
    Access,
    access_to,
    check_name_free,
    check_new_id,
    in_rubbish,
    live_folder,
    lock_account,
    lock_trees,
    node_access,
    node_record,
    visible_version,
)

TAG = 16
_TOUCH_EVERY = 60.0


def expected_chunk_size(chunk_size: int, chunk_count: int, size: int, index: int) -> int:
    """Ciphertext bytes of chunk ``index``: full chunks, then whatever is left."""
    if index < chunk_count - 1:
        return chunk_size + TAG
    return size - (chunk_count - 1) * (chunk_size + TAG)


def check_shape(ctx: Context, v: m.NewVersion) -> None:
    s = ctx.settings
    if not s.min_chunk_size <= v.chunk_size <= s.max_chunk_size:
        raise BadRequest(
            "bad_chunk_size", f"chunk size must be {s.min_chunk_size}..{s.max_chunk_size} bytes"
        )
    full = v.chunk_size + TAG
    last = v.size - (v.chunk_count - 1) * full
    if not (TAG if v.chunk_count == 1 else TAG + 1) <= last <= full:
        raise BadRequest("bad_size", "size and chunk count do not match the chunk size")
    if struct.unpack(">I", v.header[1:5])[0] != v.chunk_size:
        raise BadRequest("bad_header", "the content header names another chunk size")


def reserved_bytes(db: Session, user_id: str) -> int:
    pending = db.scalar(
        select(func.coalesce(func.sum(t.Upload.size), 0)).where(t.Upload.owner_id == user_id)
    )
    return int(pending or 0)


def check_quota(db: Session, user: t.User, size: int, *, pending: bool) -> None:
    reserved = reserved_bytes(db, user.id) if pending else 0
    if user.storage_used + reserved + size > user.storage_quota:
        free = max(0, user.storage_quota - user.storage_used - reserved)
        raise QuotaExceeded(
            "quota_exceeded",
            f"storage quota exceeded: {size} bytes needed, {free} bytes left of "
            f"{user.storage_quota}",
        )


def _target(
    db: Session, who: Principal, node: m.NewNode | None, node_id: str | None
) -> tuple[t.Node | None, str]:
    """Check where a new version goes: the existing node (None for a new one), and the
    account whose tree (and quota) it is in."""
    if (node is None) == (node_id is None):
        raise BadRequest("invalid_request", "give either node (a new file) or node_id")
    if node is not None:
        owner = live_folder(db, who, node.parent_id).owner_id
        check_new_id(db, node.id)
        check_name_free(db, node.parent_id, node.name_tag)
        return None, owner
    assert node_id is not None
    existing = node_access(db, who, node_id, Access.WRITE)
    if existing.kind != "file":
        raise Conflict("not_a_file", "a folder cannot have versions")
    if in_rubbish(db, existing):
        raise Conflict("in_rubbish", "restore the file from the rubbish bin first")
    return existing, existing.owner_id


def _check_new_version(db: Session, v: m.NewVersion) -> None:
    if db.get(t.Version, v.id) or db.get(t.Upload, v.id):
        raise Conflict("id_taken", "that version id is in use; generate another")
    if db.get(t.Content, v.content_id) or db.scalar(
        select(t.Upload.id).where(t.Upload.content_id == v.content_id)
    ):
        raise Conflict("id_taken", "that content id is in use; generate another")


_PROBE = chunk_key("0" * 32, 0)


def direct_uploads(ctx: Context) -> bool:
    """Whether clients send chunks to the store themselves (the store can presign PUTs)."""
    return ctx.settings.direct_transfers and ctx.blobs.presign_put(_PROBE, 16, 60) is not None


def _state(ctx: Context, u: t.Upload, *, fresh: bool = False) -> m.UploadState:
    """The upload's state; the chunks it has are listed from the blob store (none when it
    is ``fresh``: its content id was checked to be new)."""
    received = (
        []
        if fresh
        else sorted(
            index
            for index, size in ctx.blobs.chunk_sizes(u.content_id).items()
            if index < u.chunk_count
            and size == expected_chunk_size(u.chunk_size, u.chunk_count, u.size, index)
        )
    )
    return m.UploadState(
        id=u.id,
        node_id=u.node_id,
        chunk_size=u.chunk_size,
        chunk_count=u.chunk_count,
        size=u.size,
        received=received,
        expires=u.updated_at + ctx.settings.upload_expiry,
        direct=direct_uploads(ctx),
    )


def start(ctx: Context, who: Principal, req: m.UploadRequest) -> m.UploadState:
    check_shape(ctx, req.version)
    v = req.version
    at = now()
    with ctx.db.write() as db:
        lock_trees(db, [req.node.parent_id if req.node else req.node_id])
        existing, owner = _target(db, who, req.node, req.node_id)
        _check_new_version(db, v)
        check_quota(db, db.get_one(t.User, owner), v.size, pending=True)
        upload = t.Upload(
            id=v.id,
            owner_id=owner,
            uploader_id=who.user_id,
            node_signature=req.node.signature if req.node else None,
            node_id=existing.id if existing else req.node.id,  # type: ignore[union-attr]
            new_node=existing is None,
            parent_id=req.node.parent_id if req.node else None,
            node_key=req.node.key if req.node else None,
            node_meta=req.node.meta if req.node else None,
            name_tag=req.node.name_tag if req.node else None,
            header=v.header,
            content_id=v.content_id,
            chunk_size=v.chunk_size,
            chunk_count=v.chunk_count,
            size=v.size,
            created_at=at,
            updated_at=at,
        )
        db.add(upload)
        db.flush()
        return _state(ctx, upload, fresh=True)


def _owned_upload(db: Session, who: Principal, upload_id: str, *, lock: bool = False) -> t.Upload:
    """The caller's upload; with ``lock``, its row is locked and its account's too (first),
    so that a commit and a collection of the same upload cannot both happen."""
    if lock:
        owner = db.scalar(select(t.Upload.owner_id).where(t.Upload.id == upload_id))
        if owner is not None:
            lock_account(db, owner)
        upload = db.scalar(
            select(t.Upload)
            .where(t.Upload.id == upload_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        upload = db.get(t.Upload, upload_id)
    if upload is None or not _sent_by(who, upload.owner_id, upload.uploader_id):
        raise _no_such_upload()
    return upload


def _sent_by(who: Principal, owner_id: str, uploader_id: str | None) -> bool:
    """Whether an upload is the caller's to send chunks to: whoever started it (into their
    own tree or a folder shared with them), or its owner where that was not recorded."""
    return (uploader_id or owner_id) == who.user_id


def _no_such_upload() -> NotFound:
    return NotFound("upload_not_found", "no such upload (it may have expired or been committed)")


def state(ctx: Context, who: Principal, upload_id: str) -> m.UploadState:
    with ctx.db.read() as db:
        upload = _owned_upload(db, who, upload_id)
    return _state(ctx, upload)


@dataclass(frozen=True, slots=True)
class ChunkTarget:
    """Where an upload's chunks go, checked once per request."""

    upload_id: str
    content_id: str
    chunk_size: int
    chunk_count: int
    size: int
    stale: bool

    def expected(self, index: int) -> int:
        return expected_chunk_size(self.chunk_size, self.chunk_count, self.size, index)

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.chunk_count:
            raise BadRequest("bad_chunk_index", f"chunk index must be 0..{self.chunk_count - 1}")


_U = t.Upload
_TARGET = select(
    _U.owner_id,
    _U.uploader_id,
    _U.content_id,
    _U.chunk_size,
    _U.chunk_count,
    _U.size,
    _U.updated_at,
).where(_U.id == bindparam("upload_id"))
_ALIVE = select(
    or_(
        exists().where(_U.id == bindparam("upload_id")),
        exists().where(t.Content.id == bindparam("content_id")),
    )
)


def chunk_target(ctx: Context, who: Principal, upload_id: str) -> ChunkTarget:
    """The caller's upload, as its chunk requests need it: one Core statement (no ORM
    objects), as each range of an upload runs it."""
    u = ctx.db.first(_TARGET, {"upload_id": upload_id})
    if u is None or not _sent_by(who, u.owner_id, u.uploader_id):
        raise _no_such_upload()
    return ChunkTarget(
        upload_id,
        u.content_id,
        u.chunk_size,
        u.chunk_count,
        u.size,
        stale=now() - u.updated_at > min(_TOUCH_EVERY, ctx.settings.upload_expiry / 4),
    )


def _check_length(target: ChunkTarget, index: int, pieces: Sequence[Buffer]) -> None:
    expected = target.expected(index)
    size = sum(map(len, pieces))
    if size != expected:
        raise BadRequest("bad_chunk_length", f"chunk {index} must be {expected} bytes, not {size}")


def store_chunk(ctx: Context, target: ChunkTarget, index: int, pieces: Sequence[Buffer]) -> None:
    """Write one chunk, given as the pieces it arrived in; it is durable once the blob
    store has synced its content's chunks (``BlobStore.sync``), before the answer."""
    _check_length(target, index, pieces)
    ctx.blobs.store(chunk_key(target.content_id, index), pieces)


def open_range(ctx: Context, target: ChunkTarget, first: int) -> RangeWriter:
    """Where the consecutive chunks of one request from ``first`` go."""
    return ctx.blobs.open_range(target.content_id, first, target.expected(first))


def write_chunk(
    writer: RangeWriter, target: ChunkTarget, index: int, pieces: Sequence[Buffer]
) -> None:
    """Write one chunk of a request's range (as :func:`store_chunk`)."""
    _check_length(target, index, pieces)
    writer.write(index, pieces)


def upload_alive(ctx: Context, target: ChunkTarget) -> bool:
    """After a request's chunks are written: keep the upload alive; whether it still is (or
    was committed meanwhile, this PUT being a repeat). If it expired and was collected
    while they were written, they are left over: see :func:`chunks_orphaned`."""
    if target.stale:
        # Keep an active upload from expiring; at most one write a minute per upload.
        with ctx.db.write() as db:
            db.execute(
                update(t.Upload).where(t.Upload.id == target.upload_id).values(updated_at=now())
            )
    row = ctx.db.first(_ALIVE, {"upload_id": target.upload_id, "content_id": target.content_id})
    return bool(row and row[0])


def chunks_orphaned(ctx: Context, target: ChunkTarget, indexes: list[int]) -> NoReturn:
    """Undo the writes of chunks whose upload is gone (:func:`upload_alive`)."""
    for index in indexes:
        ctx.blobs.delete(chunk_key(target.content_id, index))
    raise NotFound("upload_not_found", "the upload expired while the chunks were sent")


def _make_version(
    db: Session, who: Principal, u: t.Upload, envelope: bytes, signature: bytes | None
) -> t.Node:
    """Turn a complete upload into a visible version, in the caller's transaction."""
    at = now()
    user = db.get_one(t.User, u.owner_id)
    check_quota(db, user, u.size, pending=False)
    if u.new_node:
        assert u.parent_id and u.node_key and u.node_meta and u.name_tag
        live_folder(db, who, u.parent_id)
        check_name_free(db, u.parent_id, u.name_tag)
        node = t.Node(
            id=u.node_id,
            owner_id=u.owner_id,
            parent_id=u.parent_id,
            kind="file",
            key=u.node_key,
            meta=u.node_meta,
            name_tag=u.name_tag,
            created_at=at,
            updated_at=at,
            version_count=0,
            author_id=who.user_id,
            signature=u.node_signature,
        )
        db.add(node)
        kind: m.EventKind = "node.created"
    else:
        node = node_access(db, who, u.node_id, Access.WRITE, lock=True)
        if in_rubbish(db, node):
            raise Conflict("in_rubbish", "the file was put in the rubbish bin during the upload")
        kind = "version.added"
    db.add(
        t.Content(
            id=u.content_id,
            owner_id=u.owner_id,
            chunk_size=u.chunk_size,
            chunk_count=u.chunk_count,
            size=u.size,
            created_at=at,
        )
    )
    db.flush()
    number = (
        db.scalar(select(func.max(t.Version.number)).where(t.Version.node_id == node.id)) or 0
    ) + 1
    db.add(
        t.Version(
            id=u.id,
            node_id=node.id,
            number=number,
            content_id=u.content_id,
            envelope=envelope,
            header=u.header,
            created_at=at,
            author_id=who.user_id,
            signature=signature,
        )
    )
    node.current_version = u.id
    node.version_count = (node.version_count or 0) + 1
    node.updated_at = at
    user.storage_used += u.size
    events.emit(db, u.owner_id, kind, node.id, node.parent_id)
    return node


def _missing_chunks(ctx: Context, u: t.Upload) -> int:
    """How many chunks are not in the blob store with exactly their size. Clients that
    write to the object store directly are held to the shape here, before any commit."""
    sizes = ctx.blobs.chunk_sizes(u.content_id)
    return sum(
        1
        for index in range(u.chunk_count)
        if sizes.get(index) != expected_chunk_size(u.chunk_size, u.chunk_count, u.size, index)
    )


def commit(ctx: Context, who: Principal, upload_id: str, req: m.CommitRequest) -> m.NodeRecord:
    # The blob store is asked before the transaction, so that no lock waits on it.
    with ctx.db.read() as db:
        pending = _owned_upload(db, who, upload_id)
    missing = _missing_chunks(ctx, pending)
    if missing:
        raise Conflict("upload_incomplete", f"{missing} of {pending.chunk_count} chunks missing")
    try:
        with ctx.db.write() as db:
            u = _owned_upload(db, who, upload_id, lock=True)
            node = _make_version(db, who, u, req.envelope, req.signature)
            owner = u.owner_id
            db.delete(u)
            db.flush()
            record = node_record(db, node)
    except sa_exc.IntegrityError:
        raise Conflict("name_taken", "something with this name is already in the folder") from None
    ctx.notifier.notify(owner)
    return record


def cancel(ctx: Context, who: Principal, upload_id: str) -> None:
    with ctx.db.write() as db:
        u = _owned_upload(db, who, upload_id, lock=True)
        db.add(t.Garbage(content_id=u.content_id, chunk_count=u.chunk_count, queued_at=now()))
        db.delete(u)


@dataclass(frozen=True, slots=True)
class ChunkSource:
    content_id: str
    chunk_count: int
    inline: bytes | None
    size: int = 0

    def check_range(self, first: int, count: int) -> None:
        if first < 0 or count < 1 or first + count > self.chunk_count:
            raise BadRequest("bad_chunk_index", f"chunk indexes must be 0..{self.chunk_count - 1}")


_V, _C = t.Version, t.Content
_SOURCE = (
    select(t.Node.owner_id, _C.id.label("content_id"), _C.chunk_count, _C.inline, _C.size)
    .select_from(_V)
    .join(t.Node, t.Node.id == _V.node_id)
    .join(_C, _C.id == _V.content_id)
    .where(_V.id == bindparam("version_id"))
)


def chunk_source(ctx: Context, who: Principal, version_id: str) -> ChunkSource:
    """Where a version's chunks are, if the caller can see it (a 404 otherwise). Each
    range of a download runs it: the caller's own file takes one Core statement (no ORM
    objects); anyone else's goes through the share check of :func:`visible_version`."""
    if who.dropbox is None:
        row = ctx.db.first(_SOURCE, {"version_id": version_id})
        if row is not None and row.owner_id == who.user_id:
            return ChunkSource(row.content_id, row.chunk_count, row.inline, row.size)
    with ctx.db.read() as db:
        version, _ = visible_version(db, who, version_id)
        content = db.get_one(t.Content, version.content_id)
        return ChunkSource(content.id, content.chunk_count, content.inline, content.size)


def range_lengths(ctx: Context, source: ChunkSource, first: int, count: int) -> list[int]:
    """Before a ranged answer starts: every chunk of the range is there (or it is a 404),
    and the length of each as stored, so that the answer's length is announced."""
    if source.inline is not None:
        return [len(source.inline)] * count
    have = ctx.blobs.range_sizes(source.content_id, first, count)
    if any(index not in have for index in range(first, first + count)):
        raise NotFound("chunk_missing", "the server has lost a chunk of this range")
    return [have[index] for index in range(first, first + count)]


def load_chunk(ctx: Context, source: ChunkSource, index: int, length: int | None = None) -> bytes:
    """One stored chunk; if ``length`` is given (announced before), of that length."""
    if source.inline is not None:
        data = source.inline
    else:
        try:
            data = ctx.blobs.get(chunk_key(source.content_id, index))
        except KeyError:
            raise NotFound("chunk_missing", "the server has lost this chunk") from None
    if length is not None and len(data) != length:
        raise NotFound("chunk_missing", "this chunk changed while it was being sent")
    return data


SMALL_READ_BYTES = 16 * 1024 * 1024


def read_small(ctx: Context, who: Principal, version_ids: list[str]) -> m.SmallChunksResponse:
    """The one chunk of each of many one-chunk versions, in one answer."""
    wanted = list(dict.fromkeys(version_ids))
    with ctx.db.read() as db:
        rows = db.execute(
            select(
                t.Version.id,
                t.Node.owner_id,
                t.Node.id,
                t.Content.id,
                t.Content.chunk_count,
                t.Content.inline,
                t.Content.size,
            )
            .join(t.Node, t.Node.id == t.Version.node_id)
            .join(t.Content, t.Content.id == t.Version.content_id)
            .where(t.Version.id.in_(wanted))
        ).all()
        # Own files pass at once; others' only through a share, checked once per file.
        allowed = {r[0] for r in rows if r[1] == who.user_id}
        for r in rows:
            if r[0] not in allowed:
                node = db.get(t.Node, r[2])
                if node is not None and access_to(db, who, node) is not None:
                    allowed.add(r[0])
    sources = {r[0]: ChunkSource(r[3], r[4], r[5], r[6]) for r in rows if r[0] in allowed}
    missing = [v for v in wanted if v not in sources]
    if missing:
        raise NotFound("version_not_found", f"no such version: {missing[0]}")
    return small_chunks(ctx, {v: sources[v] for v in wanted})


def small_chunks(ctx: Context, sources: dict[str, ChunkSource]) -> m.SmallChunksResponse:
    if any(source.chunk_count != 1 for source in sources.values()):
        raise BadRequest("bad_chunk_index", "only versions of a single chunk can be read this way")
    if sum(source.size for source in sources.values()) > SMALL_READ_BYTES:
        raise PayloadTooLarge("too_large", "ask for fewer versions at once")
    return m.SmallChunksResponse(
        chunks=[
            m.SmallChunk(version_id=version_id, data=load_chunk(ctx, source, 0))
            for version_id, source in sources.items()
        ]
    )


def read_chunk(ctx: Context, who: Principal, version_id: str, index: int) -> bytes:
    source = chunk_source(ctx, who, version_id)
    source.check_range(index, 1)
    return load_chunk(ctx, source, index)


def collect(ctx: Context) -> int:
    """Drop expired uploads and delete unreferenced blobs; the number of blobs deleted."""
    prune_login_failures(ctx)
    cutoff = now() - ctx.settings.upload_expiry
    with ctx.db.write() as db:
        # An upload being committed right now is skipped (its row is locked): next pass.
        expired = select(t.Upload).where(t.Upload.updated_at < cutoff)
        for u in db.scalars(expired.with_for_update(skip_locked=True)).all():
            db.add(t.Garbage(content_id=u.content_id, chunk_count=u.chunk_count, queued_at=now()))
            db.delete(u)
    with ctx.db.read() as db:
        pending = db.scalars(select(t.Garbage).order_by(t.Garbage.id).limit(1000)).all()
    deleted = sum(g.chunk_count for g in pending)
    ctx.blobs.delete_many(
        chunk_key(g.content_id, index) for g in pending for index in range(g.chunk_count)
    )
    if pending:
        with ctx.db.write() as db:
            db.execute(delete(t.Garbage).where(t.Garbage.id.in_([g.id for g in pending])))
    return deleted
