"""Rate limits kept in the database, so that they hold across API processes.

A limit is a number of events per scope (a string such as ``link-open:ADDRESS``) over a
window of seconds. Events older than every window are pruned by garbage collection.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from coffre.errors import RateLimited
from coffre.server.context import Context, now
from coffre.server.db import tables as t


def check(ctx: Context, scope: str, limit: int, window: float, what: str) -> None:
    """Raise :class:`RateLimited` if ``scope`` had ``limit`` events in the last ``window``."""
    at = now()
    with ctx.db.read() as db:
        count, oldest = db.execute(
            select(func.count(), func.min(t.RateEvent.at)).where(
                t.RateEvent.scope == scope, t.RateEvent.at > at - window
            )
        ).one()
    if (count or 0) >= limit:
        raise RateLimited(
            "too_many_requests",
            f"too many {what}; try again in a few minutes",
            retry_after=max(1, int((oldest or at) + window - at) + 1),
        )


def hit(ctx: Context, *scopes: str) -> None:
    with ctx.db.write() as db:
        at = now()
        db.add_all(t.RateEvent(scope=scope, at=at) for scope in scopes)


def prune(ctx: Context, older_than: float) -> None:
    with ctx.db.write() as db:
        db.execute(delete(t.RateEvent).where(t.RateEvent.at < now() - older_than))
