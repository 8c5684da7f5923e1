"""The Alembic migrations create exactly the schema that tables.py declares, on SQLite and
on PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from coffre.server.db import migrate
from coffre.server.db.engine import Database
from coffre.server.db.tables import Base
from tests import scaleout


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test, of this test's own."""
    if not database_url:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    postgres = scaleout.Postgres()
    url = postgres.create("coffre_migrations")
    try:
        yield url
    finally:
        postgres.drop(url)


def test_migrations_match_the_declared_schema(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        db.dispose()


def _columns(db: Database) -> dict[str, list[tuple[str, str, bool]]]:
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        return {
            name: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)]
            for name in inspector.get_table_names()
        }


def test_upgrading_twice_changes_nothing(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        migrate.upgrade(db)
        before = _columns(db)
        migrate.upgrade(db)
        assert _columns(db) == before
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.dispose()
