"""The mail work a server process runs beside the API: the delivery thread (with
``COFFRE_SMTP_URL``) and the SMTP/LMTP receiver (with ``COFFRE_SMTP_RECEIVE_PORT``).

Neither stops the server when it cannot run (a bad SMTP URL, a receive port taken): the
error is logged, outgoing mail waits in the outbox and incoming mail at the sending
server."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from coffre.server.context import Context
from coffre.server.mail import delivery

log = logging.getLogger("coffre.mail")


@dataclass(slots=True)
class MailService:
    ctx: Context
    receiver: Controller | None = None

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        delivery.stop(self.ctx.settings)


def start(ctx: Context) -> MailService:
    """Start what the settings ask for; the outbox's waiting messages go out at once."""
    service = MailService(ctx)
    delivery.start(ctx.settings)
    port = ctx.settings.smtp_receive_port
    if port:
        from coffre.server.mail import receiver

        host = ctx.settings.host
        try:
            service.receiver = receiver.start(ctx, host, port, lmtp=ctx.settings.smtp_receive_lmtp)
        except OSError as exc:
            # The file service runs on; mail waits at the sending server, which retries.
            log.error(
                "support mail is not received: cannot listen on %s:%d: %s", host, port, exc.strerror
            )
    return service
