"""The ``coffre`` command: its groups, global options and error handling.

Exit codes: 0 success; 1 other error; 2 bad usage or input; 3 not found; 4 not logged in
or not allowed; 5 already exists or conflict; 6 quota exceeded; 7 integrity check failed
(data was tampered with); 8 server unreachable; 9 rate-limited; 70 internal error;
130 interrupted. Errors are one line on standard error, never a traceback (set
COFFRE_DEBUG=1 to see one).
"""

from __future__ import annotations

import importlib
import os
import sys

# httpx imports its own command-line tool (click, rich, pygments) when it can: a tenth of
# a second at every start of ours for nothing. A None entry makes that import fail, and
# httpx falls back to a stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import click  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from coffre import __version__  # noqa: E402
from coffre.cli.context import CliContext  # noqa: E402
from coffre.errors import CoffreError, ConnectionFailed, UsageError  # noqa: E402

INTERNAL_ERROR = 70

COMMANDS = {
    "signup": "account:signup",
    "login": "account:login",
    "logout": "account:logout",
    "whoami": "account:whoami",
    "passwd": "account:passwd",
    "recovery-key": "account:recovery_key",
    "recover": "account:recover",
    "sessions": "account:sessions",
    "2fa": "two_factor:group",
    "support": "support:group",
    "ls": "files:ls",
    "tree": "files:tree",
    "find": "files:find",
    "du": "files:du",
    "df": "files:df",
    "mkdir": "files:mkdir",
    "put": "transfer:put",
    "get": "transfer:get",
    "cat": "transfer:cat",
    "mv": "files:mv",
    "cp": "files:cp",
    "rm": "files:rm",
    "rubbish": "files:rubbish",
    "versions": "files:versions",
    "link": "links:link",
    "contacts": "sharing:contacts",
    "share": "sharing:share",
    "shares": "sharing:shares",
    "serve": "server:serve",
    "worker": "admin:worker",
    "db": "admin:db",
    "admin": "admin:admin",
    "mail": "mail:mail",
}
"""Every command, as ``MODULE:ATTRIBUTE`` in ``coffre.cli``: imported when it is run or
listed, so that ``coffre login`` does not pay for importing the server's or the support
desk's modules (start-up is most of a login's time beyond Argon2id)."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (:data:`COMMANDS`)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(f"coffre.cli.{module}"), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--server",
    envvar="COFFRE_SERVER",
    metavar="URL",
    help="Server address (env COFFRE_SERVER; default: the logged-in server, or http://127.0.0.1:8080).",
)
@click.version_option(__version__, prog_name="coffre")
@click.pass_context
def cli(ctx: click.Context, server: str | None) -> None:
    """Coffre: end-to-end encrypted cloud storage.

    Everything is encrypted on this machine; the server stores ciphertext only.
    The session and keys are kept in COFFRE_HOME (default: the user's config folder).
    """
    ctx.obj = CliContext(server)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="coffre", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("coffre: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except CoffreError as exc:
        click.echo(f"coffre: {exc.message}", err=True)
        return exc.exit_code
    except ValidationError as exc:
        # A request built from what was typed (the server's answers that do not fit are
        # integrity errors, coffre.client.api): a usage error.
        click.echo(f"coffre: {_invalid(exc)}", err=True)
        return UsageError.exit_code
    except KeyboardInterrupt:
        click.echo("coffre: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("COFFRE_DEBUG"):
            import traceback

            traceback.print_exc()
        unusable = _database_unusable(exc)
        if unusable is not None:
            click.echo(f"coffre: {unusable}", err=True)
            return ConnectionFailed.exit_code
        click.echo(f"coffre: internal error: {type(exc).__name__}: {exc}", err=True)
        return INTERNAL_ERROR
    return 0


def _database_unusable(exc: Exception) -> str | None:
    """One line for a database a server-side command (serve, worker, db, admin, mail)
    could not use: unreachable, refusing the login, its disk full or failing. Only those
    commands import SQLAlchemy; the others do not pay for importing it here."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return None
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = lines[0].strip() if lines else type(exc).__name__
    if "disk" in detail or "full" in detail:
        detail += " (is the disk under the data folder full?)"
    return f"the database cannot be used: {detail}"


def _invalid(exc: ValidationError) -> str:
    """The first thing wrong with a request, in one line."""
    errors = exc.errors()
    if not errors:
        return "invalid input"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    if where.endswith("email") and first.get("type") == "string_pattern_mismatch":
        return f"{first.get('input')!r} is not an email address"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'input'}: {first.get('msg', 'invalid')}{more}"


def run() -> None:
    """The console script's entry point."""
    from coffre.cli.allocator import keep_freed_buffers

    keep_freed_buffers()
    sys.exit(main())


if __name__ == "__main__":
    run()
