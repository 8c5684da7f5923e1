"""Ranged transfers (several chunks per request) give the server no more room than single ones.

Elsewhere in tests/malicious the client moves one chunk per request, so that rules can name
chunks by path; here it moves ranges, and the server rewrites whole range answers (A5).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from coffre.client import download, upload
from coffre.errors import IntegrityError
from tests.malicious.conftest import CHUNK, Victim

RANGE = r"/v1/versions/\w+/chunks"
SIZE = 6 * CHUNK + 123
SEALED = CHUNK + 16


@pytest.fixture(autouse=True)
def ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "RANGE_BYTES", 3 * CHUNK)
    monkeypatch.setattr(download, "RANGE_BYTES", 3 * CHUNK)


def swap_first_two(data: bytes) -> bytes:
    return data[SEALED : 2 * SEALED] + data[:SEALED] + data[2 * SEALED :]


def drop_last(data: bytes) -> bytes:
    return data[:-SEALED] if len(data) > SEALED else data[:-1]


def repeat_first(data: bytes) -> bytes:
    return data[:SEALED] + data[: len(data) - SEALED]


def append(data: bytes) -> bytes:
    return data + os.urandom(SEALED)


def test_ranges_move_several_chunks_per_request(victim: Victim) -> None:
    data = os.urandom(SIZE)
    entry = victim.upload("f.bin", data)
    puts = victim.server.requests("PUT", r"/v1/uploads/\w+/chunks$")
    assert puts  # ranged PUTs were used
    assert victim.download(entry).read_bytes() == data
    assert victim.server.requests("GET", RANGE + "$")


@pytest.mark.parametrize("tamper", [swap_first_two, drop_last, repeat_first, append])
def test_a5_a_rewritten_range_is_refused(victim: Victim, tamper: Callable[[bytes], bytes]) -> None:
    entry = victim.upload("f.bin", os.urandom(SIZE))
    victim.server.on_bytes("GET", RANGE + "$", lambda data, _x: tamper(data), times=1)
    with pytest.raises(IntegrityError):
        victim.download(entry)
    assert victim.leftovers() == []


def test_a7_small_files_swapped_in_a_batch_answer_are_refused(victim: Victim) -> None:
    """The server answers a batch of small chunks with one file's chunk for another's."""
    a = victim.upload("a.txt", b"alpha" * 10)
    b = victim.upload("b.txt", b"bravo" * 10)
    jobs = []
    for entry in (a, b):
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        jobs.append(
            download.SmallJob(entry.record.version, entry.version, victim.downloads / entry.name)
        )

    def swap(body: dict[str, Any], _x: object) -> dict[str, Any]:
        first, second = body["chunks"]
        first["data"], second["data"] = second["data"], first["data"]
        return body

    victim.server.on_json("POST", r"/v1/versions/small", swap)
    with pytest.raises(IntegrityError):
        download.Downloader(victim.api).small_files(jobs)
    assert victim.leftovers() == []
