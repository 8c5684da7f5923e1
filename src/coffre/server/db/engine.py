"""Connections to the metadata database, and the two kinds of transaction services use.

``db.read()`` is a plain transaction. ``db.write()`` is one that will write: on SQLite it
starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the database lock
instead of failing half-way with "database is locked"; on PostgreSQL both are ordinary
READ COMMITTED transactions, and services lock what they change: a write to an account's
tree starts by locking the account's row (``records.lock_account``), counters are
incremented in SQL, and unique indexes guard names and ids. Either commits on success and
rolls back on any exception.

URLs: ``sqlite:///PATH``, or ``postgresql://`` / ``postgres://`` (PostgreSQL through
psycopg 3; written ``postgresql+psycopg://`` for SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
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


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (PostgreSQL's), if it has one."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
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
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, "BEGIN")
            self._write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
        elif self.is_postgres:
            self.engine = _postgres_engine(url, pool_size)
            self._write_engine = self.engine
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
            self._write_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    def describe(self) -> str:
        """The URL with any password hidden, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_engine.dispose()
