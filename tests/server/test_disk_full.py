"""A full disk, under the blob folder or under SQLite's database: 507 ``storage_full``, the
request keeps nothing (no chunk file, no temporary file, no row), what was stored before is
intact, and the same request succeeds once there is room.

The disk is a real tmpfs of a few MiB (tests/small_disk.py), filled with a file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.errors import InsufficientStorage
from coffre.protocol import models as m
from coffre.server.app import create_app
from coffre.server.config import Settings
from tests.blob_files import chunks_held
from tests.conftest import BASE
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, assert_error, chunk_lengths, sealed
from tests.small_disk import PAGE, fill, small_disk

CHUNK_SIZE = 64 << 10  # four chunks of a range take 272 KiB of the disk


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 4 << 20) as where:
        yield where


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@contextlib.contextmanager
def _alice_on(settings: Settings, make_account: MakeAccount, **changes: Any) -> Iterator[Account]:
    """An account on an app of its own, made with these settings changed."""
    app = create_app(replace(settings, **changes))
    api = Api(BASE, transport=InProcessTransport(app), retry_for=0)
    try:
        yield make_account(api=api)
    finally:
        api.close()
        app.state.ctx.db.dispose()


def test_a_range_that_fills_the_blob_disk_is_a_507_and_keeps_nothing(
    settings: Settings, disk: Path, make_account: MakeAccount
) -> None:
    blobs = disk / "blobs"
    with _alice_on(settings, make_account, blobs=str(blobs)) as alice:
        state = alice.start(8 * CHUNK_SIZE, chunk_size=CHUNK_SIZE)
        chunks = [os.urandom(n) for n in chunk_lengths(state)]
        alice.api.put_chunks(state.id, 0, b"".join(chunks[:4]))
        before = _files(blobs)
        assert chunks_held(blobs) == 4

        filler = fill(disk, leave=2 * CHUNK_SIZE)  # room for one chunk of the next four
        path = f"/v1/uploads/{state.id}/chunks"
        response = alice.raw("PUT", path, params={"first": 4}, content=b"".join(chunks[4:]))
        assert_error(response, 507, "storage_full")
        assert "full" in response.json()["error"]["message"]
        assert _files(blobs) == before  # no range, no temporary file
        assert alice.api.upload_state(state.id).received == [0, 1, 2, 3]
        with pytest.raises(InsufficientStorage):  # the library's error, not retried
            alice.api.put_chunks(state.id, 4, b"".join(chunks[4:]))

        filler.unlink()
        alice.api.put_chunks(state.id, 4, b"".join(chunks[4:]))
        record = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert record.version is not None
        assert alice.api.get_chunks(record.version.id, 0, 8) == b"".join(chunks)


def test_a_chunk_alone_that_fills_the_blob_disk_is_a_507(
    settings: Settings, disk: Path, make_account: MakeAccount
) -> None:
    blobs = disk / "blobs"
    with _alice_on(settings, make_account, blobs=str(blobs)) as alice:
        state = alice.start(2 * CHUNK_SIZE, chunk_size=CHUNK_SIZE)
        chunks = [os.urandom(n) for n in chunk_lengths(state)]
        alice.api.put_chunk(state.id, 0, chunks[0])
        filler = fill(disk, leave=PAGE)
        assert_error(
            alice.raw("PUT", f"/v1/uploads/{state.id}/chunks/1", content=chunks[1]),
            507,
            "storage_full",
        )
        assert chunks_held(blobs) == 1
        assert alice.api.upload_state(state.id).received == [0]
        filler.unlink()
        alice.api.put_chunk(state.id, 1, chunks[1])
        assert alice.api.upload_state(state.id).received == [0, 1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_full_disk_under_sqlite_is_a_507_and_loses_nothing(
    settings: Settings, disk: Path, make_account: MakeAccount
) -> None:
    with _alice_on(settings, make_account, data_dir=disk / "data") as alice:
        folders = [alice.mkdir() for _ in range(3)]
        listed = alice.api.children(alice.root_id)

        filler = fill(disk, leave=0)
        refused = 0
        for _ in range(50):  # until SQLite needs a page it cannot have
            response = alice.raw("POST", "/v1/nodes", content=alice.new_node().model_dump_json())
            if response.status_code == 201:
                continue
            assert_error(response, 507, "storage_full")
            refused += 1
            break
        assert refused == 1
        made = alice.api.children(alice.root_id)
        assert {n.id for n in listed} <= {n.id for n in made}

        filler.unlink()
        again = alice.mkdir()
        assert {n.id for n in alice.api.children(alice.root_id)} >= {
            *(f.id for f in folders),
            again.id,
        }
