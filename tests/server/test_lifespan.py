"""What coffre serve sets up when it starts, and undoes when it stops."""

from __future__ import annotations

import gc
from dataclasses import replace

import anyio
from anyio import to_thread

from coffre.server.app import create_app
from coffre.server.config import Settings


def _request_pool_size(settings: Settings) -> tuple[int, bool]:
    """The request threads of a server started with ``settings``; whether on SQLite."""
    app = create_app(settings)

    async def started() -> int:
        async with app.router.lifespan_context(app):
            return to_thread.current_default_thread_limiter().total_tokens

    try:
        return anyio.run(started), app.state.ctx.db.is_sqlite
    finally:
        app.state.ctx.db.dispose()


def test_request_threads_bound_the_pool_that_runs_request_work(settings: Settings) -> None:
    assert _request_pool_size(replace(settings, request_threads=5))[0] == 5


def test_without_the_setting_the_pool_is_sized_by_the_database(settings: Settings) -> None:
    """On SQLite a few threads (more only pass the interpreter around); on PostgreSQL,
    whose statements wait on a round trip, more."""
    size, sqlite = _request_pool_size(replace(settings, request_threads=0))
    assert size == (3 if sqlite else 8)


def test_what_the_server_built_at_start_is_frozen_while_it_runs(settings: Settings) -> None:
    """A full collection does not walk the objects made before the server started
    serving; they are handed back to the collector when it stops."""
    app = create_app(settings)
    assert gc.get_freeze_count() == 0

    async def started() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    try:
        assert anyio.run(started) > 10_000
        assert gc.get_freeze_count() == 0
    finally:
        app.state.ctx.db.dispose()
