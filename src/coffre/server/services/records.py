"""Rows to wire records, and the lookups every tree service shares."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from coffre.errors import Conflict, Forbidden, NotFound
from coffre.protocol import models as m
from coffre.server.context import Principal
from coffre.server.db import tables as t


def version_record(v: t.Version, c: t.Content) -> m.VersionRecord:
    return m.VersionRecord(
        id=v.id,
        number=v.number,
        envelope=v.envelope,
        header=v.header,
        size=c.size,
        chunk_size=c.chunk_size,
        chunk_count=c.chunk_count,
        created=v.created_at,
        author=v.author_id,
        signature=v.signature,
    )


_N, _V, _C = t.Node.__table__.c, t.Version.__table__.c, t.Content.__table__.c
LISTING = (
    select(
        _N.id,
        _N.parent_id,
        _N.kind,
        _N.key,
        _N.meta,
        _N.name_tag,
        _N.created_at,
        _N.updated_at,
        _N.trashed_at,
        _N.version_count,
        _N.author_id,
        _N.signature,
        _V.id,
        _V.number,
        _V.envelope,
        _V.header,
        _V.created_at,
        _C.size,
        _C.chunk_size,
        _C.chunk_count,
        _V.author_id,
        _V.signature,
    )
    .select_from(t.Node.__table__)
    .outerjoin(t.Version.__table__, _V.id == _N.current_version)
    .outerjoin(t.Content.__table__, _C.id == _V.content_id)
)
"""Nodes with their current version, as plain rows: listings skip the ORM's per-object cost."""


def record_from_row(row: Sequence[Any]) -> m.NodeRecord:
    """A record from a :data:`LISTING` row, built without validation: the values come from
    our own database, where they arrived validated."""
    version = None
    if row[12] is not None:
        version = m.VersionRecord.model_construct(
            id=row[12],
            number=row[13],
            envelope=row[14],
            header=row[15],
            created=row[16],
            size=row[17],
            chunk_size=row[18],
            chunk_count=row[19],
            author=row[20],
            signature=row[21],
        )
    return m.NodeRecord.model_construct(
        id=row[0],
        parent_id=row[1],
        kind=row[2],
        key=row[3],
        meta=row[4],
        name_tag=row[5],
        created=row[6],
        updated=row[7],
        trashed=row[8],
        versions=row[9],
        author=row[10],
        signature=row[11],
        version=version,
    )


def node_records(db: Session, nodes: Sequence[t.Node]) -> list[m.NodeRecord]:
    """Records for ``nodes`` (flushed) with their current versions, in their order."""
    return records_by_id(db, [n.id for n in nodes])


def records_by_id(db: Session, ids: Sequence[str]) -> list[m.NodeRecord]:
    found: dict[str, m.NodeRecord] = {}
    for i in range(0, len(ids), 500):
        for row in db.execute(LISTING.where(_N.id.in_(ids[i : i + 500]))):
            found[row[0]] = record_from_row(row)
    return [found[node_id] for node_id in ids]


def rows_below(db: Session, folder_id: str) -> list[Sequence[Any]]:
    """:data:`LISTING` rows of everything below a folder, outside the rubbish bin, parents
    before children."""
    found: list[Sequence[Any]] = []
    frontier = [folder_id]
    while frontier:
        batch: list[Sequence[Any]] = []
        for i in range(0, len(frontier), 500):
            query = LISTING.where(_N.parent_id.in_(frontier[i : i + 500]), _N.trashed_at.is_(None))
            batch += db.execute(query).all()
        found += batch
        frontier = [row[0] for row in batch if row[2] == "folder"]
    return found


class Listing:
    """Many node records, written straight to JSON: a hundred thousand of them would cost
    seconds as pydantic models, and their values come validated from our own database."""

    def __init__(self, rows: Sequence[Sequence[Any]], cursor: str | None = None) -> None:
        self.rows = rows
        self.cursor = cursor

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[m.NodeRecord]:
        return [record_from_row(row) for row in self.rows]

    def json(self) -> bytes:
        return json.dumps(
            {"nodes": [_row_json(row) for row in self.rows], "cursor": self.cursor},
            separators=(",", ":"),
        ).encode()

    def binary(self) -> bytes:
        """The page as the binary listing (``application/x-coffre-nodes``, docs/api.md)."""
        cursor = bytes.fromhex(self.cursor) if self.cursor else b""
        head = m.NODES_PAGE.pack(m.NODES_MAGIC, len(self.rows), 1 if cursor else 0, cursor)
        return b"".join([head, *map(_row_binary, self.rows)])


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.urlsafe_b64encode(value).decode()


