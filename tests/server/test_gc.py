"""Garbage collection: blobs of expired or cancelled uploads and of deleted contents go."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI

from coffre.errors import NotFound
from coffre.protocol import models as m
from coffre.server.blobs.base import Buffer, RangeWriter
from coffre.server.config import Settings
from coffre.server.context import Context, Principal
from coffre.server.services.transfers import cancel, collect
from tests.server.raw import Account, blob_files

EXPIRY = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, upload_expiry=EXPIRY)


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    context = app.state.ctx
    assert isinstance(context, Context)
    return context


def test_expired_uploads_are_collected_with_their_blobs(
    alice: Account, ctx: Context, blob_dir: Path
) -> None:
    old = alice.start(2500)
    alice.api.put_chunk(old.id, 0, os.urandom(1040))
    alice.api.put_chunk(old.id, 2, os.urandom(2500 - 2048 + 16))
    assert len(blob_files(blob_dir)) == 2
    assert old.expires <= time.time() + EXPIRY
    time.sleep(EXPIRY + 0.2)

    fresh = alice.start(1500)
    alice.api.put_chunk(fresh.id, 0, os.urandom(1040))
    files_before = blob_files(blob_dir)
    assert len(files_before) == 3

    assert collect(ctx) > 0
    with pytest.raises(NotFound) as caught:
        alice.api.upload_state(old.id)
    assert caught.value.code == "upload_not_found"
    with pytest.raises(NotFound):
        alice.api.put_chunk(old.id, 1, os.urandom(1040))
    remaining = blob_files(blob_dir)
    assert len(remaining) == 1 and remaining < files_before
    assert alice.api.upload_state(fresh.id).received == [0]
    assert alice.api.usage().uploading == fresh.size
    assert collect(ctx) == 0


def test_a_chunk_keeps_an_upload_alive(alice: Account, ctx: Context, blob_dir: Path) -> None:
    """An upload expires ``upload_expiry`` seconds after its last chunk, not after its start."""
    state = alice.start(2500)
    alice.api.put_chunk(state.id, 0, os.urandom(1040))
    time.sleep(EXPIRY * 0.6)
    alice.api.put_chunk(state.id, 1, os.urandom(1040))
    time.sleep(EXPIRY * 0.6)
    collect(ctx)
    assert alice.api.upload_state(state.id).received == [0, 1]
    assert len(blob_files(blob_dir)) == 2


def test_cancelled_uploads_are_collected(alice: Account, ctx: Context, blob_dir: Path) -> None:
    state = alice.start(2500)
    alice.send_all(state)
    assert len(blob_files(blob_dir)) == 3
    alice.api.cancel_upload(state.id)
    collect(ctx)
    assert blob_files(blob_dir) == set()


def test_deleted_contents_are_collected_shared_ones_kept(
    alice: Account, ctx: Context, blob_dir: Path
) -> None:
    file = alice.upload(2500)  # 3 chunks
    first = alice.api.versions(file.id)[0]
    file = alice.upload(1500, node_id=file.id)  # 2 chunks
    big, inline = alice.small_file(70 * 1024), alice.small_file(100)
    alice.api.small_files(m.SmallFilesRequest(files=[big, inline]))
    assert len(blob_files(blob_dir)) == 3 + 2 + 1  # the small one lives in the database
    (copy,) = alice.api.copy(alice.copy_request(file))  # shares the 2-chunk content
    assert len(blob_files(blob_dir)) == 6

    alice.api.delete_version(first.id)
    collect(ctx)
    assert len(blob_files(blob_dir)) == 3

    alice.api.trash(file.id)
    alice.api.delete(file.id)
    collect(ctx)
    assert len(blob_files(blob_dir)) == 3  # the copy still uses them
    assert copy.version is not None
    assert len(alice.api.get_chunk(copy.version.id, 1)) == 1500 - 1024 + 16

    alice.api.trash(copy.id)
    for f in (big, inline):
        assert f.node is not None
        alice.api.trash(f.node.id)
    alice.api.empty_rubbish()
    collect(ctx)
    assert blob_files(blob_dir) == set()
    assert alice.api.account().storage_used == 0
    # Nothing left behind, not even empty folders of the blob store.
    assert [p for p in blob_dir.rglob("*") if p.is_file()] == []


def test_deleting_a_folder_drops_the_uploads_into_it(
    alice: Account, ctx: Context, blob_dir: Path
) -> None:
    """Uploads that can never commit (their file or folder is gone) free their space at once."""
    folder = alice.mkdir()
    file = alice.upload(10, parent_id=folder.id)
    new_version = alice.start(2500, node_id=file.id)
    new_file = alice.start(2500, parent_id=folder.id)
    elsewhere = alice.start(1500)
    for state in (new_version, new_file, elsewhere):
        alice.send_all(state)
    assert len(blob_files(blob_dir)) == 1 + 3 + 3 + 2

    alice.api.trash(folder.id)
    alice.api.delete(folder.id)
    for state in (new_version, new_file):
        with pytest.raises(NotFound):
            alice.api.upload_state(state.id)
    assert alice.api.usage().uploading == elsewhere.size
    collect(ctx)
    assert len(blob_files(blob_dir)) == 2
    assert alice.api.upload_state(elsewhere.id).received == [0, 1]


def test_a_chunk_written_after_its_upload_was_collected_is_undone(
    alice: Account, ctx: Context, blob_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload is cancelled and collected while a chunk is on its way to the disk: the
    collection finds nothing of it, so the request itself deletes what it wrote."""
    state = alice.start(2500)
    open_range = ctx.blobs.open_range

    class CollectedFirst:
        def __init__(self, writer: RangeWriter) -> None:
            self.writer = writer

        def write(self, index: int, pieces: Sequence[Buffer]) -> None:
            # The first chunk's write cancels the upload; the others find it gone.
            with contextlib.suppress(NotFound):
                cancel(ctx, Principal(alice.user_id, alice.session_id), state.id)
            collect(ctx)
            self.writer.write(index, pieces)

        def close(self, written: int) -> None:
            self.writer.close(written)

        def abort(self) -> None:
            self.writer.abort()

    monkeypatch.setattr(ctx.blobs, "open_range", lambda *a: CollectedFirst(open_range(*a)))
    with pytest.raises(NotFound) as caught:
        alice.api.put_chunks(state.id, 0, os.urandom(2 * 1040))
    assert caught.value.code == "upload_not_found"
    assert blob_files(blob_dir) == set()
