"""The SMTP/LMTP receiver (aiosmtpd): support mail straight from a mail server.

It accepts mail only for the support mailbox (``support@domain`` and
``support+TOKEN@domain`` of ``COFFRE_SUPPORT_ADDRESS``) and answers 550 for any other
recipient, refuses messages over ``COFFRE_MAIL_MAX_BYTES`` (552), and hands each message
to :func:`.inbound.receive` in a worker thread. When that fails (the database is down,
say) it answers 451, so the sending server keeps the message and tries again: nothing is
lost. With LMTP (e.g. a Postfix transport ``lmtp:inet:HOST:PORT``), each recipient gets
its answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from coffre.server.context import Context
from coffre.server.mail import inbound, tokens

log = logging.getLogger("coffre.mail")


class SupportHandler:
    """aiosmtpd's handler: recipients checked at RCPT, messages handled at DATA."""

    def __init__(self, ctx: Context, *, lmtp: bool = False) -> None:
        self.ctx = ctx
        self.lmtp = lmtp

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        ours, _ref = tokens.classify_recipient(self.ctx.settings, address)
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(
                None, self._receive, data, list(envelope.rcpt_tos), envelope.mail_from
            )
        except Exception:
            log.exception(
                "could not handle mail from %s; the sender will retry", envelope.mail_from
            )
            return self._answer(envelope, "451 4.3.0 Try again later")
        status = (
            "250 2.0.0 Dropped (automatic mail)" if outcome.action == "dropped" else "250 2.0.0 OK"
        )
        return self._answer(envelope, status)

    def _receive(self, data: bytes, rcpts: list[str], mail_from: str | None) -> inbound.Outcome:
        return inbound.receive(self.ctx, data, recipients=rcpts, envelope_from=mail_from)

    def _answer(self, envelope: Envelope, status: str) -> str:
        # LMTP answers DATA once per recipient.
        count = len(envelope.rcpt_tos) if self.lmtp else 1
        return "\r\n".join([status] * max(1, count))


class _Controller(Controller):
    def __init__(self, handler: SupportHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._lmtp = handler.lmtp

    def factory(self) -> SMTP:
        cls = LMTP if self._lmtp else SMTP
        return cls(self.handler, **self.SMTP_kwargs)


def start(ctx: Context, host: str, port: int, *, lmtp: bool = False) -> Controller:
    """Listen on ``host:port`` in a thread of its own; ``.stop()`` the result to end."""
    _check_free(host, port)
    domain = tokens.support_parts(ctx.settings)[1] or "localhost"
    controller = _Controller(
        SupportHandler(ctx, lmtp=lmtp),
        hostname=host,
        port=port,
        server_hostname=domain,
        data_size_limit=ctx.settings.mail_max_bytes,
        decode_data=False,
        ident="Coffre support mail",
        ready_timeout=30,
    )
    controller.start()
    log.info("receiving support mail by %s on %s:%d", "LMTP" if lmtp else "SMTP", host, port)
    return controller


def _check_free(host: str, port: int) -> None:
    """Raise OSError at once when the port is taken (aiosmtpd would wait its whole
    ready timeout before saying so)."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
