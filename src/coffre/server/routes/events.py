"""The change feed, read from a point and waited on (long poll)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from coffre.protocol import models as m
from coffre.server.answer import json_response
from coffre.server.deps import Caller, Ctx
from coffre.server.services import events

router = APIRouter(prefix="/v1", tags=["events"])

_POLL = 1.0  # another process's writes are seen within this many seconds


def _read(ctx: Ctx, user_id: str, after: int, limit: int) -> m.EventList:
    with ctx.db.read() as db:
        return events.after(db, user_id, after, limit)


@router.get("/events", response_model=m.EventList)
async def feed(
    ctx: Ctx,
    who: Caller,
    after: Annotated[int, Query(ge=0, le=m.MAX_INT)] = 0,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Changes after ``after``; with ``wait``, hold the request until one comes (or timeout)."""
    deadline = time.monotonic() + wait
    while True:
        result = await run_in_threadpool(_read, ctx, who.user_id, after, limit)
        remaining = deadline - time.monotonic()
        if result.events or remaining <= 0:
            return json_response(result)  # built from our own rows: no re-validation
        await ctx.notifier.wait(who.user_id, min(_POLL, remaining))
