"""The ASGI application: routes, error handling, limits and background collection."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from coffre import __version__, web
from coffre.errors import UsageError
from coffre.protocol.models import ErrorBody
from coffre.server import http_errors
from coffre.server.blobs import open_blob_store
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import migrate
from coffre.server.db.engine import Database
from coffre.server.db.listen import FeedListener
from coffre.server.limits import BodyLimit
from coffre.server.mail import service as mail
from coffre.server.routes import abuse as abuse_routes
from coffre.server.routes import accounts, events, health, links, nodes, sharing, transfers
from coffre.server.routes import desk as desk_routes
from coffre.server.routes import help as help_routes
from coffre.server.routes import staff as staff_routes
from coffre.server.routes import support as support_routes
from coffre.server.routes import two_factor as two_factor_routes
from coffre.server.services.background import run_pass
from coffre.server.support import timers as support_timers

log = logging.getLogger("coffre.server")


def build_context(settings: Settings) -> Context:
    """Open the database (bringing its schema up to date, unless told not to) and the blob
    store (creating an S3 bucket that does not exist yet)."""
    support_timers.parse(settings.support_targets)  # a malformed value stops the start
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    if settings.auto_migrate:
        migrate.upgrade(db)
    elif not migrate.is_current(db):
        db.dispose()
        raise UsageError(
            f"the database schema is at revision {migrate.current_revision(db)}, this server "
            f"needs {migrate.head_revision()}: run 'coffre db upgrade' first"
        )
    blobs = open_blob_store(settings.resolved_blobs, settings)
    try:
        blobs.check()
    except Exception as exc:  # reported by /healthz until it works
        log.warning("the blob store %s does not answer yet: %s", blobs, exc)
    return Context(settings=settings, db=db, blobs=blobs)


async def _collector(ctx: Context, interval: float) -> None:
    """Background work every ``interval`` seconds; one process at a time does a pass."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(run_pass, ctx)
        except Exception:
            log.exception("background work failed; will retry")


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
        # Request work (sync routes and dependencies) runs on anyio's default thread pool,
        # 40 threads unless told otherwise. Those threads share one interpreter: with 40
        # runnable, a writer holding the database's write lock gets a fortieth of it, and
        # writes queue for seconds. Fewer threads, the rest of the requests waiting their
        # turn in order: docs/performance-history.md, "The threads of coffre serve". On SQLite
        # fewer still (Settings.request_threads_for).
        threads = ctx.settings.request_threads_for(sqlite=ctx.db.is_sqlite)
        to_thread.current_default_thread_limiter().total_tokens = threads
        interval = ctx.settings.gc_interval
        task = asyncio.create_task(_collector(ctx, interval)) if interval > 0 else None
        # On PostgreSQL, changes made through other API processes wake this one's long polls.
        listener = FeedListener(ctx.db.url, ctx.notifier.notify) if ctx.db.is_postgres else None
        if listener is not None:
            listener.start()
        mail_service = await run_in_threadpool(mail.start, ctx)  # delivery, receiver
        # What the server has built by now (modules, tables, wire models, routes) lives as
        # long as it does. Frozen, a full garbage collection no longer walks it: under
        # load such a pause took about 100 ms, every request in flight waiting; frozen,
        # about 10 (docs/performance-history.md, "Garbage collection").
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()  # for a program that embeds the app and goes on without it
        await run_in_threadpool(mail_service.stop)
        if listener is not None:
            await run_in_threadpool(listener.stop)
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
    for module in (health, accounts, nodes, transfers, events, links, sharing):
        app.include_router(module.router)
    for module in (two_factor_routes, staff_routes, abuse_routes):
        app.include_router(module.router)

    for module in (support_routes, desk_routes):  # support tickets and the staff desk
        app.include_router(module.router)
    app.include_router(help_routes.router)  # the help centre at /help
    web.install(app)  # the web client at / (static ES modules) and its security headers
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        BodyLimit,
        json_limit=ctx.settings.max_json_bytes,
        chunk_limit=ctx.settings.max_chunk_size + 16,
        range_limit=max(ctx.settings.max_range_bytes, ctx.settings.max_chunk_size + 16),
    )
    return app
