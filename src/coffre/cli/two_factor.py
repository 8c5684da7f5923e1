"""``coffre 2fa``: two-factor authentication (TOTP) of the logged-in account."""

from __future__ import annotations

import sys

import click

from coffre.cli.context import CliContext, pass_cli
from coffre.client import two_factor
from coffre.errors import UsageError

_CODE = click.option(
    "--code",
    metavar="CODE",
    help="The code from the authenticator app (default: read from standard input).",
)


def _code(cli: CliContext, given: str | None, what: str) -> str:
    if given:
        return given
    if sys.stdin.isatty():
        value: str = click.prompt(what.capitalize())
    else:
        value = cli.stdin_line(what)
    if not value.strip():
        raise UsageError(f"the {what} is empty")
    return value.strip()


@click.group("2fa")
def group() -> None:
    """Two-factor authentication: a code from an authenticator app at every login."""


@group.command()
@pass_cli
def status(cli: CliContext) -> None:
    """Show whether two-factor authentication is on."""
    with cli.api(cli.session()) as api:
        info = two_factor.status(api)
    if info.enabled:
        click.echo(
            f"two-factor authentication is on ({info.recovery_codes_left} recovery codes left)"
        )
    else:
        click.echo("two-factor authentication is off")


@group.command()
@_CODE
@pass_cli
def enable(cli: CliContext, code: str | None) -> None:
    """Turn it on: add the secret to an authenticator app, then give a code it shows."""
    with cli.api(cli.session()) as api:
        begun = two_factor.begin(api)
        click.echo(f"Secret (add it to your authenticator app): {begun.secret}")
        click.echo(f"otpauth URI: {begun.uri}")
        enabled = two_factor.confirm(api, _code(cli, code, "code from the app"))
    click.echo("Two-factor authentication is on. Recovery codes (each works once; keep them")
    click.echo("somewhere safe, apart from your phone):")
    for recovery in enabled.recovery_codes:
        click.echo(f"  {recovery}")


@group.command()
@_CODE
@pass_cli
def disable(cli: CliContext, code: str | None) -> None:
    """Turn it off, with a current code (or a recovery code)."""
    with cli.api(cli.session()) as api:
        two_factor.disable(api, _code(cli, code, "current code"))
    click.echo("Two-factor authentication is off.")
