"""Every error leaves the server as ``{"error": {"code": ..., "message": ...}}``.

Bad input is a 4xx with a stable code, never a 500: validation errors become 400
``invalid_request``; unknown routes 404 ``not_found``; an unreachable database 503
``database_unavailable`` (``database_busy`` for a transaction PostgreSQL aborted in favour
of another; the blob store's failures are 503 ``storage_unavailable``). A full disk, under
the blob folder or the database, is 507 ``storage_full``: the request kept nothing, and the
same request can be sent again once there is room. Anything unexpected is logged with its
traceback and answered 500 ``internal_error`` without detail.
"""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from coffre.errors import CoffreError, RateLimited
from coffre.server.db.engine import BUSY_STATES, disk_full, sqlstate

log = logging.getLogger("coffre.server")

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _storage_full() -> JSONResponse:
    return error_response(
        507, "storage_full", "the server's storage is full; nothing was kept, retry later"
    )


def _internal_error(exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "the server failed; the error was logged")


def _describe(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'request'}: {first.get('msg', 'invalid')}{more}"


def install(app: FastAPI) -> None:
    @app.exception_handler(CoffreError)
    async def _coffre(_request: Request, exc: CoffreError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", _describe(exc))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 400:
            code = "invalid_request"  # FastAPI's "error parsing the body": not JSON, not UTF-8
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(sa_exc.OperationalError)
    async def _db_down(_request: Request, exc: sa_exc.OperationalError) -> JSONResponse:
        if disk_full(exc):
            log.error("database disk full: %s", exc.orig)
            return _storage_full()
        if sqlstate(exc) in BUSY_STATES:
            # PostgreSQL aborted the transaction for another's sake (deadlock, serialization):
            # nothing was committed, and the same request may simply be sent again.
            log.warning("transaction aborted by the database: %s", exc.orig)
            return error_response(
                503, "database_busy", "the database was busy with a conflicting change; retry"
            )
        log.error("database error: %s", exc)
        return error_response(
            503, "database_unavailable", "the database is unavailable; retry shortly"
        )

    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _db_gone(_request: Request, exc: Exception) -> JSONResponse:
        # A connection that broke mid-request, or none free in the pool in time.
        log.error("database error: %s", exc)
        return error_response(
            503, "database_unavailable", "the database is unavailable; retry shortly"
        )

    @app.exception_handler(OSError)
    async def _os_error(_request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in _FULL_ERRNOS:  # writing a chunk, a range or a folder of blobs
            log.error("blob store disk full: %s", exc)
            return _storage_full()
        return _internal_error(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(exc)
