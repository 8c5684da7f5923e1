"""The ``coffre`` command imports each subcommand's module only when it is used."""

from __future__ import annotations

import subprocess
import sys

import click

from coffre.cli.main import COMMANDS, cli


def test_every_lazy_command_resolves_to_itself() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name
    assert cli.get_command(ctx, "no-such-command") is None


def test_login_does_not_import_the_rest() -> None:
    """Resolving ``login`` loads the account commands, not the server, support, mail,
    sharing or file commands (a fresh interpreter, so nothing is loaded beforehand)."""
    script = (
        "import sys, click\n"
        "from coffre.cli.main import cli\n"
        "cli.get_command(click.Context(cli), 'login')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('coffre.cli.'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "coffre.cli.account" in loaded
    for heavy in ("server", "support", "mail", "admin", "sharing", "links", "files"):
        assert f"coffre.cli.{heavy}" not in loaded, loaded
