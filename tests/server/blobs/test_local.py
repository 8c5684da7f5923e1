"""The local folder's own layout: a file a chunk, or a file a request's range of chunks."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from coffre.server.blobs import LocalBlobStore, chunk_key
from coffre.uncached import round_up

SIZE = 5000


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def content() -> str:
    return secrets.token_hex(16)


def files(store: LocalBlobStore, cid: str) -> list[str]:
    return sorted(os.listdir(store.root / cid[:2] / cid))


def write_range(store: LocalBlobStore, cid: str, chunks: dict[int, bytes], size: int) -> None:
    writer = store.open_range(cid, min(chunks), size)
    for index, data in chunks.items():
        writer.write(index, [data])
    writer.close(len(chunks))
    store.sync(cid)


def test_a_range_is_one_file_named_for_its_chunks(store: LocalBlobStore) -> None:
    cid = content()
    chunks = {8: os.urandom(SIZE), 9: os.urandom(SIZE), 10: os.urandom(12)}
    write_range(store, cid, chunks, SIZE)
    assert files(store, cid) == [f"8-3-{SIZE}"]
    path = store.root / cid[:2] / cid / f"8-3-{SIZE}"
    stride = round_up(SIZE)  # each chunk starts on a 4 KiB boundary
    raw = path.read_bytes()
    assert len(raw) == 2 * stride + 12
    assert raw[stride : stride + SIZE] == chunks[9]
    assert raw[2 * stride :] == chunks[10]


def test_an_aborted_range_leaves_nothing(store: LocalBlobStore) -> None:
    cid = content()
    writer = store.open_range(cid, 0, SIZE)
    writer.write(0, [os.urandom(SIZE)])
    writer.abort()
    assert files(store, cid) == []
    assert store.chunks(cid) == set()
    store.open_range(cid, 0, SIZE).abort()  # nothing written: nothing to undo
    writer = store.open_range(cid, 0, SIZE)
    writer.write(0, [os.urandom(SIZE)])
    writer.close(0)  # none kept
    assert files(store, cid) == []


def test_a_range_cut_short_keeps_the_chunks_before_the_cut(store: LocalBlobStore) -> None:
    """A request whose body stopped after two whole chunks of a range of eight."""
    cid = content()
    chunks = {0: os.urandom(SIZE), 1: os.urandom(SIZE)}
    write_range(store, cid, chunks, SIZE)
    assert files(store, cid) == [f"0-2-{SIZE}"]
    assert store.chunk_sizes(cid) == {0: SIZE, 1: SIZE}


def test_a_chunk_alone_is_read_before_the_same_chunk_in_a_range(store: LocalBlobStore) -> None:
    cid = content()
    write_range(store, cid, {0: b"a" * SIZE, 1: b"b" * SIZE}, SIZE)
    assert store.get(chunk_key(cid, 1)) == b"b" * SIZE  # its place is remembered
    store.put(chunk_key(cid, 1), b"c" * SIZE)
    assert store.get(chunk_key(cid, 1)) == b"c" * SIZE
    assert store.get(chunk_key(cid, 0)) == b"a" * SIZE


def test_a_range_file_cut_short_on_disk_holds_only_the_chunks_it_reaches(
    store: LocalBlobStore,
) -> None:
    """A file shortened behind the server's back (not one the store wrote): the chunks
    past its end are missing, and the one it cuts is not read as whole."""
    cid = content()
    write_range(store, cid, {i: os.urandom(SIZE) for i in range(4)}, SIZE)
    path = store.root / cid[:2] / cid / f"0-4-{SIZE}"
    with path.open("r+b") as f:
        f.truncate(round_up(SIZE) + 100)
    assert store.chunk_sizes(cid) == {0: SIZE}
    with pytest.raises(KeyError):
        store.get(chunk_key(cid, 2))


def test_a_chunk_whose_file_went_is_looked_up_again(store: LocalBlobStore) -> None:
    """Where a chunk was found is remembered; a file gone since is not trusted."""
    cid = content()
    write_range(store, cid, {0: b"x" * SIZE, 1: b"y" * SIZE}, SIZE)
    assert store.get(chunk_key(cid, 0)) == b"x" * SIZE
    (store.root / cid[:2] / cid / f"0-2-{SIZE}").unlink()
    with pytest.raises(KeyError):
        store.get(chunk_key(cid, 1))
    write_range(store, cid, {0: b"x" * SIZE, 1: b"z" * SIZE}, SIZE)
    assert store.get(chunk_key(cid, 1)) == b"z" * SIZE


def test_each_chunk_of_a_range_is_on_disk_when_its_write_returns(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written with RWF_DSYNC (the chunk's bytes durable while the rest of the range
    arrives), then dropped from the page cache, that chunk's bytes only."""
    calls: list[tuple[str, int, int]] = []
    real_pwritev = os.pwritev

    def pwritev(fd: int, buffers: list[memoryview], offset: int, flags: int = 0) -> int:
        calls.append(("pwritev", offset, flags))
        return real_pwritev(fd, buffers, offset, flags)

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        calls.append(("dontneed", offset, length))

    monkeypatch.setattr(os, "pwritev", pwritev)
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    cid = content()
    write_range(store, cid, {3: os.urandom(SIZE), 4: os.urandom(20)}, SIZE)
    stride = round_up(SIZE)
    assert calls == [
        ("pwritev", 0, os.RWF_DSYNC),
        ("dontneed", 0, SIZE),
        ("pwritev", stride, os.RWF_DSYNC),
        ("dontneed", stride, 20),
    ]


def test_a_short_write_into_a_range_is_carried_on(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwritev

    def short(fd: int, buffers: list[memoryview], offset: int, flags: int = 0) -> int:
        return real(fd, [bytes(buffers[0][:7])], offset, flags)  # at most 7 bytes a call

    monkeypatch.setattr(os, "pwritev", short)
    cid = content()
    writer = store.open_range(cid, 0, 36)
    writer.write(0, [b"0123456789", b"abc", b"", b"defghijklmnopqrstuvwxyz"])
    writer.close(1)
    store.sync(cid)
    assert store.get(chunk_key(cid, 0)) == b"0123456789abcdefghijklmnopqrstuvwxyz"


def test_a_write_before_the_range_is_refused(store: LocalBlobStore) -> None:
    writer = store.open_range(content(), 4, SIZE)
    with pytest.raises(ValueError, match="before the range"):
        writer.write(3, [b"x"])
    writer.abort()


def test_deleting_a_content_takes_what_a_crash_left_in_its_folder(
    store: LocalBlobStore,
) -> None:
    """A server stopped mid-write leaves a temporary file; once it is an hour old, it goes
    with the content's chunks (a fresh one may be a write still running)."""
    cid = content()
    write_range(store, cid, {0: os.urandom(SIZE)}, SIZE)
    folder = store.root / cid[:2] / cid
    old, fresh = folder / ".8-0123456789ab.tmp", folder / ".9.0123456789ab.tmp"
    old.write_bytes(b"half a range")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    store.delete_many([chunk_key(cid, 0)])
    assert files(store, cid) == [fresh.name]
    fresh.unlink()
    store.delete_many([chunk_key(cid, 0)])
    assert not folder.exists()
