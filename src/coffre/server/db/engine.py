"""Connections to the metadata database, and the two kinds of transaction services use.

``db.read()`` is a plain transaction. ``db.write()`` is one that will write: on SQLite the
writers of a process queue on a lock of its own, then start with ``BEGIN IMMEDIATE`` so
that writers of other processes queue on the database lock instead of failing half-way
with "database is locked"; every commit is fsynced (``synchronous=FULL``).
``db.write_if_free()`` is for bookkeeping that may be skipped and lost (see there). On
PostgreSQL all of them are ordinary READ COMMITTED transactions, and services lock what
they change: a write to an account's tree starts by locking the account's row
(``records.lock_account``), counters are incremented in SQL, and unique indexes guard
names and ids. Each commits on success and rolls back on any exception.

URLs: ``sqlite:///PATH``, or ``postgresql://`` / ``postgres://`` (PostgreSQL through
psycopg 3; written ``postgresql+psycopg://`` for SQLAlchemy).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_POSTGRES_PREFIXES = ("postgresql://", "postgres://")

BUSY_STATES = frozenset({"40001", "40P01", "55P03"})
"""SQLSTATEs of a transaction that PostgreSQL aborted for another's sake: serialization
failure, deadlock, lock not available. Nothing of it was committed; it can be tried again."""


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean PostgreSQL through psycopg 3."""
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


FULL_STATES = frozenset({"53100"})
"""SQLSTATEs of a full disk (PostgreSQL's disk_full)."""
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"


def disk_full(exc: BaseException) -> bool:
    """Whether a database error says that its disk is full (SQLite or PostgreSQL): the
    transaction was rolled back, and nothing of it was kept."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return (isinstance(code, int) and code & 0xFF == _SQLITE_FULL) or sqlstate(exc) in FULL_STATES


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (PostgreSQL's), if it has one."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


WRITE_WAIT = 30.0
"""Seconds a writer waits for the database lock before giving up (503): SQLite's
busy_timeout, and the process's own writer lock in front of it."""


def _sqlite_engine(url: str, begin: str, pool_size: int, synchronous: str = "FULL") -> Engine:
    pool: dict[str, Any] = {}
    if make_url(url).database not in (None, "", ":memory:"):
        # Connections are kept, not opened per request past a small pool: opening one
        # runs the pragmas below, and journal_mode takes a lock on the database.
        pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": WRITE_WAIT}
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": WRITE_WAIT}, **pool
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _postgres_engine(url: str, pool_size: int) -> Engine:
    return create_engine(
        url,
        pool_pre_ping=True,  # a connection broken by a database restart is replaced, not used
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_timeout=10,
        isolation_level="READ COMMITTED",
        # An unreachable server fails fast (503), rather than after the OS's TCP timeout.
        connect_args={"connect_timeout": 5, "application_name": "coffre"},
    )


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        url = normalize_url(url)
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self._write_lock: threading.Lock | None = None
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, "BEGIN", max(pool_size, 8))
            # One writer at a time in this process (see write()): one connection is enough.
            self._write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE", 1)
            self._write_lock = threading.Lock()
            # Bookkeeping that may be lost (write_if_free) commits without an fsync.
            self._lax_engine = _sqlite_engine(url, "BEGIN IMMEDIATE", 1, "NORMAL")
        else:
            if self.is_postgres:
                self.engine = _postgres_engine(url, pool_size)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
            self._write_engine = self._lax_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._lax_write = sessionmaker(self._lax_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def first(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        """The first row of a read-only Core statement, in a transaction of its own: for
        lookups on every request, without the cost of an ORM session."""
        with self.engine.connect() as connection:
            row = connection.execute(statement, params).first()
            connection.rollback()
        return row

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time. Left to its busy handler, waiting writers poll
        # the lock with sleeps of up to 100 ms, so the lock sits free while they sleep and
        # a writer can starve for seconds; queued on a lock of our own, the next writer
        # starts as soon as the last one commits. BEGIN IMMEDIATE still guards against
        # other processes on the same file.
        if not self._write_lock.acquire(timeout=WRITE_WAIT):
            raise sa_exc.OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError("the database stayed locked")
            )
        try:
            with self._write() as session, session.begin():
                yield session
        finally:
            self._write_lock.release()

    @contextmanager
    def write_if_free(self) -> Iterator[Session | None]:
        """A write transaction for bookkeeping that may wait for later and may be lost on
        a power cut: on SQLite, None at once if another writer of this process is at work,
        and a commit without fsync of its own (``synchronous=NORMAL``: the next durable
        commit, or a checkpoint, makes it durable). Never for what a client is told was
        stored. On PostgreSQL, an ordinary write transaction."""
        if self._write_lock is None:
            with self.write() as session:
                yield session
            return
        if not self._write_lock.acquire(blocking=False):
            yield None
            return
        try:
            with self._lax_write() as session, session.begin():
                yield session
        finally:
            self._write_lock.release()

    def describe(self) -> str:
        """The URL with any password hidden, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_engine.dispose()
        self._lax_engine.dispose()
