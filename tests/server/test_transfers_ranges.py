"""Ranged chunk uploads: a body cut anywhere is stored chunk by chunk, made durable once
per request before the answer, and refused whole when it does not end on a chunk."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Generic, TypeVar

import anyio
import httpx
import pytest
from fastapi import FastAPI

from coffre.protocol import models as m
from coffre.server.blobs import BlobStore
from coffre.server.blobs.base import Buffer, RangeWriter
from coffre.server.routes import transfers as transfer_routes
from coffre.server.routes.transfers import READ_AHEAD, WRITES_IN_FLIGHT
from coffre.server.services import transfers as transfer_service
from tests.conftest import BASE
from tests.server.raw import CHUNK, Account, assert_error, chunk_lengths, sealed

FULL = CHUNK + 16
T = TypeVar("T")


def _put_in_pieces(
    app: FastAPI, alice: Account, upload_id: str, first: int, body: bytes, cuts: list[int]
) -> httpx.Response:
    """PUT ``body`` as a stream of pieces cut at ``cuts``, as a socket delivers it."""

    async def pieces() -> AsyncIterator[bytes]:
        start = 0
        for end in [*cuts, len(body)]:
            yield body[start:end]
            start = end

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.put(
                f"/v1/uploads/{upload_id}/chunks",
                params={"first": first},
                content=pieces(),
                headers=alice.auth,
            )

    return anyio.run(send)


def test_a_body_cut_anywhere_is_stored_chunk_by_chunk(app: FastAPI, alice: Account) -> None:
    state = alice.start(4 * CHUNK + 10)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    body = b"".join(chunks[1:])
    # Pieces smaller than a chunk, across boundaries, and one holding several chunks.
    cuts = [1, 7, FULL - 1, FULL, FULL + 3, 3 * FULL + 5]
    response = _put_in_pieces(app, alice, state.id, 1, body, cuts)
    assert response.status_code == 204, response.text
    assert alice.api.upload_state(state.id).received == [1, 2, 3, 4]
    alice.api.put_chunk(state.id, 0, chunks[0])
    alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    assert [alice.api.get_chunk(state.id, i) for i in range(5)] == chunks


@pytest.mark.parametrize(
    ("first", "length", "left"),
    [
        (0, FULL + 5, 5),  # a chunk and a piece of the next
        (0, FULL - 1, FULL - 1),  # not even one chunk
        (4, 10 + 16 + 3, 3),  # past the last chunk of the upload
        (0, 0, 0),  # nothing
    ],
)
def test_a_body_that_does_not_end_on_a_chunk_is_refused(
    app: FastAPI, alice: Account, first: int, length: int, left: int
) -> None:
    state = alice.start(4 * CHUNK + 10)
    body = os.urandom(length)
    response = _put_in_pieces(app, alice, state.id, first, body, [length // 2])
    assert_error(response, 400, "bad_chunk_length")
    assert f"{left} bytes left" in response.json()["error"]["message"]


def test_the_chunks_of_a_request_are_synced_once_before_the_answer(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs: BlobStore = app.state.ctx.blobs
    events: list[str] = []
    store, sync, open_range = blobs.store, blobs.sync, blobs.open_range

    class RecordingRange:
        def __init__(self, writer: RangeWriter) -> None:
            self.writer = writer

        def write(self, index: int, pieces: Sequence[Buffer]) -> None:
            self.writer.write(index, pieces)
            events.append(f"store {index}")

        def close(self, written: int) -> None:
            self.writer.close(written)
            events.append(f"keep {written}")

        def abort(self) -> None:
            self.writer.abort()
            events.append("abort")

    def recording_store(key: str, data: bytes | bytearray) -> None:
        store(key, data)
        events.append(f"store {key.rpartition('/')[2]}")

    def recording_sync(content_id: str) -> None:
        sync(content_id)
        events.append("sync")

    monkeypatch.setattr(blobs, "store", recording_store)
    monkeypatch.setattr(blobs, "sync", recording_sync)
    monkeypatch.setattr(blobs, "open_range", lambda *a: RecordingRange(open_range(*a)))
    state = alice.start(4 * CHUNK + 10)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    alice.api.put_chunks(state.id, 0, b"".join(chunks[:3]))
    assert sorted(events[:3]) == ["store 0", "store 1", "store 2"]
    assert events[3:] == ["keep 3", "sync"]
    alice.api.put_chunk(state.id, 3, chunks[3])
    assert events[5:] == ["store 3", "sync"]
    # A body cut short is refused; the whole chunks before the cut are kept, durably.
    path = f"/v1/uploads/{state.id}/chunks"
    response = alice.raw("PUT", path, params={"first": 4}, content=chunks[4] + b"!")
    assert_error(response, 400, "bad_chunk_length")
    assert events[7:] == ["store 4", "keep 1", "sync"]
    assert alice.api.upload_state(state.id).received == [0, 1, 2, 3, 4]


def test_a_range_whose_write_fails_keeps_nothing_of_it(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk that cannot be written (the disk full, say) fails the request; the range's
    other chunks are not kept half-way: the client sends the range again."""
    blobs: BlobStore = app.state.ctx.blobs
    open_range = blobs.open_range
    aborted: list[int] = []

    class FailingRange:
        def __init__(self, writer: RangeWriter) -> None:
            self.writer = writer

        def write(self, index: int, pieces: Sequence[Buffer]) -> None:
            if index == 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.writer.write(index, pieces)

        def close(self, written: int) -> None:
            raise AssertionError("a failed range is not kept")

        def abort(self) -> None:
            aborted.append(1)
            self.writer.abort()

    monkeypatch.setattr(blobs, "open_range", lambda *a: FailingRange(open_range(*a)))
    state = alice.start(4 * CHUNK + 10)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    path = f"/v1/uploads/{state.id}/chunks"
    response = alice.raw("PUT", path, params={"first": 0}, content=b"".join(chunks[:3]))
    assert_error(response, 507, "storage_full")
    assert aborted == [1]
    assert alice.api.upload_state(state.id).received == []


