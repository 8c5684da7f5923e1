"""Downloads: chunks written by the workers at their offsets, small files made durable a
batch at a time, and nothing that looks complete before everything checks out."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from coffre import uncached
from coffre.client import disk, download
from coffre.client.download import Downloader, SmallJob
from coffre.client.upload import SmallJob as SmallUpload
from coffre.client.upload import Uploader
from coffre.errors import IntegrityError, LocalError, NotFound
from tests.blob_files import unpack
from tests.client.helpers import CHUNK, put
from tests.conftest import User
from tests.pagecache import cached

LocalFile = Callable[..., Path]


class FirstRangeLast:
    """A chunk reader whose answer for the first range waits until every other range has
    been answered: the workers get their ranges out of order."""

    def __init__(self, inner: download.ChunkReader, ranges: int) -> None:
        self.inner = inner
        self.others = ranges - 1
        self.answered = 0
        self.lock = threading.Lock()
        self.rest_done = threading.Event()

    def get_chunk(self, version_id: str, index: int) -> bytes:
        return self.inner.get_chunk(version_id, index)

    def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
        if first == 0:
            assert self.rest_done.wait(30)
        length = self.inner.get_chunks_into(version_id, first, count, into)
        if first != 0:
            with self.lock:
                self.answered += 1
                if self.answered == self.others:
                    self.rest_done.set()
        return length

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]:
        return self.inner.small_chunks(version_ids)


def test_ranges_written_out_of_order_land_at_their_offsets(
    user: User, local: LocalFile, tmp_path: Path
) -> None:
    data = os.urandom(20 * CHUNK + 77)
    entry = put(user.drive, local(data=data), user.drive.root(), "big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    reader = FirstRangeLast(user.drive.api, ranges=7)  # 21 chunks, 3 a range
    out = tmp_path / "out"
    out.mkdir()
    Downloader(reader, workers=7, range_bytes=3 * CHUNK).to_file(
        entry.record.version, entry.version, out / "big.bin"
    )
    assert (out / "big.bin").read_bytes() == data
    assert (out / "big.bin").stat().st_mtime_ns // 1_000_000 == entry.version.mtime_ms
    assert [p.name for p in out.iterdir()] == ["big.bin"]


def test_a_range_is_received_into_the_callers_buffer(user: User, local: LocalFile) -> None:
    """What a range answers lands in the buffer given; an error is the server's, with its
    code; an answer longer than the buffer keeps only what fits and says how long it was."""
    data = os.urandom(5 * CHUNK)
    entry = put(user.drive, local(data=data), user.drive.root(), "r.bin")
    assert entry.record is not None and entry.record.version is not None
    version_id, api = entry.record.version.id, user.drive.api
    whole = api.get_chunks(version_id, 0, 5)
    into = memoryview(bytearray(len(whole)))
    assert api.get_chunks_into(version_id, 0, 5, into) == len(whole)
    assert bytes(into) == whole
    short = memoryview(bytearray(len(whole) - 1))
    assert api.get_chunks_into(version_id, 0, 5, short) > len(short)
    with pytest.raises(NotFound) as caught:
        api.get_chunks_into(entry.record.id, 0, 5, into)  # a node, not a version
    assert caught.value.code == "version_not_found"


def test_a_bad_range_after_others_were_written_leaves_no_file(
    user: User, local: LocalFile, tmp_path: Path, blob_dir: Path
) -> None:
    data = os.urandom(20 * CHUNK + 77)
    entry = put(user.drive, local(data=data), user.drive.root(), "big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    content = entry.version.content_id.hex()
    unpack(blob_dir, content)
    chunk = blob_dir / content[:2] / content / "1"  # in the first range, answered last
    raw = bytearray(chunk.read_bytes())
    raw[-1] ^= 1
    chunk.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()
    reader = FirstRangeLast(user.drive.api, ranges=7)
    with pytest.raises(IntegrityError):
        Downloader(reader, workers=7, range_bytes=3 * CHUNK).to_file(
            entry.record.version, entry.version, out / "big.bin"
        )
    assert list(out.iterdir()) == []


def _small_jobs(
    user: User, local: LocalFile, tmp_path: Path, count: int
) -> tuple[Path, list[SmallJob]]:
    """``count`` small files uploaded, and their download jobs into a new folder ``out``."""
    out = tmp_path / "out"
    out.mkdir()
    drive = user.drive
    folder = drive.makedirs("many")
    uploads = [
        SmallUpload(local(data=os.urandom(i), name=f"f{i}"), folder, f"f{i}", None)
        for i in range(count)
    ]
    Uploader(drive, chunk_size=CHUNK).put_small(uploads)
    jobs = []
    for entry in drive.children(folder):
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        jobs.append(SmallJob(entry.record.version, entry.version, out / entry.name))
    return out, sorted(jobs, key=lambda job: job.dest.name)


def test_small_files_are_on_disk_before_any_is_renamed_into_place(
    user: User, local: LocalFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, jobs = _small_jobs(user, local, tmp_path, 25)
    monkeypatch.setattr(download, "SMALL_BATCH_FILES", 10)
    synced: list[tuple[list[str], list[str]]] = []
    real = disk.sync_files

    def sync_files(paths: Iterable[Path]) -> None:
        paths = list(paths)
        # What is synced is every staged file of one batch, none of them in place yet.
        synced.append(([p.name for p in paths], sorted(p.name for p in out.iterdir())))
        real(paths)

    monkeypatch.setattr(disk, "sync_files", sync_files)
    Downloader(user.drive.api).small_files(jobs)
    assert [len(names) for names, _ in synced] == [10, 10, 5]
    placed: set[str] = set()
    for names, present in synced:
        assert all(name.endswith(".coffre-part") for name in names)
        final = {name for name in present if not name.endswith(".coffre-part")}
        # Only earlier batches' files are in place (the one just before may still be
        # waiting for the writer to rename it).
        assert final <= placed
        placed |= {name.split(".")[1] for name in names}
    assert sorted(p.name for p in out.iterdir()) == sorted(job.dest.name for job in jobs)
    for job in jobs:
        assert len((out / job.dest.name).read_bytes()) == job.info.size


@pytest.mark.parametrize("bad_index", [3, 4, 5])  # first, middle or last of its batch
def test_a_bad_small_file_keeps_its_whole_batch_out(
    user: User,
    local: LocalFile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bad_index: int,
) -> None:
    # Five batches: the second's failure is seen once the third is written and synced,
    # whose files go too.
    out, jobs = _small_jobs(user, local, tmp_path, 15)
    monkeypatch.setattr(download, "SMALL_BATCH_FILES", 3)
    api = user.drive.api
    bad = jobs[bad_index].record.id  # in the second batch

    class Tampering:
        def get_chunk(self, version_id: str, index: int) -> bytes:
            return api.get_chunk(version_id, index)

        def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
            return api.get_chunks_into(version_id, first, count, into)

        def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]:
            chunks = api.small_chunks(version_ids)
            if bad in chunks:
                chunks[bad] = bytes([chunks[bad][0] ^ 1]) + chunks[bad][1:]
            return chunks

    with pytest.raises(IntegrityError):
        Downloader(Tampering()).small_files(jobs)
    # The first batch checked out and is in place; none of the others, and no leftovers.
    assert sorted(p.name for p in out.iterdir()) == [job.dest.name for job in jobs[:3]]


@pytest.mark.parametrize("size", [5, 10 * CHUNK + 9])  # one small file; a large one
def test_a_file_with_the_longest_name_downloads(
    user: User, local: LocalFile, tmp_path: Path, size: int
) -> None:
    """Its temporary copy's name (hidden, with a token and a suffix) still fits in 255
    bytes: the name in it is cut."""
    name = "é" * 127 + "a"  # 255 bytes of UTF-8
    data = os.urandom(size)
    drive = user.drive
    entry = put(drive, local(data=data), drive.root(), name)
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    out = tmp_path / "out"
    out.mkdir()
    job = SmallJob(entry.record.version, entry.version, out / name)
    if size <= CHUNK:
        Downloader(drive.api).small_files([job])
    else:
        Downloader(drive.api).to_file(job.record, job.info, job.dest)
    assert (out / name).read_bytes() == data
    assert [p.name for p in out.iterdir()] == [name]


def test_a_temporary_name_fits_in_a_file_name() -> None:
    for name in ("f.txt", "n" * 255, "é" * 127 + "a", "\U0001f600" * 63 + "abc"):
        tmp = download._temporary_name(Path("/x") / name)
        assert tmp.parent == Path("/x")
        encoded = os.fsencode(tmp.name)
        assert len(encoded) <= 255
        assert tmp.name.startswith(".") and tmp.name.endswith(".coffre-part")
    assert download._temporary_name(Path("f.txt")).name.startswith(".f.txt.")


def _disk_full(*_args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fails_at(call: int, real: Callable[..., None], error: int) -> Callable[..., None]:
    """``real``, except that its ``call``-th call (from 1) and every one after raise an
    OSError of ``error``."""
    calls = 0

    def failing(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls >= call:
            raise OSError(error, os.strerror(error))
        real(*args)

    return failing


def test_a_full_disk_stops_a_large_download_with_a_local_error_and_no_file(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (or any error of the local file system) is the command line's one-line
    local error naming the file, not an internal error; the temporary file goes."""
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(10 * CHUNK + 9))
    entry = put(user.drive, source, user.drive.root(), "f.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(download, "_pwrite_all", _disk_full)
    monkeypatch.setattr(uncached, "write_at", _disk_full)
    with pytest.raises(LocalError, match=r"out\.bin: No space left on device"):
        Downloader(user.drive.api, workers=3, range_bytes=3 * CHUNK).to_file(
            entry.record.version, entry.version, out / "out.bin"
        )
    assert list(out.iterdir()) == []


def test_a_full_disk_stops_small_files_with_a_local_error_and_leaves_no_leftovers(
    user: User, local: LocalFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, jobs = _small_jobs(user, local, tmp_path, 9)
    monkeypatch.setattr(download, "SMALL_BATCH_FILES", 3)
    # The fifth write: the second file of the second batch.
    monkeypatch.setattr(download, "_pwrite_all", _fails_at(5, download._pwrite_all, errno.ENOSPC))
    with pytest.raises(LocalError, match=r"No space left on device"):
        Downloader(user.drive.api).small_files(jobs)
    assert sorted(p.name for p in out.iterdir()) == [job.dest.name for job in jobs[:3]]


def test_a_rename_refused_stops_small_files_with_a_local_error_and_no_leftovers(
    user: User, local: LocalFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, jobs = _small_jobs(user, local, tmp_path, 6)
    monkeypatch.setattr(download, "SMALL_BATCH_FILES", 3)
    # The fifth rename: the second file of the second batch.
    monkeypatch.setattr(download.os, "replace", _fails_at(5, os.replace, errno.EROFS))
    with pytest.raises(LocalError, match=r"Read-only file system"):
        Downloader(user.drive.api).small_files(jobs)
    # The first batch and the second's first file are in place; no temporary file stays.
    assert sorted(p.name for p in out.iterdir()) == [job.dest.name for job in jobs[:4]]


def test_sync_files_without_syncfs_fsyncs_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [tmp_path / f"f{i}" for i in range(3)]
    for path in paths:
        path.write_bytes(b"x")
    synced: list[int] = []
    monkeypatch.setattr(disk, "_syncfs", None)
    monkeypatch.setattr(os, "fsync", synced.append)
    disk.sync_files(paths)
    assert len(synced) == 3


def test_sync_files_and_writeback_on_real_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"y" * 10_000, 0)
        disk.start_writeback(fd, 0, 10_000)
        disk.start_writeback(fd, 0, 0)
        disk.settle(fd, 0, 4096)
        disk.settle(fd, 0, 0)
    finally:
        os.close(fd)
    disk.sync_files([path])
    assert path.read_bytes() == b"y" * 10_000
    with pytest.raises(FileNotFoundError):
        disk.sync_files([tmp_path / "gone" / "f"])


def test_a_large_download_lets_what_is_on_disk_leave_the_page_cache(
    user: User, local: LocalFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written the ordinary way (where the file system takes no direct writes), each chunk
    written settles the one SETTLE_BEHIND bytes before it: every chunk but the last few,
    each once, and the file is whole."""
    monkeypatch.setattr(uncached, "direct_writes", lambda fd: False)
    monkeypatch.setattr(download, "SETTLE_BEHIND", 2 * CHUNK)
    settled: list[tuple[int, int]] = []
    real = disk.settle

    def settle(fd: int, offset: int, length: int) -> None:
        settled.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr(disk, "settle", settle)
    data = os.urandom(9 * CHUNK + 5)
    entry = put(user.drive, local(data=data), user.drive.root(), "big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    dest = tmp_path / "out.bin"
    Downloader(user.drive.api, workers=3).to_file(entry.record.version, entry.version, dest)
    assert dest.read_bytes() == data
    assert sorted(settled) == [(i * CHUNK, CHUNK) for i in range(8)]


def _download(user: User, tmp_path: Path, data: bytes, chunk_size: int = CHUNK) -> Path:
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    entry = put(user.drive, source, user.drive.root(), "f.bin", chunk_size=chunk_size)
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    dest = tmp_path / "out.bin"
    Downloader(user.drive.api, workers=3, range_bytes=3 * chunk_size).to_file(
        entry.record.version, entry.version, dest
    )
    assert dest.stat().st_size == len(data)
    assert dest.stat().st_mtime_ns // 1_000_000 == entry.version.mtime_ms
    return dest


@pytest.mark.skipif(
    not uncached.available() or sys.platform != "linux", reason="O_DIRECT and mincore(2)"
)
@pytest.mark.parametrize("size", [CHUNK - 3, 7 * CHUNK, 7 * CHUNK + 1, 11 * CHUNK + CHUNK // 2])
def test_a_download_is_written_around_the_page_cache(user: User, tmp_path: Path, size: int) -> None:
    """Each chunk goes to the disk from the worker's buffer (the last padded to a block,
    then the file cut to its size): nothing of the file is left in the page cache."""
    data = os.urandom(size)
    dest = _download(user, tmp_path, data)
    assert not cached(dest)
    assert dest.read_bytes() == data


@pytest.mark.skipif(not uncached.available(), reason="no O_DIRECT here")
def test_a_direct_download_allocates_the_whole_file_before_any_write(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every block is allocated before the workers write (ext4 lets direct writes into
    allocated blocks overlap, and serialises those into a hole); then the file is cut to
    its size."""
    events: list[str] = []
    real_reserve, real_write = uncached.reserve, uncached.write_at

    def reserve(fd: int, size: int) -> None:
        events.append(f"reserve {size}")
        real_reserve(fd, size)
        assert os.fstat(fd).st_blocks * 512 >= uncached.round_up(size)

    def write_at(fd: int, view: memoryview, offset: int) -> None:
        events.append("write")
        real_write(fd, view, offset)

    monkeypatch.setattr(uncached, "reserve", reserve)
    monkeypatch.setattr(uncached, "write_at", write_at)
    data = os.urandom(5 * CHUNK + 9)
    dest = _download(user, tmp_path, data)
    assert dest.read_bytes() == data and dest.stat().st_size == len(data)
    assert events[0] == f"reserve {len(data)}" and events[1:] == ["write"] * 6


def test_a_file_system_refusing_direct_writes_is_written_the_ordinary_way(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(fd: int, flag: int, *value: int) -> int:
        if flag == fcntl.F_SETFL and value and value[0] & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, flag, *value)

    real = fcntl.fcntl
    monkeypatch.setattr(fcntl, "fcntl", refuse)
    data = os.urandom(6 * CHUNK + 9)
    assert _download(user, tmp_path, data).read_bytes() == data


def test_a_direct_write_refused_after_all_carries_on_the_ordinary_way(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[int] = []

    def refuse(fd: int, view: memoryview, offset: int) -> None:
        tries.append(offset)
        raise uncached.Refused

    monkeypatch.setattr(uncached, "write_at", refuse)
    data = os.urandom(10 * CHUNK + 9)
    assert _download(user, tmp_path, data).read_bytes() == data
    # Tried until a worker was refused; those already decrypting when it was tried too.
    assert 1 <= len(tries) <= 3 if uncached.available() else tries == []


def test_chunks_not_on_block_boundaries_are_written_the_ordinary_way(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[int] = []
    monkeypatch.setattr(uncached, "direct_writes", lambda fd: bool(tried.append(fd)))
    data = os.urandom(9 * 3000 + 1)
    assert _download(user, tmp_path, data, chunk_size=3000).read_bytes() == data
    assert tried == []


class Together:
    """A chunk reader that answers ranges only once ``count`` of them are asked at once."""

    def __init__(self, inner: download.ChunkReader, count: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(count, timeout=30)

    def get_chunk(self, version_id: str, index: int) -> bytes:
        return self.inner.get_chunk(version_id, index)

    def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
        self.barrier.wait()
        return self.inner.get_chunks_into(version_id, first, count, into)

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]:
        return self.inner.small_chunks(version_ids)


def test_a_large_file_s_ranges_are_fetched_by_range_workers_at_once(
    user: User, local: LocalFile, tmp_path: Path
) -> None:
    data = os.urandom(6 * CHUNK)
    entry = put(user.drive, local(data=data), user.drive.root(), "big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    reader = Together(user.drive.api, 3)  # 6 chunks, 2 a range: 3 ranges, all at once
    Downloader(reader, workers=1, range_workers=3, range_bytes=2 * CHUNK).to_file(
        entry.record.version, entry.version, tmp_path / "big.bin"
    )
    assert (tmp_path / "big.bin").read_bytes() == data
