"""Full disks, for real (tmpfs): a server whose blob disk fills during ``coffre put`` (the
command says so in one line and exits 8, the file does not appear, and the same command
finishes the upload once there is room; a real server process over TCP, whose answer must
reach a client still sending the rest of a range), and a local disk too small for what
``coffre get`` fetches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Cli, Server, free_port
from tests.small_disk import fill, small_disk


@pytest.fixture
def blob_disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 32 << 20) as where:
        yield where


def test_put_onto_a_full_disk_fails_cleanly_and_resumes(
    tmp_path: Path, blob_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COFFRE_BLOBS", str(blob_disk / "blobs"))
    server = Server(tmp_path / "server-data", free_port(), tmp_path / "server.log")
    server.start()
    try:
        cli = Cli(tmp_path / "home", server)
        cli.run("signup", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(12 << 20))

        filler = fill(blob_disk, leave=2 << 20)
        failed = cli.run("put", "-q", str(source), "/big.bin", check=False)
        err = failed.stderr.decode()
        assert failed.returncode == 8, err
        assert "storage is full" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "big.bin" not in cli.out("ls", "/")
        log = server.log.read_text()
        assert "blob store disk full" in log
        assert "Traceback" not in log  # no 500, no write's error left unretrieved

        filler.unlink()
        cli.run("put", "-q", str(source), "/big.bin")
        back = tmp_path / "back.bin"
        cli.run("get", "-q", "/big.bin", str(back))
        assert back.read_bytes() == source.read_bytes()
    finally:
        server.stop()


def test_get_onto_a_full_local_disk_is_one_line_and_leaves_no_file(
    cli: Cli, tmp_path: Path
) -> None:
    """The other side: ``coffre get`` into a local disk too small for the file (a real
    tmpfs of 4 MiB, not a fault made up in the code) exits 3 with one line and leaves
    nothing that looks like the file, whole or cut; a small file beside it still fits."""
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 << 20))
    cli.run("put", "-q", str(source), "/big.bin")
    with small_disk(tmp_path / "local", 4 << 20) as local:
        failed = cli.run("get", "-q", "/big.bin", str(local / "big.bin"), check=False)
        err = failed.stderr.decode()
        assert failed.returncode == 3, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert sorted(p.name for p in local.iterdir()) == []
        (tmp_path / "small.txt").write_bytes(b"fits")
        cli.run("put", "-q", str(tmp_path / "small.txt"), "/small.txt")
        cli.run("get", "-q", "/small.txt", str(local / "small.txt"))
        assert (local / "small.txt").read_bytes() == b"fits"
