"""Many one-chunk files in one request and one transaction: all of them or none.

A folder of small files is where per-file round trips and per-file queries dominate, so
this path checks a whole batch with a fixed number of set-wise queries (parents, ids,
names, quota) and keeps contents of up to 64 KiB inline in the database, written by the
same transaction as the nodes: one commit, one fsync, for the whole batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import InstrumentedAttribute, Session

from coffre.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from coffre.protocol import models as m
from coffre.server.blobs import chunk_key
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.db.bulk import insert_rows
from coffre.server.services import events
from coffre.server.services.records import (
    Access,
    access_to,
    in_rubbish,
    live_folder,
    lock_trees,
    node_access,
)
from coffre.server.services.transfers import check_quota, check_shape

INLINE_MAX = 64 * 1024
_IN = 500  # ids per IN (...) clause


def _chunked(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), _IN):
        yield values[i : i + _IN]


def _in(column: InstrumentedAttribute[str], name: str) -> Select[int]:
    return select(literal(1)).where(column.in_(bindparam(name, expanding=True)))


_IDS_TAKEN = union_all(
    _in(t.Node.id, "nodes"),
    _in(t.Upload.node_id, "nodes"),
    _in(t.Version.id, "versions"),
    _in(t.Upload.id, "versions"),
    _in(t.Content.id, "contents"),
    _in(t.Upload.content_id, "contents"),
)
"""Is any of these new ids in use, as a node, a version or a content, stored or being
uploaded: one statement for what were six (the batch's fixed cost)."""


_NAME_TAKEN = (
    select(literal(1))
    .where(
        t.Node.parent_id == bindparam("parent"),
        t.Node.name_tag.in_(bindparam("tags", expanding=True)),
        t.Node.trashed_at.is_(None),
    )
    .limit(1)
)
"""Is any of these names live in this folder: a folder at a time, so that the search goes
through the (parent, name tag) index (a row-value IN over pairs scans all of it)."""


def _ids_taken(db: Session, nodes: list[str], versions: list[str], contents: list[str]) -> bool:
    longest = max(len(nodes), len(versions), len(contents))
    return any(
        db.execute(
            _IDS_TAKEN,
            {
                "nodes": nodes[i : i + _IN],
                "versions": versions[i : i + _IN],
                "contents": contents[i : i + _IN],
            },
        ).first()
        is not None
        for i in range(0, longest, _IN)
    )


def _validate(ctx: Context, req: m.SmallFilesRequest) -> int:
    total = sum(len(f.data) for f in req.files)
    if total > ctx.settings.max_json_bytes:
        raise PayloadTooLarge("too_large", "send fewer files per request")
    for f in req.files:
        check_shape(ctx, f.version)
        if f.version.chunk_count != 1 or len(f.data) != f.version.size:
            raise BadRequest("bad_chunk_length", "small files are one chunk of exactly size bytes")
        if (f.node is None) == (f.node_id is None):
            raise BadRequest("invalid_request", "give either node (a new file) or node_id")
    ids = [f.version.id for f in req.files] + [f.version.content_id for f in req.files]
    ids += [f.node.id for f in req.files if f.node]
    if len(set(ids)) != len(ids):
        raise Conflict("id_taken", "ids repeat within the batch")
    names = Counter((f.node.parent_id, f.node.name_tag) for f in req.files if f.node)
    if names and names.most_common(1)[0][1] > 1:
        raise Conflict("name_taken", "two files of the batch have the same name in one folder")
    return total


def _check_batch(
    db: Session, who: Principal, req: m.SmallFilesRequest
) -> tuple[dict[str, t.Node], str]:
    """Check parents, ids and names set-wise; return the existing files getting versions,
    and the account whose tree (and quota) the batch goes into."""
    owners = {
        live_folder(db, who, p).owner_id for p in {f.node.parent_id for f in req.files if f.node}
    }
    existing: dict[str, t.Node] = {}
    wanted = sorted({f.node_id for f in req.files if f.node_id})
    for part in _chunked(wanted):
        existing.update((n.id, n) for n in db.scalars(select(t.Node).where(t.Node.id.in_(part))))
    for node_id in wanted:
        node = existing.get(node_id)
        if node is None or access_to(db, who, node) is None:
            raise NotFound("node_not_found", "no such file or folder")
        node_access(db, who, node_id, Access.WRITE)
        owners.add(node.owner_id)
        if node.kind != "file" or in_rubbish(db, node):
            raise Conflict("not_a_file", "versions go to files outside the rubbish bin")
    new_ids = [f.node.id for f in req.files if f.node]
    version_ids = [f.version.id for f in req.files]
    content_ids = [f.version.content_id for f in req.files]
    if _ids_taken(db, new_ids, version_ids, content_ids):
        raise Conflict("id_taken", "an id is in use; generate another")
    tags: dict[str, list[str]] = {}
    for f in req.files:
        if f.node:
            tags.setdefault(f.node.parent_id, []).append(f.node.name_tag)
    for parent_id, names in tags.items():
        for part in _chunked(names):
            if db.execute(_NAME_TAKEN, {"parent": parent_id, "tags": part}).first() is not None:
                raise Conflict("name_taken", "something with this name is already in the folder")
    if len(owners) != 1:
        raise BadRequest("invalid_request", "one batch goes into one account's tree")
    return existing, owners.pop()


def _records(
    req: m.SmallFilesRequest,
    existing: dict[str, t.Node],
    current: dict[str, m.VersionRecord],
    who: Principal,
    at: float,
) -> list[m.NodeRecord]:
    """The batch's files as a listing would show them now, built from what was just
    written rather than read back (reading them back was a tenth of the server's work for
    a batch); tests/server/test_uploads.py compares the two."""
    records = []
    for f in req.files:
        if f.node is not None:
            n = f.node
            records.append(
                m.NodeRecord.model_construct(
                    id=n.id,
                    parent_id=n.parent_id,
                    kind="file",
                    key=n.key,
                    meta=n.meta,
                    name_tag=n.name_tag,
                    created=at,
                    updated=at,
                    trashed=None,
                    version=current[n.id],
                    versions=1,
                    author=who.user_id,
                    signature=n.signature,
                )
            )
        else:
            node = existing[f.node_id or ""]
            records.append(
                m.NodeRecord.model_construct(
                    id=node.id,
                    parent_id=node.parent_id,
                    kind=cast(m.NodeKind, node.kind),
                    key=node.key,
                    meta=node.meta,
                    name_tag=node.name_tag,
                    created=node.created_at,
                    updated=node.updated_at,
                    trashed=node.trashed_at,
                    version=current[node.id],
                    versions=node.version_count,
                    author=node.author_id,
                    signature=node.signature,
                )
            )
    return records


def small_files(ctx: Context, who: Principal, req: m.SmallFilesRequest) -> m.SmallFilesResponse:
    """Store the batch (all or none) and answer with its files' records."""
    records = _store(ctx, who, req, answer=True)
    assert records is not None
    return m.SmallFilesResponse(nodes=records)


def store_small_files(ctx: Context, who: Principal, req: m.SmallFilesRequest) -> None:
    """Store the batch (all or none), for a client that wants no records back."""
    _store(ctx, who, req, answer=False)


def _store(
    ctx: Context, who: Principal, req: m.SmallFilesRequest, *, answer: bool
) -> list[m.NodeRecord] | None:
    total = _validate(ctx, req)
    large = [f for f in req.files if len(f.data) > INLINE_MAX]
    if large:
        # Blobs are written before the transaction: their ids must be new first, or a
        # failing batch would delete chunks that belong to existing content.
        ids = [f.version.content_id for f in large]
        with ctx.db.read() as db:
            if _ids_taken(db, [], [], ids):
                raise Conflict("id_taken", "an id is in use; generate another")
    for f in large:
        ctx.blobs.put(chunk_key(f.version.content_id, 0), f.data)
    at = now()
    try:
        with ctx.db.write() as db:
            lock_trees(db, [f.node.parent_id if f.node else f.node_id for f in req.files])
            existing, owner = _check_batch(db, who, req)
            user = db.get_one(t.User, owner)
            check_quota(db, user, total, pending=True)
            numbers: dict[str, int] = {}
            for part in _chunked(sorted(existing)):
                numbers.update(
                    db.execute(
                        select(t.Version.node_id, func.max(t.Version.number))
                        .where(t.Version.node_id.in_(part))
                        .group_by(t.Version.node_id)
                    ).all()
                )
            # Plain bulk inserts: one statement a table for the whole batch.
            new_nodes: list[dict[str, object]] = []
            contents: list[dict[str, object]] = []
            versions: list[dict[str, object]] = []
            feed: list[tuple[m.EventKind, str | None, str | None]] = []
            current: dict[str, m.VersionRecord] = {}  # each file's version, the last wins
            for f in req.files:
                v = f.version
                if f.node is not None:
                    node_id = f.node.id
                    new_nodes.append(
                        {
                            "id": node_id,
                            "owner_id": owner,
                            "parent_id": f.node.parent_id,
                            "kind": "file",
                            "key": f.node.key,
                            "meta": f.node.meta,
                            "name_tag": f.node.name_tag,
                            "created_at": at,
                            "updated_at": at,
                            "trashed_at": None,
                            "current_version": v.id,
                            "version_count": 1,
                            "author_id": who.user_id,
                            "signature": f.node.signature,
                        }
                    )
                    feed.append(("node.created", node_id, f.node.parent_id))
                else:
                    node = existing[f.node_id or ""]
                    node_id = node.id
                    node.current_version = v.id
                    node.version_count = (node.version_count or 0) + 1
                    node.updated_at = at
                    feed.append(("version.added", node_id, node.parent_id))
                contents.append(
                    {
                        "id": v.content_id,
                        "owner_id": owner,
                        "chunk_size": v.chunk_size,
                        "chunk_count": 1,
                        "size": v.size,
                        "created_at": at,
                        "inline": f.data if len(f.data) <= INLINE_MAX else None,
                    }
                )
                number = numbers.get(node_id, 0) + 1
                numbers[node_id] = number
                if answer:
                    current[node_id] = m.VersionRecord.model_construct(
                        id=v.id,
                        number=number,
                        envelope=f.envelope,
                        header=v.header,
                        size=v.size,
                        chunk_size=v.chunk_size,
                        chunk_count=1,
                        created=at,
                        author=who.user_id,
                        signature=f.signature,
                    )
                versions.append(
                    {
                        "id": v.id,
                        "node_id": node_id,
                        "number": number,
                        "content_id": v.content_id,
                        "envelope": f.envelope,
                        "header": v.header,
                        "created_at": at,
                        "author_id": who.user_id,
                        "signature": f.signature,
                    }
                )
            for table, rows in ((t.Node, new_nodes), (t.Content, contents), (t.Version, versions)):
                # Plain inserts: the ORM's bulk path, and Core's, cost more than the rows.
                insert_rows(db, cast(Table, table.__table__), rows)
            user.storage_used += total
            events.emit_many(db, owner, feed)
            db.flush()
            records = _records(req, existing, current, who, at) if answer else None
    except sa_exc.IntegrityError:
        raise Conflict("name_taken", "something with this name is already in the folder") from None
    except BaseException:
        for f in large:
            ctx.blobs.delete(chunk_key(f.version.content_id, 0))
        raise
    ctx.notifier.notify(owner)
    return records
