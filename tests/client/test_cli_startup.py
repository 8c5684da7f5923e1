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


def test_wire_models_are_built_on_first_use_and_by_the_server_at_start() -> None:
    """A command builds only the wire models it uses; importing the server's routes builds
    every one and turns deferring off, so FastAPI's adapters of them are complete too."""
    script = (
        "from pydantic import BaseModel\n"
        "from coffre.protocol import models as m\n"
        "def state():\n"
        "    todo, out = [m.Model], []\n"
        "    while todo:\n"
        "        c = todo.pop(); todo.extend(c.__subclasses__())\n"
        "        out.append(c.__pydantic_complete__)\n"
        "    return out\n"
        "print(sum(state()), len(state()))\n"
        'm.PreloginRequest.model_validate_json(b\'{"email": "a@example.com"}\')\n'
        "print(sum(state()), len(state()))\n"
        "import coffre.server.routes\n"
        "print(sum(state()), len(state()))\n"
        "print(m.SignupRequest.model_config['defer_build'])\n"
    )
    lines = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    before, on_use, server = (tuple(map(int, line.split())) for line in lines[:3])
    assert before[0] == 0 and before[1] > 50
    assert on_use[0] == 1
    assert server[0] == server[1] >= before[1]
    assert lines[3] == "False"
