"""The customer's side: file a ticket (signed in or with an email address), list, show,
reply, close, and fetch an attachment.

A customer reaches a ticket through their account, or, having filed it without one,
through its access token (only a hash is kept). Any other ticket is "not found", whether
it exists or not.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, Conflict, NotFound
from coffre.protocol import tickets as tm
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import ratelimit
from coffre.server.support import notify, store

_HOUR = 3600


@dataclass(frozen=True, slots=True)
class Customer:
    """Who asks: a signed-in account, or the holder of a ticket's access token."""

    principal: Principal | None = None
    token: str | None = None


def _attachments(req: tm.TicketCreate | tm.ReplyCreate) -> list[store.Attachment]:
    return [(a.name, a.type, a.data) for a in req.attachments]


def _user_email(db: Session, user_id: str) -> str:
    user = db.get(t.User, user_id)
    if user is None:
        raise NotFound("account_not_found", "no such account")
    return user.email


def _throttle(ctx: Context, email: str, ip: str | None) -> None:
    s = ctx.settings
    scopes = [f"support-file:{email}"]
    ratelimit.check(ctx, scopes[0], s.support_filings_per_address, _HOUR, "tickets filed")
    if ip:
        scopes.append(f"support-file-ip:{ip}")
        ratelimit.check(ctx, scopes[1], s.support_filings_per_ip, _HOUR, "tickets filed")
    ratelimit.hit(ctx, *scopes)


def open_ticket(
    ctx: Context,
    *,
    email: str,
    user_id: str | None,
    category: str,
    subject: str,
    body: str,
    via: str,
    attachments: list[store.Attachment],
    mail_id: str | None = None,
    with_token: bool = False,
) -> tuple[str, str | None]:
    """Write a new ticket and its first message; answer its id and access token."""
    token = store.new_token() if with_token else None
    for attempt in range(8):
        try:
            with ctx.db.write() as db:
                at = now()
                ticket = t.SupportTicket(
                    id=store.new_id(),
                    number=store.next_number(db),
                    user_id=user_id,
                    email=email,
                    category=category,
                    subject=subject,
                    state="new",
                    priority="normal",
                    assignee_id=None,
                    token_hash=store.hash_token(token) if token else None,
                    merged_into=None,
                    created_at=at,
                    updated_at=at,
                    first_response_at=None,
                    solved_at=None,
                )
                db.add(ticket)
                db.flush()
                store.add_message(
                    db,
                    ticket,
                    kind="customer",
                    author_id=user_id,
                    author_email=email,
                    body=body,
                    via=via,
                    mail_id=mail_id,
                    attachments=attachments,
                )
                store.audit(db, ticket.id, email, "filed", f"{category} by {via}", actor_id=user_id)
                ticket_id = ticket.id
            break
        except sa_exc.IntegrityError:
            # Two tickets took the same number at once (PostgreSQL): take the next one.
            if attempt == 7:
                raise
    notify.filed(ctx, ticket_id, body)
    return ticket_id, token


def file(
    ctx: Context, who: Principal | None, req: tm.TicketCreate, ip: str | None, via: str
) -> tm.TicketCreated:
    store.check_attachments(_attachments(req), ctx.settings.support_attachment_bytes)
    if who is not None:
        with ctx.db.read() as db:
            email = _user_email(db, who.user_id)
    elif req.email is None:
        raise BadRequest("email_required", "without an account, give an email address")
    else:
        email = req.email
        _throttle(ctx, email, ip)
    ticket_id, token = open_ticket(
        ctx,
        email=email,
        user_id=who.user_id if who else None,
        category=req.category,
        subject=req.subject.strip() or "(no subject)",
        body=req.message,
        via=via,
        attachments=_attachments(req),
        with_token=who is None,
    )
    with ctx.db.read() as db:
        view = store.customer_view(db, store.get(db, ticket_id))
    return tm.TicketCreated(ticket=view, token=token)


def reach(db: Session, ref: str, who: Customer) -> t.SupportTicket:
    """The ticket, if ``who`` may see it; "not found" otherwise."""
    ticket = store.find(db, ref)
    if ticket is not None:
        p = who.principal
        if p is not None and p.dropbox is None and ticket.user_id == p.user_id:
            return ticket
        if (
            who.token
            and ticket.token_hash is not None
            and hmac.compare_digest(store.hash_token(who.token), ticket.token_hash)
        ):
            return ticket
    raise NotFound("ticket_not_found", "no such ticket")


def mine(ctx: Context, who: Principal) -> tm.TicketList:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(t.SupportTicket)
            .where(t.SupportTicket.user_id == who.user_id)
            .order_by(t.SupportTicket.updated_at.desc(), t.SupportTicket.number.desc())
        ).all()
        return tm.TicketList(tickets=[store.summary(r) for r in rows])


def show(ctx: Context, ref: str, who: Customer) -> tm.TicketView:
    with ctx.db.read() as db:
        return store.customer_view(db, reach(db, ref, who))


def writable(ticket: t.SupportTicket) -> None:
    if ticket.merged_into is not None:
        raise Conflict("ticket_merged", "this ticket was merged into another; write there")
    if ticket.state == "closed":
        raise Conflict("ticket_closed", "this ticket is closed; file a new one")


def reply(ctx: Context, ref: str, who: Customer, req: tm.ReplyCreate, via: str) -> tm.TicketView:
    files = _attachments(req)
    store.check_attachments(files, ctx.settings.support_attachment_bytes)
    with ctx.db.write() as db:
        ticket = reach(db, ref, who)
        writable(ticket)
        add_reply(db, ticket, ticket.email, req.message, via, None, files)
        ticket_id = ticket.id
    notify.customer_replied(ctx, ticket_id, req.message)
    return show(ctx, ticket_id, who)


def add_reply(
    db: Session,
    ticket: t.SupportTicket,
    sender: str,
    text: str,
    via: str,
    mail_id: str | None,
    files: list[store.Attachment],
) -> None:
    """The customer wrote again: the ticket is open again if it waited or was solved."""
    store.add_message(
        db,
        ticket,
        kind="customer",
        author_id=ticket.user_id,
        author_email=sender,
        body=text,
        via=via,
        mail_id=mail_id,
        attachments=files,
    )
    store.audit(db, ticket.id, sender, "customer_reply", f"by {via}", actor_id=ticket.user_id)
    if ticket.state in ("pending", "solved"):
        store.audit(db, ticket.id, sender, "state", f"{ticket.state} -> open")
        ticket.state = "open"
        ticket.solved_at = None


def close(ctx: Context, ref: str, who: Customer) -> tm.TicketView:
    with ctx.db.write() as db:
        ticket = reach(db, ref, who)
        if ticket.state != "closed":
            store.audit(
                db, ticket.id, ticket.email, "state", f"{ticket.state} -> closed (by customer)"
            )
            ticket.state = "closed"
            ticket.updated_at = now()
        return store.customer_view(db, ticket)


def attachment(ctx: Context, ref: str, who: Customer, attachment_id: str) -> t.SupportAttachment:
    with ctx.db.read() as db:
        ticket = reach(db, ref, who)
        return store.attachment(db, ticket.id, attachment_id, notes=False)
