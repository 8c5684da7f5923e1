"""What the mail receiver calls: find the ticket a mail belongs to, add a customer's reply,
or open a new ticket from a mail.

Threading, in the order the receiver tries it: the ticket named by the (verified) token in
the reply address (:func:`find_by_token`), then a Message-ID of the ticket's mail in
In-Reply-To or References (:func:`find_by_message_id`), then the ``[Coffre #NUMBER]`` tag
in the subject (:func:`find_by_subject_tag`). Each answers the ticket's id, following
merges to the ticket that lives on, or None.

The lookups take an open session or the :class:`~coffre.server.db.engine.Database`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from coffre.protocol import tickets as tm
from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.db.engine import Database
from coffre.server.support import notify, store, tickets

log = logging.getLogger("coffre.server.support")

T = TypeVar("T")
TAG = re.compile(r"\[Coffre #(\d{1,9})\]", re.IGNORECASE)
DEFAULT_CATEGORY = "technical"


@contextmanager
def _session(db: Session | Database) -> Iterator[Session]:
    if isinstance(db, Database):
        with db.read() as session:
            yield session
    else:
        yield db


def _live(db: Session | Database, find: Callable[[Session], t.SupportTicket | None]) -> str | None:
    with _session(db) as session:
        ticket = find(session)
        return store.follow(session, ticket).id if ticket is not None else None


def find_by_token(db: Session | Database, ticket_ref: str) -> str | None:
    """The ticket a reply address's token names: its id, or its number."""
    return _live(db, lambda s: store.find(s, ticket_ref))


def find_by_message_id(db: Session | Database, message_ids: list[str]) -> str | None:
    """The ticket one of these Message-IDs (In-Reply-To first, then References, newest
    first) belongs to."""
    wanted = [m.strip() for m in message_ids if m and m.strip()][:100]
    if not wanted:
        return None

    def find(session: Session) -> t.SupportTicket | None:
        rows = session.execute(
            select(t.SupportMailRef.mail_id, t.SupportMailRef.ticket_id).where(
                t.SupportMailRef.mail_id.in_([m[:300] for m in wanted])
            )
        ).all()
        by_mail = {row.mail_id: row.ticket_id for row in rows}
        for mail_id in wanted:
            if mail_id[:300] in by_mail:
                return session.get(t.SupportTicket, by_mail[mail_id[:300]])
        return None

    return _live(db, find)


def find_by_subject_tag(db: Session | Database, tag: str) -> str | None:
    """The ticket of a ``[Coffre #NUMBER]`` tag (the tag, the subject holding it, or the
    number alone)."""
    match = TAG.search(tag)
    number = match.group(1) if match else tag.strip().lstrip("#")
    if not number.isdigit() or len(number) > 9:
        return None
    return _live(db, lambda s: store.find(s, number))


def _keep(
    ctx: Context, attachments: list[tuple[str, str, bytes]]
) -> tuple[list[store.Attachment], str]:
    """The attachments within the limits; a line about each one left out."""
    limit = ctx.settings.support_attachment_bytes
    kept: list[store.Attachment] = []
    dropped: list[str] = []
    for name, media_type, data in attachments:
        if len(data) > limit or len(kept) >= tm.MAX_ATTACHMENTS:
            dropped.append(f"[attachment {store.safe_name(name)} left out: over the limit]")
        else:
            kept.append((name, media_type, data))
    return kept, "\n".join(dropped)


def add_customer_reply(
    ctx: Context,
    ticket_id: str,
    sender: str,
    text: str,
    message_id: str | None,
    attachments: list[tuple[str, str, bytes]],
) -> None:
    """A reply by mail. On a closed ticket it opens a follow-up ticket instead."""
    files, note = _keep(ctx, attachments)
    body = f"{text}\n\n{note}" if note else text
    with ctx.db.write() as db:
        ticket = store.follow(db, store.get(db, ticket_id))
        if message_id and db.scalar(
            select(t.SupportMessage.id).where(
                t.SupportMessage.ticket_id == ticket.id,
                t.SupportMessage.mail_id == message_id[:300],
            )
        ):
            return  # the same mail delivered twice
        closed = ticket.state == "closed"
        if not closed:
            tickets.add_reply(db, ticket, sender, body, "email", message_id, files)
        number, subject, category, user_id = (
            ticket.number,
            ticket.subject,
            ticket.category,
            ticket.user_id,
        )
        live_id = ticket.id
    if closed:
        new_id, _token = tickets.open_ticket(
            ctx,
            email=sender,
            user_id=user_id if user_id is not None and _owns(ctx, user_id, sender) else None,
            category=category,
            subject=f"Follow-up to #{number}: {subject}"[:200],
            body=body,
            via="email",
            attachments=files,
            mail_id=message_id,
        )
        log.info("mail to closed ticket #%s opened a follow-up (%s)", number, new_id)
        return
    notify.customer_replied(ctx, live_id, body)


def _owns(ctx: Context, user_id: str, sender: str) -> bool:
    with ctx.db.read() as db:
        user = db.get(t.User, user_id)
        return user is not None and user.email.lower() == sender.lower()


def new_ticket_from_mail(
    ctx: Context,
    sender: str,
    subject: str,
    text: str,
    message_id: str | None,
    attachments: list[tuple[str, str, bytes]],
) -> str:
    """A new ticket from a mail to the support address (category: technical, until staff
    change it). It belongs to the account of that address, if there is one."""
    files, note = _keep(ctx, attachments)
    sender = sender.strip().lower()[:254]
    with ctx.db.read() as db:
        user_id = db.scalar(select(t.User.id).where(t.User.email == sender))
    ticket_id, _token = tickets.open_ticket(
        ctx,
        email=sender,
        user_id=user_id,
        category=DEFAULT_CATEGORY,
        subject=(subject.strip() or "(no subject)")[:200],
        body=f"{text}\n\n{note}" if note else text,
        via="email",
        attachments=files,
        mail_id=message_id,
    )
    return ticket_id
