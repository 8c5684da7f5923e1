"""Moving an embedded installation to scale-out engines: ``coffre admin migrate-db`` copies
SQLite into PostgreSQL; ``coffre admin migrate-blobs`` copies the blob folder into S3
while reads go on (through ``COFFRE_BLOBS_FALLBACK`` during the switch)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi import FastAPI

from coffre.cli.main import main
from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.protocol import models as m
from coffre.server.app import create_app
from coffre.server.blobs import chunk_key
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import tables as t
from tests.conftest import BASE
from tests.scaleout import Postgres, SeaweedFS
from tests.server.raw import Account, fake_chunks
from tests.server.test_direct import s3_settings


def run(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(list(args)) == 0


def _installation(alice: Account) -> dict[str, object]:
    """Some of everything: nested folders, versions, a copy, the bin, an unfinished upload."""
    top = alice.mkdir()
    inner = alice.mkdir(top.id)
    file = alice.upload(3000, parent_id=inner.id)
    alice.upload(2000, node_id=file.id)
    alice.api.copy(alice.copy_request(file, top.id))
    alice.api.small_files(m.SmallFilesRequest(files=[alice.small_file(300, parent_id=top.id)]))
    alice.api.trash(alice.mkdir(top.id).id)
    pending = alice.start(2500)
    alice.api.put_chunk(pending.id, 0, fake_chunks(pending)[0])
    return {
        "nodes": alice.api.all_nodes(),
        "events": alice.api.events(0),
        "usage": alice.api.usage(),
        "pending": alice.api.upload_state(pending.id),
        "file": file,
    }


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    postgres = Postgres()
    url = postgres.create("coffre_moved")
    try:
        yield url
    finally:
        postgres.drop(url)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_moves_into_postgresql(
    alice: Account,
    app: FastAPI,
    settings: Settings,
    empty_postgres: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _installation(alice)
    env = {"COFFRE_DATABASE_URL": settings.resolved_database_url}
    run(monkeypatch, env, "admin", "migrate-db", "--to", empty_postgres)

    moved = create_app(replace(settings, database_url=empty_postgres))
    try:
        api = Api(BASE, token=alice.api.token, transport=InProcessTransport(moved), retry_for=0)
        assert api.all_nodes() == before["nodes"]
        assert api.events(0) == before["events"]
        assert api.usage() == before["usage"]
        assert api.upload_state(before["pending"].id) == before["pending"]  # type: ignore[attr-defined]
        file = before["file"]
        assert isinstance(file, m.NodeRecord) and file.version is not None
        assert len(api.get_chunks(file.version.id, 0, 3)) == 3048
        # The sequences moved past the copied ids: new rows get new ones.
        api.cancel_upload(before["pending"].id)  # type: ignore[attr-defined]
        ctx: Context = moved.state.ctx
        with ctx.db.read() as db:
            assert db.query(t.Garbage).count() == 1
        api.mkdir(alice.new_node())
    finally:
        moved.state.ctx.db.dispose()
    # A second copy into the same (now filled) database is refused.
    monkeypatch.setenv("COFFRE_DATABASE_URL", settings.resolved_database_url)
    assert main(["admin", "migrate-db", "--to", empty_postgres]) == 2


def test_blobs_move_into_s3_while_reads_go_on(
    alice: Account,
    app: FastAPI,
    settings: Settings,
    seaweedfs: SeaweedFS,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _installation(alice)
    target = s3_settings(settings, seaweedfs)
    env = {
        **seaweedfs.env,
        "COFFRE_DATABASE_URL": settings.resolved_database_url,
        "COFFRE_BLOBS": settings.resolved_blobs,
    }
    # 1. While the server runs on its folder: copy everything.
    run(monkeypatch, env, "admin", "migrate-blobs", "--to", target.blobs)
    # 2. Meanwhile, one more file lands in the folder.
    late = alice.upload(2500)
    # 3. The API processes switch to S3, reading the folder for what is not there yet.
    switched = create_app(replace(target, blobs_fallback=settings.resolved_blobs))
    try:
        api = Api(BASE, token=alice.api.token, transport=InProcessTransport(switched), retry_for=0)
        assert late.version is not None
        assert len(api.get_chunks(late.version.id, 0, 3)) == 2548  # from the folder
        file = before["file"]
        assert isinstance(file, m.NodeRecord) and file.version is not None
        assert len(api.get_chunks(file.version.id, 0, 3)) == 3048  # from S3
        new = Account(**{**alice.__dict__, "api": api})
        fresh = new.upload(1500)  # written to S3
        # 4. A second run copies what was written in between, and nothing else.
        run(
            monkeypatch,
            {**env, "COFFRE_BLOBS": target.blobs, "COFFRE_BLOBS_FALLBACK": settings.resolved_blobs},
            "admin",
            "migrate-blobs",
            "--to",
            target.blobs,
        )
        s3_only = create_app(target)
        try:
            ctx: Context = s3_only.state.ctx
            with ctx.db.read() as db:
                contents = [c for c in db.query(t.Content).all() if c.inline is None] + db.query(
                    t.Upload
                ).all()
            for content in contents:
                cid = content.id if isinstance(content, t.Content) else content.content_id
                assert ctx.blobs.chunks(cid), cid
            s3_api = Api(
                BASE, token=alice.api.token, transport=InProcessTransport(s3_only), retry_for=0
            )
            assert fresh.version is not None
            for record in (late, fresh):
                assert record.version is not None
                data = s3_api.get_chunks(record.version.id, 0, record.version.chunk_count)
                assert len(data) == record.version.size
            assert s3_api.get_chunk(late.version.id, 0) == _local(settings, ctx, late)
        finally:
            s3_only.state.ctx.db.dispose()
    finally:
        switched.state.ctx.db.dispose()


def _local(settings: Settings, ctx: Context, record: m.NodeRecord) -> bytes:
    from coffre.server.blobs import LocalBlobStore

    assert record.version is not None
    with ctx.db.read() as db:
        content_id = db.get_one(t.Version, record.version.id).content_id
    return LocalBlobStore(settings.resolved_blobs).get(chunk_key(content_id, 0))
