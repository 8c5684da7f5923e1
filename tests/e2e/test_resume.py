"""Interrupted uploads resume, whether the server or the client died mid-way."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests import blob_files
from tests.e2e.conftest import Cli, Server

pytestmark = pytest.mark.e2e

SIZE = 96 * 1024 * 1024 + 17


def chunks_stored(server: Server) -> int:
    return blob_files.chunks_held(server.data / "blobs")


def wait_for_chunks(server: Server, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while chunks_stored(server) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError("the upload did not start")
        time.sleep(0.005)


def journal_content_id(cli: Cli) -> str:
    journals = list((cli.home / "uploads").glob("*.json"))
    assert len(journals) == 1, journals
    content_id: str = json.loads(journals[0].read_text())["content_id"]
    return content_id


def committed_content_ids(server: Server) -> set[str]:
    with sqlite3.connect(server.data / "coffre.db") as db:
        return {row[0] for row in db.execute("SELECT content_id FROM versions")}


def check_download(cli: Cli, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "back.bin"
    cli.run("get", "big.bin", str(out))
    assert out.read_bytes() == source.read_bytes()


def test_resume_after_the_server_is_killed(cli: Cli, server: Server, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(SIZE))
    upload = cli.popen("put", "-q", str(source), "/", COFFRE_RETRY_FOR="0.5")
    wait_for_chunks(server, 3)
    server.kill()
    _, stderr = upload.communicate(timeout=60)
    assert upload.returncode == 8, stderr
    assert b"cannot reach" in stderr
    content_id = journal_content_id(cli)
    before = chunks_stored(server)
    assert 0 < before < 97

    server.start()
    cli.run("put", "-q", str(source), "/")
    assert not list((cli.home / "uploads").glob("*.json"))
    assert content_id in committed_content_ids(server)
    check_download(cli, source, tmp_path)


def test_resume_after_the_client_is_killed(cli: Cli, server: Server, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(SIZE))
    upload = cli.popen("put", "-q", str(source), "/")
    wait_for_chunks(server, 3)
    upload.send_signal(signal.SIGKILL)
    upload.communicate(timeout=30)
    content_id = journal_content_id(cli)

    cli.run("put", "-q", str(source), "/")
    assert content_id in committed_content_ids(server)
    assert len(committed_content_ids(server)) == 1
    check_download(cli, source, tmp_path)


def test_a_changed_file_is_not_resumed_under_the_old_key(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(SIZE))
    upload = cli.popen("put", "-q", str(source), "/")
    wait_for_chunks(server, 3)
    upload.send_signal(signal.SIGKILL)
    upload.communicate(timeout=30)
    old = journal_content_id(cli)

    source.write_bytes(os.urandom(SIZE))
    cli.run("put", "-q", str(source), "/")
    assert old not in committed_content_ids(server)
    check_download(cli, source, tmp_path)
