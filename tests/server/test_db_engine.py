"""The database's transactions on SQLite: writers queue on the process's own lock, what is
acknowledged is fsynced at commit, and bookkeeping neither waits nor fsyncs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from coffre.server.db import engine
from coffre.server.db.engine import Database

FULL, NORMAL = 2, 1  # PRAGMA synchronous


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    yield database
    database.dispose()


def _synchronous(session: Session) -> int:
    value: int = session.execute(text("PRAGMA synchronous")).scalar_one()
    return value


def test_what_is_written_is_fsynced_at_commit(db: Database) -> None:
    with db.write() as session:
        assert _synchronous(session) == FULL
    with db.read() as session:
        assert _synchronous(session) == FULL


def test_bookkeeping_commits_without_an_fsync_of_its_own(db: Database) -> None:
    with db.write_if_free() as session:
        assert session is not None
        assert _synchronous(session) == NORMAL
        session.execute(text("INSERT INTO things (id) VALUES (1)"))
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM things")).scalar_one() == 1
    with db.write() as session:  # the durable connection is untouched by it
        assert _synchronous(session) == FULL


def _holding_the_write_lock(db: Database) -> tuple[threading.Thread, threading.Event]:
    """A writer at work in another thread until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.write() as session:
            session.execute(text("INSERT INTO things (id) VALUES (7)"))
            started.set()
            release.wait()

    thread = threading.Thread(target=writer)
    thread.start()
    started.wait()
    return thread, release


def test_bookkeeping_skips_rather_than_waits_for_a_writer(db: Database) -> None:
    thread, release = _holding_the_write_lock(db)
    try:
        with db.write_if_free() as session:
            assert session is None
    finally:
        release.set()
        thread.join()
    with db.write_if_free() as session:
        assert session is not None


def test_a_writer_that_waits_too_long_gets_a_database_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answered 503 database_unavailable by the API, as SQLite's own busy timeout was."""
    monkeypatch.setattr(engine, "WRITE_WAIT", 0.01)
    thread, release = _holding_the_write_lock(db)
    try:
        with pytest.raises(sa_exc.OperationalError), db.write():
            pass
    finally:
        release.set()
        thread.join()
    with db.write() as session:  # the lock was given back
        session.execute(text("INSERT INTO things (id) VALUES (8)"))
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM things")).scalar_one() == 2


def test_writers_of_one_process_take_turns(db: Database) -> None:
    """Many threads writing at once: none fails, none is lost."""
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with db.write() as session:
                session.execute(text("INSERT INTO things (id) VALUES (:n)"), {"n": n})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(100, 140)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM things")).scalar_one() == 40


def test_first_reads_one_row_without_a_session(db: Database) -> None:
    with db.write() as session:
        session.execute(text("INSERT INTO things (id) VALUES (3)"))
    row = db.first(text("SELECT id FROM things WHERE id = :id"), {"id": 3})
    assert row is not None and row[0] == 3
    assert db.first(text("SELECT id FROM things WHERE id = :id"), {"id": 4}) is None
