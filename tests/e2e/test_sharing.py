"""Two users and a shared folder, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Cli, Server

pytestmark = pytest.mark.e2e


def test_a_shared_folder_both_ways_then_read_only_then_revoked(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    alice = cli  # signed up as alice@example.org
    bob = Cli(tmp_path / "bob", server)
    bob.run("signup", "bob@example.org", "--password-stdin", input=PASSWORD + "\n")
    note = tmp_path / "note.txt"
    note.write_text("from alice")
    alice.run("mkdir", "-p", "projects/2026")
    alice.run("put", str(note), "projects/2026")

    alice.run("contacts", "invite", "bob@example.org")
    assert "invited you" in bob.out("contacts")
    bob.run("contacts", "accept", "alice@example.org")
    bob_fp = bob.out("contacts", "fingerprint").strip()
    unverified = alice.run("share", "projects", "bob@example.org", "--access", "write", check=False)
    assert unverified.returncode == 2
    assert b"not verified" in unverified.stderr
    wrong = alice.run(
        "contacts", "verify", "bob@example.org", "--fingerprint", "1" * 60, check=False
    )
    assert wrong.returncode == 7
    alice.run("contacts", "verify", "bob@example.org", "--fingerprint", bob_fp)
    assert "verified" in alice.out("contacts")
    alice.run("share", "projects", "bob@example.org", "--access", "write")

    pending = bob.run("ls", "alice@example.org:projects", check=False)
    assert pending.returncode == 3  # not accepted yet
    assert "pending" in bob.out("shares")
    bob.run("shares", "accept", "alice@example.org:projects")
    assert bob.out("cat", "alice@example.org:projects/2026/note.txt") == "from alice"

    reply = tmp_path / "reply.txt"
    reply.write_text("from bob")
    bob.run("put", str(reply), "alice@example.org:projects/2026")
    assert alice.out("cat", "projects/2026/reply.txt") == "from bob"
    assert "reply.txt" in alice.out("ls", "projects/2026")
    out = tmp_path / "out"
    out.mkdir()
    bob.run("get", "alice@example.org:projects", str(out))
    assert (out / "projects" / "2026" / "reply.txt").read_text() == "from bob"

    alice.run("share", "projects", "bob@example.org", "--access", "read")
    refused = bob.run("put", str(reply), "alice@example.org:projects/again.txt", check=False)
    assert refused.returncode == 4
    assert bob.out("cat", "alice@example.org:projects/2026/reply.txt") == "from bob"

    alice.run("share", "--revoke", "projects", "bob@example.org")
    gone = bob.run("ls", "alice@example.org:projects", check=False)
    assert gone.returncode == 3
    assert alice.out("cat", "projects/2026/reply.txt") == "from bob"
    assert "projects" not in bob.out("shares")
