"""Mail that no person wrote: auto-replies, bounces, list traffic and our own mail.

Such a message is never threaded as a customer's reply (nor opens a ticket): answering it
would start a loop between two robots. :func:`robot_reason` says why a message is one,
or None when a person seems to have written it. The signs, from RFC 3834 and common
practice: ``Auto-Submitted`` other than ``no``; ``X-Autoreply``, ``X-Autorespond`` (and
Microsoft's ``X-MS-Exchange-Inbox-Rules-Loop``); ``Precedence: bulk|junk|list|auto_reply``;
a ``List-Id``; bounces (an empty envelope sender or ``Return-Path: <>``, a sender named
``MAILER-DAEMON`` or ``postmaster``, a ``multipart/report`` delivery report); and mail
from our own From or support address.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

from coffre.server.config import Settings
from coffre.server.mail import compose, tokens

_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCERS = {"mailer-daemon", "postmaster"}


def robot_reason(
    msg: EmailMessage, settings: Settings, *, envelope_from: str | None = None
) -> str | None:
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "bounce"
    if any(str(v).strip() == "<>" for v in msg.get_all("Return-Path") or []):
        return "bounce"
    if sender.partition("@")[0] in _BOUNCERS or msg.get_content_type() == "multipart/report":
        return "bounce"
    if sender in compose.own_addresses(settings) or tokens.classify_recipient(settings, sender)[0]:
        return "loop"
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return "auto-submitted"
    for header in ("X-Autoreply", "X-Autorespond", "X-MS-Exchange-Inbox-Rules-Loop"):
        if header in msg:
            return "autoreply"
    if str(msg.get("Precedence", "")).strip().lower() in _PRECEDENCE:
        return "precedence"
    if "List-Id" in msg:
        return "list"
    return None
