"""The blob-store contract: every implementation (local folder, S3) behaves the same.

Each test runs against a local folder and against S3 on a real SeaweedFS.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx
import pytest

from coffre.server.blobs import BlobStore, LocalBlobStore, chunk_key
from coffre.server.blobs.fallback import FallbackBlobStore
from tests.server.blobs.conftest import MULTIPART, MakeStore


def content() -> str:
    return secrets.token_hex(16)


def test_a_blob_comes_back_as_it_was_put(store: BlobStore) -> None:
    key = chunk_key(content(), 0)
    data = os.urandom(1040)
    store.put(key, data)
    assert store.get(key) == data
    assert store.exists(key)


def test_a_missing_blob_is_a_key_error(store: BlobStore) -> None:
    key = chunk_key(content(), 3)
    with pytest.raises(KeyError):
        store.get(key)
    assert not store.exists(key)


def test_a_put_replaces_the_blob(store: BlobStore) -> None:
    key = chunk_key(content(), 1)
    store.put(key, b"first version of the chunk")
    store.put(key, b"second")
    assert store.get(key) == b"second"


def test_an_empty_blob_is_a_blob(store: BlobStore) -> None:
    key = chunk_key(content(), 0)
    store.put(key, b"")
    assert store.get(key) == b""
    assert store.chunk_sizes(key.split("/")[0]) == {0: 0}


def test_a_blob_stored_in_pieces_comes_back_joined(store: BlobStore) -> None:
    """A chunk is stored as the pieces of the request body it arrived in: more pieces
    than one system call takes, empty ones, and views into larger buffers."""
    key = chunk_key(content(), 0)
    data = os.urandom(3000)
    body = memoryview(b"x" + data + b"y")
    pieces = [body[1 + i : 2 + i] for i in range(len(data))] + [b"", bytearray()]
    store.store(key, pieces)
    store.sync(key.split("/")[0])
    assert store.get(key) == data


def test_a_large_blob_goes_in_parts_and_comes_back_whole(store: BlobStore) -> None:
    key = chunk_key(content(), 0)
    data = os.urandom(2 * MULTIPART + 12345)  # three parts on S3
    store.put(key, data)
    assert store.get(key) == data
    assert store.chunk_sizes(key.split("/")[0]) == {0: len(data)}


def test_chunks_and_their_sizes_are_listed_per_content(store: BlobStore) -> None:
    one, other = content(), content()
    for index, size in ((0, 100), (2, 50), (10, 7)):
        store.put(chunk_key(one, index), os.urandom(size))
    store.put(chunk_key(other, 1), b"x")
    assert store.chunks(one) == {0, 2, 10}
    assert store.chunk_sizes(one) == {0: 100, 2: 50, 10: 7}
    assert store.chunks(other) == {1}
    assert store.chunks(content()) == set()
    assert store.chunk_sizes(content()) == {}
    assert store.range_sizes(one, 1, 10) == {2: 50, 10: 7}
    assert store.range_sizes(one, 0, 1) == {0: 100}
    assert store.range_sizes(one, 3, 7) == {}
    assert store.range_sizes(content(), 0, 4) == {}


def test_many_chunks_are_listed_past_a_page(store: BlobStore) -> None:
    cid = content()
    for index in range(1005):  # S3 lists 1000 keys a page
        store.put(chunk_key(cid, index), b"")
    assert store.chunks(cid) == set(range(1005))


def test_delete_removes_and_forgives_what_is_gone(store: BlobStore) -> None:
    key = chunk_key(content(), 0)
    store.put(key, b"data")
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)
    store.delete(chunk_key(content(), 5))


def test_delete_many_removes_every_listed_blob(store: BlobStore) -> None:
    cid, keep = content(), content()
    for index in range(5):
        store.put(chunk_key(cid, index), b"data")
    store.put(chunk_key(keep, 0), b"kept")
    store.delete_many([chunk_key(cid, i) for i in range(8)])  # 5 to 7 never existed
    assert store.chunks(cid) == set()
    assert store.get(chunk_key(keep, 0)) == b"kept"
    store.delete_many([])


def test_a_range_written_in_any_order_is_read_chunk_by_chunk(store: BlobStore) -> None:
    """A request's consecutive chunks, written on several threads as they arrive."""
    cid = content()
    data = {4: os.urandom(5000), 5: os.urandom(5000), 6: os.urandom(77)}  # the last, short
    writer = store.open_range(cid, 4, 5000)
    body = memoryview(b"." + data[6] + b".")
    writer.write(6, [body[1:40], body[40:78]])  # in pieces, as the body arrived
    writer.write(4, [data[4]])
    writer.write(5, [data[5][:1], b"", data[5][1:]])
    writer.close(3)
    store.sync(cid)
    assert {i: store.get(chunk_key(cid, i)) for i in range(4, 7)} == data
    assert store.chunks(cid) == {4, 5, 6}
    assert store.chunk_sizes(cid) == {4: 5000, 5: 5000, 6: 77}
    assert store.range_sizes(cid, 5, 4) == {5: 5000, 6: 77}
    assert store.range_sizes(cid, 0, 4) == {}
    assert store.exists(chunk_key(cid, 5))
    assert not store.exists(chunk_key(cid, 7))
    with pytest.raises(KeyError):
        store.get(chunk_key(cid, 3))


