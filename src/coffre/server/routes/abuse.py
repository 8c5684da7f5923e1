"""Abuse reports (anyone), the transparency counts (anyone), and account notices (the
owner of a disabled link, who may answer with a counter-notice)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request

from coffre.errors import ApiError, Forbidden
from coffre.protocol import support as w
from coffre.protocol.types import Id
from coffre.server.deps import Caller, ClientIp, Ctx
from coffre.server.services import abuse

router = APIRouter(prefix="/v1", tags=["abuse"])


class UnsupportedMediaType(ApiError):
    status = 415
    exit_code = 2


def same_site_json(request: Request) -> None:
    """A form anyone may post: only JSON (which a cross-site HTML form cannot send without
    a CORS preflight) and never from another site's page."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMediaType("unsupported_media_type", "send the report as JSON")
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("cross_site_request", "this form only accepts requests from this site")


SameSiteJson = Annotated[None, Depends(same_site_json)]


@router.post("/abuse/reports", status_code=201)
def report(
    ctx: Ctx, ip: ClientIp, _csrf: SameSiteJson, body: w.AbuseReportCreate
) -> w.AbuseReportCreated:
    """Report a public link (its id or URL, never its key), by anyone; rate-limited."""
    return abuse.report(ctx, body, ip)


@router.get("/transparency")
def transparency(ctx: Ctx) -> w.Transparency:
    """Aggregate counts of reports, disabled links, counter-notices and restorations."""
    return abuse.transparency(ctx)


@router.get("/account/notices")
def notices(ctx: Ctx, who: Caller) -> w.AccountNoticeList:
    """Links of this account disabled or restored after reports; strikes; suspension."""
    return abuse.notices(ctx, who)


@router.post("/account/notices/{notice_id}/counter", status_code=201)
def counter(ctx: Ctx, who: Caller, notice_id: Id, body: w.CounterNoticeCreate) -> w.AccountNotice:
    """Answer a notice: the material was disabled by mistake or misidentification."""
    return abuse.counter(ctx, who, notice_id, body)
