"""The tree: folders, files, their versions, moves, copies and the rubbish bin.

The server checks ownership, shape (no cycles, files are leaves), unique names through
the client's name tags, and quotas. It cannot check that a key or a name is right: the
clients do, with the associated data of every envelope (docs/crypto.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, Conflict, NotFound, QuotaExceeded
from coffre.protocol import models as m
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import events, links
from coffre.server.services.records import (
    LISTING,
    Access,
    Listing,
    access_to,
    ancestors,
    check_name_free,
    check_new_id,
    in_rubbish,
    live_folder,
    lock_account,
    lock_trees,
    node_access,
    node_record,
    node_records,
    owned_node,
    record_from_row,
    version_record,
    visible_version,
)

PAGE_LIMIT = 50_000


def _name_conflict() -> Conflict:
    return Conflict("name_taken", "something with this name is already in the folder")


_N = t.Node.__table__.c
# Built once: a statement reused is compiled and keyed for SQLAlchemy's cache once.
_LIVE_CHILD = (_N.parent_id == bindparam("node_id"), _N.trashed_at.is_(None))
_CHILDREN = LISTING.where(*_LIVE_CHILD).order_by(_N.id)
_CHILD = LISTING.where(*_LIVE_CHILD, _N.name_tag == bindparam("name_tag")).order_by(_N.id)


def get(ctx: Context, who: Principal, node_id: str) -> m.NodeRecord:
    with ctx.db.read() as db:
        return node_record(db, node_access(db, who, node_id))


def children(ctx: Context, who: Principal, node_id: str, name_tag: str | None) -> m.NodeList:
    """A folder's children outside the rubbish bin (or the one with ``name_tag``)."""
    with ctx.db.read() as db:
        folder = node_access(db, who, node_id)
        if folder.kind != "folder":
            raise Conflict("not_a_folder", "that is a file, not a folder")
        if name_tag is None:
            rows = db.execute(_CHILDREN, {"node_id": node_id})
        else:
            rows = db.execute(_CHILD, {"node_id": node_id, "name_tag": name_tag})
        return m.NodeList(nodes=[record_from_row(row) for row in rows])


def all_nodes(ctx: Context, who: Principal, after: str | None, limit: int) -> Listing:
    """Every node of the account, rubbish included, a page at a time in id order."""
    limit = max(1, min(limit, PAGE_LIMIT))
    query = LISTING.where(t.Node.owner_id == who.user_id)
    if after:
        query = query.where(t.Node.id > after)
    with ctx.db.read() as db:
        rows = db.execute(query.order_by(t.Node.id).limit(limit)).all()
    return Listing(rows, rows[-1][0] if len(rows) == limit else None)


def mkdir(ctx: Context, who: Principal, req: m.NewNode) -> m.NodeRecord:
    at = now()
    try:
        with ctx.db.write() as db:
            lock_trees(db, [req.parent_id])
            owner = live_folder(db, who, req.parent_id).owner_id
            check_new_id(db, req.id)
            check_name_free(db, req.parent_id, req.name_tag)
            node = t.Node(
                id=req.id,
                owner_id=owner,
                parent_id=req.parent_id,
                kind="folder",
                key=req.key,
                meta=req.meta,
                name_tag=req.name_tag,
                created_at=at,
                updated_at=at,
                version_count=0,
                author_id=who.user_id,
                signature=req.signature,
            )
            db.add(node)
            events.emit(db, owner, "node.created", node.id, node.parent_id)
            record = node_record(db, node)
    except sa_exc.IntegrityError:
        raise _name_conflict() from None
    ctx.notifier.notify(owner)
    return record


def move(ctx: Context, who: Principal, node_id: str, req: m.MoveNode) -> m.NodeRecord:
    try:
        with ctx.db.write() as db:
            lock_trees(db, [node_id, req.parent_id])
            node = node_access(db, who, node_id, Access.WRITE, lock=True)
            if node.parent_id is None:
                raise BadRequest("root_immutable", "the root folder cannot be moved or renamed")
            if node.trashed_at is not None:
                raise Conflict("in_rubbish", "restore it from the rubbish bin first")
            target = live_folder(db, who, req.parent_id)
            if target.owner_id != node.owner_id:
                raise Conflict(
                    "other_account", "moves stay within one account's tree; copy instead"
                )
            if target.id == node.id or node.id in {a.id for a in ancestors(db, target)}:
                raise Conflict("cycle", "a folder cannot be moved inside itself")
            check_name_free(db, req.parent_id, req.name_tag, except_id=node.id)
            node.parent_id = req.parent_id
            node.key = req.key
            node.meta = req.meta
            node.name_tag = req.name_tag
            node.author_id = who.user_id
            node.signature = req.signature
            node.updated_at = now()
            owner = node.owner_id
            events.emit(db, owner, "node.moved", node.id, node.parent_id)
            record = node_record(db, node)  # flushes the change first
    except sa_exc.IntegrityError:
        raise _name_conflict() from None
    ctx.notifier.notify(owner)
    return record


