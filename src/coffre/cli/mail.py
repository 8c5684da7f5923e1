"""``coffre mail receive`` and ``coffre mail poll-imap``: support mail in (docs/mail.md).

Both read the same settings as ``coffre serve`` (environment variables, ``--data``) and
act on the same database: replies land in their tickets, new mail opens tickets.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from coffre.errors import ConnectionFailed
from coffre.server.config import Settings

DEFAULT_PORT = 2525

_DATA = click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the embedded database (COFFRE_DATA; default ./coffre-data).",
)


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _until_stopped() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@click.group()
def mail() -> None:
    """Support mail: receive replies and new tickets by SMTP/LMTP or IMAP."""


@mail.command()
@_DATA
@click.option("--host", help="Address to listen on (default COFFRE_HOST, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help=f"TCP port (default COFFRE_SMTP_RECEIVE_PORT, else {DEFAULT_PORT}).",
)
@click.option("--lmtp", is_flag=True, help="Speak LMTP (for a mail server's LMTP transport).")
def receive(data: Path | None, host: str | None, port: int | None, lmtp: bool) -> None:
    """Receive support mail by SMTP (or LMTP) until stopped.

    Only the support address (COFFRE_SUPPORT_ADDRESS) and its +TOKEN reply addresses are
    accepted; other recipients are refused with 550.
    """
    from coffre.server.app import build_context
    from coffre.server.mail import delivery, receiver

    _log_to_stderr()
    settings = Settings.from_env(data_dir=data)
    host = host or settings.host
    port = port or settings.smtp_receive_port or DEFAULT_PORT
    ctx = build_context(settings)
    try:
        stop = _until_stopped()
        try:
            controller = receiver.start(ctx, host, port, lmtp=lmtp or settings.smtp_receive_lmtp)
        except OSError as exc:
            raise ConnectionFailed(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        delivery.start(settings)  # acknowledgements go out from here too
        protocol = "LMTP" if lmtp or settings.smtp_receive_lmtp else "SMTP"
        click.echo(
            f"Coffre receiving support mail for {settings.support_address} by {protocol} "
            f"on {host}:{port}",
            err=True,
        )
        stop.wait()
        controller.stop()
        delivery.stop(settings)
    finally:
        ctx.db.dispose()


@mail.command("poll-imap")
@_DATA
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    help="Seconds between polls (default COFFRE_IMAP_INTERVAL, 60).",
)
@click.option("--once", is_flag=True, help="Poll once and exit.")
def poll_imap(data: Path | None, interval: int | None, once: bool) -> None:
    """Read support mail from the IMAP mailbox COFFRE_IMAP_URL, marking what is handled
    as Seen."""
    import imaplib

    from coffre.errors import UsageError

    settings = Settings.from_env(data_dir=data)
    if not settings.imap_url:
        raise UsageError(
            "set COFFRE_IMAP_URL to the support mailbox, e.g. imaps://USER:PASS@HOST/INBOX"
        )
    from coffre.server.app import build_context
    from coffre.server.mail import delivery, imap

    box = imap.parse_url(settings.imap_url)
    _log_to_stderr()
    every = interval or settings.imap_interval
    ctx = build_context(settings)
    try:
        stop = None if once else _until_stopped()
        if not once:
            delivery.start(settings)  # acknowledgements go out from here too
        while True:
            try:
                counts = imap.poll_once(ctx, box)
            except (OSError, imaplib.IMAP4.error) as exc:
                if once:
                    raise ConnectionFailed(f"IMAP {box!r}: {exc}") from None
                logging.getLogger("coffre.mail").warning("IMAP %r: %s; will retry", box, exc)
            else:
                summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
                click.echo(f"poll-imap: {summary or 'no new mail'}", err=True)
            if stop is None or stop.wait(every):
                break
        if once and settings.smtp_url:
            delivery.deliver_pending(settings)  # what is not sent waits in the outbox
        delivery.stop(settings)
    finally:
        ctx.db.dispose()
