"""Public links end to end: made with the CLI, fetched with no account."""

from __future__ import annotations

import filecmp
import os
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Cli, Server, free_port

pytestmark = pytest.mark.e2e


def test_file_folder_and_password_links(cli: Cli, server: Server, tmp_path: Path) -> None:
    src = tmp_path / "album"
    (src / "inner").mkdir(parents=True)
    (src / "a.txt").write_text("a" * 100)
    (src / "inner" / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    cli.run("put", "-q", str(src), "/")
    file_url = cli.out("link", "create", "album/inner/big.bin").strip()
    folder_url = cli.out("link", "create", "album").strip()
    secret = "a link password"
    password_url = cli.out("link", "create", "--password-stdin", "album", input=secret + "\n")
    password_url = password_url.strip()
    assert "#" in file_url and "#" in folder_url and "#" not in password_url

    stranger = Cli(tmp_path / "stranger", server)  # never signs up
    out = tmp_path / "out"
    out.mkdir()
    stranger.run("link", "get", file_url, str(out))
    assert (out / "big.bin").read_bytes() == (src / "inner" / "big.bin").read_bytes()
    stranger.run("link", "get", folder_url, str(out / "copy"))
    assert not filecmp.dircmp(src, out / "copy").diff_files
    assert (out / "copy" / "inner" / "big.bin").exists()

    wrong = stranger.run(
        "link",
        "get",
        password_url,
        str(out / "pw"),
        "--password-stdin",
        input="nope\n",
        check=False,
    )
    assert wrong.returncode == 4
    assert b"wrong link key or password" in wrong.stderr
    assert not (out / "pw").exists()
    stranger.run(
        "link", "get", password_url, str(out / "pw"), "--password-stdin", input=secret + "\n"
    )
    assert (out / "pw" / "a.txt").read_text() == "a" * 100

    listing = cli.out("link", "ls")
    assert "/album/inner/big.bin" in listing
    assert "password" in listing

    cli.run("link", "revoke", file_url)
    gone = stranger.run("link", "get", file_url, str(tmp_path / "again.bin"), check=False)
    assert gone.returncode == 3
    assert b"turned off" in gone.stderr
    bad = stranger.run("link", "get", file_url.split("#")[0] + "#notakey", check=False)
    assert bad.returncode == 2


def test_no_key_and_expiry(cli: Cli, server: Server, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello")
    cli.run("put", str(note), "/")
    url, key_line = cli.out("link", "create", "--no-key", "note.txt").splitlines()
    assert "#" not in url
    key = key_line.split(": ", 1)[1]
    stranger = Cli(tmp_path / "stranger", server)
    dest = tmp_path / "got.txt"
    stranger.run("link", "get", url, str(dest), "--password-stdin", input=key + "\n")
    assert dest.read_text() == "hello"

    short = cli.out("link", "create", "--expires", "1s", "note.txt").strip()
    time.sleep(1.5)
    expired = stranger.run("link", "get", short, str(tmp_path / "late.txt"), check=False)
    assert expired.returncode == 3
    assert b"expired" in expired.stderr
    assert cli.run("link", "create", "--expires", "soon", "note.txt", check=False).returncode == 2
    # Past 100 years, or past what a number holds, is refused before any link is made (a
    # huge one was made, then the command failed to print its expiry, and so did every
    # `coffre link ls` after it).
    links_before = cli.out("link", "ls")
    for far in ("5300w", "999999999999999999999999w", "1" + "0" * 5000 + "s"):
        refused = cli.run("link", "create", "--expires", far, "note.txt", check=False)
        assert refused.returncode == 2, refused.stderr
        assert b"longer than 100 years" in refused.stderr
    assert cli.out("link", "ls") == links_before
    assert cli.run("link", "create", "--expires", "5200w", "note.txt").returncode == 0


def test_the_server_never_sees_a_link_key_or_password(tmp_path: Path) -> None:
    """A12: with every request logged, neither the key nor the password shows in the log."""
    server = Server(
        tmp_path / "data", free_port(), tmp_path / "server.log", extra=("--access-log",)
    )
    server.start()
    try:
        owner = Cli(tmp_path / "owner", server)
        owner.run("signup", "owner@example.org", "--password-stdin", input=PASSWORD + "\n")
        secret_file = tmp_path / "secret.txt"
        secret_file.write_text("contents")
        owner.run("put", str(secret_file), "/")
        url = owner.out("link", "create", "secret.txt").strip()
        password = "correct link password"
        password_url = owner.out(
            "link", "create", "--password-stdin", "secret.txt", input=password + "\n"
        ).strip()
        visitor = Cli(tmp_path / "visitor", server)
        visitor.run("link", "get", url, str(tmp_path / "a.txt"))
        visitor.run(
            "link",
            "get",
            password_url,
            str(tmp_path / "b.txt"),
            "--password-stdin",
            input=password + "\n",
        )
        assert (tmp_path / "b.txt").read_text() == "contents"
    finally:
        server.stop()
    log = server.log.read_text()
    assert "/v1/public/links/" in log  # requests were logged
    key = url.split("#", 1)[1]
    assert key not in log
    assert password not in log


def test_an_upload_only_link(cli: Cli, server: Server, tmp_path: Path) -> None:
    cli.run("mkdir", "inbox")
    secret = tmp_path / "already.txt"
    secret.write_text("private")
    cli.run("put", str(secret), "inbox")
    url = cli.out("link", "request", "inbox").strip()
    visitor = Cli(tmp_path / "visitor", server)  # no account
    big = tmp_path / "report.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 1))
    note = tmp_path / "note.txt"
    note.write_text("for you")
    visitor.run("link", "upload", url, str(big), str(note))
    listing = cli.out("ls", "inbox").split()
    assert listing == ["already.txt", "note.txt", "report.bin"]
    back = tmp_path / "back.bin"
    cli.run("get", "inbox/report.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    assert cli.out("cat", "inbox/note.txt") == "for you"
    # The visitor sees nothing of the folder, not even through the link.
    refused = visitor.run("link", "get", url, str(tmp_path / "peek"), check=False)
    assert refused.returncode == 4
    assert not (tmp_path / "peek").exists()
    # The owner can move a received file like any other.
    cli.run("mv", "inbox/note.txt", "kept.txt")
    assert cli.out("cat", "kept.txt") == "for you"
