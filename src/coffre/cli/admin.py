"""Server operators' commands: ``coffre db upgrade``, ``coffre worker``, ``coffre admin ...``.

They read the same settings as ``coffre serve`` (environment variables, ``--data``), so
that they act on the same database and blob store (docs/deploy.md).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from coffre.errors import UsageError
from coffre.server.config import Settings

if TYPE_CHECKING:
    from coffre.server.db.engine import Database

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
                restored = (
                    f", {report.links_restored} link(s) restored after a report"
                    if report.links_restored
                    else ""
                )
                click.echo(
                    f"worker: {report.blobs_deleted} blob(s) deleted{recounted}{restored}",
                    err=True,
                )
            if once:
                return
            recount = False
            time.sleep(every)
    finally:
        ctx.db.dispose()


# -- coffre admin -------------------------------------------------------------------------


@click.group()
def admin() -> None:
    """Operators' tools: moving an installation to PostgreSQL and S3; staff accounts."""


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


# -- coffre admin staff -------------------------------------------------------------------


@admin.group()
def staff() -> None:
    """Staff accounts (agents and admins of the support desk; they must use 2FA)."""


def _staff_db(data: Path | None) -> Database:
    from coffre.server.db import migrate
    from coffre.server.db.engine import Database

    database = Database(_settings(data).resolved_database_url)
    if not migrate.is_current(database):
        database.dispose()
        raise UsageError("the database schema is not up to date: run 'coffre db upgrade' first")
    return database


@staff.command("add")
@_DATA
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["agent", "admin"]),
    default="agent",
    show_default=True,
    help="agent: answers tickets and reports; admin: also manages the desk.",
)
def staff_add(data: Path | None, email: str, role: str) -> None:
    """Make the account with this email address a staff member."""
    _set_role(data, email, role)


@staff.command("rm")
@_DATA
@click.argument("email")
def staff_rm(data: Path | None, email: str) -> None:
    """Make a staff member an ordinary user again."""
    _set_role(data, email, "user")


def _set_role(data: Path | None, email: str, role: str) -> None:
    from sqlalchemy import select

    from coffre.errors import NotFound
    from coffre.server.db import tables as t

    database = _staff_db(data)
    try:
        with database.write() as session:
            user = session.scalar(select(t.User).where(t.User.email == email.strip().lower()))
            if user is None:
                raise NotFound("user_not_found", f"no account with the email address {email}")
            before, user.role = user.role, role
            two_factor = user.totp_secret is not None
    finally:
        database.dispose()
    if role == "user":
        click.echo(f"{email}: {before} -> user" if before != "user" else f"{email} is not staff")
        return
    click.echo(f"{email}: {before} -> {role}")
    if not two_factor:
        click.echo(
            f"{email} must turn on two-factor authentication ('coffre 2fa enable') "
            "before the staff routes open to them",
            err=True,
        )


@staff.command("ls")
@_DATA
def staff_ls(data: Path | None) -> None:
    """List staff accounts: email address, role, two-factor authentication."""
    from sqlalchemy import select

    from coffre.server.db import tables as t

    database = _staff_db(data)
    try:
        with database.read() as session:
            rows = session.execute(
                select(t.User.email, t.User.role, t.User.totp_secret.is_not(None))
                .where(t.User.role != "user")
                .order_by(t.User.email)
            ).all()
    finally:
        database.dispose()
    if not rows:
        click.echo("no staff accounts")
    for email, role, two_factor in rows:
        click.echo(f"{email}\t{role}\t2fa {'on' if two_factor else 'off'}")
