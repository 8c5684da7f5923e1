"""Reading blobs around the page cache (O_DIRECT), and the ordinary read where it cannot."""

from __future__ import annotations

import errno
import os
import secrets
import sys
from pathlib import Path

import pytest

from coffre import uncached
from coffre.server.blobs import LocalBlobStore, chunk_key
from tests.pagecache import cached, refuse_direct_opens
from tests.small_disk import free_bytes, small_disk, small_ext4

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
    assert uncached.read_file(path) == data


@needs_direct
def test_reads_of_growing_sizes_on_one_thread_each_get_their_own_bytes(tmp_path: Path) -> None:
    """The thread's buffer is reused and grown; what a read returned is not changed by the
    next read."""
    sizes = [10, 3 * uncached.ALIGN + 7, 5, 2 << 20, 100]
    contents = [os.urandom(size) for size in sizes]
    results = []
    for index, data in enumerate(contents):
        (tmp_path / str(index)).write_bytes(data)
        results.append(uncached.read_file(tmp_path / str(index)))
    assert results == contents


@needs_direct
def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        uncached.read_file(tmp_path / "missing")


def test_a_file_system_that_refuses_o_direct_is_read_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_direct_opens(monkeypatch)
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 0)
    data = os.urandom(5000)
    store.put(key, data)
    assert uncached.read_file(store.root / key[:2] / key) is None
    assert store.get(key) == data


def test_a_file_larger_than_the_largest_is_read_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uncached, "LARGEST", 1000)
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 2)
    data = os.urandom(1001)
    store.put(key, data)
    assert uncached.read_file(store.root / key[:2] / key) is None
    assert store.get(key) == data


@needs_direct
@pytest.mark.skipif(sys.platform != "linux", reason="mincore(2) as Linux has it")
def test_a_blob_read_does_not_bring_it_into_the_page_cache(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = chunk_key(secrets.token_hex(16), 0)
    data = os.urandom(1 << 20)
    store.put(key, data)
    path = store.root / key[:2] / key
    if cached(path):
        pytest.skip("this file system keeps the stored blob cached")
    assert store.get(key) == data
    assert not cached(path)
    path.read_bytes()  # the check itself sees a cached file as cached
    assert cached(path)


@pytest.mark.skipif(sys.platform != "linux", reason="fallocate is Linux's")
def test_reserve_allocates_whole_blocks_before_any_write(tmp_path: Path) -> None:
    """Every block a download's direct writes will fill is allocated before the first one,
    the last (padded) chunk's included: writes into allocated blocks overlap on ext4."""
    path = tmp_path / "file"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = 3 * uncached.ALIGN + 10
        os.ftruncate(fd, size)
        assert os.fstat(fd).st_blocks == 0  # a hole
        uncached.reserve(fd, size)
        st = os.fstat(fd)
        assert st.st_blocks * 512 >= uncached.round_up(size)
        assert st.st_size == uncached.round_up(size)
    finally:
        os.close(fd)
    assert path.read_bytes() == bytes(uncached.round_up(size))  # reads as zeros


@pytest.mark.parametrize("kind", ["tmpfs", "ext4"])
def test_reserve_beyond_the_free_space_fails_at_once_and_keeps_nothing(
    tmp_path: Path, kind: str
) -> None:
    """On a real disk too small for the file: ENOSPC before anything is written, and what
    was allocated before the disk ran out is given back (ext4 keeps it otherwise)."""
    mount = (
        small_disk(tmp_path / "small", 4 << 20)
        if kind == "tmpfs"
        else small_ext4(tmp_path / "small")
    )
    with mount as disk:
        before = free_bytes(disk)
        fd = os.open(disk / "file", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with pytest.raises(OSError, match="No space left") as raised:
                uncached.reserve(fd, before + (8 << 20))
            assert raised.value.errno == errno.ENOSPC
            st = os.fstat(fd)
            assert (st.st_size, st.st_blocks) == (0, 0)
        finally:
            os.close(fd)
        assert free_bytes(disk) == before


def test_reserve_leaves_a_file_system_that_cannot_allocate_ahead_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fallocate is refused (EOPNOTSUPP), nothing is written: the file is allocated
    as it is written, not filled with zeros first (as posix_fallocate would)."""
    import ctypes

    def refused(fd: int, mode: int, offset: int, length: int) -> int:
        ctypes.set_errno(errno.EOPNOTSUPP)
        return -1

    monkeypatch.setattr(uncached, "_fallocate", lambda: refused)
    path = tmp_path / "file"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        uncached.reserve(fd, 1 << 20)
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def test_reserve_tries_again_when_a_signal_interrupts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal during fallocate (EINTR) is not an error: the call is made again, as
    Python's own system calls are, and the file is allocated."""
    import ctypes

    real = uncached._fallocate()
    if real is None:
        pytest.skip("no fallocate here")
    calls: list[int] = []

    def interrupted_once(fd: int, mode: int, offset: int, length: int) -> int:
        calls.append(length)
        if len(calls) == 1:
            ctypes.set_errno(errno.EINTR)
            return -1
        return real(fd, mode, offset, length)

    monkeypatch.setattr(uncached, "_fallocate", lambda: interrupted_once)
    path = tmp_path / "file"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        uncached.reserve(fd, 1 << 20)
        assert os.fstat(fd).st_size == 1 << 20
    finally:
        os.close(fd)
    assert calls == [1 << 20, 1 << 20]
