"""Contacts, invitations and shared folders."""

from __future__ import annotations

from fastapi import APIRouter, Response

from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.deps import Caller, Ctx
from coffre.server.services import sharing

router = APIRouter(prefix="/v1", tags=["sharing"])


@router.get("/users/{user_id}/keys")
def user_keys(ctx: Ctx, who: Caller, user_id: Id) -> m.UserKeys:
    """The published keys of a contact, or of someone sharing a folder with the caller."""
    return sharing.user_keys(ctx, who, user_id)


@router.get("/contacts")
def contacts(ctx: Ctx, who: Caller) -> m.ContactList:
    """Contacts (with their published keys) and invitations both ways."""
    return sharing.contacts(ctx, who)


@router.post("/contacts/invitations", status_code=201)
def invite(ctx: Ctx, who: Caller, body: m.InviteRequest) -> m.Invitation:
    """Invite an email address (whether it has an account is not said)."""
    return sharing.invite(ctx, who, body.email)


@router.post("/contacts/invitations/{invitation_id}/accept")
def accept(ctx: Ctx, who: Caller, invitation_id: Id) -> m.UserKeys:
    return sharing.accept(ctx, who, invitation_id)


@router.delete("/contacts/invitations/{invitation_id}", status_code=204)
def decline(ctx: Ctx, who: Caller, invitation_id: Id) -> Response:
    """Decline an invitation received, or withdraw one sent."""
    sharing.decline(ctx, who, invitation_id)
    return Response(status_code=204)


@router.delete("/contacts/{user_id}", status_code=204)
def remove(ctx: Ctx, who: Caller, user_id: Id) -> Response:
    sharing.remove_contact(ctx, who, user_id)
    return Response(status_code=204)


@router.post("/shares", status_code=201)
def share(ctx: Ctx, who: Caller, body: m.ShareCreate) -> m.ShareInfo:
    """Share a folder with a contact (again, to change the access level)."""
    return sharing.share(ctx, who, body)


@router.get("/shares")
def shares(ctx: Ctx, who: Caller) -> m.ShareList:
    return sharing.shares(ctx, who)


@router.post("/shares/{share_id}/accept")
def accept_share(ctx: Ctx, who: Caller, share_id: Id) -> m.ShareInfo:
    return sharing.accept_share(ctx, who, share_id)


@router.delete("/shares/{share_id}", status_code=204)
def remove_share(ctx: Ctx, who: Caller, share_id: Id) -> Response:
    """The owner revokes a share, or its member leaves it."""
    sharing.remove_share(ctx, who, share_id)
    return Response(status_code=204)


@router.get("/shares/{share_id}/members")
def members(ctx: Ctx, who: Caller, share_id: Id) -> m.ShareList:
    """Every share of the same folder (``outgoing``), for checking who may write in it."""
    return m.ShareList(outgoing=sharing.members(ctx, who, share_id), incoming=[])


@router.get("/shares/{share_id}/nodes", response_model=m.NodeList)
def share_nodes(ctx: Ctx, who: Caller, share_id: Id) -> Response:
    """Everything below a shared folder (outside the rubbish bin), parents first."""
    listing = sharing.share_nodes(ctx, who, share_id)
    return Response(listing.json(), media_type="application/json")
