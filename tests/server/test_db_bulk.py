"""Multi-row inserts (coffre.server.db.bulk: plain on SQLite, Core's on PostgreSQL) store
exactly what was given, on both databases, a column whose type converts its values
included."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
)

from coffre.server.db import bulk
from coffre.server.db.engine import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bulk.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    yield database
    database.dispose()


def _tables(db: Database) -> tuple[Table, Table]:
    suffix = uuid.uuid4().hex[:8]
    metadata = MetaData()
    plain = Table(
        f"bulk_plain_{suffix}",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("n", Integer),
        Column("big", BigInteger),
        Column("at", Float),
        Column("blob", LargeBinary),
    )
    dated = Table(
        f"bulk_dated_{suffix}",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("when", DateTime),
    )
    with db.write() as session:
        metadata.create_all(session.connection())
    return plain, dated


def test_rows_go_in_as_they_are(db: Database) -> None:
    plain, _ = _tables(db)
    rows: list[dict[str, object]] = [
        {"id": f"r{i}", "n": i, "big": 1 << 40, "at": 0.5 + i, "blob": bytes([i % 256]) * i or None}
        for i in range(300)
    ]
    rows.append({"id": "quote'\"%s?", "n": -1, "big": 0, "at": 1e300, "blob": b"\x00%s?\xff"})
    with db.write() as session:
        bulk.insert_rows(session, plain, rows)
    with db.read() as session:
        stored = [dict(r._mapping) for r in session.execute(select(plain).order_by(plain.c.n))]
    assert sorted(stored, key=lambda r: str(r["id"])) == sorted(rows, key=lambda r: str(r["id"]))


def test_a_column_whose_type_converts_its_values_round_trips(db: Database) -> None:
    _, dated = _tables(db)
    when = datetime.datetime(2026, 11, 27, 10, 30, 5)
    with db.write() as session:
        bulk.insert_rows(session, dated, [{"id": "a", "when": when}])
    with db.read() as session:
        assert session.execute(select(dated.c.when)).scalar_one() == when


def test_an_unknown_column_is_refused(db: Database) -> None:
    plain, _ = _tables(db)
    with db.write() as session, pytest.raises(KeyError):
        bulk.insert_rows(session, plain, [{"id": "a", "nope": 1}])


def test_nothing_to_insert_is_nothing(db: Database) -> None:
    plain, _ = _tables(db)
    with db.write() as session:
        bulk.insert_rows(session, plain, [])
    with db.read() as session:
        assert session.execute(select(plain)).all() == []