def test_ranges_and_chunks_alone_make_one_content(store: BlobStore) -> None:
    """Chunks sent in two ranges, one of them again, and one alone: each is read, listed
    once, and all go when the content's chunks are deleted."""
    cid = content()
    chunks = [os.urandom(300) for _ in range(5)] + [os.urandom(9)]
    for first, count in ((0, 3), (3, 3), (0, 3)):
        writer = store.open_range(cid, first, 300)
        for index in range(first, first + count):
            writer.write(index, [chunks[index]])
        writer.close(count)
        store.sync(cid)
        assert store.get(chunk_key(cid, first)) == chunks[first]
    store.store(chunk_key(cid, 4), [chunks[4]])
    store.sync(cid)
    assert [store.get(chunk_key(cid, i)) for i in range(6)] == chunks
    assert store.chunk_sizes(cid) == {0: 300, 1: 300, 2: 300, 3: 300, 4: 300, 5: 9}
    store.delete_many([chunk_key(cid, i) for i in range(6)])
    assert store.chunks(cid) == set()
    with pytest.raises(KeyError):
        store.get(chunk_key(cid, 2))


def test_a_chunk_of_a_range_deleted_is_gone(store: BlobStore) -> None:
    cid = content()
    writer = store.open_range(cid, 0, 10)
    for index in range(3):
        writer.write(index, [bytes([index]) * 10])
    writer.close(3)
    store.sync(cid)
    store.delete(chunk_key(cid, 1))
    assert not store.exists(chunk_key(cid, 1))
    with pytest.raises(KeyError):
        store.get(chunk_key(cid, 1))


def test_stores_do_not_see_each_others_blobs(make_store: MakeStore) -> None:
    first, second = make_store("first"), make_store("second")
    cid = content()
    first.put(chunk_key(cid, 0), b"one")
    assert second.chunks(cid) == set()
    with pytest.raises(KeyError):
        second.get(chunk_key(cid, 0))


@pytest.mark.parametrize("key", ["../x/0", "abc/-1", "abc/x", "a/b/0", "/0", "abc"])
def test_bad_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="bad blob key"):
        store.put(key, b"x")


def test_a_working_store_passes_its_check(store: BlobStore) -> None:
    store.check()


def test_presigned_urls_only_where_the_store_offers_them(store: BlobStore) -> None:
    key = chunk_key(content(), 0)
    put = store.presign_put(key, 4, 60)
    get = store.presign_get(key, 60)
    if isinstance(store, LocalBlobStore):
        assert put is None and get is None
        return
    assert put is not None and get is not None
    response = httpx.put(put.url, content=b"data", headers=put.headers)
    assert response.status_code == 200, response.text
    assert store.get(key) == b"data"
    fetched = httpx.get(get.url, headers=get.headers)
    assert fetched.status_code == 200 and fetched.content == b"data"


def test_a_fallback_store_reads_the_old_store_and_writes_the_new(make_store: MakeStore) -> None:
    old, new = make_store("old"), make_store("new")
    both = FallbackBlobStore(new, old)
    cid = content()
    old.put(chunk_key(cid, 0), b"before the move")
    both.put(chunk_key(cid, 1), b"after")
    assert both.get(chunk_key(cid, 0)) == b"before the move"
    assert both.get(chunk_key(cid, 1)) == b"after"
    assert not old.exists(chunk_key(cid, 1))
    assert both.chunks(cid) == {0, 1}
    assert both.chunk_sizes(cid) == {0: 15, 1: 5}
    assert both.range_sizes(cid, 0, 3) == {0: 15, 1: 5}
    assert both.range_sizes(cid, 1, 1) == {1: 5}
    assert both.presign_get(chunk_key(cid, 0), 60) is None  # reads go through the API
    both.delete_many([chunk_key(cid, 0), chunk_key(cid, 1)])
    assert both.chunks(cid) == set()
    with pytest.raises(KeyError):
        both.get(chunk_key(cid, 0))


def test_a_short_write_is_carried_on_from_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel may write only part of what writev is given: the rest follows."""
    real = os.writev

    def short(fd: int, buffers: list[memoryview]) -> int:
        return real(fd, [bytes(buffers[0][:7])])  # at most 7 bytes a call

    monkeypatch.setattr(os, "writev", short)
    store = LocalBlobStore(tmp_path)
    key = chunk_key(content(), 0)
    store.store(key, [b"0123456789", b"abc", b"", b"defghijklmnopqrstuvwxyz"])
    assert store.get(key) == b"0123456789abcdefghijklmnopqrstuvwxyz"


def test_a_stored_blob_leaves_the_page_cache_once_it_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each blob is synced, then dropped from the cache (not before: a dirty page cannot
    be dropped, and the blob must be durable before it is renamed into place)."""
    calls: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        assert (offset, length) == (0, 0)
        calls.append("dontneed" if advice == os.POSIX_FADV_DONTNEED else str(advice))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    store = LocalBlobStore(tmp_path)
    cid = content()
    store.store(chunk_key(cid, 0), [os.urandom(5000)])
    store.store(chunk_key(cid, 1), [os.urandom(7)])
    store.sync(cid)
    # The two folders made for the content, each chunk, then the content's folder.
    assert calls == ["fsync", "fsync", "fsync", "dontneed", "fsync", "dontneed", "fsync"]
    assert store.chunk_sizes(cid) == {0: 5000, 1: 7}
