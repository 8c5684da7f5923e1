"""Small files go up in batches, each sealed while the one before is sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client import upload
from coffre.client.upload import SmallJob, Uploader
from coffre.errors import Conflict, LocalError
from tests.client.helpers import CHUNK, fetch
from tests.conftest import User

LocalFile = Callable[..., Path]


def test_a_refused_batch_stops_the_upload_before_the_next(
    user: User, local: LocalFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "SMALL_BATCH_FILES", 5)
    drive = user.drive
    folder = drive.makedirs("batches")
    Uploader(drive, chunk_size=CHUNK).put(local(data=b"first"), folder, "f07")
    # Batches of five: f00-f04 go in, f05-f09 clash with f07 (all or none), f10-f14 stay.
    jobs = [SmallJob(local(data=b"%d" % i), folder, f"f{i:02d}", None) for i in range(15)]
    with pytest.raises(Conflict) as caught:
        Uploader(drive, chunk_size=CHUNK).put_small(jobs)
    assert caught.value.code == "name_taken"
    listed = drive.children(folder)
    assert [e.name for e in listed] == ["f00", "f01", "f02", "f03", "f04", "f07"]
    assert fetch(drive, listed[-1]) == b"first"
    assert fetch(drive, listed[3]) == b"3"


def test_batches_hold_a_bounded_number_of_bytes(
    user: User, local: LocalFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "SMALL_BATCH_BYTES", 2 * CHUNK)
    drive = user.drive
    sent: list[int] = []
    store_small_files = drive.api.store_small_files

    def counting(request: upload.m.SmallFilesRequest) -> None:
        sent.append(len(request.files))
        store_small_files(request)

    monkeypatch.setattr(drive.api, "store_small_files", counting)
    sizes = [CHUNK, CHUNK, 1, CHUNK - 1, 0, CHUNK, 1]
    jobs = [SmallJob(local(size), drive.root(), f"s{i}", None) for i, size in enumerate(sizes)]
    Uploader(drive, chunk_size=CHUNK).put_small(jobs)
    assert sent == [2, 4, 1]  # 2 * CHUNK bytes fit in a batch, not one more
    assert sorted(e.size for e in drive.children(drive.root())) == sorted(sizes)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_a_small_file_is_read_whole_or_seen_to_be_larger(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path.write_bytes(data)
    st, got = upload._read_small(path, CHUNK + 1)
    assert st.st_size == size
    assert got == data[: CHUNK + 1]


def test_a_small_file_that_grew_after_it_was_listed_is_refused(
    user: User, local: LocalFile
) -> None:
    path = local(data=b"small")
    path.write_bytes(b"x" * (CHUNK + 1))  # it grew between the listing and the upload
    drive = user.drive
    with pytest.raises(LocalError, match="grew while it was being read"):
        Uploader(drive, chunk_size=CHUNK).put_small([SmallJob(path, drive.root(), "g", None)])
    assert drive.children(drive.root()) == []
