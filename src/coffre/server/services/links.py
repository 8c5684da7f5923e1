"""Public links: created by their owner, opened by anyone who holds the link key.

The server keeps the node key sealed under the link key and a hash of the link-auth value
derived from that key (docs/crypto.md section 9). A visitor first learns what is needed to
derive the key (for a password link: the Argon2id parameters and salt), then proves it
with every request; only then does the server hand out the envelope, the records below the
linked node, or any chunk. Wrong proofs are counted per link and per address; bytes served
count against the owner's rolling transfer quota.
"""

from __future__ import annotations

import hmac
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from coffre.crypto import account as crypto_account
from coffre.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, QuotaExceeded
from coffre.protocol import models as m
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import abuse, ratelimit
from coffre.server.services.records import (
    Listing,
    in_rubbish,
    lock_account,
    owned_node,
    records_by_id,
    rows_below,
)
from coffre.server.services.transfers import ChunkSource

_HOUR = 3600


def _info(link: t.Link) -> m.LinkInfo:
    return m.LinkInfo(
        id=link.id,
        node_id=link.node_id,
        kind=cast(m.LinkKind, link.kind),
        created=link.created_at,
        expires=link.expires_at,
        revoked=link.revoked_at,
        downloads=link.downloads,
        password=link.kdf_salt is not None,
        envelope=link.envelope if link.kind == "request" else None,
    )


def _kdf(link: t.Link) -> m.KdfParams | None:
    if link.kdf_salt is None:
        return None
    assert link.kdf_time_cost is not None
    assert link.kdf_memory_kib is not None
    assert link.kdf_lanes is not None
    return m.KdfParams(
        time_cost=link.kdf_time_cost,
        memory_kib=link.kdf_memory_kib,
        lanes=link.kdf_lanes,
        salt=link.kdf_salt,
    )


# -- the owner's side ---------------------------------------------------------------------


def create(ctx: Context, who: Principal, req: m.LinkCreate) -> m.LinkInfo:
    if req.kdf is not None:
        params = crypto_account.KdfParams(
            req.kdf.time_cost, req.kdf.memory_kib, req.kdf.lanes, req.kdf.salt
        )
        try:
            params.check()
        except Exception as exc:
            raise BadRequest("weak_kdf", str(exc)) from None
    if req.expires is not None and req.expires <= now():
        raise BadRequest("invalid_request", "the expiry is in the past")
    with ctx.db.write() as db:
        node = owned_node(db, who, req.node_id)
        abuse.check_sharing(ctx, db, who.user_id, node.id)
        if node.parent_id is None:
            raise BadRequest("root_immutable", "the root folder cannot be shared by a link")
        if in_rubbish(db, node):
            raise Conflict("in_rubbish", "it is in the rubbish bin")
        if db.get(t.Link, req.id) is not None:
            raise Conflict("id_taken", "that id is in use; generate another")
        if req.request and node.kind != "folder":
            raise BadRequest("not_a_folder", "an upload-only link goes to a folder")
        link = t.Link(
            id=req.id,
            owner_id=who.user_id,
            node_id=node.id,
            kind="request" if req.request else node.kind,
            envelope=req.envelope,
            auth_hash=crypto_account.auth_hash(req.auth),
            kdf_time_cost=req.kdf.time_cost if req.kdf else None,
            kdf_memory_kib=req.kdf.memory_kib if req.kdf else None,
            kdf_lanes=req.kdf.lanes if req.kdf else None,
            kdf_salt=req.kdf.salt if req.kdf else None,
            created_at=now(),
            expires_at=req.expires,
            revoked_at=None,
            downloads=0,
        )
        db.add(link)
        db.flush()
        return _info(link)


def list_links(ctx: Context, who: Principal) -> m.LinkList:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(t.Link).where(t.Link.owner_id == who.user_id).order_by(t.Link.created_at)
        ).all()
        return m.LinkList(links=[_info(link) for link in rows])


def revoke(ctx: Context, who: Principal, link_id: str) -> None:
    with ctx.db.write() as db:
        link = db.get(t.Link, link_id)
        if link is None or link.owner_id != who.user_id:
            raise NotFound("link_not_found", "no such link")
        if link.revoked_at is None:
            link.revoked_at = now()


# -- the visitor's side -------------------------------------------------------------------


def _usable(db: Session, link_id: str) -> t.Link:
    link = db.get(t.Link, link_id)
    if link is None:
        raise NotFound("link_not_found", "no such link (check that it was copied whole)")
    if link.revoked_at is not None:
        raise Gone("link_revoked", "this link was turned off by its owner")
    if link.expires_at is not None and link.expires_at <= now():
        raise Gone("link_expired", "this link has expired")
    abuse.check_link(db, link.id)
    node = db.get(t.Node, link.node_id)
    if node is None or in_rubbish(db, node):
        raise Gone("link_unavailable", "what this link pointed to was deleted")
    return link


def public(ctx: Context, link_id: str) -> m.PublicLink:
    """What anyone may know of a link: its kind and how to derive a password link's key."""
    with ctx.db.read() as db:
        link = _usable(db, link_id)
        return m.PublicLink(
            id=link.id,
            kind=cast(m.LinkKind, link.kind),
            kdf=_kdf(link),
            expires=link.expires_at,
            folder_id=link.node_id if link.kind == "request" else None,
        )


