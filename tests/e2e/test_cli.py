"""The CLI against a real server process, as a user runs it."""

from __future__ import annotations

import filecmp
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import COFFRE, PASSWORD, Cli, Server

pytestmark = pytest.mark.e2e


def make_tree(root: Path) -> Path:
    """A folder with small files, an empty file, a subfolder and a file of several chunks."""
    src = root / "projet"
    (src / "docs" / "vide").mkdir(parents=True)
    (src / "notes.txt").write_text("bonjour\n")
    (src / "empty.bin").write_bytes(b"")
    (src / "docs" / "r\u00e9sum\u00e9.md").write_text("# r\u00e9sum\u00e9\n" * 50)
    (src / "docs" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    for i in range(30):
        (src / "docs" / f"small-{i:02}.txt").write_bytes(os.urandom(100 + i))
    return src


def test_account_and_files_round_trip(cli: Cli, tmp_path: Path) -> None:
    assert "alice@example.org" in cli.out("whoami")
    src = make_tree(tmp_path)
    cli.run("put", str(src), "/")
    assert cli.out("ls").splitlines() == ["projet"]
    assert cli.out("ls", "projet").splitlines() == ["docs", "empty.bin", "notes.txt"]
    long = cli.out("ls", "-l", "projet/docs")
    assert "big.bin" in long
    assert str(3 * 1024 * 1024 + 123) in long
    assert "v1" in long
    tree = cli.out("tree")
    assert "r\u00e9sum\u00e9.md" in tree
    assert "vide/" in tree
    assert cli.out("find", "*.md").strip() == "/projet/docs/r\u00e9sum\u00e9.md"
    assert "total" in cli.out("du")
    assert "quota" in cli.out("df")
    assert cli.out("cat", "projet/notes.txt") == "bonjour\n"

    out = tmp_path / "out"
    out.mkdir()
    cli.run("get", "projet", str(out))
    comparison = filecmp.dircmp(src, out / "projet")
    assert not comparison.diff_files
    assert not comparison.left_only
    assert not comparison.right_only
    assert filecmp.cmp(src / "docs" / "big.bin", out / "projet" / "docs" / "big.bin", shallow=False)
    # The modification time comes back from the encrypted version record.
    assert int((out / "projet" / "notes.txt").stat().st_mtime) == int(
        (src / "notes.txt").stat().st_mtime
    )

    single = tmp_path / "single.bin"
    cli.run("get", "projet/docs/big.bin", str(single))
    assert single.read_bytes() == (src / "docs" / "big.bin").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".coffre-part")]


def test_move_copy_remove_restore_versions(cli: Cli, tmp_path: Path) -> None:
    cli.run("mkdir", "-p", "a/b")
    f = tmp_path / "f.txt"
    f.write_text("one")
    cli.run("put", str(f), "a/b")
    f.write_text("two, longer")
    cli.run("put", str(f), "a/b/f.txt")
    versions = cli.out("versions", "a/b/f.txt").splitlines()
    assert len(versions) == 2
    assert "current" in versions[1]
    old = tmp_path / "old.txt"
    cli.run("versions", "a/b/f.txt", "--get", "1", str(old))
    assert old.read_text() == "one"
    cli.run("versions", "a/b/f.txt", "--rm", "1")
    assert len(cli.out("versions", "a/b/f.txt").splitlines()) == 1

    cli.run("mv", "a/b/f.txt", "a/g.txt")
    assert cli.out("cat", "a/g.txt") == "two, longer"
    cli.run("cp", "a", "copy")
    assert cli.out("cat", "copy/g.txt") == "two, longer"
    cli.run("mkdir", "dest")
    cli.run("mv", "copy", "dest")
    assert cli.out("ls", "dest").split() == ["copy"]

    refused = cli.run("rm", "dest", check=False)
    assert refused.returncode == 2
    assert b"use -r" in refused.stderr
    cli.run("rm", "-r", "dest")
    assert "dest" not in cli.out("ls").split()
    assert "/dest/" in cli.out("rubbish")
    cli.run("rubbish", "restore", "/dest")
    assert cli.out("cat", "dest/copy/g.txt") == "two, longer"
    cli.run("rm", "-r", "dest", "a")
    cli.run("rubbish", "empty")
    assert cli.out("rubbish").strip() == ""
    assert cli.out("ls").strip() == ""


