"""Handing one message to the SMTP server named by ``COFFRE_SMTP_URL``.

``smtp://USER:PASS@HOST:PORT`` (plain, port 25 by default), ``smtps://...`` (TLS from the
first byte, port 465) or ``smtp+starttls://...`` (STARTTLS, port 587). User and password
are optional and percent-decoded.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from urllib.parse import unquote, urlsplit

from coffre.errors import UsageError

_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    user: str
    password: str

    def __repr__(self) -> str:  # never the password
        return f"SmtpServer({self.scheme}://{self.host}:{self.port})"


class PermanentFailure(Exception):
    """The server refused the message for good (every recipient refused with 5xx)."""


def parse_url(url: str) -> SmtpServer:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PORTS or not parts.hostname:
        raise UsageError(
            "COFFRE_SMTP_URL must look like smtp://USER:PASS@HOST:PORT, smtps://... or "
            "smtp+starttls://..."
        )
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise UsageError("COFFRE_SMTP_URL has a bad port") from None
    return SmtpServer(
        scheme,
        parts.hostname,
        port,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


class Connection:
    """One SMTP connection, opened on the first message and kept for the next ones (until
    :meth:`close`, or an error, after which the next message opens a new one)."""

    def __init__(self, server: SmtpServer, *, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if server.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            client.ehlo()
            if server.scheme == "smtp+starttls":
                client.starttls(context=context)
                client.ehlo()
            if server.user:
                client.login(server.user, server.password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, data: bytes) -> None:
        """Send one serialised message to the recipients in its To/Cc headers. Raises
        :class:`PermanentFailure` when the server refuses it for good, any other exception
        (OSError, smtplib.SMTPException) when it may work later."""
        msg = message_from_bytes(data, policy=policy.SMTP)
        sender = parseaddr(str(msg.get("From", "")))[1]
        headers = [str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])]
        rcpts = [a for _, a in getaddresses(headers) if a]
        if not rcpts:
            raise PermanentFailure("the message has no recipient")
        if self._client is None:
            self._client = self._connect()
        try:
            self._client.sendmail(sender, rcpts, re.sub(rb"\r?\n", b"\r\n", data))
        except smtplib.SMTPRecipientsRefused as exc:  # the connection is still good
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipients refused: {exc.recipients}") from None
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
