"""The ``coffre`` command: its groups, global options and error handling.

Exit codes: 0 success; 1 other error; 2 bad usage or input; 3 not found; 4 not logged in
or not allowed; 5 already exists or conflict; 6 quota exceeded; 7 integrity check failed
(data was tampered with); 8 server unreachable; 9 rate-limited; 70 internal error;
130 interrupted. Errors are one line on standard error, never a traceback (set
COFFRE_DEBUG=1 to see one).
"""

from __future__ import annotations

import os
import sys
import traceback

# httpx imports its own command-line tool (click, rich, pygments) when it can: a tenth of
# a second at every start of ours for nothing. A None entry makes that import fail, and
# httpx falls back to a stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import click  # noqa: E402

from coffre import __version__  # noqa: E402
from coffre.cli import account, admin, files, links, server, sharing, transfer  # noqa: E402
from coffre.cli import mail as mail_cli  # noqa: E402
from coffre.cli import support as support_cli  # noqa: E402
from coffre.cli import two_factor as two_factor_cli  # noqa: E402
from coffre.cli.context import CliContext  # noqa: E402
from coffre.errors import CoffreError  # noqa: E402

INTERNAL_ERROR = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (
    account.signup,
    account.login,
    account.logout,
    account.whoami,
    account.passwd,
    account.recovery_key,
    account.recover,
    account.sessions,
    two_factor_cli.group,
    support_cli.group,
    files.ls,
    files.tree,
    files.find,
    files.du,
    files.df,
    files.mkdir,
    transfer.put,
    transfer.get,
    transfer.cat,
    files.mv,
    files.cp,
    files.rm,
    files.rubbish,
    files.versions,
    links.link,
    sharing.contacts,
    sharing.share,
    sharing.shares,
    server.serve,
    admin.worker,
    admin.db,
    admin.admin,
    mail_cli.mail,
):
    cli.add_command(command)


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
    except KeyboardInterrupt:
        click.echo("coffre: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("COFFRE_DEBUG"):
            traceback.print_exc()
        click.echo(f"coffre: internal error: {type(exc).__name__}: {exc}", err=True)
        return INTERNAL_ERROR
    return 0


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
