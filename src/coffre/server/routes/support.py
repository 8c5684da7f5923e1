"""Support tickets, the customer's side: file one (signed in, or with an email address and
no account), list one's tickets, show one, reply, close, fetch an attachment.

A ticket filed without an account is reached with its access token, sent in the
``X-Coffre-Ticket-Token`` header. Filing without an account is rate-limited per email
address and per client address. Requests that change something must be JSON (or carry
``X-Coffre-Form``) and, when the browser names an Origin, come from this site's own: a
form on another site cannot post here (``cross_site_request``).
"""

from __future__ import annotations

import email.message
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from coffre.errors import Forbidden
from coffre.protocol import tickets as tm
from coffre.protocol.types import Id
from coffre.server.context import Principal
from coffre.server.db import tables as t
from coffre.server.deps import Caller, ClientIp, Ctx, _bearer, principal
from coffre.server.support import tickets
from coffre.server.support.tickets import Customer

TicketRef = Annotated[
    str,
    Path(
        pattern=r"^(#?[0-9]{1,9}|[0-9a-f]{32})$",
        description="the ticket's id, or its number",
    ),
]
TicketToken = Annotated[
    str | None,
    Header(
        alias="X-Coffre-Ticket-Token",
        max_length=200,
        description="the access token of a ticket filed without an account",
    ),
]


def same_site(request: Request) -> None:
    """Refuse what a page on another site could send: a body that is not JSON (without
    the X-Coffre-Form header a form cannot set), a foreign Origin, or a request the
    browser marks as cross-site (Sec-Fetch-Site)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("cross_site_request", "requests from other sites are refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc.lower() != request.headers.get("host", "").lower():
            raise Forbidden("cross_site_request", "requests from other sites are refused")
    elif origin == "null":
        raise Forbidden("cross_site_request", "requests from other sites are refused")
    content_type = request.headers.get("content-type", "")
    parsed = email.message.Message()
    parsed["content-type"] = content_type
    is_json = parsed.get_content_type() == "application/json"
    if not is_json and request.headers.get("x-coffre-form") is None:
        raise Forbidden(
            "cross_site_request", "send JSON (Content-Type: application/json) to this route"
        )


SameSite = Depends(same_site)


async def maybe_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller if a session token was sent; None for a visitor without an account."""
    if credentials is None or not credentials.credentials:
        return None
    return await principal(request, credentials)


MaybeCaller = Annotated[Principal | None, Depends(maybe_principal)]


def via(request: Request) -> str:
    return "cli" if request.headers.get("user-agent", "").startswith("coffre/") else "web"


def download(row: t.SupportAttachment) -> Response:
    """An attachment as a download: never shown inline, never sniffed into HTML."""
    fallback = row.name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        row.data,
        media_type="application/octet-stream",
        headers={
            "content-disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.name)}"
            ),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "no-store",
        },
    )


router = APIRouter(tags=["support"])


@router.post("/v1/support/tickets", status_code=201, dependencies=[SameSite])
def file(
    ctx: Ctx, who: MaybeCaller, ip: ClientIp, request: Request, body: tm.TicketCreate
) -> tm.TicketCreated:
    """File a ticket. Without a session, ``email`` is required, and the answer carries the
    ticket's access token (shown once)."""
    return tickets.file(ctx, who, body, ip, via(request))


@router.get("/v1/support/tickets")
def mine(ctx: Ctx, who: Caller) -> tm.TicketList:
    """The account's tickets, most recently updated first."""
    return tickets.mine(ctx, who)


@router.get("/v1/support/tickets/{ref}")
def show(ctx: Ctx, who: MaybeCaller, ref: TicketRef, token: TicketToken = None) -> tm.TicketView:
    """A ticket and its messages (staff's internal notes are never shown)."""
    return tickets.show(ctx, ref, Customer(who, token))


@router.post("/v1/support/tickets/{ref}/replies", status_code=201, dependencies=[SameSite])
def reply(
    ctx: Ctx,
    who: MaybeCaller,
    ref: TicketRef,
    request: Request,
    body: tm.ReplyCreate,
    token: TicketToken = None,
) -> tm.TicketView:
    """Write again on a ticket; a ticket waiting for the customer, or solved, opens again."""
    return tickets.reply(ctx, ref, Customer(who, token), body, via(request))


@router.post("/v1/support/tickets/{ref}/state", dependencies=[SameSite])
def close(
    ctx: Ctx, who: MaybeCaller, ref: TicketRef, body: tm.CustomerState, token: TicketToken = None
) -> tm.TicketView:
    """The customer needs nothing more: ``{"state": "closed"}`` closes the ticket."""
    del body
    return tickets.close(ctx, ref, Customer(who, token))


@router.get(
    "/v1/support/tickets/{ref}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def attachment(
    ctx: Ctx, who: MaybeCaller, ref: TicketRef, attachment_id: Id, token: TicketToken = None
) -> Response:
    row = await run_in_threadpool(tickets.attachment, ctx, ref, Customer(who, token), attachment_id)
    return download(row)
