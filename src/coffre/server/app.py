"""The ASGI application: routes, error handling, limits and background collection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from coffre import __version__
from coffre.protocol.models import ErrorBody
from coffre.server import http_errors
from coffre.server.blobs import open_blob_store
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import migrate
from coffre.server.db.engine import Database
from coffre.server.limits import BodyLimit
from coffre.server.routes import accounts, events, health, links, nodes, transfers
from coffre.server.services.transfers import collect

log = logging.getLogger("coffre.server")

_LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coffre</title></head>
<body><h1>Coffre</h1>
<p>End-to-end encrypted storage. This server holds only ciphertext.</p>
<p>Use the <code>coffre</code> command line to sign up, upload and download;
the API is described at <a href="/docs">/docs</a>.</p></body></html>
"""


def build_context(settings: Settings) -> Context:
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    return Context(settings=settings, db=db, blobs=open_blob_store(settings.resolved_blobs))


async def _collector(ctx: Context) -> None:
    while True:
        await asyncio.sleep(ctx.settings.gc_interval)
        try:
            await run_in_threadpool(collect, ctx)
        except Exception:
            log.exception("garbage collection failed; will retry")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, corrected to what the server does: bad input is a 400 with the
    error body (never FastAPI's 422), and any route may answer with the error body."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(components["ErrorBody"].pop("$defs", {}))
    error = {
        "description": "An error: a stable code and a message (docs/api.md lists the codes)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["400"] = {**error, "description": "Invalid request"}
            responses.setdefault("default", error)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None, ctx: Context | None = None) -> FastAPI:
    ctx = ctx or build_context(settings or Settings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_collector(ctx)) if ctx.settings.gc_interval > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Coffre",
        version=__version__,
        summary="End-to-end encrypted cloud storage. The server stores ciphertext only.",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.ctx = ctx
    http_errors.install(app)
    for module in (health, accounts, nodes, transfers, events, links):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def landing() -> HTMLResponse:
        return HTMLResponse(_LANDING)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        BodyLimit,
        json_limit=ctx.settings.max_json_bytes,
        chunk_limit=ctx.settings.max_chunk_size + 16,
        range_limit=max(ctx.settings.max_range_bytes, ctx.settings.max_chunk_size + 16),
    )
    return app
