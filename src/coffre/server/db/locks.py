"""One runner at a time for a background job, across every process sharing the database.

On PostgreSQL, a session advisory lock (``pg_try_advisory_lock``) on a connection held for
the job's duration: it is released when the job ends, or when its process dies and the
connection drops. On SQLite, a lease in the ``jobs`` table: taken when free or expired,
given back at the end; the lease of a process that crashed runs out after ``lease`` seconds.
Either way a process that does not get the lock skips its turn: the holder does the work.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text, update

from coffre.server.db import tables as t
from coffre.server.db.engine import Database


def _advisory_key(name: str) -> int:
    digest = hashlib.sha256(b"coffre/job\x00" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


@contextmanager
def exclusive(db: Database, name: str, *, lease: float = 900.0) -> Iterator[bool]:
    """Yield True to the one caller that holds job ``name`` now, False to the others."""
    if db.is_postgres:
        with db.engine.connect() as connection:
            key = _advisory_key(name)
            got = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            )
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    me = _holder()
    at = time.time()
    with db.write() as session:
        job = session.get(t.Job, name)
        if job is None:
            session.add(t.Job(name=name, holder=me, lease_until=at + lease))
            got = True
        elif job.holder is None or (job.lease_until or 0) < at:
            job.holder, job.lease_until = me, at + lease
            got = True
        else:
            got = False
    try:
        yield got
    finally:
        if got:
            with db.write() as session:
                session.execute(
                    update(t.Job)
                    .where(t.Job.name == name, t.Job.holder == me)
                    .values(holder=None, lease_until=None)
                )


def last_run(db: Database, name: str) -> float | None:
    """When job ``name`` last completed, if ever."""
    with db.read() as session:
        job = session.get(t.Job, name)
        return job.last_run if job is not None else None


def mark_run(db: Database, name: str, at: float) -> None:
    """Record that job ``name`` completed at ``at`` (call it while holding the job)."""
    with db.write() as session:
        job = session.get(t.Job, name)
        if job is None:
            session.add(t.Job(name=name, last_run=at))
        else:
            job.last_run = at
