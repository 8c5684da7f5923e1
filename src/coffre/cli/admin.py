"""Server operators' commands: ``coffre db upgrade``, ``coffre worker``, ``coffre admin ...``.

They read the same settings as ``coffre serve`` (environment variables, ``--data``), so
that they act on the same database and blob store (docs/deploy.md).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from coffre.errors import UsageError
from coffre.server.config import Settings

_DATA = click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the embedded database and blobs (COFFRE_DATA; default ./coffre-data).",
)


def _settings(data: Path | None) -> Settings:
    return Settings.from_env(data_dir=data)


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# -- coffre db ----------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The metadata database (COFFRE_DATABASE_URL)."""


@db.command()
@_DATA
def upgrade(data: Path | None) -> None:
    """Bring the database schema up to date (the same migrations on SQLite and PostgreSQL)."""
    from coffre.server.db import migrate
    from coffre.server.db.engine import Database

    settings = _settings(data)
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        before = migrate.current_revision(database)
        migrate.upgrade(database)
        after = migrate.current_revision(database)
    finally:
        database.dispose()
    verb = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    click.echo(f"database {database.describe()}: {verb} revision {after}")


# -- coffre worker ------------------------------------------------------------------------


@click.command()
@_DATA
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    help="Seconds between passes (default COFFRE_GC_INTERVAL, or 600 if that is 0).",
)
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--recount", is_flag=True, help="Recount every account's storage in this pass.")
def worker(data: Path | None, interval: int | None, once: bool, recount: bool) -> None:
    """Run background work only: garbage collection and quota recounts.

    One process at a time does a pass, through a lock in the database, so a worker can run
    beside API processes that collect too; or run API processes with COFFRE_GC_INTERVAL=0
    and one worker.
    """
    from coffre.server.app import build_context
    from coffre.server.services.background import run_pass

    _log_to_stderr()
    settings = _settings(data)
    every = interval or settings.gc_interval or 600
    ctx = build_context(settings)
    try:
        while True:
            report = run_pass(ctx, recount=True if recount else None)
            if report is None:
                click.echo("worker: another process is doing background work now", err=True)
            else:
                recounted = (
                    ""
                    if report.accounts_corrected is None
                    else f", {report.accounts_corrected} account(s) recounted and corrected"
                )
                click.echo(f"worker: {report.blobs_deleted} blob(s) deleted{recounted}", err=True)
            if once:
                return
            recount = False
            time.sleep(every)
    finally:
        ctx.db.dispose()


# -- coffre admin -------------------------------------------------------------------------


@click.group()
def admin() -> None:
    """Operators' tools: moving an installation to PostgreSQL and S3."""


@admin.command("migrate-blobs")
@_DATA
@click.option(
    "--to", "target", required=True, metavar="LOCATION", help="Where blobs go: s3://BUCKET/PREFIX."
)
@click.option(
    "--from",
    "source",
    metavar="LOCATION",
    help="Where they are (default COFFRE_BLOBS_FALLBACK if set, else COFFRE_BLOBS).",
)
@click.option("--workers", type=click.IntRange(1, 64), default=8, help="Copies in parallel.")
def migrate_blobs(data: Path | None, target: str, source: str | None, workers: int) -> None:
    """Copy every blob into another store, while the server keeps serving.

    Run it once while the server runs on its folder; restart the API processes with
    COFFRE_BLOBS set to the new store and COFFRE_BLOBS_FALLBACK to the old one; run it
    again to copy what was written in between; then drop COFFRE_BLOBS_FALLBACK.
    """
    from dataclasses import replace

    from coffre.server.blobs import open_blob_store
    from coffre.server.blobs.copy import CopyReport, copy_blobs
    from coffre.server.db.engine import Database

    settings = replace(_settings(data), blobs_fallback="")
    source = source or _settings(data).blobs_fallback or settings.resolved_blobs
    if source.rstrip("/") == target.rstrip("/"):
        raise UsageError("--from and --to name the same store")
    origin = open_blob_store(source, settings)
    destination = open_blob_store(target, settings)
    destination.check()
    database = Database(settings.resolved_database_url)
    last = [0.0]

    def progress(report: CopyReport) -> None:
        if time.monotonic() - last[0] > 2:
            last[0] = time.monotonic()
            click.echo(
                f"  {report.contents} contents, {report.copied} chunks copied "
                f"({report.bytes / 1e6:.1f} MB)",
                err=True,
            )

    click.echo(f"copying blobs from {origin} to {destination}", err=True)
    try:
        report = copy_blobs(database, origin, destination, workers=workers, progress=progress)
    finally:
        database.dispose()
    click.echo(
        f"{report.contents} contents: {report.copied} chunks copied "
        f"({report.bytes} bytes), {report.present} already there, "
        f"{report.missing} contents with no chunk in the source"
    )


@admin.command("migrate-db")
@_DATA
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The empty database to fill: postgresql://USER@HOST/DB.",
)
def migrate_db(data: Path | None, target: str) -> None:
    """Copy the metadata database (COFFRE_DATABASE_URL) into another, empty one.

    Stop the API processes first: what they would write meanwhile is not copied. Then
    start them with COFFRE_DATABASE_URL set to the new database.
    """
    from coffre.server.db.copy import copy_database

    settings = _settings(data)
    counts = copy_database(
        settings.resolved_database_url,
        target,
        lambda table, rows: None,
    )
    for table, rows in counts.items():
        click.echo(f"{table:20} {rows} rows")
    click.echo(f"copied {sum(counts.values())} rows in {len(counts)} tables")
