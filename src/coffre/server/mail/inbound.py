"""One incoming message: drop it, thread it into its ticket, or open a new ticket.

Threading, first match wins:

1. a valid signed token in a recipient address (``support+TOKEN@domain``): the reply
   lands in that ticket whoever sends it (the token is the proof);
2. a Message-ID of the ticket's mail in ``In-Reply-To`` or ``References``;
3. a ``[Coffre #NUMBER]`` tag in the subject.

For 2 and 3, which anybody can copy, the sender must be the ticket's customer (the
address the ticket was filed with, or its account's): otherwise the message opens a new
ticket. A forged or stale token is no token. Mail that no person wrote (auto-replies,
bounces, lists, our own mail: :mod:`.loops`) is logged, counted and dropped.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Literal

from sqlalchemy import select

from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.mail import body, loops, tokens
from coffre.server.support import inbound as tickets

log = logging.getLogger("coffre.mail")

Action = Literal["reply", "new", "dropped"]

dropped: Counter[str] = Counter()
"""Messages dropped by this process, by reason (auto-submitted, bounce, loop, ...)."""

_MSGID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"\[Coffre #(\d{1,9})\]", re.IGNORECASE)
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    ticket_id: str | None = None
    reason: str | None = None
    """Why a message was dropped, or how a reply was threaded (token, message-id, tag)."""


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)


def receive(
    ctx: Context,
    data: bytes,
    *,
    recipients: list[str] | None = None,
    envelope_from: str | None = None,
) -> Outcome:
    """Handle one RFC 5322 message. ``recipients`` and ``envelope_from`` are the SMTP
    envelope's when there is one (the To, Cc, Delivered-To and X-Original-To headers are
    read too)."""
    if len(data) > ctx.settings.mail_max_bytes:
        return _drop("too-large", "?")
    msg = parse(data)
    sender = parseaddr(str(msg.get("From", "")))[1].strip()
    reason = loops.robot_reason(msg, ctx.settings, envelope_from=envelope_from)
    if reason is not None:
        return _drop(reason, sender, str(msg.get("Subject", "")))
    if "@" not in sender or len(sender) > 254:
        return _drop("no-sender", sender[:254])
    message_id = _message_id(msg, data)
    if _seen_before(ctx, message_id):  # delivered twice (a retry, two mailboxes)
        return _drop("duplicate", sender, str(msg.get("Subject", "")))
    content = body.extract(msg, ctx.settings)
    text = content.text
    if content.dropped:
        notes = [f"[attachment {name} left out: over the limit]" for name in content.dropped]
        text = "\n\n".join([text, "\n".join(notes)])
    subject = " ".join(str(msg.get("Subject", "")).split())

    ticket_id, how = _thread(ctx, msg, sender, recipients)
    if ticket_id is not None:
        tickets.add_customer_reply(ctx, ticket_id, sender, text, message_id, content.attachments)
        log.info("mail %s from %s threaded into ticket %s (%s)", message_id, sender, ticket_id, how)
        return Outcome("reply", ticket_id, how)
    ticket_id = tickets.new_ticket_from_mail(
        ctx, sender, subject, text, message_id, content.attachments
    )
    log.info("mail %s from %s opened ticket %s", message_id, sender, ticket_id)
    return Outcome("new", ticket_id)


def _drop(reason: str, sender: str, subject: str = "") -> Outcome:
    dropped[reason] += 1
    log.info(
        "mail from %s dropped (%s; %d so far in this process): %r",
        sender or "?",
        reason,
        dropped[reason],
        subject[:100],
    )
    return Outcome("dropped", None, reason)


def _message_id(msg: EmailMessage, data: bytes) -> str:
    found = _MSGID.search(str(msg.get("Message-ID", "")))
    if found:
        return found.group(0)[:300]
    # No Message-ID: one made from the content, so that the same mail twice is one reply.
    return f"<{hashlib.sha256(data).hexdigest()[:32]}@no-message-id.invalid>"


def _thread(
    ctx: Context, msg: EmailMessage, sender: str, recipients: list[str] | None
) -> tuple[str | None, str | None]:
    # The envelope's recipients first, then the headers' (a token is its own proof,
    # wherever it is written).
    values = [str(v) for h in _RECIPIENT_HEADERS for v in msg.get_all(h, [])]
    addresses = list(recipients or []) + [a for _, a in getaddresses(values) if a]
    for address in dict.fromkeys(addresses):
        _ours, ref = tokens.classify_recipient(ctx.settings, address)
        if ref is not None:
            found = tickets.find_by_token(ctx.db, ref)
            if found is not None:
                return found, "token"
    parents = _MSGID.findall(str(msg.get("In-Reply-To", "")))
    references = _MSGID.findall(str(msg.get("References", "")))
    ids = list(dict.fromkeys(parents + references[::-1]))
    if ids:
        found = tickets.find_by_message_id(ctx.db, ids)
        if found is not None and _is_customer(ctx, found, sender):
            return found, "message-id"
        if found is not None:
            log.info("mail from %s answers ticket %s, not theirs: a new ticket", sender, found)
            return None, None
    tag = _TAG.search(str(msg.get("Subject", "")))
    if tag:
        found = tickets.find_by_subject_tag(ctx.db, tag.group(0))
        if found is not None and _is_customer(ctx, found, sender):
            return found, "subject-tag"
        if found is not None:
            log.info("mail from %s tags ticket %s, not theirs: a new ticket", sender, found)
    return None, None


def _seen_before(ctx: Context, message_id: str) -> bool:
    with ctx.db.read() as db:
        found = db.scalar(
            select(t.SupportMessage.id).where(t.SupportMessage.mail_id == message_id).limit(1)
        )
    return found is not None


def _is_customer(ctx: Context, ticket_id: str, sender: str) -> bool:
    """Whether ``sender`` is the ticket's customer: the address it was filed with, or the
    email of the account it belongs to."""
    sender = sender.strip().lower()
    with ctx.db.read() as db:
        ticket = db.get(t.SupportTicket, ticket_id)
        if ticket is None:
            return False
        if ticket.email.strip().lower() == sender:
            return True
        user = db.get(t.User, ticket.user_id) if ticket.user_id else None
        return user is not None and user.email.strip().lower() == sender
