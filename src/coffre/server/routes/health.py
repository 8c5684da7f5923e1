"""Readiness: 200 when the database and the blob store answer, 503 naming what does not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from coffre import __version__
from coffre.errors import ApiError
from coffre.server.deps import Ctx

router = APIRouter(tags=["health"])


def _check(ctx: Ctx) -> dict[str, str]:
    status: dict[str, str] = {}
    try:
        with ctx.db.read() as db:
            db.execute(text("SELECT 1"))
        status["database"] = "ok"
    except Exception as exc:
        status["database"] = f"down: {type(exc).__name__}"
    try:
        ctx.blobs.check()
        status["blobs"] = "ok"
    except ApiError as exc:
        status["blobs"] = f"down: {exc.code}"
    except Exception as exc:
        status["blobs"] = f"down: {type(exc).__name__}"
    return status


@router.get("/healthz")
async def healthz(ctx: Ctx) -> JSONResponse:
    checks = await run_in_threadpool(_check, ctx)
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)
