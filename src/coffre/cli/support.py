"""``coffre support``: tickets to Coffre's support staff, and support codes for phone calls.

Support messages are not end-to-end encrypted. Nobody at Coffre needs, or will ever ask
for, a password or a recovery key.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TypeVar

import click
from pydantic import BaseModel, ValidationError

from coffre.cli.context import CliContext, pass_cli
from coffre.cli.output import local_time, table
from coffre.client import tickets, two_factor
from coffre.errors import UsageError
from coffre.protocol import tickets as tm

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_ATTACH = click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Attach a file (repeatable; size-limited by the server).",
)


def clean(text: str) -> str:
    """Text from the server, without terminal control sequences."""
    return _CONTROL.sub("", text)


M = TypeVar("M", bound=BaseModel)


def _build(model: type[M], data: dict[str, object]) -> M:
    """A request from the command line's values; what does not fit is a usage error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise UsageError(f"{where or 'input'}: {first.get('msg', 'invalid')}") from None


def _message() -> str:
    if sys.stdin.isatty():
        click.echo("Write your message; end it with Ctrl-D on a line of its own.", err=True)
    text = sys.stdin.read()
    if not text.strip():
        raise UsageError("the message is empty: write it on standard input")
    return text


@click.group("support")
def group() -> None:
    """Ask Coffre's support staff for help, and follow your tickets.

    Support messages are not end-to-end encrypted; never send a password or recovery key
    (nobody at Coffre needs them).
    """


@group.command("new")
@click.option(
    "--category",
    required=True,
    type=click.Choice(tm.CATEGORIES),
    help="technical, billing, account (and product) or abuse (and copyright).",
)
@click.option("--subject", required=True, metavar="TEXT", help="What it is about, in a line.")
@click.option(
    "--email",
    metavar="ADDRESS",
    help="File without an account: answers go to this address.",
)
@_ATTACH
@pass_cli
def new(
    cli: CliContext, category: str, subject: str, email: str | None, attach: tuple[Path, ...]
) -> None:
    """File a ticket; the message is read from standard input."""
    files = [tickets.attachment(path) for path in attach]
    session = None if email else cli.session()
    body = _build(
        tm.TicketCreate,
        {
            "category": category,
            "subject": subject,
            "message": _message(),
            "email": email,
            "attachments": files,
        },
    )
    with cli.api(session) as api:
        created = tickets.file(api, body)
    ticket = created.ticket
    click.echo(f"ticket #{ticket.number} filed; answers also come by email to {ticket.email}")
    if created.token:
        click.echo(f"access token (keep it to follow the ticket): {created.token}")


@group.command("ls")
@pass_cli
def list_tickets(cli: CliContext) -> None:
    """List your tickets, most recently updated first."""
    with cli.api(cli.session()) as api:
        found = tickets.mine(api)
    if not found:
        click.echo("no tickets", err=True)
        return
    rows = [["#", "STATE", "CATEGORY", "UPDATED", "SUBJECT"]]
    rows += [
        [str(x.number), x.state, x.category, local_time(x.updated), clean(x.subject)] for x in found
    ]
    table(rows)


@group.command("show")
@click.argument("ticket")
@pass_cli
def show(cli: CliContext, ticket: str) -> None:
    """Show a ticket (its number, as 'ls' gives it) and its messages."""
    with cli.api(cli.session()) as api:
        view = tickets.show(api, ticket)
    click.echo(f"#{view.number} {clean(view.subject)}")
    click.echo(f"{view.state} · {view.category} · filed {local_time(view.created)}")
    for message in view.messages:
        who = "you" if message.kind == "customer" else "Coffre support"
        click.echo(f"\n--- {who}, {local_time(message.created)} ---")
        click.echo(clean(message.body).rstrip("\n"))
        for a in message.attachments:
            click.echo(f"[attached: {clean(a.name)}, {a.size} bytes]")


@group.command("reply")
@click.argument("ticket")
@_ATTACH
@pass_cli
def reply(cli: CliContext, ticket: str, attach: tuple[Path, ...]) -> None:
    """Write again on a ticket; the message is read from standard input."""
    files = [tickets.attachment(path) for path in attach]
    body = _build(tm.ReplyCreate, {"message": _message(), "attachments": files})
    with cli.api(cli.session()) as api:
        view = tickets.reply(api, ticket, body)
    click.echo(f"reply added to ticket #{view.number} ({view.state})")


@group.command("close")
@click.argument("ticket")
@pass_cli
def close(cli: CliContext, ticket: str) -> None:
    """Close a ticket you need no more help with."""
    with cli.api(cli.session()) as api:
        view = tickets.close(api, ticket)
    click.echo(f"ticket #{view.number} closed")


@group.command("code")
@pass_cli
def code(cli: CliContext) -> None:
    """Make a one-time support code to read out to an agent on the phone."""
    with cli.api(cli.session()) as api:
        made = two_factor.support_code(api)
    click.echo(made.code)
    click.echo(
        f"valid until {local_time(made.expires_at)}; read it out only to Coffre support",
        err=True,
    )
