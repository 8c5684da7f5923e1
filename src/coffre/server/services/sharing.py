"""Contacts and shared folders.

The server relays invitations and share envelopes; it cannot read a share (the folder key
inside is encrypted to the member) nor forge one (it is signed by the owner), and it
cannot vouch for anyone's keys: clients pin their contacts' public keys themselves
(SECURITY.md A10, A11). What it does enforce is access: a member reaches a shared folder
only once they accepted the share, and only as far as its access level allows
(:func:`coffre.server.services.records.node_access`).
"""

from __future__ import annotations

import secrets
from typing import cast

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from coffre.crypto.shares import Access as ShareAccess
from coffre.errors import BadRequest, Conflict, NotFound
from coffre.protocol import models as m
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import abuse
from coffre.server.services.records import (
    Listing,
    in_rubbish,
    owned_node,
    records_by_id,
    rows_below,
)

_LEVELS = {ShareAccess.READ: "read", ShareAccess.WRITE: "write", ShareAccess.FULL: "full"}


def _keys(user: t.User) -> m.UserKeys:
    return m.UserKeys(user_id=user.id, email=user.email, public_keys=user.public_keys)


def user_keys(ctx: Context, who: Principal, user_id: str) -> m.UserKeys:
    """Someone's published keys, to the people they are connected with (or themselves)."""
    with ctx.db.read() as db:
        user = db.get(t.User, user_id)
        if user is None or not (user_id == who.user_id or _connected(db, who.user_id, user_id)):
            raise NotFound("user_not_found", "no such contact")
        return _keys(user)


def _connected(db: Session, a: str, b: str) -> bool:
    """Contacts, or sharing a folder (a member sees the keys of the folder's writers)."""
    if db.get(t.Contact, (a, b)) is not None:
        return True
    mine = select(t.Share.folder_id).where(or_(t.Share.member_id == a, t.Share.owner_id == a))
    theirs = select(t.Share.id).where(
        t.Share.folder_id.in_(mine), or_(t.Share.member_id == b, t.Share.owner_id == b)
    )
    return db.scalar(theirs.limit(1)) is not None


# -- contacts ---------------------------------------------------------------------------


def invite(ctx: Context, who: Principal, email: str) -> m.Invitation:
    """Invite an address. Whether it has an account is not said (it may sign up later)."""
    with ctx.db.write() as db:
        me = db.get_one(t.User, who.user_id)
        if email == me.email:
            raise BadRequest("invalid_request", "you cannot invite yourself")
        other = db.scalar(select(t.User).where(t.User.email == email))
        if other is not None and db.get(t.Contact, (who.user_id, other.id)) is not None:
            raise Conflict("already_contacts", "you are contacts already")
        found = db.scalar(
            select(t.Invitation).where(
                t.Invitation.from_id == who.user_id, t.Invitation.to_email == email
            )
        )
        if found is None:
            found = t.Invitation(
                id=secrets.token_hex(16), from_id=who.user_id, to_email=email, created_at=now()
            )
            db.add(found)
        return m.Invitation(id=found.id, email=email, created=found.created_at)


def contacts(ctx: Context, who: Principal) -> m.ContactList:
    with ctx.db.read() as db:
        me = db.get_one(t.User, who.user_id)
        rows = db.execute(
            select(t.User, t.Contact.created_at)
            .join(t.Contact, t.Contact.contact_id == t.User.id)
            .where(t.Contact.user_id == who.user_id)
            .order_by(t.User.email)
        ).all()
        entries = [
            m.ContactEntry(user_id=u.id, email=u.email, public_keys=u.public_keys, since=since)
            for u, since in rows
        ]
        incoming = db.execute(
            select(t.Invitation, t.User)
            .join(t.User, t.User.id == t.Invitation.from_id)
            .where(t.Invitation.to_email == me.email)
        ).all()
        outgoing = db.scalars(select(t.Invitation).where(t.Invitation.from_id == who.user_id)).all()
        return m.ContactList(
            contacts=entries,
            incoming=[
                m.Invitation(id=i.id, email=u.email, user=_keys(u), created=i.created_at)
                for i, u in incoming
            ],
            outgoing=[
                m.Invitation(id=i.id, email=i.to_email, created=i.created_at) for i in outgoing
            ],
        )


def _incoming(db: Session, who: Principal, invitation_id: str) -> t.Invitation:
    me = db.get_one(t.User, who.user_id)
    invitation = db.get(t.Invitation, invitation_id)
    if invitation is None or invitation.to_email != me.email:
        raise NotFound("invitation_not_found", "no such invitation")
    return invitation


def accept(ctx: Context, who: Principal, invitation_id: str) -> m.UserKeys:
    with ctx.db.write() as db:
        invitation = _incoming(db, who, invitation_id)
        other = invitation.from_id
        at = now()
        for a, b in ((who.user_id, other), (other, who.user_id)):
            if db.get(t.Contact, (a, b)) is None:
                db.add(t.Contact(user_id=a, contact_id=b, created_at=at))
        inviter = db.get_one(t.User, other)
        # An invitation the other way round is answered by this one too.
        db.execute(
            delete(t.Invitation).where(
                or_(
                    t.Invitation.id == invitation.id,
                    (t.Invitation.from_id == who.user_id)
                    & (t.Invitation.to_email == inviter.email),
                )
            )
        )
        return _keys(inviter)


