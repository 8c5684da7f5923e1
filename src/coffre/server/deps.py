"""Request dependencies: the server context, the caller's identity and address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from coffre.errors import Unauthenticated
from coffre.server.context import Context, Principal
from coffre.server.services import accounts

# The dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def``
# dependency in the thread pool, a trip to a thread and back on every request.


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def get_context(request: Request) -> Context:
    return _context(request)


Ctx = Annotated[Context, Depends(get_context)]


async def client_ip(request: Request) -> str | None:
    """The peer's address; behind trusted proxies uvicorn has already put the client's there
    (walking X-Forwarded-For from the right, past the proxies named in the settings)."""
    return request.client.host[:64] if request.client else None


ClientIp = Annotated[str | None, Depends(client_ip)]


_bearer = HTTPBearer(auto_error=False, description="The session token from signup or login.")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("unauthenticated", "sign in first (no session token was sent)")
    return await run_in_threadpool(
        accounts.authenticate, _context(request), credentials.credentials.strip()
    )


Caller = Annotated[Principal, Depends(principal)]
