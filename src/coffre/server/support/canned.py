"""Canned replies: prepared answers staff insert into a reply and then edit."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from coffre.errors import Conflict, NotFound
from coffre.protocol import tickets as tm
from coffre.server.context import Context, now
from coffre.server.db import tables as t
from coffre.server.support import store


def _info(row: t.CannedReply) -> tm.CannedReply:
    return tm.CannedReply(id=row.id, title=row.title, body=row.body, updated=row.updated_at)


def _taken() -> Conflict:
    return Conflict("canned_exists", "a canned reply has that title already")


def list_all(ctx: Context) -> tm.CannedList:
    with ctx.db.read() as db:
        rows = db.scalars(select(t.CannedReply).order_by(t.CannedReply.title)).all()
        return tm.CannedList(replies=[_info(r) for r in rows])


def create(ctx: Context, req: tm.CannedCreate) -> tm.CannedReply:
    try:
        with ctx.db.write() as db:
            if db.scalar(select(t.CannedReply.id).where(t.CannedReply.title == req.title)):
                raise _taken()
            at = now()
            row = t.CannedReply(
                id=store.new_id(), title=req.title, body=req.body, created_at=at, updated_at=at
            )
            db.add(row)
            db.flush()
            return _info(row)
    except sa_exc.IntegrityError:
        raise _taken() from None


def change(ctx: Context, canned_id: str, req: tm.CannedCreate) -> tm.CannedReply:
    try:
        with ctx.db.write() as db:
            row = db.get(t.CannedReply, canned_id)
            if row is None:
                raise NotFound("canned_not_found", "no such canned reply")
            other = db.scalar(
                select(t.CannedReply.id).where(
                    t.CannedReply.title == req.title, t.CannedReply.id != canned_id
                )
            )
            if other:
                raise _taken()
            row.title, row.body, row.updated_at = req.title, req.body, now()
            db.flush()
            return _info(row)
    except sa_exc.IntegrityError:
        raise _taken() from None


def delete(ctx: Context, canned_id: str) -> None:
    with ctx.db.write() as db:
        row = db.get(t.CannedReply, canned_id)
        if row is None:
            raise NotFound("canned_not_found", "no such canned reply")
        db.delete(row)
