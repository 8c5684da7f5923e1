"""``coffre support`` against a real server: file, list, show, reply, close, support codes;
an agent answers through the staff API in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffre.client import account, two_factor
from coffre.client.api import Api
from tests.authenticator import Authenticator
from tests.e2e.conftest import PASSWORD, Cli, Server

pytestmark = pytest.mark.e2e


def _agent(server: Server, cli: Cli) -> Api:
    """An agent with two-factor authentication on, signed in through the API."""
    api = Api(server.url, retry_for=0)
    response, _keys = account.signup(api, "agent@example.org", PASSWORD)
    api.token = response.token
    cli.run(
        "admin", "staff", "add", "agent@example.org", "--role", "agent", "--data", str(server.data)
    )
    begun = two_factor.begin(api)
    two_factor.confirm(api, Authenticator.from_b32(begun.secret).code())
    return api


def test_file_follow_and_answer_a_ticket(server: Server, cli: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("sync log: stopped at 99%\n")
    out = cli.out(
        "support",
        "new",
        "--category",
        "technical",
        "--subject",
        "Sync stops at 99%",
        "--attach",
        str(notes),
        input="My laptop stops syncing at 99%.\nWhat can I do?\n",
    )
    assert out.startswith("ticket #1 filed; answers also come by email to alice@example.org")
    listing = cli.out("support", "ls").splitlines()
    assert listing[0].split() == ["#", "STATE", "CATEGORY", "UPDATED", "SUBJECT"]
    assert listing[1].split()[:3] == ["1", "new", "technical"]
    assert listing[1].endswith("Sync stops at 99%")

    agent = _agent(server, cli)
    try:
        agent.request(
            "POST",
            "/v1/staff/tickets/1/replies",
            json={"message": "Please update to 2.2.\x1b[31m"},
        )
        agent.request("POST", "/v1/staff/tickets/1/notes", json={"message": "internal only"})
    finally:
        agent.close()

    shown = cli.out("support", "show", "#1")
    assert shown.startswith("#1 Sync stops at 99%\npending · technical · filed ")
    assert "--- you, " in shown and "What can I do?" in shown
    assert "[attached: notes.txt, 25 bytes]" in shown
    assert "--- Coffre support, " in shown and "Please update to 2.2." in shown
    assert "\x1b" not in shown  # no terminal escapes from the server's text
    assert "internal only" not in shown

    replied = cli.out("support", "reply", "1", input="Updated, it works. Thanks!\n")
    assert replied == "reply added to ticket #1 (open)\n"
    assert "Updated, it works." in cli.out("support", "show", "1")
    assert cli.out("support", "close", "1") == "ticket #1 closed\n"
    refused = cli.run("support", "reply", "1", input="One more\n", check=False)
    assert refused.returncode == 5
    assert refused.stderr.decode() == "coffre: this ticket is closed; file a new one\n"


def test_support_errors_are_one_line(server: Server, cli: Cli, tmp_path: Path) -> None:
    cases: list[tuple[tuple[str, ...], str, int, str]] = [
        (("support", "show", "99"), "", 3, "coffre: no such ticket\n"),
        (("support", "show", "nope"), "", 2, "coffre: 'nope' is not a ticket number\n"),
        (
            ("support", "new", "--category", "billing", "--subject", "Invoice"),
            "  \n",
            2,
            "coffre: the message is empty: write it on standard input\n",
        ),
        (
            ("support", "new", "--category", "billing", "--subject", "x" * 201),
            "text\n",
            2,
            "coffre: subject: String should have at most 200 characters\n",
        ),
    ]
    for args, stdin, code, message in cases:
        result = cli.run(*args, input=stdin, check=False)
        assert (result.returncode, result.stderr.decode()) == (code, message), args
    missing = cli.run(
        "support",
        "new",
        "--category",
        "billing",
        "--subject",
        "Invoice",
        "--attach",
        str(tmp_path / "missing.pdf"),
        input="text\n",
        check=False,
    )
    assert missing.returncode == 3
    assert missing.stderr.decode().startswith("coffre: ")
    assert len(missing.stderr.decode().splitlines()) == 1
    bad_category = cli.run(
        "support", "new", "--category", "lunch", "--subject", "x", input="t\n", check=False
    )
    assert bad_category.returncode == 2 and b"Traceback" not in bad_category.stderr

    stranger = Cli(tmp_path / "stranger", server)
    not_logged_in = stranger.run("support", "ls", check=False)
    assert not_logged_in.returncode == 4
    assert not_logged_in.stderr.decode().startswith("coffre: not logged in")
    # Without an account, with an email address: the answer carries an access token.
    anonymous = stranger.out(
        "support",
        "new",
        "--category",
        "account",
        "--subject",
        "Locked out",
        "--email",
        "visitor@example.org",
        input="I lost my phone.\n",
    )
    lines = anonymous.splitlines()
    assert lines[0] == "ticket #1 filed; answers also come by email to visitor@example.org"
    assert lines[1].startswith("access token (keep it to follow the ticket): ")


def test_support_code(cli: Cli) -> None:
    result = cli.run("support", "code")
    code = result.stdout.decode().strip()
    assert code and len(code.splitlines()) == 1
    assert result.stderr.decode().startswith("valid until ")
