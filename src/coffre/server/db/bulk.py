"""Many rows into one table with one ``executemany``, past SQLAlchemy's per-row work.

A batch of small files is hundreds of rows in three tables. SQLAlchemy's Core insert
builds each row's parameters in Python through several layers and calls a bind processor
on every binary value (which only wraps ``bytes`` for the driver); measured, that was about
a quarter of the server's time for a batch. Here the rows go to the driver as tuples under
a plain ``INSERT``: values as they are, except for the columns whose type has a bind
processor that does more than wrap bytes (a float on SQLite, a date), which it is given.
A type that changes the SQL around its parameter, or a driver with named parameters,
takes Core's insert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import LargeBinary

_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

Processor = Callable[[Any], Any] | None


def _processor(column: Column[Any], dialect: Dialect) -> Processor:
    if isinstance(column.type, LargeBinary):
        return None  # it only wraps bytes, which both drivers take as they are
    return column.type._cached_bind_processor(dialect)  # Core's own cache


def _changes_sql(column: Column[Any]) -> bool:
    return bool(column.type._has_bind_expression)


def insert_rows(db: Session, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert ``rows`` (each with the same keys, all columns of ``table``) into ``table``
    in the session's transaction. A key that is not a column raises KeyError."""
    if not rows:
        return
    connection = db.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = [table.columns[n] for n in names]
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None or any(_changes_sql(c) for c in columns):
        db.execute(insert(table), list(rows))
        return
    # Identifiers from the schema, quoted by the dialect; the values go as parameters.
    into = dialect.identifier_preparer.format_table(table)
    listed = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    marks = ", ".join([mark] * len(columns))
    statement = f"INSERT INTO {into} ({listed}) VALUES ({marks})"  # noqa: S608
    processors = [_processor(c, dialect) for c in columns]
    if any(processors):
        prepared = [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[n] for n in names), processors, strict=True)
            )
            for row in rows
        ]
    else:
        prepared = [tuple(row[n] for n in names) for row in rows]
    connection.exec_driver_sql(statement, prepared)
