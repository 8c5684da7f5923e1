"""Reading a file to upload: spans into reused buffers, around the page cache where the
system allows it, the ordinary way where it does not."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre import uncached
from coffre.client.source import Source
from coffre.client.upload import Uploader
from tests.client.helpers import CHUNK, fetch
from tests.conftest import User
from tests.pagecache import cached, drop, refuse_direct_opens

LocalFile = Callable[..., Path]


@pytest.mark.parametrize("chunk_size", [4096, 1000], ids=["aligned", "unaligned"])
def test_spans_hold_the_file_s_bytes_up_to_its_end(tmp_path: Path, chunk_size: int) -> None:
    data = os.urandom(5 * chunk_size + 17)
    path = tmp_path / "f"
    path.write_bytes(data)
    with Source(path, largest=2 * chunk_size, buffers=2, chunk_size=chunk_size) as source:
        for first in range(0, 6, 2):
            span = source.read(first * chunk_size, 2 * chunk_size)
            assert bytes(span.data) == data[first * chunk_size : (first + 2) * chunk_size]
            span.release()


def test_a_buffer_given_back_is_the_next_one_read_into(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(4 * CHUNK))
    with Source(path, largest=CHUNK, buffers=2, chunk_size=CHUNK) as source:
        one, two = source.read(0, CHUNK), source.read(CHUNK, CHUNK)
        assert one.buffer.obj is not two.buffer.obj
        two.release()
        three = source.read(2 * CHUNK, CHUNK)
        assert three.buffer.obj is two.buffer.obj
        assert bytes(three.data) == path.read_bytes()[2 * CHUNK : 3 * CHUNK]
        one.release()
        three.release()


def test_a_span_larger_than_the_buffers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with (
        Source(path, largest=CHUNK, buffers=1, chunk_size=CHUNK) as source,
        pytest.raises(ValueError, match="larger"),
    ):
        source.read(0, 2 * CHUNK)


def test_a_refused_direct_read_is_carried_on_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * CHUNK)
    path = tmp_path / "f"
    path.write_bytes(data)
    refused: list[int] = []

    def refuse(fd: int, view: memoryview, offset: int) -> int:
        refused.append(offset)
        raise uncached.Refused

    monkeypatch.setattr(uncached, "read_into", refuse)
    with Source(path, largest=CHUNK, buffers=1, chunk_size=CHUNK) as source:
        for index in range(3):
            span = source.read(index * CHUNK, CHUNK)
            assert bytes(span.data) == data[index * CHUNK : (index + 1) * CHUNK]
            span.release()
    assert refused == ([0] if uncached.available() else [])  # tried once, then not again


def test_a_file_system_without_direct_reads_is_read_the_ordinary_way(
    user: User, local: LocalFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_direct_opens(monkeypatch)
    path = local(7 * CHUNK + 5)
    drive = user.drive
    Uploader(drive, chunk_size=CHUNK, range_bytes=2 * CHUNK).put(path, drive.root(), "f")
    entry = drive.child(drive.root(), "f")
    assert entry is not None
    assert fetch(drive, entry) == path.read_bytes()


@pytest.mark.skipif(
    not uncached.available() or sys.platform != "linux", reason="O_DIRECT and mincore(2)"
)
def test_an_upload_leaves_the_file_out_of_the_page_cache(user: User, local: LocalFile) -> None:
    path = local(9 * CHUNK + 100)
    drop(path)
    if cached(path):
        pytest.skip("this file system keeps the file cached")
    drive = user.drive
    Uploader(drive, chunk_size=CHUNK, range_bytes=4 * CHUNK).put(path, drive.root(), "f")
    assert not cached(path)
    entry = drive.child(drive.root(), "f")
    assert entry is not None
    assert fetch(drive, entry) == path.read_bytes()
