"""Chunks to and from the object store with presigned URLs (coffre.client.direct).

A real HTTP server on a socket plays the store, and misbehaves as a store (or whoever the
server points the client at) can: errors, refusals of an expired URL, answers of the
wrong length, a store that cannot be reached.
"""

from __future__ import annotations

import http.server
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client.direct import Direct, Storage, UrlExpired, Urls
from coffre.client.download import Downloader
from coffre.errors import ConnectionFailed, IntegrityError, NotFound, ServiceUnavailable
from coffre.protocol import models as m
from tests.client.helpers import CHUNK, put
from tests.client.http_server import Server, body, serving, url
from tests.conftest import User

SIGNED = "X-Amz-Signature=ab%2Fcd&X-Amz-Expires=60"


def chunk_url(server: Server, index: int = 0, **headers: str) -> m.ChunkUrl:
    return m.ChunkUrl(index=index, url=f"{url(server)}/bucket/c{index}?{SIGNED}", headers=headers)


def urls_of(server: Server, count: int, asked: list[list[int]] | None = None) -> Urls:
    """URLs for chunks 0 .. count - 1 on ``server``, as the API would hand them out."""

    def fetch(indexes: list[int]) -> m.ChunkUrls:
        if asked is not None:
            asked.append(indexes)
        return m.ChunkUrls(urls=[chunk_url(server, i) for i in indexes], expires=time.time() + 600)

    return Urls(fetch, range(count))