def _row_json(row: Sequence[Any]) -> dict[str, Any]:
    version = None
    if row[12] is not None:
        version = {
            "id": row[12],
            "number": row[13],
            "envelope": _b64(row[14]),
            "header": _b64(row[15]),
            "created": row[16],
            "size": row[17],
            "chunk_size": row[18],
            "chunk_count": row[19],
            "author": row[20],
            "signature": _b64(row[21]),
        }
    return {
        "id": row[0],
        "parent_id": row[1],
        "kind": row[2],
        "key": _b64(row[3]),
        "meta": _b64(row[4]),
        "name_tag": row[5],
        "created": row[6],
        "updated": row[7],
        "trashed": row[8],
        "versions": row[9],
        "author": row[10],
        "signature": _b64(row[11]),
        "version": version,
    }


_hex = bytes.fromhex


def _row_binary(row: Sequence[Any]) -> bytes:
    """One :data:`LISTING` row in the binary listing's layout (``m.NODE_FIXED``...)."""
    nid, parent, kind, key, meta, tag, created, updated, trashed, count, author, sig = row[:12]
    flags = (
        (m.NODE_FILE if kind == "file" else 0)
        | (m.NODE_PARENT if parent else 0)
        | (m.NODE_NAME_TAG if tag else 0)
        | (m.NODE_TRASHED if trashed is not None else 0)
        | (m.NODE_AUTHOR if author else 0)
        | (m.NODE_META if meta is not None else 0)
    )
    meta, sig = meta or b"", sig or b""
    node = (
        _hex(nid),
        _hex(parent) if parent else b"",
        _hex(tag) if tag else b"",
        _hex(author) if author else b"",
        created,
        updated,
        trashed or 0.0,
        count,
        len(key),
        len(meta),
        len(sig),
    )
    if row[12] is None:
        return b"".join((m.NODE_FIXED.pack(flags, *node), key, meta, sig))
    (vid, number, envelope, header, vcreated, size, chunk_size, chunks, vauthor, vsig) = row[12:]
    vsig = vsig or b""
    fixed = m.NODE_VERSION_FIXED.pack(
        flags | m.NODE_VERSION | (m.NODE_VERSION_AUTHOR if vauthor else 0),
        *node,
        _hex(vid),
        _hex(vauthor) if vauthor else b"",
        number,
        vcreated,
        size,
        chunk_size,
        chunks,
        len(envelope),
        len(header),
        len(vsig),
    )
    return b"".join((fixed, key, meta, sig, envelope, header, vsig))


_ONE = LISTING.where(_N.id == bindparam("node_id"))
"""Built once: a statement reused is compiled and keyed for SQLAlchemy's cache once."""


def node_record(db: Session, node: t.Node) -> m.NodeRecord:
    """The record of one node with its current version, in one query (which flushes the
    session's pending changes first: the session autoflushes)."""
    return record_from_row(db.execute(_ONE, {"node_id": node.id}).one())


class Access(IntEnum):
    """What a caller may do with a node: a member's level in a shared folder, or owning it."""

    READ = 1  # list and download
    WRITE = 2  # and add files and folders, new versions, rename and move inside the share
    FULL = 3  # and remove: rubbish bin, deleting, versions
    OWNER = 4  # and links, shares, and everything else

    @classmethod
    def named(cls, level: str) -> Access:
        return cls[level.upper()]


_NOT_FOUND = "no such file or folder"


def access_to(db: Session, who: Principal, node: t.Node) -> Access | None:
    """The caller's access to ``node``: owning it, or through an accepted share above it."""
    if who.dropbox is not None:
        return None  # a file-request visitor reaches nothing (see live_folder)
    if node.owner_id == who.user_id:
        return Access.OWNER
    shares = dict(
        db.execute(
            select(t.Share.folder_id, t.Share.access).where(
                t.Share.member_id == who.user_id,
                t.Share.owner_id == node.owner_id,
                t.Share.accepted.is_(True),
            )
        ).all()
    )
    if not shares:
        return None
    current: t.Node | None = node
    while current is not None:
        if current.id in shares:
            return Access(shares[current.id])
        current = db.get(t.Node, current.parent_id) if current.parent_id else None
    return None


def visible_version(db: Session, who: Principal, version_id: str) -> tuple[t.Version, t.Node]:
    """A version and its file, if the caller can see the file; a 404 otherwise (saying
    nothing of whether it exists). What the caller may do with it is node_access's."""
    version = db.get(t.Version, version_id)
    node = db.get(t.Node, version.node_id) if version is not None else None
    if version is None or node is None or access_to(db, who, node) is None:
        raise NotFound("version_not_found", "no such version")
    return version, node


