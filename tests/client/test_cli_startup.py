"""The ``coffre`` command imports each subcommand's module only when it is used."""

from __future__ import annotations

import subprocess
import sys

import click

from coffre.cli.main import COMMANDS, cli


def _fresh_interpreter(script: str) -> str:
    """What ``script`` prints, run by a new interpreter (nothing of Coffre loaded before)."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout


def test_every_lazy_command_resolves_to_itself() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name
    assert cli.get_command(ctx, "no-such-command") is None


def test_login_does_not_import_the_rest() -> None:
    """Resolving ``login`` loads the account commands, not the server, support, mail,
    sharing or file commands, nor the drive and its kept tree copy (a fresh interpreter,
    so nothing is loaded beforehand)."""
    script = (
        "import sys, click\n"
        "from coffre.cli.main import cli\n"
        "cli.get_command(click.Context(cli), 'login')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('coffre.'))))\n"
    )
    loaded = _fresh_interpreter(script).split()
    assert "coffre.cli.account" in loaded
    for heavy in ("server", "support", "mail", "admin", "sharing", "links", "files"):
        assert f"coffre.cli.{heavy}" not in loaded, loaded
    for heavy in ("drive", "tree_copy", "upload", "download", "sharing"):
        assert f"coffre.client.{heavy}" not in loaded, loaded


def test_wire_models_are_built_on_first_use_and_by_the_server_at_start() -> None:
    """A command builds only the wire models it uses; importing the server's routes builds
    every one and turns deferring off, so FastAPI's adapters of them are complete too."""
    script = (
        "from coffre.protocol import models as m\n"
        "def state():\n"
        "    return [c.__pydantic_complete__ for c in m.every_model()]\n"
        "print(sum(state()), len(state()))\n"
        'm.PreloginRequest.model_validate_json(b\'{"email": "a@example.com"}\')\n'
        "print(sum(state()), len(state()))\n"
        "import coffre.server.routes\n"
        "print(sum(state()), len(state()))\n"
        "print(m.SignupRequest.model_config['defer_build'])\n"
    )
    lines = _fresh_interpreter(script).splitlines()
    before, on_use, server = (tuple(map(int, line.split())) for line in lines[:3])
    assert before[0] == 0 and before[1] > 50
    assert on_use[0] == 1
    assert server[0] == server[1] >= before[1]
    assert lines[3] == "False"
