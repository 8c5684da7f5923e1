"""An interrupted upload resumes from its journal: only the missing chunks are sent."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.drive import Drive
from coffre.client.inprocess import InProcessTransport
from coffre.client.upload import Uploader
from coffre.errors import ConnectionFailed, NotFound
from tests.client.helpers import CHUNK, fetch
from tests.conftest import User

LocalFile = Callable[..., Path]
CHUNKS = 20
SIZE = (CHUNKS - 1) * CHUNK + 999
RANGE = 2 * CHUNK  # two chunks per request, so that an upload takes several


def chunk_indexes(request: httpx.Request) -> list[int]:
    """The chunks a chunk PUT carries: one (``/chunks/N``) or a range (``/chunks?first=N``)."""
    path = request.url.path
    if not path.endswith("/chunks"):
        return [int(path.rsplit("/", 1)[1])]
    first = int(request.url.params["first"])
    count = -(-len(request.content) // (CHUNK + 16))
    return list(range(first, first + count))


class Recording(httpx.BaseTransport):
    """The in-process transport, noting each request; chunk PUTs (one chunk or a range of
    them per request) fail after ``fail_after`` requests."""

    def __init__(self, app: FastAPI, fail_after: int | None = None) -> None:
        self.inner = InProcessTransport(app)
        self.fail_after = fail_after
        self.requests: list[tuple[str, str]] = []
        self.chunks_sent: list[int] = []
        self._attempts = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        is_chunk = request.method == "PUT" and "/chunks" in path
        with self._lock:
            self.requests.append((request.method, path))
            if is_chunk:
                self._attempts += 1
                if self.fail_after is not None and self._attempts > self.fail_after:
                    raise httpx.ConnectError("the network went away", request=request)
        response = self.inner.handle_request(request)
        if is_chunk and response.status_code == 204:
            with self._lock:
                self.chunks_sent.extend(chunk_indexes(request))
        return response

    def close(self) -> None:
        self.inner.close()

    def calls(self, method: str, prefix: str) -> list[str]:
        return [p for m, p in self.requests if m == method and p.startswith(prefix)]


Connect = Callable[..., tuple[Recording, Drive]]


@pytest.fixture
def connect(user: User, app: FastAPI, make_api: Callable[..., Api]) -> Connect:
    """Another client of ``user``'s, over a recording transport."""

    def make(fail_after: int | None = None) -> tuple[Recording, Drive]:
        transport = Recording(app, fail_after)
        return transport, Drive(make_api(user.api.token, transport=transport), user.keys)

    return make


def _journals(home: Path) -> list[str]:
    folder = home / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("fail_after", [0, 1, 7, CHUNKS // 2 - 1])
def test_a_resumed_upload_sends_only_the_missing_chunks(
    user: User,
    local: LocalFile,
    connect: Connect,
    coffre_home: Path,
    fail_after: int,
) -> None:
    path = local(SIZE)
    data = path.read_bytes()
    parent = user.drive.makedirs("up")

    first, first_drive = connect(fail_after=fail_after)
    with pytest.raises(ConnectionFailed):
        Uploader(first_drive, chunk_size=CHUNK, workers=4, range_bytes=RANGE).put(
            path, parent, "big.bin"
        )
    assert len(first.chunks_sent) == min(CHUNKS, fail_after * RANGE // CHUNK)
    assert user.drive.child(parent, "big.bin") is None
    journals = _journals(coffre_home)
    assert len(journals) == 2  # the header and the chunk hashes
    upload_id = journals[0].split(".")[0]
    assert user.api.upload_state(upload_id).received == sorted(first.chunks_sent)

    second, second_drive = connect()
    progress: list[int] = []
    uploader = Uploader(second_drive, chunk_size=CHUNK, workers=4, progress=progress.append)
    uploader.put(path, parent, "big.bin")

    missing = set(range(CHUNKS)) - set(first.chunks_sent)
    assert sorted(second.chunks_sent) == sorted(missing)  # each once, none already there
    assert second.calls("POST", "/v1/uploads") == [f"/v1/uploads/{upload_id}/commit"]
    assert second.calls("GET", "/v1/uploads/") == [f"/v1/uploads/{upload_id}"]
    assert sum(progress) == SIZE
    assert _journals(coffre_home) == []

    entry = user.drive.resolve("up/big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.record.version.id == upload_id
    assert entry.record.versions == 1
    assert fetch(user.drive, entry) == data


def test_a_resumed_new_version(
    user: User, local: LocalFile, connect: Connect, coffre_home: Path
) -> None:
    root = user.drive.root()
    path = local(SIZE)
    Uploader(user.drive, chunk_size=CHUNK).put(local(10), root, "doc")
    doc = user.drive.resolve("doc")

    _, first_drive = connect(fail_after=5)
    with pytest.raises(ConnectionFailed):
        Uploader(first_drive, chunk_size=CHUNK, range_bytes=RANGE).put(path, root, "doc", doc)
    second, second_drive = connect()
    Uploader(second_drive, chunk_size=CHUNK).put(path, root, "doc", doc)
    assert len(second.chunks_sent) == CHUNKS - 5 * RANGE // CHUNK
    assert _journals(coffre_home) == []
    doc = user.drive.resolve("doc")
    assert doc.record is not None and doc.record.versions == 2
    assert fetch(user.drive, doc) == path.read_bytes()


def test_a_file_changed_since_the_interruption_starts_over(
    user: User, local: LocalFile, connect: Connect, coffre_home: Path
) -> None:
    path = local(SIZE)
    root = user.drive.root()
    _, first_drive = connect(fail_after=6)
    with pytest.raises(ConnectionFailed):
        Uploader(first_drive, chunk_size=CHUNK, range_bytes=RANGE).put(path, root, "f.bin")
    old_upload = _journals(coffre_home)[0].split(".")[0]

    changed = os.urandom(SIZE + CHUNK)
    path.write_bytes(changed)
    second, second_drive = connect()
    Uploader(second_drive, chunk_size=CHUNK).put(path, root, "f.bin")
    assert second.calls("DELETE", f"/v1/uploads/{old_upload}") == [f"/v1/uploads/{old_upload}"]
    assert len(second.calls("POST", "/v1/uploads")) == 2  # a new start, then its commit
    assert len(second.chunks_sent) == len(set(second.chunks_sent)) == CHUNKS + 1
    with pytest.raises(NotFound):
        user.api.upload_state(old_upload)
    assert _journals(coffre_home) == []
    assert fetch(user.drive, user.drive.resolve("f.bin")) == changed
    assert user.api.usage().uploading == 0


def test_an_upload_the_server_forgot_starts_over(
    user: User, local: LocalFile, connect: Connect, coffre_home: Path
) -> None:
    path = local(SIZE)
    root = user.drive.root()
    _, first_drive = connect(fail_after=3)
    with pytest.raises(ConnectionFailed):
        Uploader(first_drive, chunk_size=CHUNK, range_bytes=RANGE).put(path, root, "f.bin")
    old_upload = _journals(coffre_home)[0].split(".")[0]
    user.api.cancel_upload(old_upload)  # as if it had expired

    second, second_drive = connect()
    Uploader(second_drive, chunk_size=CHUNK).put(path, root, "f.bin")
    assert sorted(second.chunks_sent) == list(range(CHUNKS))
    assert _journals(coffre_home) == []
    entry = user.drive.resolve("f.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.record.version.id != old_upload
    assert fetch(user.drive, entry) == path.read_bytes()