def stored(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("content-length", "0")
    handler.end_headers()


def test_chunks_go_with_the_urls_query_and_headers_and_no_token() -> None:
    data = bytes(range(256)) * 16
    with serving(body(data)) as server:
        storage = Storage(retry_for=0)
        buffer = bytearray(len(data))
        for _ in range(2):
            assert storage.get_into(chunk_url(server), memoryview(buffer)) == len(data)
        storage.close()
    assert bytes(buffer) == data
    assert server.paths == [f"/bucket/c0?{SIGNED}"] * 2
    assert server.connections == 1
    assert not any("authorization" in head or "cookie" in head for head in server.heads)


def test_a_chunk_is_sent_from_the_callers_buffer_with_the_signed_headers() -> None:
    buffer = bytearray(b"xy" * 1000)
    with serving(stored) as server:
        storage = Storage(retry_for=0)
        storage.put(chunk_url(server, 3, **{"if-none-match": "*"}), memoryview(buffer)[10:])
        storage.close()
    assert server.paths == [f"/bucket/c3?{SIGNED}"]
    assert [b for _type, b in server.bodies] == [bytes(buffer[10:])]
    assert server.heads[0]["if-none-match"] == "*"
    assert server.heads[0]["content-length"] == str(len(buffer) - 10)


def test_a_chunk_already_there_is_stored() -> None:
    """412: a PUT repeated after its answer was lost (the server checks sizes at commit)."""
    with serving(body(b"", status=412)) as server:
        storage = Storage(retry_for=0)
        storage.put(chunk_url(server), b"abc")
        storage.close()


def test_a_store_error_is_retried_until_it_answers() -> None:
    calls: list[int] = []

    def flaky(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        body(b"busy", status=503)(handler) if len(calls) < 3 else body(b"chunk")(handler)

    with serving(flaky) as server:
        storage = Storage(retry_for=10)
        buffer = bytearray(5)
        assert storage.get_into(chunk_url(server), memoryview(buffer)) == 5
        storage.close()
    assert bytes(buffer) == b"chunk" and len(calls) == 3


def test_a_store_that_keeps_failing_is_unavailable() -> None:
    with serving(body(b"down", status=500)) as server:
        storage = Storage(retry_for=0)
        with pytest.raises(ServiceUnavailable, match="answered 500"):
            storage.get_into(chunk_url(server), memoryview(bytearray(4)))
        with pytest.raises(ServiceUnavailable, match="answered 500"):
            storage.put(chunk_url(server), b"x")
        storage.close()


def test_a_store_out_of_reach_is_a_connection_failure() -> None:
    with serving(stored) as server:
        gone = chunk_url(server)
    storage = Storage(retry_for=0)
    with pytest.raises(ConnectionFailed, match="object store"):
        storage.get_into(gone, memoryview(bytearray(1)))
    storage.close()


def test_a_lost_chunk_is_chunk_missing() -> None:
    with serving(body(b"NoSuchKey", status=404)) as server:
        storage = Storage(retry_for=0)
        with pytest.raises(NotFound) as raised:
            storage.get_into(chunk_url(server), memoryview(bytearray(4)))
        storage.close()
    assert raised.value.code == "chunk_missing"


def test_a_store_answer_that_makes_no_sense_is_an_integrity_error() -> None:
    with serving(body(b"", status=302)) as server:
        storage = Storage(retry_for=0)
        with pytest.raises(IntegrityError, match="302"):
            storage.get_into(chunk_url(server), memoryview(bytearray(4)))
        storage.close()


def test_a_url_with_no_host_is_refused_before_any_request() -> None:
    storage = Storage(retry_for=0)
    with pytest.raises(IntegrityError, match="presigned"):
        storage.get_into(m.ChunkUrl(index=0, url="http:///c0"), memoryview(bytearray(1)))


def test_a_refused_url_is_asked_for_again_once() -> None:
    """403 (expired, or a signature that no longer holds): a new URL is fetched and used;
    refused again, the transfer stops."""
    calls: list[int] = []

    def expires_once(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        body(b"expired", status=403)(handler) if len(calls) == 1 else body(b"data")(handler)

    asked: list[list[int]] = []
    with serving(expires_once) as server:
        direct = Direct(urls_of(server, 2, asked), Storage(retry_for=0))
        buffer = bytearray(4)
        assert direct.get_into(1, memoryview(buffer)) == 4
        direct.storage.close()
    assert bytes(buffer) == b"data"
    assert asked == [[1], [1]]

    with serving(body(b"expired", status=403)) as server:
        direct = Direct(urls_of(server, 2), Storage(retry_for=0))
        with pytest.raises(ServiceUnavailable, match="twice"):
            direct.get_into(0, memoryview(bytearray(4)))
        with pytest.raises(UrlExpired):
            direct.storage.put(chunk_url(server), b"x")
        direct.storage.close()


def test_no_urls_send_the_chunk_to_the_api() -> None:
    direct = Direct(Urls(lambda _i: m.ChunkUrls(urls=[], expires=0.0), [0]), Storage())
    assert direct.get_into(0, memoryview(bytearray(1))) is None
    assert direct.put(0, b"x") is False
    direct.storage.close()


def test_a_longer_answer_says_so() -> None:
    with serving(body(b"x" * 100)) as server:
        storage = Storage(retry_for=0)
        assert storage.get_into(chunk_url(server), memoryview(bytearray(60))) > 60
        storage.close()


def _store(chunks: dict[int, bytes]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """A store that answers ``/bucket/c{index}`` with ``chunks[index]``."""

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        index = int(handler.path.split("?")[0].removeprefix("/bucket/c"))
        body(chunks[index])(handler)

    return answer


@pytest.mark.parametrize("tamper", ["none", "swap", "flip", "cut", "longer"])
def test_a_download_from_a_store_that_tampers_leaves_no_file(
    user: User,
    local: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tamper: str,
) -> None:
    """The server may point the client at any store: what comes back is authenticated
    chunk by chunk (a swapped, altered, cut or lengthened chunk fails), and nothing is put
    in place unless every chunk holds."""
    data = os.urandom(3 * CHUNK + 5)
    entry = put(user.drive, local(data=data), user.drive.root(), "big.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    api = user.drive.api
    version = entry.record.version
    chunks = {i: api.get_chunk(version.id, i) for i in range(4)}
    if tamper == "swap":
        chunks[1], chunks[2] = chunks[2], chunks[1]
    elif tamper == "flip":
        chunks[2] = chunks[2][:7] + bytes([chunks[2][7] ^ 1]) + chunks[2][8:]
    elif tamper == "cut":
        chunks[3] = chunks[3][:-1]
    elif tamper == "longer":
        chunks[0] += b"!"
    out = tmp_path / "out"
    out.mkdir()
    with serving(_store(chunks)) as server:
        monkeypatch.setattr(
            api,
            "download_urls",
            lambda _v, first, count: m.ChunkUrls(
                urls=[chunk_url(server, i) for i in range(first, first + count)],
                expires=time.time() + 600,
            ),
        )
        downloader = Downloader(api)
        if tamper == "none":
            downloader.to_file(version, entry.version, out / "big.bin")
            assert (out / "big.bin").read_bytes() == data
            assert sorted(server.paths) == [f"/bucket/c{i}?{SIGNED}" for i in range(4)]
            return
        with pytest.raises(IntegrityError):
            downloader.to_file(version, entry.version, out / "big.bin")
    assert list(out.iterdir()) == []