def decline(ctx: Context, who: Principal, invitation_id: str) -> None:
    """Decline an incoming invitation, or withdraw one of one's own."""
    with ctx.db.write() as db:
        invitation = db.get(t.Invitation, invitation_id)
        if invitation is not None and invitation.from_id == who.user_id:
            db.delete(invitation)
            return
        db.delete(_incoming(db, who, invitation_id))


def remove_contact(ctx: Context, who: Principal, user_id: str) -> None:
    with ctx.db.write() as db:
        if db.get(t.Contact, (who.user_id, user_id)) is None:
            raise NotFound("user_not_found", "no such contact")
        db.execute(
            delete(t.Contact).where(
                or_(
                    (t.Contact.user_id == who.user_id) & (t.Contact.contact_id == user_id),
                    (t.Contact.user_id == user_id) & (t.Contact.contact_id == who.user_id),
                )
            )
        )


# -- shares -------------------------------------------------------------------------------


def _info(db: Session, share: t.Share, *, with_folder: bool) -> m.ShareInfo:
    owner = db.get_one(t.User, share.owner_id)
    member = db.get_one(t.User, share.member_id)
    folder = records_by_id(db, [share.folder_id])[0] if with_folder else None
    return m.ShareInfo(
        id=share.id,
        folder_id=share.folder_id,
        owner=_keys(owner),
        member=_keys(member),
        access=cast(m.AccessLevel, _LEVELS[ShareAccess(share.access)]),
        envelope=share.envelope,
        accepted=share.accepted,
        created=share.created_at,
        folder=folder,
    )


def share(ctx: Context, who: Principal, req: m.ShareCreate) -> m.ShareInfo:
    """Share one's folder with a contact (or change the access of an existing share)."""
    access = ShareAccess[req.access.upper()]
    with ctx.db.write() as db:
        folder = owned_node(db, who, req.folder_id)
        abuse.check_sharing(ctx, db, who.user_id)
        if folder.kind != "folder" or folder.parent_id is None:
            raise BadRequest("not_a_folder", "only folders (not the root) can be shared")
        if in_rubbish(db, folder):
            raise Conflict("in_rubbish", "the folder is in the rubbish bin")
        if db.get(t.Contact, (who.user_id, req.member_id)) is None:
            raise NotFound("user_not_found", "share with contacts only: invite them first")
        existing = db.scalar(
            select(t.Share).where(
                t.Share.folder_id == folder.id, t.Share.member_id == req.member_id
            )
        )
        if existing is not None:
            db.delete(existing)
            db.flush()
        if db.get(t.Share, req.id) is not None:
            raise Conflict("id_taken", "that id is in use; generate another")
        row = t.Share(
            id=req.id,
            folder_id=folder.id,
            owner_id=who.user_id,
            member_id=req.member_id,
            access=int(access),
            envelope=req.envelope,
            accepted=existing.accepted if existing is not None else False,
            created_at=now(),
        )
        db.add(row)
        db.flush()
        return _info(db, row, with_folder=True)


def shares(ctx: Context, who: Principal) -> m.ShareList:
    with ctx.db.read() as db:
        outgoing = db.scalars(
            select(t.Share).where(t.Share.owner_id == who.user_id).order_by(t.Share.created_at)
        ).all()
        incoming = db.scalars(
            select(t.Share).where(t.Share.member_id == who.user_id).order_by(t.Share.created_at)
        ).all()
        return m.ShareList(
            outgoing=[_info(db, s, with_folder=False) for s in outgoing],
            incoming=[_info(db, s, with_folder=True) for s in incoming],
        )


def _visible(db: Session, who: Principal, share_id: str) -> t.Share:
    row = db.get(t.Share, share_id)
    if row is None or who.user_id not in (row.owner_id, row.member_id):
        raise NotFound("share_not_found", "no such share")
    return row


def accept_share(ctx: Context, who: Principal, share_id: str) -> m.ShareInfo:
    with ctx.db.write() as db:
        row = _visible(db, who, share_id)
        if row.member_id != who.user_id:
            raise NotFound("share_not_found", "no such share")
        row.accepted = True
        return _info(db, row, with_folder=True)


def remove_share(ctx: Context, who: Principal, share_id: str) -> None:
    """The owner revokes a share, or the member leaves it: access ends at once."""
    with ctx.db.write() as db:
        db.delete(_visible(db, who, share_id))


def members(ctx: Context, who: Principal, share_id: str) -> list[m.ShareInfo]:
    """Every share of the same folder, for checking who may write there."""
    with ctx.db.read() as db:
        row = _visible(db, who, share_id)
        rows = db.scalars(select(t.Share).where(t.Share.folder_id == row.folder_id)).all()
        return [_info(db, s, with_folder=False) for s in rows]


def share_nodes(ctx: Context, who: Principal, share_id: str) -> Listing:
    """Everything below a shared folder (outside the rubbish bin), for its members."""
    with ctx.db.read() as db:
        row = _visible(db, who, share_id)
        if row.member_id == who.user_id and not row.accepted:
            raise Conflict("share_not_accepted", "accept the share first")
        return Listing(rows_below(db, row.folder_id))