def trash(ctx: Context, who: Principal, node_id: str) -> m.NodeRecord:
    with ctx.db.write() as db:
        lock_trees(db, [node_id])
        node = node_access(db, who, node_id, Access.FULL, lock=True)
        if node.parent_id is None:
            raise BadRequest("root_immutable", "the root folder cannot be deleted")
        if in_rubbish(db, node):
            raise Conflict("in_rubbish", "it is already in the rubbish bin")
        node.trashed_at = now()
        owner = node.owner_id
        events.emit(db, owner, "node.trashed", node.id, node.parent_id)
        record = node_record(db, node)
    ctx.notifier.notify(owner)
    return record


def restore(ctx: Context, who: Principal, node_id: str) -> m.NodeRecord:
    try:
        with ctx.db.write() as db:
            lock_trees(db, [node_id])
            node = owned_node(db, who, node_id, lock=True)
            if node.trashed_at is None:
                raise Conflict("not_in_rubbish", "it is not in the rubbish bin")
            assert node.parent_id is not None
            assert node.name_tag is not None
            parent = db.get_one(t.Node, node.parent_id)
            if in_rubbish(db, parent):
                raise Conflict("parent_in_rubbish", "its folder is in the rubbish bin too")
            check_name_free(db, node.parent_id, node.name_tag)
            node.trashed_at = None
            events.emit(db, who.user_id, "node.restored", node.id, node.parent_id)
            db.flush()
            record = node_record(db, node)
    except sa_exc.IntegrityError:
        raise _name_conflict() from None
    ctx.notifier.notify(who.user_id)
    return record


def rubbish(ctx: Context, who: Principal) -> m.NodeList:
    """What was put in the bin (not what is inside those folders)."""
    with ctx.db.read() as db:
        rows = db.scalars(
            select(t.Node)
            .where(t.Node.owner_id == who.user_id, t.Node.trashed_at.is_not(None))
            .order_by(t.Node.trashed_at)
        ).all()
        return m.NodeList(nodes=node_records(db, rows))


def _subtree(db: Session, top: t.Node) -> list[t.Node]:
    """``top`` and all below it, parents before children."""
    out = [top]
    frontier = [top.id]
    while frontier:
        batch: list[t.Node] = []
        for i in range(0, len(frontier), 500):
            batch += db.scalars(select(t.Node).where(t.Node.parent_id.in_(frontier[i : i + 500])))
        out += batch
        frontier = [n.id for n in batch if n.kind == "folder"]
    return out


def release_versions(db: Session, owner_id: str, versions: Iterable[t.Version]) -> int:
    """Delete version rows, queue contents no longer used for collection; bytes freed."""
    freed = 0
    content_ids = set()
    for v in versions:
        content = db.get_one(t.Content, v.content_id)
        freed += content.size
        content_ids.add(v.content_id)
        db.delete(v)
    db.flush()
    for content_id in content_ids:
        still_used = db.scalar(
            select(t.Version.id).where(t.Version.content_id == content_id).limit(1)
        )
        if still_used is None:
            content = db.get_one(t.Content, content_id)
            if content.inline is None:
                db.add(
                    t.Garbage(
                        content_id=content_id, chunk_count=content.chunk_count, queued_at=now()
                    )
                )
            db.delete(content)
    db.execute(
        update(t.User).where(t.User.id == owner_id).values(storage_used=t.User.storage_used - freed)
    )
    return freed