def test_a_full_disk_is_a_one_line_local_error(cli: Cli, tmp_path: Path) -> None:
    """coffre cat into a full disk (/dev/full): exit 3 and one line, no internal error
    (coffre get into a full disk: tests/client/test_download.py)."""
    source = tmp_path / "f.bin"
    source.write_bytes(os.urandom(300_000))
    cli.run("put", str(source), "/")
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [COFFRE, "cat", "/f.bin"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=cli.environ(),
            timeout=300,
            check=False,
        )
    assert result.returncode == 3
    assert result.stderr.decode().strip() == "coffre: standard output: No space left on device"


def test_errors_are_one_line_with_exit_codes(cli: Cli, tmp_path: Path, server: Server) -> None:
    cases = [
        (("ls", "nope"), 3),
        (("get", "nope", str(tmp_path)), 3),
        (("put", str(tmp_path / "missing"), "/"), 3),
        (("mkdir", "x/y"), 3),
        (("versions", "/", "--rm", "1"), 5),
        (("cat", "/"), 2),
        (("put", str(tmp_path / "pipe"), "/"), 3),  # not read: it would wait for a writer
        (("put", "/dev/null", "/"), 3),
    ]
    os.mkfifo(tmp_path / "pipe")
    cli.run("mkdir", "exists")
    cases.append((("mkdir", "exists"), 5))
    for args, code in cases:
        result = cli.run(*args, check=False)
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1, (args, lines)
        assert lines[0].startswith("coffre: ")
        assert "Traceback" not in result.stderr.decode()

    for command in ("signup", "login"):  # a request that cannot be built is a usage error
        bad = cli.run(
            command, "not-an-email", "--password-stdin", input=PASSWORD + "\n", check=False
        )
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.decode() == "coffre: 'not-an-email' is not an email address\n"

    other = Cli(tmp_path / "home2", server)
    assert other.run("ls", check=False).returncode == 4
    wrong = other.run(
        "login", "alice@example.org", "--password-stdin", input="wrong\n", check=False
    )
    assert wrong.returncode == 4
    assert b"wrong email address or password" in wrong.stderr

    server.stop()
    result = cli.run("ls", check=False, COFFRE_RETRY_FOR="0")
    assert result.returncode == 8
    assert b"cannot reach" in result.stderr


def test_sessions_password_recovery_logout(cli: Cli, tmp_path: Path, server: Server) -> None:
    session = tmp_path / "home" / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    laptop = Cli(tmp_path / "laptop", server)
    laptop.run("login", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
    rows = cli.out("sessions").splitlines()
    assert len(rows) == 3  # header and two sessions
    assert "(this one)" in cli.out("sessions")

    cli.run("passwd", "--password-stdin", input=f"{PASSWORD}\nan even better password\n")
    assert laptop.run("ls", check=False).returncode == 4  # other sessions ended
    laptop.run("login", "alice@example.org", "--password-stdin", input="an even better password\n")

    key = cli.out("recovery-key").strip()
    assert len(key.split("-")) == 11
    phone = Cli(tmp_path / "phone", server)
    phone.run(
        "recover", "alice@example.org", "--password-stdin", input=f"{key}\nrecovered password\n"
    )
    assert cli.run("ls", check=False).returncode == 4
    assert phone.run("ls").returncode == 0
    bad = phone.run(
        "recover", "alice@example.org", "--password-stdin", input="abcde\nx\n", check=False
    )
    assert bad.returncode == 2

    phone.run("logout")
    assert not (tmp_path / "phone" / "session.json").exists()
    assert phone.run("ls", check=False).returncode == 4


def test_whole_tree_commands_keep_a_sealed_copy(cli: Cli, tmp_path: Path, server: Server) -> None:
    src = tmp_path / "src"
    (src / "notes").mkdir(parents=True)
    (src / "notes" / "plan.md").write_text("# plan\n")
    cli.run("put", str(src / "notes"), "/")
    assert cli.out("find", "*.md").strip() == "/notes/plan.md"
    copies = list((tmp_path / "home" / "trees").iterdir())
    assert len(copies) == 1 and stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    assert b"plan.md" not in copies[0].read_bytes()
    # Changes made here, and from another device, reach the next command through the feed.
    cli.run("mv", "notes/plan.md", "notes/plan-v2.md")
    laptop = Cli(tmp_path / "laptop", server)
    laptop.run("login", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
    laptop.run("mkdir", "notes/from-laptop")
    laptop.run("rm", "notes/plan-v2.md")
    assert cli.out("find", "*").splitlines() == ["/notes/", "/notes/from-laptop/"]
    assert "plan-v2.md" in cli.out("rubbish")
    cli.run("logout")
    assert not list((tmp_path / "home" / "trees").iterdir())
