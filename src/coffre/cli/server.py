"""``coffre serve``: run the server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from coffre.errors import ConnectionFailed
from coffre.server.config import DOCS, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def _settings_help() -> str:
    lines = ["Every setting can also be given in the environment:\n\n\b"]
    lines += [f"  {s.env:34} {s.help}" for s in DOCS.values()]
    return "\n".join(lines)


@click.command(epilog=_settings_help())
@click.option("--host", help="Address to listen on (COFFRE_HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (COFFRE_PORT; default 8080).")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the embedded database and blobs (COFFRE_DATA; default ./coffre-data).",
)
@click.option("--access-log", is_flag=True, help="Log every request.")
def serve(host: str | None, port: int | None, data: Path | None, access_log: bool) -> None:
    """Run the Coffre server (embedded default: SQLite and blobs in the data folder)."""
    from coffre.server.app import create_app

    settings = Settings.from_env(host=host, port=port, data_dir=data)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    ctx = app.state.ctx
    click.echo(
        f"Coffre serving on http://{settings.host}:{settings.port} "
        f"(database {ctx.db.describe()}, blobs {ctx.blobs})",
        err=True,
    )
    try:
        _run(app, settings, access_log)
    except SystemExit as exc:
        if exc.code != _UVICORN_STARTUP_FAILURE:
            raise
        # uvicorn has logged why: a port already taken, an address not on this machine...
        raise ConnectionFailed(
            f"the server could not start on {settings.host}:{settings.port}; "
            "the error above says why"
        ) from None


_UVICORN_STARTUP_FAILURE = 3
"""What uvicorn exits with when it cannot bind or its application's startup failed."""


def _run(app: FastAPI, settings: Settings, access_log: bool) -> None:
    import uvicorn

    from coffre.server.http_protocol import CoffreHttpProtocol

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=CoffreHttpProtocol,  # type: ignore[arg-type]  # uvicorn only calls the class
        access_log=access_log,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        log_level="info",
        timeout_graceful_shutdown=5,
        # Longer than clients keep idle connections (the Python client: 4 s), so a client
        # never writes a request to a connection the server has just closed.
        timeout_keep_alive=30,
    )
