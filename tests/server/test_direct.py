"""Presigned transfers: with S3 blobs the API hands out URLs and carries no chunk bytes.

The S3 tests run the server in-process against a real SeaweedFS; chunks go to it over
HTTP with the URLs, exactly as clients send them.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.errors import BadRequest, Conflict, NotFound
from coffre.protocol import models as m
from coffre.server.blobs import chunk_key
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.services.transfers import collect
from tests.conftest import BASE
from tests.scaleout import SeaweedFS
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, fake_chunks, sealed


def s3_settings(settings: Settings, weed: SeaweedFS, **changes: object) -> Settings:
    env = weed.env
    values: dict[str, object] = {
        "blobs": f"s3://coffre-test/{secrets.token_hex(6)}",
        "s3_endpoint": env["AWS_ENDPOINT_URL"],
        "s3_access_key": env["AWS_ACCESS_KEY_ID"],
        "s3_secret_key": env["AWS_SECRET_ACCESS_KEY"],
    }
    values.update(changes)
    return replace(settings, **values)  # type: ignore[arg-type]


@pytest.fixture
def s3(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Settings with S3 blobs (for the tests that ask for it by name)."""
    return s3_settings(settings, request.getfixturevalue("seaweedfs"), upload_expiry=40)


def ctx_of(app: FastAPI) -> Context:
    context: Context = app.state.ctx
    return context


def send_direct(account: Account, state: m.UploadState, chunks: list[bytes]) -> list[int]:
    """PUT ``chunks`` (the first ones of the upload) to their URLs; the statuses."""
    urls = account.api.upload_urls(state.id, list(range(len(chunks))))
    assert [u.index for u in urls.urls] == list(range(len(chunks)))
    return [
        httpx.put(url.url, content=data, headers=url.headers).status_code
        for url, data in zip(urls.urls, chunks, strict=True)
    ]


class TestLocalBlobs:
    def test_no_urls_are_offered(self, alice: Account) -> None:
        state = alice.start(3000)
        assert not state.direct
        assert alice.api.upload_urls(state.id, [0, 1]).urls == []
        alice.send_all(state)
        record = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert record.version is not None
        assert alice.api.download_urls(record.version.id, 0, 2).urls == []


