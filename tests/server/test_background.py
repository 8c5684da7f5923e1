"""Background work runs in one process at a time, through a lock in the database; quota
recounts correct a drifted count; ``coffre worker`` does the same work on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from coffre.server.app import create_app
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import locks
from coffre.server.db import tables as t
from coffre.server.db.engine import normalize_url
from coffre.server.db.listen import libpq_url
from coffre.server.services.background import JOB, run_pass
from tests.server.raw import Account, fake_chunks

COFFRE = str(Path(sys.executable).parent / "coffre")


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    context: Context = app.state.ctx
    return context


@pytest.fixture
def other(settings: Settings) -> Iterator[Context]:
    """The context of another process on the same database."""
    application = create_app(settings)
    yield application.state.ctx
    application.state.ctx.db.dispose()


def test_one_process_at_a_time(ctx: Context, other: Context) -> None:
    with locks.exclusive(ctx.db, JOB) as held:
        assert held
        assert run_pass(other) is None  # skips its turn
        with locks.exclusive(other.db, JOB) as also:
            assert not also
    report = run_pass(other)
    assert report is not None


def test_the_lock_is_free_again_after_a_failure(ctx: Context, other: Context) -> None:
    with pytest.raises(RuntimeError), locks.exclusive(ctx.db, JOB):
        raise RuntimeError("a pass that failed")
    with locks.exclusive(other.db, JOB) as held:
        assert held


def test_concurrent_passes_never_overlap(ctx: Context, other: Context) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def attempt(context: Context) -> None:
        nonlocal inside, most
        for _ in range(10):
            with locks.exclusive(context.db, JOB) as held:
                if held:
                    with guard:
                        inside += 1
                        most = max(most, inside)
                    with guard:
                        inside -= 1

    threads = [threading.Thread(target=attempt, args=(c,)) for c in (ctx, other) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dead_holders_lease_runs_out(ctx: Context, other: Context) -> None:
    with locks.exclusive(ctx.db, JOB, lease=-1) as held:  # a lease already run out
        assert held
        with locks.exclusive(other.db, JOB) as taken_over:
            assert taken_over


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_dead_holders_lock_goes_with_its_connection(settings: Settings, other: Context) -> None:
    """A process that dies holding the lock (its connection drops) does not keep it."""
    holder = psycopg.connect(libpq_url(normalize_url(settings.database_url)), autocommit=True)
    try:
        key = locks._advisory_key(JOB)
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
        with locks.exclusive(other.db, JOB) as held:
            assert not held
    finally:
        holder.close()
    with locks.exclusive(other.db, JOB) as held:
        assert held


def test_a_recount_corrects_a_drifted_count(ctx: Context, alice: Account) -> None:
    alice.upload(2500)
    right = alice.api.usage().storage_used
    with ctx.db.write() as db:
        db.execute(update(t.User).where(t.User.id == alice.user_id).values(storage_used=7))
    report = run_pass(ctx, recount=True)
    assert report is not None and report.accounts_corrected == 1
    assert alice.api.usage().storage_used == right
    again = run_pass(ctx)
    assert again is not None and again.accounts_corrected is None  # not due again yet


def test_coffre_worker_collects_once(settings: Settings, ctx: Context, alice: Account) -> None:
    state = alice.start(2000)
    for index, data in enumerate(fake_chunks(state)):
        alice.api.put_chunk(state.id, index, data)
    with ctx.db.read() as db:
        content_id = db.get_one(t.Upload, state.id).content_id
    alice.api.cancel_upload(state.id)
    assert ctx.blobs.chunks(content_id) == {0, 1}
    env = {
        **os.environ,
        "COFFRE_DATABASE_URL": settings.resolved_database_url,
        "COFFRE_BLOBS": settings.resolved_blobs,
    }
    done = subprocess.run(
        [COFFRE, "worker", "--once", "--recount", "--data", str(settings.data_dir)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "2 blob(s) deleted, 0 account(s) recounted" in done.stderr.decode()
    assert ctx.blobs.chunks(content_id) == set()
    with ctx.db.read() as db:
        assert db.query(t.Garbage).count() == 0
