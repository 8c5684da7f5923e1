"""Request dependencies: the server context, the caller's identity and address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from coffre.errors import Unauthenticated
from coffre.server.context import Context, Principal
from coffre.server.services import accounts


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


def client_ip(request: Request) -> str | None:
    ctx: Context = request.app.state.ctx
    if ctx.settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else None


ClientIp = Annotated[str | None, Depends(client_ip)]


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("unauthenticated", "sign in first (no session token was sent)")
    return await run_in_threadpool(accounts.authenticate, get_context(request), token.strip())


Caller = Annotated[Principal, Depends(principal)]
