"""The change feed: a per-account, gap-free, increasing sequence of what changed.

A writer appends events inside the transaction that makes the change, so a reader never
sees a change without its event or an event without its change. The sequence counter is
a column of the account's row, incremented in the same transaction (the row lock orders
concurrent writers on PostgreSQL; SQLite's write lock does the same).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from coffre.protocol import models as m
from coffre.server.context import now
from coffre.server.db import tables as t
from coffre.server.db.bulk import insert_rows
from coffre.server.db.listen import notify


def emit(
    db: Session, user_id: str, kind: m.EventKind, node_id: str | None, parent_id: str | None
) -> int:
    seq = db.execute(
        update(t.User)
        .where(t.User.id == user_id)
        .values(feed_seq=t.User.feed_seq + 1)
        .returning(t.User.feed_seq)
    ).scalar_one()
    db.add(
        t.Event(user_id=user_id, seq=seq, kind=kind, node_id=node_id, parent_id=parent_id, at=now())
    )
    notify(db, user_id)  # other API processes wake their long polls at commit
    return seq


def emit_many(
    db: Session, user_id: str, items: list[tuple[m.EventKind, str | None, str | None]]
) -> None:
    """Append several events with one update of the counter."""
    if not items:
        return
    last = db.execute(
        update(t.User)
        .where(t.User.id == user_id)
        .values(feed_seq=t.User.feed_seq + len(items))
        .returning(t.User.feed_seq)
    ).scalar_one()
    at = now()
    first = last - len(items) + 1
    insert_rows(
        db,
        cast(Table, t.Event.__table__),
        [
            {
                "user_id": user_id,
                "seq": first + i,
                "kind": kind,
                "node_id": node_id,
                "parent_id": parent_id,
                "at": at,
            }
            for i, (kind, node_id, parent_id) in enumerate(items)
        ],
    )
    notify(db, user_id)


def after(db: Session, user_id: str, seq: int, limit: int) -> m.EventList:
    """Events after ``seq``; ``last`` is the newest returned, or the feed's head if none."""
    rows = db.scalars(
        select(t.Event)
        .where(t.Event.user_id == user_id, t.Event.seq > seq)
        .order_by(t.Event.seq)
        .limit(limit)
    ).all()
    events = [
        m.Event(
            seq=r.seq,
            kind=cast(m.EventKind, r.kind),
            node_id=r.node_id,
            parent_id=r.parent_id,
            at=r.at,
        )
        for r in rows
    ]
    if events:
        return m.EventList(events=events, last=events[-1].seq)
    head = db.scalar(select(t.User.feed_seq).where(t.User.id == user_id)) or 0
    return m.EventList(events=[], last=min(max(seq, 0), head))
