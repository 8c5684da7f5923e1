"""Reading blobs around the page cache (O_DIRECT), and the ordinary read where it cannot."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import secrets
import sys
from pathlib import Path

import pytest

from coffre.server.blobs import LocalBlobStore, chunk_key, uncached

needs_direct = pytest.mark.skipif(not uncached.available(), reason="no O_DIRECT here")


@needs_direct
@pytest.mark.parametrize(
    "size",
    [0, 1, uncached.ALIGN - 1, uncached.ALIGN, uncached.ALIGN + 1, 1 << 20, (1 << 20) + 16],
)
def test_a_file_is_read_whole_whatever_its_size(tmp_path: Path, size: int) -> None:
    path = tmp_path / "blob"
    data = os.urandom(size)
    path.write_bytes(data)
    assert uncached.read(path) == data


@needs_direct
def test_reads_of_growing_sizes_on_one_thread_each_get_their_own_bytes(tmp_path: Path) -> None:
    """The thread's buffer is reused and grown; what a read returned is not changed by the
    next read."""
    sizes = [10, 3 * uncached.ALIGN + 7, 5, 2 << 20, 100]
    contents = [os.urandom(size) for size in sizes]
    results = []
    for index, data in enumerate(contents):
        (tmp_path / str(index)).write_bytes(data)
        results.append(uncached.read(tmp_path / str(index)))
    assert results == contents


@needs_direct
def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        uncached.read(tmp_path / "missing")


def test_a_file_system_that_refuses_o_direct_is_read_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refusing(path: str, flags: int, *args: int) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 0)
    data = os.urandom(5000)
    store.put(key, data)
    assert uncached.read(store.root / key[:2] / key) is None
    assert store.get(key) == data


def test_a_file_larger_than_the_largest_is_read_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uncached, "LARGEST", 1000)
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 2)
    data = os.urandom(1001)
    store.put(key, data)
    assert uncached.read(store.root / key[:2] / key) is None
    assert store.get(key) == data


def _cached(path: Path) -> bool:
    """Whether any page of the file is in the page cache (mincore(2) on a mapping of it,
    which reads nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = path.stat().st_size
    vector = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
    with path.open("rb") as file:
        mapped = mmap.mmap(file.fileno(), size, access=mmap.ACCESS_COPY)
    try:
        start = ctypes.c_char.from_buffer(mapped)
        failed = libc.mincore(ctypes.byref(start), ctypes.c_size_t(size), vector)
        del start
    finally:
        mapped.close()
    if failed:
        raise OSError(ctypes.get_errno(), "mincore")
    return any(byte & 1 for byte in vector)


@needs_direct
@pytest.mark.skipif(sys.platform != "linux", reason="mincore(2) as Linux has it")
def test_a_blob_read_does_not_bring_it_into_the_page_cache(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 0)
    data = os.urandom(1 << 20)
    store.put(key, data)
    path = store.root / key[:2] / key
    if _cached(path):
        pytest.skip("this file system keeps the stored blob cached")
    assert store.get(key) == data
    assert not _cached(path)
    path.read_bytes()  # the check itself sees a cached file as cached
    assert _cached(path)
