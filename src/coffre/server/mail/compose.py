"""The messages the server sends: headers that thread, and that stop mail loops."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from coffre.server.config import Settings
from coffre.server.mail import tokens


def from_address(settings: Settings) -> str:
    """The From header: COFFRE_MAIL_FROM, else "Coffre Support" at the support address."""
    if settings.mail_from:
        return settings.mail_from
    return str(Address("Coffre Support", addr_spec=settings.support_address))


def own_addresses(settings: Settings) -> set[str]:
    """The addresses our own mail comes from, lowercase: mail from them is a loop."""
    found = {parseaddr(from_address(settings))[1].lower(), settings.support_address.lower()}
    return {a for a in found if a}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def compose(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    ticket_id: str | None = None,
    in_reply_to: str | None = None,
    auto_submitted: str | None = None,
) -> EmailMessage:
    """A plain-text message. With ``ticket_id``, Reply-To is the ticket's signed reply
    address; with ``in_reply_to`` (a Message-ID), In-Reply-To and References thread it;
    ``auto_submitted`` ("auto-replied", "auto-generated") marks mail no person wrote."""
    msg = EmailMessage()
    msg["From"] = from_address(settings)
    msg["To"] = _one_line(to)
    msg["Subject"] = _one_line(subject)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = tokens.support_parts(settings)[1] or "localhost"
    message_id = make_msgid(domain=domain)
    msg["Message-ID"] = message_id
    if ticket_id is not None:
        msg["Reply-To"] = tokens.reply_address(settings, ticket_id)
    if in_reply_to:
        parent = _one_line(in_reply_to)
        if not parent.startswith("<"):
            parent = f"<{parent}>"
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
    # Ask Exchange and friends not to answer with out-of-office replies (RFC 3834 spirit).
    msg["X-Auto-Response-Suppress"] = "All"
    plain = text.isascii() and all(len(line) < 900 for line in text.splitlines())
    msg.set_content(text, cte="7bit" if plain else "quoted-printable")
    return msg
