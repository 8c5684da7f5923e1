"""Rows to wire records, and the lookups every tree service shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

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


def node_records(db: Session, nodes: Sequence[t.Node]) -> list[m.NodeRecord]:
    """Records for ``nodes`` with their current versions, in two queries whatever the count."""
    version_ids = [n.current_version for n in nodes if n.current_version]
    versions: dict[str, m.VersionRecord] = {}
    for batch in range(0, len(version_ids), 500):
        rows = db.execute(
            select(t.Version, t.Content)
            .join(t.Content, t.Content.id == t.Version.content_id)
            .where(t.Version.id.in_(version_ids[batch : batch + 500]))
        ).all()
        versions.update((v.id, version_record(v, c)) for v, c in rows)
    return [
        m.NodeRecord(
            id=n.id,
            parent_id=n.parent_id,
            kind=cast(m.NodeKind, n.kind),
            key=n.key,
            meta=n.meta,
            name_tag=n.name_tag,
            created=n.created_at,
            updated=n.updated_at,
            trashed=n.trashed_at,
            version=versions.get(n.current_version) if n.current_version else None,
            versions=n.version_count,
        )
        for n in nodes
    ]


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
