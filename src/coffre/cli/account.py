"""Account commands: signup, login, logout, whoami, passwd, recovery-key, recover, sessions."""

from __future__ import annotations

import platform

import click

from coffre.cli.context import CliContext, pass_cli
from coffre.cli.output import human_size, local_time, table, warn
from coffre.client import account
from coffre.client.state import SavedSession, forget_session, save_session
from coffre.crypto.account import encode_recovery_key
from coffre.errors import CoffreError
from coffre.protocol import models as m

password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (first line)."
)


def _device() -> str:
    return f"coffre CLI on {platform.node() or 'unknown host'}"[:100]


def _save(
    cli: CliContext, email: str, response: m.LoginResponse, keys: account.AccountKeys
) -> None:
    save_session(
        SavedSession(
            server=cli.server(),
            email=email,
            token=response.token,
            session_id=response.session_id,
            master_key=keys.master_key,
        )
    )


@click.command()
@click.argument("email")
@password_stdin
@pass_cli
def signup(cli: CliContext, email: str, password_stdin: bool) -> None:
    """Create an account and log in."""
    password = cli.secret("password", "COFFRE_PASSWORD", from_stdin=password_stdin, confirm=True)
    with cli.api() as api:
        response, keys = account.signup(api, email, password, device=_device())
    _save(cli, response.keys.email, response, keys)
    click.echo(f"Signed up and logged in as {response.keys.email}.")
    click.echo(
        "Keep your recovery key somewhere safe: without your password it is the only way in.\n"
        "Show it with: coffre recovery-key"
    )


@click.command()
@click.argument("email")
@password_stdin
@click.option(
    "--totp",
    metavar="CODE",
    envvar="COFFRE_TOTP",
    help="Two-factor code or recovery code (env COFFRE_TOTP; asked for when needed).",
)
@pass_cli
def login(cli: CliContext, email: str, password_stdin: bool, totp: str | None) -> None:
    """Log in (the password never leaves this machine)."""
    password = cli.secret("password", "COFFRE_PASSWORD", from_stdin=password_stdin)

    def ask_code() -> str:
        return cli.secret("two-factor code", "COFFRE_TOTP", from_stdin=password_stdin)

    with cli.api() as api:
        response, keys = account.login(
            api, email, password, device=_device(), totp=totp, ask_code=ask_code
        )
    _save(cli, response.keys.email, response, keys)
    click.echo(f"Logged in as {response.keys.email}.")


@click.command()
@pass_cli
def logout(cli: CliContext) -> None:
    """End this session and forget its keys on this machine."""
    session = cli.session()
    try:
        with cli.api(session) as api:
            api.logout()
    except CoffreError as exc:
        warn(f"the server did not confirm the logout ({exc}); the local session is deleted anyway")
    forget_session()
    click.echo("Logged out.")


@click.command()
@pass_cli
def whoami(cli: CliContext) -> None:
    """Show the account this machine is logged in to."""
    drive = cli.drive()
    info = drive.api.account()
    click.echo(f"{info.email} on {drive.api.base_url}")
    click.echo(f"account created {local_time(info.created)}")
    click.echo(f"storage {human_size(info.storage_used)} of {human_size(info.storage_quota)}")
    click.echo(f"fingerprint {drive.keys.identity.public.fingerprint()}")


@click.command()
@password_stdin
@pass_cli
def passwd(cli: CliContext, password_stdin: bool) -> None:
    """Change the password (standard input: current, then new, one a line)."""
    drive = cli.drive()
    old = cli.secret("current password", "COFFRE_PASSWORD", from_stdin=password_stdin)
    new = cli.secret("new password", "COFFRE_NEW_PASSWORD", from_stdin=password_stdin, confirm=True)
    account.change_password(drive.api, drive.keys, old, new)
    click.echo("Password changed; other sessions were logged out.")


@click.command("recovery-key")
@pass_cli
def recovery_key(cli: CliContext) -> None:
    """Print the recovery key. Anyone who has it can take over the account."""
    drive = cli.drive()
    warn("this key opens your account without the password; store it offline")
    click.echo(encode_recovery_key(drive.keys.master_key))


@click.command()
@click.argument("email")
@password_stdin
@pass_cli
def recover(cli: CliContext, email: str, password_stdin: bool) -> None:
    """Set a new password with the recovery key (standard input: key, then new password)."""
    key = cli.secret("recovery key", "COFFRE_RECOVERY_KEY", from_stdin=password_stdin)
    new = cli.secret("new password", "COFFRE_NEW_PASSWORD", from_stdin=password_stdin, confirm=True)
    with cli.api() as api:
        response, keys = account.recover(api, email, key, new, device=_device())
    _save(cli, response.keys.email, response, keys)
    click.echo(f"Password reset; logged in as {response.keys.email}. Every other session ended.")


@click.command()
@click.option("--revoke", "revoke_id", metavar="ID", help="End the session with this id.")
@pass_cli
def sessions(cli: CliContext, revoke_id: str | None) -> None:
    """List the account's sessions, or end one."""
    session = cli.session()
    with cli.api(session) as api:
        if revoke_id:
            api.revoke_session(revoke_id)
            click.echo(f"Session {revoke_id} ended.")
            return
        rows = [["ID", "CREATED", "LAST SEEN", "ADDRESS", "DEVICE"]]
        for s in api.sessions().sessions:
            marker = " (this one)" if s.current else ""
            rows.append(
                [
                    s.id,
                    local_time(s.created),
                    local_time(s.last_seen),
                    s.ip or "-",
                    (s.device or "-") + marker,
                ]
            )
        table(rows)
