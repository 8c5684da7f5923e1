"""Rows to wire records, and the lookups every tree service shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coffre.errors import Conflict, NotFound
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
        _V.id,
        _V.number,
        _V.envelope,
        _V.header,
        _V.created_at,
        _C.size,
        _C.chunk_size,
        _C.chunk_count,
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
    if row[10] is not None:
        version = m.VersionRecord.model_construct(
            id=row[10],
            number=row[11],
            envelope=row[12],
            header=row[13],
            created=row[14],
            size=row[15],
            chunk_size=row[16],
            chunk_count=row[17],
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


def node_record(db: Session, node: t.Node) -> m.NodeRecord:
    return node_records(db, [node])[0]


def owned_node(db: Session, who: Principal, node_id: str, *, lock: bool = False) -> t.Node:
    """The caller's node, or a 404 that does not say whether it exists for someone else."""
    query = select(t.Node).where(t.Node.id == node_id)
    if lock:
        query = query.with_for_update()
    node = db.scalar(query)
    if node is None or node.owner_id != who.user_id:
        raise NotFound("node_not_found", "no such file or folder")
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


def live_folder(db: Session, who: Principal, folder_id: str) -> t.Node:
    """A folder of the caller's that is not in the rubbish bin, to put something into."""
    folder = owned_node(db, who, folder_id)
    if folder.kind != "folder":
        raise Conflict("not_a_folder", "the destination is a file, not a folder")
    if in_rubbish(db, folder):
        raise Conflict("in_rubbish", "the destination folder is in the rubbish bin")
    return folder


def check_name_free(
    db: Session, parent_id: str, name_tag: str, *, except_id: str | None = None
) -> None:
    query = select(t.Node.id).where(
        t.Node.parent_id == parent_id, t.Node.name_tag == name_tag, t.Node.trashed_at.is_(None)
    )
    found = db.scalar(query)
    if found is not None and found != except_id:
        raise Conflict("name_taken", "something with this name is already in the folder")


def check_new_id(db: Session, node_id: str) -> None:
    pending = select(t.Upload.id).where(t.Upload.node_id == node_id).limit(1)
    if db.get(t.Node, node_id) is not None or db.scalar(pending) is not None:
        raise Conflict("id_taken", "that id is in use; generate another")