def _purge(db: Session, who: Principal, top: t.Node) -> None:
    nodes = _subtree(db, top)
    ids = [n.id for n in nodes]
    versions: list[t.Version] = []
    for i in range(0, len(ids), 500):
        versions += db.scalars(select(t.Version).where(t.Version.node_id.in_(ids[i : i + 500])))
    for n in nodes:
        n.current_version = None
    db.flush()
    release_versions(db, who.user_id, versions)
    uploads: list[t.Upload] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        uploads += db.scalars(
            select(t.Upload)
            .where(t.Upload.node_id.in_(part) | t.Upload.parent_id.in_(part))
            .with_for_update()  # not those that garbage collection is dropping right now
        )
    for u in uploads:
        db.add(t.Garbage(content_id=u.content_id, chunk_count=u.chunk_count, queued_at=now()))
        db.delete(u)
    for n in reversed(nodes):
        db.delete(n)
        db.flush()
    events.emit(db, who.user_id, "node.deleted", top.id, top.parent_id)


def delete(ctx: Context, who: Principal, node_id: str) -> None:
    """Delete for good something in the rubbish bin, with all it contains."""
    with ctx.db.write() as db:
        lock_trees(db, [node_id])
        node = owned_node(db, who, node_id, lock=True)
        if not in_rubbish(db, node):
            raise Conflict(
                "not_in_rubbish", "only what is in the rubbish bin can be deleted for good"
            )
        _purge(db, who, node)
    ctx.notifier.notify(who.user_id)


def empty_rubbish(ctx: Context, who: Principal) -> int:
    with ctx.db.write() as db:
        lock_account(db, who.user_id)
        tops = db.scalars(
            select(t.Node).where(t.Node.owner_id == who.user_id, t.Node.trashed_at.is_not(None))
        ).all()
        for node in tops:
            # A trashed node inside a trashed folder may have gone with that folder already.
            if db.get(t.Node, node.id) is not None:
                _purge(db, who, node)
    ctx.notifier.notify(who.user_id)
    return len(tops)


# -- versions -----------------------------------------------------------------------------


def versions(ctx: Context, who: Principal, node_id: str) -> m.VersionList:
    with ctx.db.read() as db:
        node = node_access(db, who, node_id)
        if node.kind != "file":
            raise Conflict("not_a_file", "folders have no versions")
        rows = db.execute(
            select(t.Version, t.Content)
            .join(t.Content, t.Content.id == t.Version.content_id)
            .where(t.Version.node_id == node_id)
            .order_by(t.Version.number)
        ).all()
        return m.VersionList(versions=[version_record(v, c) for v, c in rows])


def delete_version(ctx: Context, who: Principal, version_id: str) -> None:
    with ctx.db.write() as db:
        lock_trees(db, [db.scalar(select(t.Version.node_id).where(t.Version.id == version_id))])
        version, node = visible_version(db, who, version_id)
        node = node_access(db, who, node.id, Access.FULL, lock=True)
        owner = node.owner_id
        if node.version_count <= 1:
            raise Conflict(
                "last_version", "a file's only version cannot be deleted; remove the file"
            )
        node_id = version.node_id
        release_versions(db, owner, [version])
        latest = db.scalar(
            select(t.Version)
            .where(t.Version.node_id == node_id)
            .order_by(t.Version.number.desc())
            .limit(1)
        )
        assert latest is not None
        node.current_version = latest.id
        node.version_count -= 1
        node.updated_at = now()
        events.emit(db, owner, "version.deleted", node.id, node.parent_id)
    ctx.notifier.notify(owner)


def sign_version(ctx: Context, who: Principal, version_id: str, signature: bytes) -> None:
    """The owner vouches for a version someone else wrote (before taking their write away)."""
    with ctx.db.write() as db:
        version, node = visible_version(db, who, version_id)
        node_access(db, who, node.id, Access.OWNER)
        version.author_id = who.user_id
        version.signature = signature


# -- copies -------------------------------------------------------------------------------


