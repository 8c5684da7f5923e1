"""Quota accounting: recounting what each account stores.

``users.storage_used`` is kept by every change that adds or removes a version, in the same
transaction. A recount computes it again from the versions themselves (every version of
every node of the account, copies included, as the quota counts them) and corrects a drift,
which only a bug or a hand edit of the database could cause. Each account is recounted in
its own short transaction, holding its lock, so that nothing changes it meanwhile.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.services.records import lock_account

log = logging.getLogger("coffre.server")

_PAGE = 500


def recount(ctx: Context) -> int:
    """Recount every account's storage used; how many accounts were corrected."""
    corrected = 0
    after = ""
    while True:
        with ctx.db.read() as db:
            ids = db.scalars(
                select(t.User.id).where(t.User.id > after).order_by(t.User.id).limit(_PAGE)
            ).all()
        if not ids:
            return corrected
        for user_id in ids:
            if recount_account(ctx, user_id):
                corrected += 1
        after = ids[-1]


def recount_account(ctx: Context, user_id: str) -> bool:
    """Recount one account; whether its count was wrong (and is now right)."""
    with ctx.db.write() as db:
        user = lock_account(db, user_id)
        if user is None:
            return False
        counted = int(
            db.scalar(
                select(func.coalesce(func.sum(t.Content.size), 0))
                .select_from(t.Version)
                .join(t.Content, t.Content.id == t.Version.content_id)
                .join(t.Node, t.Node.id == t.Version.node_id)
                .where(t.Node.owner_id == user_id)
            )
            or 0
        )
        if counted == user.storage_used:
            return False
        log.warning(
            "account %s: storage used was %d bytes, recounted %d",
            user_id,
            user.storage_used,
            counted,
        )
        user.storage_used = counted
        return True