def test_chunks_are_synced_on_the_chunk_threads_not_the_request_threads(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync waits on the disk; the few request threads (COFFRE_REQUEST_THREADS) are
    for request work, and eight uploads' syncs would fill them."""
    blobs: BlobStore = app.state.ctx.blobs
    threads: list[str] = []
    sync = blobs.sync

    def recording_sync(content_id: str) -> None:
        threads.append(threading.current_thread().name)
        sync(content_id)

    monkeypatch.setattr(blobs, "sync", recording_sync)
    state = alice.start(4 * CHUNK + 10)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    alice.api.put_chunks(state.id, 0, b"".join(chunks[:3]))
    path = f"/v1/uploads/{state.id}/chunks"
    response = alice.raw("PUT", path, params={"first": 3}, content=chunks[3] + b"!")
    assert_error(response, 400, "bad_chunk_length")
    alice.api.put_chunk(state.id, 4, chunks[4])  # one chunk alone, the same way
    assert len(threads) == 3
    assert all(name.startswith("coffre-chunk-io") for name in threads), threads


class AtOnce(Generic[T]):
    """``function``, each call taking ``delay`` seconds more; counts the most calls that
    ran at once."""

    def __init__(self, function: Callable[..., T], delay: float) -> None:
        self.function, self.delay = function, delay
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> T:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            return self.function(*args)
        finally:
            with self._lock:
                self.running -= 1


def test_a_range_is_read_ahead_of_the_chunk_being_sent(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to READ_AHEAD chunks of a ranged GET are read at once (the reads overlap on the
    disk), never more, and they go out in order."""
    blobs: BlobStore = app.state.ctx.blobs
    state = alice.start(10 * CHUNK)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    alice.api.put_chunks(state.id, 0, b"".join(chunks))
    alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    slow_get = AtOnce(blobs.get, 0.02)
    monkeypatch.setattr(blobs, "get", slow_get)
    assert alice.api.get_chunks(state.id, 0, 10) == b"".join(chunks)
    assert slow_get.most == READ_AHEAD
    assert alice.api.get_chunks(state.id, 8, 2) == b"".join(chunks[8:])


@pytest.mark.parametrize(
    ("spare", "most"),
    # Spare bytes for the whole range; for less than a chunk: one at a time, as always.
    [(64 * CHUNK, 8), (CHUNK // 2, WRITES_IN_FLIGHT)],
)
def test_a_requests_chunks_are_written_one_at_a_time_and_more_while_there_are_spare_bytes(
    app: FastAPI,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    spare: int,
    most: int,
) -> None:
    """Each is fsynced, and a sync waits on the disk: a request writes WRITES_IN_FLIGHT
    chunks at once whatever else is written, and more while the server's spare bytes
    (shared by every request) last, which it gives back once they are written."""
    slow_store = AtOnce(transfer_service.write_chunk, 0.05)
    monkeypatch.setattr(transfer_service, "write_chunk", slow_store)
    shared = transfer_routes.Spare(spare)
    monkeypatch.setattr(transfer_routes, "SPARE", shared)
    state = alice.start(8 * CHUNK)
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    alice.api.put_chunks(state.id, 0, b"".join(chunks))
    assert slow_store.most == most
    assert shared.taken == 0
    assert alice.api.upload_state(state.id).received == list(range(8))
    # A body cut short gives back what it took for the chunk that never came.
    response = alice.raw(
        "PUT",
        f"/v1/uploads/{state.id}/chunks",
        params={"first": 0},
        content=b"".join(chunks[:6]) + b"!",
    )
    assert_error(response, 400, "bad_chunk_length")
    assert shared.taken == 0
