"""Email about tickets: the customer's acknowledgement, staff notices, staff replies.

Mail goes out after the ticket's transaction commits, through the mail outbox; a mail
that cannot be sent is logged and does not undo the ticket's change. Each Message-ID sent
is kept with the ticket, so that a reply to it lands in the same ticket.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.mail import outbox
from coffre.server.support import store

log = logging.getLogger("coffre.server.support")

NEVER_ASK = (
    "Nobody at Coffre will ever ask for your password or your recovery key, and we do "
    "not need them to help you: we cannot see your files, their names or your keys."
)
NOT_ENCRYPTED = "Support messages are not end-to-end encrypted."


def subject_of(ticket: t.SupportTicket) -> str:
    return f"[Coffre #{ticket.number}] {ticket.subject}"


def _send(
    ctx: Context,
    ticket: t.SupportTicket,
    to: str | None,
    text: str,
    in_reply_to: str | None = None,
    *,
    auto_reply: bool = False,
) -> str | None:
    """Queue one mail about ``ticket`` (to the staff when ``to`` is None); keep its
    Message-ID with the ticket."""
    try:
        if to is None:
            mail_id = outbox.notify_staff(ctx, subject_of(ticket), text)
        else:
            mail_id = outbox.send(
                ctx,
                to,
                subject_of(ticket),
                text,
                ticket_id=ticket.id,
                in_reply_to=in_reply_to,
                auto_reply=auto_reply,
            )
    except Exception:
        log.exception("could not send mail about ticket #%s", ticket.number)
        return None
    if mail_id is not None:
        with ctx.db.write() as db:
            store.remember_mail(db, ticket.id, mail_id)
    return mail_id


def _last_customer_mail(ctx: Context, ticket_id: str) -> str | None:
    with ctx.db.read() as db:
        return db.scalar(
            select(t.SupportMessage.mail_id)
            .where(
                t.SupportMessage.ticket_id == ticket_id,
                t.SupportMessage.kind == "customer",
                t.SupportMessage.mail_id.is_not(None),
            )
            .order_by(t.SupportMessage.created_at.desc())
            .limit(1)
        )


def _ticket(ctx: Context, ticket_id: str) -> t.SupportTicket | None:
    with ctx.db.read() as db:
        return db.get(t.SupportTicket, ticket_id)


def filed(ctx: Context, ticket_id: str, first_message: str) -> None:
    """A new ticket: acknowledge it to the customer, tell the staff."""
    ticket = _ticket(ctx, ticket_id)
    if ticket is None:
        return
    in_reply_to = _last_customer_mail(ctx, ticket_id)
    _send(
        ctx,
        ticket,
        ticket.email,
        f"We have your request, ticket #{ticket.number} ({ticket.category}): "
        f"{ticket.subject}\n\n"
        "Someone from Coffre support will answer by email. To add to this ticket, reply "
        "to this message.\n\n"
        f"{NEVER_ASK}\n{NOT_ENCRYPTED}\n",
        in_reply_to,
        auto_reply=True,
    )
    _send(
        ctx,
        ticket,
        None,
        f"New {ticket.category} ticket #{ticket.number} from {ticket.email}.\n\n{first_message}\n",
    )


def customer_replied(ctx: Context, ticket_id: str, text: str) -> None:
    ticket = _ticket(ctx, ticket_id)
    if ticket is not None:
        _send(
            ctx,
            ticket,
            None,
            f"{ticket.email} wrote again on ticket #{ticket.number}.\n\n{text}\n",
        )


def staff_replied(ctx: Context, ticket_id: str, message_id: str, text: str) -> None:
    """A public reply from staff goes to the customer; its Message-ID is kept with it."""
    ticket = _ticket(ctx, ticket_id)
    if ticket is None:
        return
    mail_id = _send(
        ctx,
        ticket,
        ticket.email,
        f"{text}\n\n-- \nCoffre support, ticket #{ticket.number}. Reply to this message to "
        f"answer.\n{NEVER_ASK}\n",
        _last_customer_mail(ctx, ticket_id),
    )
    if mail_id is not None:
        with ctx.db.write() as db:
            message = db.get(t.SupportMessage, message_id)
            if message is not None and message.mail_id is None:
                message.mail_id = mail_id[:300]
