"""Sending mail: every message goes into the outbox folder first.

:func:`send` returns at once, whatever the state of the mail server: it writes the message
to ``DATA/outbox/`` (a temporary file, then a rename, so a reader never sees half a
message) and logs one line (recipient, subject, Message-ID; never the body). With
``COFFRE_SMTP_URL`` set, the delivery thread (:mod:`.delivery`) hands the message to the
SMTP server and only then removes the file: if the server is down, the message waits in
the folder and is retried, also after a restart. Without it, the folder is where mail
ends up.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.mail.compose import compose

log = logging.getLogger("coffre.mail")

OUTBOX = "outbox"
SUFFIX = ".eml"


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / OUTBOX


def send(
    ctx: Context,
    to: str,
    subject: str,
    text: str,
    *,
    ticket_id: str | None = None,
    in_reply_to: str | None = None,
    auto_reply: bool = False,
) -> str:
    """Queue a plain-text message to ``to`` and return the Message-ID it carries.

    ``ticket_id`` sets Reply-To to the ticket's signed reply address; ``in_reply_to`` (a
    Message-ID) threads the message under the one it answers; ``auto_reply`` marks an
    automatic acknowledgement (``Auto-Submitted: auto-replied``). Mail to the staff
    address (``COFFRE_SUPPORT_STAFF_EMAIL``) is a notice no person wrote: it is marked
    ``Auto-Submitted: auto-generated``."""
    auto = "auto-replied" if auto_reply else None
    staff = ctx.settings.support_staff_email
    if auto is None and staff and parseaddr(to)[1].lower() == parseaddr(staff)[1].lower():
        auto = "auto-generated"
    msg = compose(
        ctx.settings,
        to,
        subject,
        text,
        ticket_id=ticket_id,
        in_reply_to=in_reply_to,
        auto_submitted=auto,
    )
    return _queue(ctx.settings, msg)


def notify_staff(ctx: Context, subject: str, text: str) -> str | None:
    """Tell the staff (``COFFRE_SUPPORT_STAFF_EMAIL``); None when no address is set.

    The notice never carries the ticket's signed reply address: a staff member who answers
    it by email writes to the staff list (``Reply-To``), not into the ticket as if they were
    the customer. Staff answer customers in the staff desk."""
    to = ctx.settings.support_staff_email
    if not to:
        return None
    msg = compose(ctx.settings, to, subject, text, auto_submitted="auto-generated")
    msg["Reply-To"] = to
    return _queue(ctx.settings, msg)


def _queue(settings: Settings, msg: EmailMessage) -> str:
    message_id = str(msg["Message-ID"])
    path = write(outbox_dir(settings), msg.as_bytes())
    log.info("mail to %s, subject %r, %s", msg["To"], str(msg["Subject"]), message_id)
    if settings.smtp_url:
        from coffre.server.mail import delivery

        delivery.wake(settings)
    else:
        log.debug("no COFFRE_SMTP_URL: the message stays in %s", path)
    return message_id


def write(folder: Path, data: bytes) -> Path:
    """Write one message into ``folder`` atomically; names sort in the order written."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{secrets.token_hex(4)}{SUFFIX}"
    final = folder / name
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def pending(settings: Settings) -> list[Path]:
    """The messages in the outbox, oldest first."""
    folder = outbox_dir(settings)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and not p.name.startswith("."))
