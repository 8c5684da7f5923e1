"""Copy a whole metadata database into another (SQLite into PostgreSQL, typically).

Both are first brought up to the newest schema; the target must be empty. Tables are copied
in an order that satisfies their foreign keys (the folder tree parents first), in batches,
in one transaction on the target: it receives everything or nothing. PostgreSQL's sequences
are then moved past the copied ids, and the row counts of both sides are compared.

Stop the API processes (or keep them from writing) while it runs: rows written to the
source meanwhile would not be copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Integer, Table, func, insert, select, text

from coffre.errors import UsageError
from coffre.server.db import migrate
from coffre.server.db import tables as t
from coffre.server.db.engine import Database

BATCH = 1000

Progress = Callable[[str, int], None]


def _no_progress(_table: str, _rows: int) -> None:
    pass


def _rows(source: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in batches; nodes parents first, the rest in key order."""
    if table.name == t.Node.__tablename__:
        yield from _nodes_parents_first(source, table)
        return
    query = select(table).order_by(*table.primary_key.columns)
    result = source.execute(query).mappings()
    while batch := result.fetchmany(BATCH):
        yield [dict(row) for row in batch]


def _nodes_parents_first(source: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    children: dict[str | None, list[str]] = {}
    for node_id, parent_id in source.execute(select(table.c.id, table.c.parent_id)):
        children.setdefault(parent_id, []).append(node_id)
    level = children.get(None, [])
    while level:
        for i in range(0, len(level), BATCH):
            part = level[i : i + BATCH]
            rows = source.execute(select(table).where(table.c.id.in_(part))).mappings()
            yield [dict(row) for row in rows]
        level = [child for node_id in level for child in children.get(node_id, [])]


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def _reset_sequences(target: Connection) -> None:
    """Move PostgreSQL's serial sequences past the ids that were copied explicitly."""
    for table in t.Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer) and keys[0].autoincrement:
            column = keys[0].name
            target.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "  # noqa: S608 - names from our own schema
                    f"COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
                )
            )


def copy_database(
    source_url: str, target_url: str, progress: Progress = _no_progress
) -> dict[str, int]:
    """Copy every row of ``source_url`` into the empty ``target_url``; rows per table."""
    source, target = Database(source_url), Database(target_url)
    try:
        if source.url == target.url:
            raise UsageError("the source and the target are the same database")
        migrate.upgrade(source)
        migrate.upgrade(target)
        tables = t.Base.metadata.sorted_tables
        with target.engine.connect() as probe:
            busy = [table.name for table in tables if _count(probe, table)]
        if busy:
            raise UsageError(
                f"the target database is not empty ({', '.join(busy)}): give an empty one"
            )
        copied: dict[str, int] = {}
        with source.engine.connect() as src, target.engine.begin() as dst:
            for table in tables:
                copied[table.name] = 0
                for batch in _rows(src, table):
                    dst.execute(insert(table), batch)
                    copied[table.name] += len(batch)
                    progress(table.name, copied[table.name])
            if target.is_postgres:
                _reset_sequences(dst)
            for table in tables:
                if _count(dst, table) != _count(src, table):
                    raise RuntimeError(f"table {table.name}: row counts differ after the copy")
        return copied
    finally:
        source.dispose()
        target.dispose()
