"""IMAP polling: the alternative to the receiver, for a support mailbox kept elsewhere.

``COFFRE_IMAP_URL`` names the mailbox: ``imaps://USER:PASS@HOST[:PORT]/MAILBOX`` (TLS),
``imap://...`` (plain; for a server on the same machine) or ``imap+starttls://...``;
the mailbox defaults to INBOX. Each poll reads the messages not yet marked Seen, hands
each to :func:`.inbound.receive` and marks it Seen once it is handled (threaded, opened
as a ticket, or dropped as automatic mail). A message whose handling fails stays unseen
and is tried again at the next poll.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from coffre.errors import UsageError
from coffre.server.context import Context
from coffre.server.mail import inbound

log = logging.getLogger("coffre.mail")

_PORTS = {"imap": 143, "imap+starttls": 143, "imaps": 993}


@dataclass(frozen=True, slots=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    def __repr__(self) -> str:  # never the password
        return f"Mailbox({self.scheme}://{self.host}:{self.port}/{self.mailbox})"


def parse_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PORTS or not parts.hostname or not parts.username:
        raise UsageError(
            "COFFRE_IMAP_URL must look like imaps://USER:PASS@HOST/INBOX (or imap://..., "
            "imap+starttls://...)"
        )
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise UsageError("COFFRE_IMAP_URL has a bad port") from None
    return Mailbox(
        scheme,
        parts.hostname,
        port,
        unquote(parts.username),
        unquote(parts.password or ""),
        unquote(parts.path.lstrip("/")) or "INBOX",
    )


def connect(box: Mailbox, *, timeout: float) -> imaplib.IMAP4:
    client: imaplib.IMAP4
    if box.scheme == "imaps":
        context = ssl.create_default_context()
        client = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=timeout)
    else:
        client = imaplib.IMAP4(box.host, box.port, timeout=timeout)
        if box.scheme == "imap+starttls":
            client.starttls(ssl.create_default_context())
    client.login(box.user, box.password)
    return client


def poll(ctx: Context, client: imaplib.IMAP4, mailbox: str = "INBOX") -> Counter[str]:
    """Handle every unseen message of ``mailbox``; how many ended how (reply, new,
    dropped, failed)."""
    counts: Counter[str] = Counter()
    typ, _ = client.select(_quote(mailbox))
    if typ != "OK":
        raise UsageError(f"the IMAP mailbox {mailbox!r} cannot be opened")
    typ, found = client.uid("SEARCH", "UNSEEN")
    uids = found[0].split() if typ == "OK" and found and isinstance(found[0], bytes) else []
    for uid in uids:
        typ, fetched = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        data = next(
            (item[1] for item in fetched if isinstance(item, tuple) and len(item) == 2),
            None,
        )
        if typ != "OK" or not isinstance(data, bytes):
            counts["failed"] += 1
            continue
        try:
            outcome = inbound.receive(ctx, data)
        except Exception:
            log.exception("could not handle IMAP message %s; will try again", uid.decode())
            counts["failed"] += 1
            continue
        client.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
        counts[outcome.action] += 1
    return counts


def poll_once(ctx: Context, box: Mailbox) -> Counter[str]:
    """Connect, poll the mailbox once, log out."""
    client = connect(box, timeout=ctx.settings.smtp_timeout)
    try:
        return poll(ctx, client, box.mailbox)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
