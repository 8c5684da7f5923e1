"""The Alembic migrations create exactly the schema that tables.py declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from coffre.server.db import migrate
from coffre.server.db.engine import Database
from coffre.server.db.tables import Base


def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
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


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'twice.db'}")
    try:
        migrate.upgrade(db)
        before = _columns(db)
        migrate.upgrade(db)
        assert _columns(db) == before
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.dispose()