_NODE = select(t.Node).where(t.Node.id == bindparam("node_id"))
_NODE_LOCKED = _NODE.with_for_update()
"""Built once: a statement reused is compiled and keyed for the cache once, not per call."""


def node_access(
    db: Session, who: Principal, node_id: str, need: Access = Access.READ, *, lock: bool = False
) -> t.Node:
    """The node, if the caller may do ``need`` with it; a 404 if they may not even see it
    (saying nothing of whether it exists), a 403 if they see it but may not do that."""
    node = db.scalar(_NODE_LOCKED if lock else _NODE, {"node_id": node_id})
    level = access_to(db, who, node) if node is not None else None
    if node is None or level is None:
        raise NotFound("node_not_found", _NOT_FOUND)
    if level < need:
        raise Forbidden(
            "access_denied",
            f"this shared folder gives you {level.name.lower()} access; that needs "
            f"{need.name.lower()}",
        )
    return node


def owned_node(db: Session, who: Principal, node_id: str, *, lock: bool = False) -> t.Node:
    """The caller's own node, or a 404 that does not say whether it exists for someone else."""
    node = node_access(db, who, node_id, Access.READ, lock=lock)
    if node.owner_id != who.user_id:
        raise NotFound("node_not_found", _NOT_FOUND)
    return node


def ancestors(db: Session, node: t.Node) -> list[t.Node]:
    """From the node's parent up to the root."""
    chain: list[t.Node] = []
    current = node
    while current.parent_id is not None:
        parent = db.get(t.Node, current.parent_id)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain


def in_rubbish(db: Session, node: t.Node) -> bool:
    return node.trashed_at is not None or any(a.trashed_at is not None for a in ancestors(db, node))


def live_folder(db: Session, who: Principal, folder_id: str, need: Access = Access.WRITE) -> t.Node:
    """A folder the caller may write into, not in the rubbish bin, to put something into."""
    if who.dropbox is not None:
        # A file-request visitor: new files into that one folder, nothing else.
        found = db.get(t.Node, folder_id) if folder_id == who.dropbox else None
        if found is None:
            raise NotFound("node_not_found", _NOT_FOUND)
        if in_rubbish(db, found):
            raise Conflict("in_rubbish", "the destination folder is in the rubbish bin")
        return found
    folder = node_access(db, who, folder_id, need)
    if folder.kind != "folder":
        raise Conflict("not_a_folder", "the destination is a file, not a folder")
    if in_rubbish(db, folder):
        raise Conflict("in_rubbish", "the destination folder is in the rubbish bin")
    return folder


_NAMED = select(_N.id).where(
    _N.parent_id == bindparam("parent_id"),
    _N.name_tag == bindparam("name_tag"),
    _N.trashed_at.is_(None),
)


def check_name_free(
    db: Session, parent_id: str, name_tag: str, *, except_id: str | None = None
) -> None:
    found = db.scalar(_NAMED, {"parent_id": parent_id, "name_tag": name_tag})
    if found is not None and found != except_id:
        raise Conflict("name_taken", "something with this name is already in the folder")


def check_new_id(db: Session, node_id: str) -> None:
    pending = select(t.Upload.id).where(t.Upload.node_id == node_id).limit(1)
    if db.get(t.Node, node_id) is not None or db.scalar(pending) is not None:
        raise Conflict("id_taken", "that id is in use; generate another")


# -- serialising writers ------------------------------------------------------------------


def lock_account(db: Session, user_id: str) -> t.User | None:
    """Lock an account's row until the transaction ends, and return it fresh.

    Every write to an account's tree or counters takes this lock first, so that writers of
    one account queue instead of racing (two moves making a cycle, two commits passing
    one quota check, a counter losing an increment) while other accounts go on in
    parallel. On PostgreSQL it is ``SELECT ... FOR UPDATE``; SQLite has already locked the
    whole database for the transaction (``BEGIN IMMEDIATE``), and ignores it.
    """
    return db.scalar(
        select(t.User)
        .where(t.User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_trees(db: Session, node_ids: Sequence[str | None]) -> None:
    """Lock the accounts that own these nodes (in a fixed order, so that two writers that
    lock the same accounts cannot deadlock). Unknown ids are skipped: the checks that
    follow report them. On SQLite, whose ``BEGIN IMMEDIATE`` has already locked the whole
    database for the transaction, there is nothing more to lock: no query."""
    if db.get_bind().dialect.name == "sqlite":
        return
    ids = sorted({node_id for node_id in node_ids if node_id})
    owners: set[str] = set()
    for i in range(0, len(ids), 500):
        owners.update(
            db.scalars(select(t.Node.owner_id).where(t.Node.id.in_(ids[i : i + 500]))).all()
        )
    for owner in sorted(owners):
        lock_account(db, owner)