class TestS3Blobs:
    @pytest.fixture
    def settings(self, s3: Settings) -> Settings:
        return s3

    def test_chunks_go_to_storage_and_come_back_from_it(self, alice: Account, app: FastAPI) -> None:
        state = alice.start(3000)
        assert state.direct
        chunks = fake_chunks(state)
        assert send_direct(alice, state, chunks) == [200, 200, 200]
        assert alice.api.upload_state(state.id).received == [0, 1, 2]
        record = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert record.version is not None
        urls = alice.api.download_urls(record.version.id, 1, 2)
        assert [u.index for u in urls.urls] == [1, 2]
        assert urls.expires <= time.time() + ctx_of(app).settings.presign_seconds
        assert [httpx.get(u.url, headers=u.headers).content for u in urls.urls] == chunks[1:]
        # The API still serves them too (a client may fall back to it).
        assert alice.api.get_chunks(record.version.id, 0, 3) == b"".join(chunks)

    def test_commit_checks_every_chunk_in_the_store(self, alice: Account, app: FastAPI) -> None:
        state = alice.start(3000)
        chunks = fake_chunks(state)
        assert send_direct(alice, state, chunks[:2]) == [200, 200]
        with pytest.raises(Conflict) as caught:
            alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert caught.value.code == "upload_incomplete"
        # A chunk of the wrong size (written behind the URLs' back) is not a chunk.
        blobs, content_id = ctx_of(app).blobs, _content_id(app, state.id)
        blobs.put(chunk_key(content_id, 2), chunks[2] + b"x")
        with pytest.raises(Conflict):
            alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert 2 not in alice.api.upload_state(state.id).received
        blobs.delete(chunk_key(content_id, 2))
        # The first two are there and cannot be replaced: 412, which clients take as done.
        assert send_direct(alice, state, chunks) == [412, 412, 200]
        alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))

    def test_urls_only_for_ones_own_uploads_and_versions(
        self, alice: Account, bob: Account
    ) -> None:
        state = alice.start(2000)
        with pytest.raises(BadRequest) as bad:
            alice.api.upload_urls(state.id, [0, 2])
        assert bad.value.code == "bad_chunk_index"
        with pytest.raises(NotFound) as other:
            bob.api.upload_urls(state.id, [0])
        assert other.value.code == "upload_not_found"
        send_direct(alice, state, fake_chunks(state))
        record = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
        assert record.version is not None
        with pytest.raises(NotFound) as version:
            bob.api.download_urls(record.version.id, 0, 1)
        assert version.value.code == "version_not_found"
        with pytest.raises(BadRequest):
            alice.api.download_urls(record.version.id, 1, 2)

    def test_small_files_inline_give_no_urls(self, alice: Account) -> None:
        (record,) = alice.api.small_files(m.SmallFilesRequest(files=[alice.small_file(500)]))
        assert record.version is not None
        assert alice.api.download_urls(record.version.id, 0, 1).urls == []

    def test_collection_deletes_the_chunks_from_storage(self, alice: Account, app: FastAPI) -> None:
        state = alice.start(3000)
        send_direct(alice, state, fake_chunks(state))
        content_id = _content_id(app, state.id)
        ctx = ctx_of(app)
        assert ctx.blobs.chunks(content_id) == {0, 1, 2}
        alice.api.cancel_upload(state.id)
        assert collect(ctx) == 3
        assert ctx.blobs.chunks(content_id) == set()

    def test_the_api_carries_no_chunk_of_a_large_file(
        self, app: FastAPI, make_user: Callable[..., object], tmp_path: object
    ) -> None:
        from pathlib import Path

        from coffre.client.download import Downloader
        from coffre.client.upload import Uploader

        seen: list[str] = []

        class Recording(InProcessTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                seen.append(f"{request.method} {request.url.path}")
                return super().handle_request(request)

        user = make_user()
        api = Api(BASE, token=user.api.token, transport=Recording(app), retry_for=0)  # type: ignore[attr-defined]
        try:
            from coffre.client.drive import Drive

            drive = Drive(api, user.keys)  # type: ignore[attr-defined]
            folder = Path(str(tmp_path))
            source = folder / "big.bin"
            source.write_bytes(os.urandom(5 * 1024 + 77))
            Uploader(drive, chunk_size=1024).put(source, drive.root(), "big.bin")
            entry = drive.resolve("/big.bin")
            assert entry.record is not None and entry.record.version is not None
            assert entry.version is not None
            Downloader(api).to_file(entry.record.version, entry.version, folder / "back.bin")
            assert (folder / "back.bin").read_bytes() == source.read_bytes()
        finally:
            api.close()
        assert not [s for s in seen if "/chunks" in s], seen
        assert any(s.endswith("/urls") for s in seen)

    def test_an_unreachable_store_is_a_503(
        self, settings: Settings, make_account: MakeAccount
    ) -> None:
        from coffre.server.app import create_app

        broken = create_app(replace(settings, s3_endpoint="http://127.0.0.1:9"))
        try:
            api = Api(BASE, transport=InProcessTransport(broken), retry_for=0)
            health = api.http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["checks"] == {
                "database": "ok",
                "blobs": "down: storage_unavailable",
            }
            account = make_account(api=api)
            state = account.start(2000)
            response = account.raw("GET", f"/v1/uploads/{state.id}")
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "storage_unavailable"
        finally:
            broken.state.ctx.db.dispose()


def _content_id(app: FastAPI, upload_id: str) -> str:
    from coffre.server.db import tables as t

    with ctx_of(app).db.read() as db:
        return db.get_one(t.Upload, upload_id).content_id