def authorize(
    ctx: Context, link_id: str, auth: bytes | None, ip: str | None, *, upload: bool = False
) -> t.Link:
    """The link, for a visitor who proved its key; one uniform error otherwise. An
    upload-only link opens for uploads only, a download link for downloads only."""
    s = ctx.settings
    scopes = [f"link-failure:{link_id}"] + ([f"link-failure-address:{ip}"] if ip else [])
    for scope in scopes:
        ratelimit.check(ctx, scope, s.link_failures_per_link, s.login_window, "wrong link keys")
    with ctx.db.read() as db:
        link = _usable(db, link_id)
        expected = link.auth_hash
    if auth is None or not hmac.compare_digest(crypto_account.auth_hash(auth), expected):
        ratelimit.hit(ctx, *scopes)
        raise Forbidden("link_auth_failed", "wrong link key or password")
    if (link.kind == "request") != upload:
        if upload:
            raise Forbidden("not_upload_link", "this link is for downloading, not uploading")
        raise Forbidden("upload_only", "this link only lets you upload; it shows nothing")
    return link


def dropbox(ctx: Context, link_id: str, auth: bytes | None, ip: str | None) -> Principal:
    """The caller of an upload-only link: may add new files to its folder, nothing else."""
    link = authorize(ctx, link_id, auth, ip, upload=True)
    return Principal(user_id=link.id, session_id="link", dropbox=link.node_id)


def root(ctx: Context, link_id: str, auth: bytes | None, ip: str | None) -> m.LinkRoot:
    if ip:
        scope = f"link-open:{ip}"
        ratelimit.check(
            ctx,
            scope,
            ctx.settings.link_opens_per_address,
            ctx.settings.login_window,
            "links opened",
        )
        ratelimit.hit(ctx, scope)
    link = authorize(ctx, link_id, auth, ip)
    with ctx.db.read() as db:
        (record,) = records_by_id(db, [link.node_id])
    return m.LinkRoot(node=record, envelope=link.envelope)


def nodes(ctx: Context, link_id: str, auth: bytes | None, ip: str | None) -> Listing:
    """Everything below a folder link's folder, outside the rubbish bin, parents first."""
    link = authorize(ctx, link_id, auth, ip)
    with ctx.db.read() as db:
        return Listing(rows_below(db, link.node_id))


def _inside(db: Session, link: t.Link, node_id: str) -> bool:
    """Whether ``node_id`` is the linked node or below it, and nothing on the way is binned."""
    current = db.get(t.Node, node_id)
    while current is not None:
        if current.trashed_at is not None:
            return False
        if current.id == link.node_id:
            return True
        current = db.get(t.Node, current.parent_id) if current.parent_id else None
    return False


def chunk_source(
    ctx: Context, link_id: str, auth: bytes | None, ip: str | None, version_ids: list[str]
) -> dict[str, ChunkSource]:
    """The contents of versions reachable through the link (each a 404 otherwise)."""
    link = authorize(ctx, link_id, auth, ip)
    sources: dict[str, ChunkSource] = {}
    with ctx.db.read() as db:
        for version_id in version_ids:
            version = db.get(t.Version, version_id)
            if version is None or not _inside(db, link, version.node_id):
                raise NotFound("version_not_found", "no such version in this link")
            content = db.get_one(t.Content, version.content_id)
            sources[version_id] = ChunkSource(content.id, content.chunk_count, content.inline)
    return sources


def transfer_used(db: Session, ctx: Context, user_id: str) -> int:
    """Bytes the account's links served in the current rolling transfer window."""
    hour = int(now()) // _HOUR
    used = db.scalar(
        select(func.coalesce(func.sum(t.TransferUsage.bytes), 0)).where(
            t.TransferUsage.user_id == user_id,
            t.TransferUsage.hour > hour - ctx.settings.transfer_window // _HOUR,
        )
    )
    return int(used or 0)


def charge(ctx: Context, link_id: str, nbytes: int, *, downloads: int) -> None:
    """Count bytes served through a link against its owner's transfer quota, and
    ``downloads`` more downloads (files whose first chunk is being served)."""
    s = ctx.settings
    hour = int(now()) // _HOUR
    with ctx.db.write() as db:
        link = db.get_one(t.Link, link_id)
        lock_account(db, link.owner_id)  # one writer of the owner's counters at a time
        if transfer_used(db, ctx, link.owner_id) + nbytes > s.transfer_quota:
            raise QuotaExceeded(
                "transfer_quota_exceeded",
                "the owner of this link has used up their transfer quota; try again later",
            )
        row = db.get(t.TransferUsage, (link.owner_id, hour))
        if row is None:
            db.add(t.TransferUsage(user_id=link.owner_id, hour=hour, bytes=nbytes))
        else:
            row.bytes += nbytes
        if downloads:
            db.execute(
                update(t.Link)
                .where(t.Link.id == link_id)
                .values(downloads=t.Link.downloads + downloads)
            )
