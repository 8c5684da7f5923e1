"""Uploads and downloads through the library: sizes, versions, batches, progress, failures."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client import download
from coffre.client.download import Downloader
from coffre.client.download import SmallJob as SmallDownload
from coffre.client.drive import Drive, Entry
from coffre.client.upload import SMALL_BATCH_FILES, SmallJob, Uploader
from coffre.crypto import stream as cs
from coffre.errors import Conflict, IntegrityError, LocalError, NotFound
from tests.blob_files import unpack
from tests.client.helpers import CHUNK, blob_files, fetch, put
from tests.conftest import User

LocalFile = Callable[..., Path]


class Tally:
    """A progress callback that adds up what it is told, from any thread."""

    def __init__(self) -> None:
        self.total = 0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self._lock:
            self.total += n
            self.calls += 1


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([0, 1, CHUNK - 1, CHUNK], id="one-chunk"),
        pytest.param([CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 37 * CHUNK + 123], id="many-chunks"),
    ],
)
def test_files_of_every_size_round_trip(
    user: User, local: LocalFile, tmp_path: Path, sizes: list[int]
) -> None:
    drive = user.drive
    folder = drive.makedirs("sizes")
    sent: dict[str, bytes] = {}
    for size in sizes:
        path = local(size)
        sent[f"{size}.bin"] = path.read_bytes()
        entry = put(drive, path, folder, f"{size}.bin")
        assert entry.size == size
        assert entry.record is not None and entry.record.version is not None
        record = entry.record.version
        assert record.chunk_size == CHUNK
        assert record.chunk_count == cs.chunk_count(size, CHUNK)
        assert record.size == cs.ciphertext_size(size, CHUNK)
        assert entry.version is not None and entry.version.media_type == "application/octet-stream"

    out = tmp_path / "out"
    out.mkdir()
    for entry in drive.children(folder):
        assert fetch(drive, entry) == sent[entry.name]
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        dest = out / entry.name
        Downloader(drive.api, workers=3).to_file(entry.record.version, entry.version, dest)
        assert dest.read_bytes() == sent[entry.name]
        assert dest.stat().st_mtime_ns // 1_000_000 == entry.version.mtime_ms
    assert sorted(p.name for p in out.iterdir()) == sorted(sent)


def test_an_empty_file(user: User, local: LocalFile, tmp_path: Path) -> None:
    drive = user.drive
    entry = put(drive, local(0), drive.root(), "empty.txt")
    assert entry.size == 0
    assert entry.version is not None and entry.version.media_type == "text/plain"
    assert entry.record is not None and entry.record.version is not None
    assert (entry.record.version.chunk_count, entry.record.version.size) == (1, 16)
    dest = tmp_path / "empty.txt"
    Downloader(drive.api).to_file(entry.record.version, entry.version, dest)
    assert dest.exists() and dest.read_bytes() == b""


def test_a_new_upload_to_an_existing_name_is_a_new_version(
    user: User, local: LocalFile, tmp_path: Path
) -> None:
    drive = user.drive
    root = drive.root()
    old, new, newest = os.urandom(3 * CHUNK + 5), os.urandom(100), os.urandom(5 * CHUNK)
    first = put(drive, local(data=old), root, "report.pdf")
    second = put(drive, local(data=new), root, "report.pdf", existing=first)
    assert second.id == first.id
    assert second.record is not None and second.record.versions == 2
    assert fetch(drive, second) == new
    third = put(drive, local(data=newest), root, "report.pdf", existing=second)
    assert fetch(drive, third) == newest

    versions = drive.versions(third)
    assert [record.number for record, _ in versions] == [1, 2, 3]
    assert [info.size for _, info in versions] == [len(old), len(new), len(newest)]
    assert all(info.media_type == "application/pdf" for _, info in versions)
    record, info = versions[0]
    dest = tmp_path / "old.pdf"
    Downloader(drive.api).to_file(record, info, dest)
    assert dest.read_bytes() == old

    drive.api.delete_version(versions[1][0].id)
    assert [r.number for r, _ in drive.versions(third)] == [1, 3]
    assert fetch(drive, drive.resolve("report.pdf")) == newest
    # Uploading onto a folder's name is refused.
    folder = drive.mkdir(root, "folder")
    with pytest.raises(Conflict) as caught:
        Uploader(drive, chunk_size=CHUNK).put(local(1), root, "folder", folder)
    assert caught.value.code == "name_taken"


def test_hundreds_of_small_files_in_batches(user: User, local: LocalFile) -> None:
    drive = user.drive
    folder = drive.makedirs("many")
    count = SMALL_BATCH_FILES + 100
    jobs: list[SmallJob] = []
    data: dict[str, bytes] = {}
    for i in range(count):
        name = f"f{i:04d}.txt"
        path = local(i % 50, name=name)
        data[name] = path.read_bytes()
        jobs.append(SmallJob(path, folder, name, None))
    tally = Tally()
    Uploader(drive, chunk_size=CHUNK, progress=tally).put_small(jobs)
    assert tally.total == sum(len(d) for d in data.values())

    listed = drive.children(folder)
    assert [e.name for e in listed] == sorted(data)
    for entry in listed[:: count // 7]:
        assert fetch(drive, entry) == data[entry.name]
    assert all(e.size == len(data[e.name]) for e in listed)
    # New versions of many at once.
    update = [
        SmallJob(local(data=b"v2", name=f"u{i}"), folder, e.name, e)
        for i, e in enumerate(listed[:20])
    ]
    Uploader(drive, chunk_size=CHUNK).put_small(update)
    again = drive.children(folder)
    assert [e.record.versions for e in again[:21] if e.record] == [2] * 20 + [1]
    assert fetch(drive, again[0]) == b"v2"


def test_progress_adds_up_to_the_size(user: User, local: LocalFile) -> None:
    drive = user.drive
    for size in (0, 1000, CHUNK, CHUNK + 1, 9 * CHUNK + 7):
        up = Tally()
        uploader = Uploader(drive, chunk_size=CHUNK, progress=up, workers=3)
        uploader.put(local(size), drive.root(), f"p{size}")
        assert up.total == size
        entry = drive.resolve(f"p{size}")
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        down = Tally()
        chunks: list[bytes] = []
        Downloader(drive.api, progress=down).stream(
            entry.record.version, entry.version, chunks.append
        )
        assert down.total == size
        assert len(chunks) == cs.chunk_count(size, CHUNK) == down.calls


def _large(user: User, local: LocalFile) -> tuple[Entry, bytes]:
    data = os.urandom(6 * CHUNK + 11)
    return put(user.drive, local(data=data), user.drive.root(), "big.bin"), data


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_download_with_a_missing_chunk_leaves_no_file(
    user: User, local: LocalFile, tmp_path: Path, blob_dir: Path
) -> None:
    entry, _ = _large(user, local)
    assert entry.version is not None and entry.record is not None
    assert entry.record.version is not None
    content = entry.version.content_id.hex()
    unpack(blob_dir, content)
    lost = blob_dir / content[:2] / content / "4"
    assert lost.is_file()
    lost.unlink()
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "big.bin"
    with pytest.raises(NotFound) as caught:
        Downloader(user.drive.api, workers=2).to_file(entry.record.version, entry.version, dest)
    assert caught.value.code == "chunk_missing"
    assert _leftovers(out) == []


def test_a_range_announces_its_length(user: User, local: LocalFile) -> None:
    """The length of a ranged answer is known from the stored chunks' sizes: it is sent
    as Content-Length, not in chunked transfer coding."""
    entry, data = _large(user, local)
    assert entry.record is not None and entry.record.version is not None
    path = f"/v1/versions/{entry.record.version.id}/chunks"
    answer = user.drive.api.request("GET", path, params={"first": 5, "count": 2})
    assert "transfer-encoding" not in answer.headers
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert len(answer.content) == CHUNK + cs.TAG_SIZE + len(data) - 6 * CHUNK + cs.TAG_SIZE


@pytest.mark.parametrize("index", [0, 4])
def test_a_download_of_a_chunk_of_the_wrong_size_leaves_no_file(
    user: User, local: LocalFile, tmp_path: Path, blob_dir: Path, index: int
) -> None:
    """A stored chunk cut short, wherever it is in its range: the answer announces the
    length the server holds, the client expects another, and no file is left."""
    entry, _ = _large(user, local)
    assert entry.version is not None and entry.record is not None
    assert entry.record.version is not None
    content = entry.version.content_id.hex()
    unpack(blob_dir, content)
    chunk = blob_dir / content[:2] / content / str(index)
    chunk.write_bytes(chunk.read_bytes()[:-1])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError):
        Downloader(user.drive.api).to_file(entry.record.version, entry.version, out / "big.bin")
    assert _leftovers(out) == []


def test_a_download_of_changed_data_leaves_no_file(
    user: User, local: LocalFile, tmp_path: Path, blob_dir: Path
) -> None:
    entry, data = _large(user, local)
    assert entry.version is not None and entry.record is not None
    assert entry.record.version is not None
    content = entry.version.content_id.hex()
    unpack(blob_dir, content)
    chunk = blob_dir / content[:2] / content / "6"
    raw = bytearray(chunk.read_bytes())
    raw[0] ^= 1
    chunk.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()
    (out / "big.bin").write_bytes(b"an older file stays as it was")
    with pytest.raises(IntegrityError):
        Downloader(user.drive.api).to_file(entry.record.version, entry.version, out / "big.bin")
    assert _leftovers(out) == ["big.bin"]
    assert (out / "big.bin").read_bytes() == b"an older file stays as it was"
    # Streamed one chunk a request, everything before the bad chunk was released, but
    # nothing after it (with ranges, nothing of the bad chunk's range either).
    received: list[bytes] = []
    with pytest.raises(IntegrityError):
        Downloader(user.drive.api, workers=1, range_bytes=0).stream(
            entry.record.version, entry.version, received.append
        )
    assert b"".join(received) == data[: 6 * CHUNK]


def test_nothing_is_sent_twice_for_a_copy(user: User, local: LocalFile, blob_dir: Path) -> None:
    entry, data = _large(user, local)
    before = blob_files(blob_dir)
    user.drive.copy(entry, user.drive.root(), "big-copy.bin")
    assert blob_files(blob_dir) == before
    assert fetch(user.drive, user.drive.resolve("big-copy.bin")) == data


def small_downloads(drive: Drive, folder: Entry, out: Path) -> list[SmallDownload]:
    """A download job for each file in ``folder``, into the new folder ``out``."""
    out.mkdir()
    jobs = []
    for entry in drive.children(folder):
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        jobs.append(SmallDownload(entry.record.version, entry.version, out / entry.name))
    return jobs


def test_many_small_files_download_together(user: User, local: LocalFile, tmp_path: Path) -> None:
    drive = user.drive
    folder = drive.makedirs("batch")
    sizes = [0, 1, 100, CHUNK - 1, CHUNK]
    jobs = [
        SmallJob(local(size, name=f"s{i}"), folder, f"s{i}", None)
        for i, size in enumerate(sizes * 30)
    ]
    Uploader(drive, chunk_size=CHUNK).put_small(jobs)
    out = tmp_path / "back"
    downloads = small_downloads(drive, folder, out)
    tally = Tally()
    Downloader(drive.api, progress=tally).small_files(downloads)
    for job in jobs:
        assert (out / job.name).read_bytes() == job.local.read_bytes()
    assert tally.total == sum(sizes) * 30


def test_a_small_file_that_cannot_be_read_stops_the_batches_at_its_own(
    user: User, local: LocalFile
) -> None:
    """The batches before the bad file's are stored (their requests were answered), its
    own and those after are not, and progress counts what was sealed."""
    drive = user.drive
    folder = drive.makedirs("stops")
    jobs = [
        SmallJob(local(10, name=f"g{i:04d}"), folder, f"g{i:04d}", None)
        for i in range(SMALL_BATCH_FILES + 50)
    ]
    jobs[SMALL_BATCH_FILES + 10].local.unlink()
    tally = Tally()
    with pytest.raises(LocalError, match="No such file"):
        Uploader(drive, chunk_size=CHUNK, progress=tally).put_small(jobs)
    stored = [e.name for e in drive.children(folder)]
    assert stored == [job.name for job in jobs[:SMALL_BATCH_FILES]]
    assert tally.total == 10 * (SMALL_BATCH_FILES + 10)


def test_small_files_are_fetched_only_a_few_batches_ahead_of_the_disk(
    user: User, local: LocalFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many small files there are, memory holds a bounded number of batches: a
    batch is fetched only once all but the last few before it are in place on disk."""
    monkeypatch.setattr(download, "SMALL_BATCH_FILES", 5)
    drive = user.drive
    folder = drive.makedirs("ahead")
    count, workers = 120, 3
    Uploader(drive, chunk_size=CHUNK).put_small(
        [SmallJob(local(7, name=f"a{i:03d}"), folder, f"a{i:03d}", None) for i in range(count)]
    )
    out = tmp_path / "out"
    jobs = small_downloads(drive, folder, out)
    # By batch number: fetchers run at once, so the order they start in is not theirs.
    placed_when_fetched: dict[int, int] = {}

    class Watched(Downloader):
        def _fetch_small(self, batch: list[SmallDownload]) -> list[tuple[SmallDownload, bytes]]:
            placed = sum(1 for job in jobs if job.dest.exists())
            placed_when_fetched[jobs.index(batch[0]) // 5] = placed
            return super()._fetch_small(batch)

    Watched(drive.api, workers=workers).small_files(jobs)
    assert sorted(placed_when_fetched) == list(range(count // 5))
    for batch, placed in placed_when_fetched.items():
        # Batch k is asked for once batch k - workers - 2 is committed, at the latest.
        assert placed >= 5 * (batch - workers - 2) + 5 or batch < workers + 2
    assert sorted(p.name for p in out.iterdir()) == sorted(job.dest.name for job in jobs)
