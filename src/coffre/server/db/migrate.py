"""Schema migrations with Alembic, run from code (no alembic.ini needed).

The same migrations run on SQLite and PostgreSQL. On PostgreSQL an upgrade holds an
advisory lock for its transaction (DDL is transactional there), so API processes that
start together upgrade once: the others wait, then find the schema current.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from coffre.server.db.engine import Database

_SCRIPTS = Path(__file__).parent / "migrations"
_UPGRADE_LOCK = 0x636F66667265_01  # "coffre" 01: the advisory lock key of schema upgrades


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    config = _config()
    with db._write_engine.begin() as connection:
        if db.is_postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def is_current(db: Database) -> bool:
    """Whether the schema is at the newest revision this code knows."""
    return current_revision(db) == head_revision()