def copy(ctx: Context, who: Principal, req: m.CopyRequest) -> m.NodeList:
    """New nodes whose versions share existing contents: no chunk is copied or re-sent."""
    at = now()
    try:
        with ctx.db.write() as db:
            lock_trees(db, [item.parent_id for item in req.nodes])
            created: dict[str, t.Node] = {}
            added = 0
            owners: set[str] = set()
            for item in req.nodes:
                if item.parent_id in created:
                    if created[item.parent_id].kind != "folder":
                        raise Conflict("not_a_folder", "a copied file cannot hold children")
                else:
                    owners.add(live_folder(db, who, item.parent_id).owner_id)
                if len(owners) > 1:
                    raise BadRequest("invalid_request", "one copy goes into one account's tree")
                (owner,) = owners
                check_new_id(db, item.id)
                check_name_free(db, item.parent_id, item.name_tag)
                if item.kind == "folder" and item.versions:
                    raise BadRequest("invalid_request", "folders have no versions")
                if item.kind == "file" and not item.versions:
                    raise BadRequest("invalid_request", "a copied file needs at least one version")
                node = t.Node(
                    id=item.id,
                    owner_id=owner,
                    parent_id=item.parent_id,
                    kind=item.kind,
                    key=item.key,
                    meta=item.meta,
                    name_tag=item.name_tag,
                    created_at=at,
                    updated_at=at,
                    version_count=len(item.versions),
                    author_id=who.user_id,
                    signature=item.signature,
                )
                db.add(node)
                db.flush()
                for number, cv in enumerate(item.versions, start=1):
                    source = db.get(t.Version, cv.source)
                    holder = db.get(t.Node, source.node_id) if source is not None else None
                    if source is None or holder is None or access_to(db, who, holder) is None:
                        raise NotFound("version_not_found", "no such version to copy")
                    if db.get(t.Version, cv.id) is not None or db.get(t.Upload, cv.id) is not None:
                        raise Conflict("id_taken", "that id is in use; generate another")
                    added += db.get_one(t.Content, source.content_id).size
                    db.add(
                        t.Version(
                            id=cv.id,
                            node_id=node.id,
                            number=number,
                            content_id=source.content_id,
                            envelope=cv.envelope,
                            header=source.header,
                            created_at=at,
                            author_id=who.user_id,
                            signature=cv.signature,
                        )
                    )
                    node.current_version = cv.id
                created[node.id] = node
                events.emit(db, owner, "node.created", node.id, node.parent_id)
            owner = next(iter(owners), who.user_id)
            user = db.get_one(t.User, owner)
            if user.storage_used + added > user.storage_quota:
                raise QuotaExceeded("quota_exceeded", "not enough storage left for this copy")
            user.storage_used += added
            db.flush()
            result = m.NodeList(nodes=node_records(db, list(created.values())))
    except sa_exc.IntegrityError:
        raise _name_conflict() from None
    ctx.notifier.notify(owner)
    return result


# -- accounting ---------------------------------------------------------------------------


def usage(ctx: Context, who: Principal) -> m.Usage:
    with ctx.db.read() as db:
        user = db.get_one(t.User, who.user_id)
        rows = db.execute(
            select(t.Node.id, t.Node.parent_id, t.Node.trashed_at, t.Node.current_version).where(
                t.Node.owner_id == who.user_id
            )
        ).all()
        parent = {r.id: r.parent_id for r in rows}
        trashed = {r.id for r in rows if r.trashed_at is not None}
        memo: dict[str, bool] = {}

        def binned(node_id: str) -> bool:
            path: list[str] = []
            found: str | None = node_id
            while found is not None and found not in memo and found not in trashed:
                path.append(found)
                found = parent.get(found)
            answer = found is not None and (found in trashed or memo[found])
            memo.update(dict.fromkeys(path, answer))
            return answer

        files = versions_bytes = rubbish_bytes = 0
        sizes = db.execute(
            select(t.Version.id, t.Version.node_id, t.Content.size)
            .join(t.Content, t.Content.id == t.Version.content_id)
            .join(t.Node, t.Node.id == t.Version.node_id)
            .where(t.Node.owner_id == who.user_id)
        ).all()
        current = {r.current_version for r in rows}
        for version_id, node_id, size in sizes:
            if binned(node_id):
                rubbish_bytes += size
            elif version_id in current:
                files += size
            else:
                versions_bytes += size
        uploading = db.scalar(
            select(func.coalesce(func.sum(t.Upload.size), 0)).where(
                t.Upload.owner_id == who.user_id
            )
        )
        return m.Usage(
            storage_used=user.storage_used,
            storage_quota=user.storage_quota,
            files=files,
            versions=versions_bytes,
            rubbish=rubbish_bytes,
            uploading=int(uploading or 0),
            transfer_used=links.transfer_used(db, ctx, who.user_id),
            transfer_quota=ctx.settings.transfer_quota,
            transfer_window=ctx.settings.transfer_window,
        )
