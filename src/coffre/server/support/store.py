"""Ticket rows and what is built from them: numbers, messages, attachments, the audit trail,
and the views customers and staff are shown."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, NotFound, PayloadTooLarge
from coffre.protocol import tickets as tm
from coffre.server.context import now
from coffre.server.db import tables as t

Attachment = tuple[str, str, bytes]
"""(file name, media type, content) of a file sent with a message."""

STAFF_NAME = "Coffre support"
_NUMBER = re.compile(r"^#?(\d{1,9})$")
_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/;]")


def new_id() -> str:
    return secrets.token_hex(16)


def new_token() -> str:
    """An anonymous filer's access token: 32 random bytes; only its hash is kept."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def find(db: Session, ref: str) -> t.SupportTicket | None:
    """A ticket by its id (32 hex digits) or its number (``123`` or ``#123``)."""
    ref = ref.strip()
    if _ID.match(ref):
        return db.get(t.SupportTicket, ref)
    match = _NUMBER.match(ref)
    if match is None:
        return None
    return db.scalars(
        select(t.SupportTicket).where(t.SupportTicket.number == int(match.group(1)))
    ).first()


def get(db: Session, ref: str) -> t.SupportTicket:
    ticket = find(db, ref)
    if ticket is None:
        raise NotFound("ticket_not_found", "no such ticket")
    return ticket


def follow(db: Session, ticket: t.SupportTicket) -> t.SupportTicket:
    """The ticket a merged ticket now lives on (itself if it was never merged)."""
    for _ in range(32):
        if ticket.merged_into is None:
            break
        target = db.get(t.SupportTicket, ticket.merged_into)
        if target is None:
            break
        ticket = target
    return ticket


def next_number(db: Session) -> int:
    return int(db.scalar(select(func.coalesce(func.max(t.SupportTicket.number), 0))) or 0) + 1


def audit(
    db: Session,
    ticket_id: str,
    actor: str,
    action: str,
    detail: str = "",
    actor_id: str | None = None,
) -> None:
    db.add(
        t.SupportAudit(
            ticket_id=ticket_id,
            actor_id=actor_id,
            actor=actor[:254],
            action=action,
            detail=detail[:1000],
            at=now(),
        )
    )


def safe_name(name: str) -> str:
    """A file name fit for a Content-Disposition header: no path, no control characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return _UNSAFE_NAME.sub("_", base).strip()[:255] or "attachment"


def check_attachments(attachments: Sequence[Attachment], limit: int) -> None:
    if len(attachments) > tm.MAX_ATTACHMENTS:
        raise BadRequest(
            "too_many_attachments", f"at most {tm.MAX_ATTACHMENTS} attachments per message"
        )
    for name, _type, data in attachments:
        if len(data) > limit:
            raise PayloadTooLarge(
                "attachment_too_large",
                f"{safe_name(name)} is over the {limit} byte limit for attachments",
            )


def add_message(
    db: Session,
    ticket: t.SupportTicket,
    *,
    kind: tm.MessageKind,
    author_email: str,
    body: str,
    via: str,
    author_id: str | None = None,
    mail_id: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> t.SupportMessage:
    at = now()
    message = t.SupportMessage(
        id=new_id(),
        ticket_id=ticket.id,
        kind=kind,
        author_id=author_id,
        author_email=author_email[:254],
        body=body,
        via=via,
        mail_id=mail_id[:300] if mail_id else None,
        created_at=at,
    )
    db.add(message)
    db.flush()
    for name, media_type, data in attachments:
        db.add(
            t.SupportAttachment(
                id=new_id(),
                ticket_id=ticket.id,
                message_id=message.id,
                name=safe_name(name),
                media_type=(media_type or "application/octet-stream")[:100],
                size=len(data),
                data=data,
            )
        )
    if mail_id:
        remember_mail(db, ticket.id, mail_id)
    ticket.updated_at = at
    return message


def remember_mail(db: Session, ticket_id: str, mail_id: str) -> None:
    db.add(t.SupportMailRef(ticket_id=ticket_id, mail_id=mail_id.strip()[:300]))


def messages(db: Session, ticket_id: str, *, notes: bool) -> list[tm.MessageInfo]:
    query = select(t.SupportMessage).where(t.SupportMessage.ticket_id == ticket_id)
    if not notes:
        query = query.where(t.SupportMessage.kind != "note")
    rows = db.scalars(query.order_by(t.SupportMessage.created_at, t.SupportMessage.id)).all()
    files: dict[str, list[tm.AttachmentInfo]] = {}
    if rows:
        for a in db.execute(
            select(
                t.SupportAttachment.id,
                t.SupportAttachment.message_id,
                t.SupportAttachment.name,
                t.SupportAttachment.media_type,
                t.SupportAttachment.size,
            ).where(t.SupportAttachment.message_id.in_([r.id for r in rows]))
        ):
            files.setdefault(a.message_id, []).append(
                tm.AttachmentInfo(id=a.id, name=a.name, type=a.media_type, size=a.size)
            )
    return [
        tm.MessageInfo(
            id=r.id,
            kind=cast(tm.MessageKind, r.kind),
            # Customers are not told which staff member answered.
            author=r.author_email if notes or r.kind != "staff" else STAFF_NAME,
            body=r.body,
            via=r.via,
            created=r.created_at,
            attachments=files.get(r.id, []),
        )
        for r in rows
    ]


def summary_fields(ticket: t.SupportTicket) -> dict[str, object]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "category": ticket.category,
        "subject": ticket.subject,
        "state": ticket.state,
        "priority": ticket.priority,
        "created": ticket.created_at,
        "updated": ticket.updated_at,
    }


def summary(ticket: t.SupportTicket) -> tm.TicketSummary:
    return tm.TicketSummary.model_validate(summary_fields(ticket))


def customer_view(db: Session, ticket: t.SupportTicket) -> tm.TicketView:
    return tm.TicketView.model_validate(
        {
            **summary_fields(ticket),
            "email": ticket.email,
            "messages": messages(db, ticket.id, notes=False),
        }
    )


def attachment(
    db: Session, ticket_id: str, attachment_id: str, *, notes: bool
) -> t.SupportAttachment:
    row = db.get(t.SupportAttachment, attachment_id)
    if row is None or row.ticket_id != ticket_id:
        raise NotFound("attachment_not_found", "no such attachment")
    if not notes:
        message = db.get(t.SupportMessage, row.message_id)
        if message is None or message.kind == "note":
            raise NotFound("attachment_not_found", "no such attachment")
    return row
