"""Staff routes: support codes, account facts, abuse reports. Every one needs a staff role
and two-factor authentication (:mod:`coffre.server.staff`); none returns a key, a name or
any content, which the server cannot read anyway."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from coffre.protocol import support as w
from coffre.protocol.types import Id
from coffre.server import staff
from coffre.server.deps import Caller, Ctx
from coffre.server.services import abuse, audit, support_codes

router = APIRouter(prefix="/v1", tags=["staff"])

Status = Literal["open", "disabled", "dismissed", "restored"]


@router.post("/account/support-code")
def support_code(ctx: Ctx, who: Caller) -> w.SupportCode:
    """A one-time code (15 minutes) to read out to staff, who then see this account's facts."""
    return support_codes.create(ctx, who)


@router.get("/staff/me")
def me(ctx: Ctx, who: staff.StaffCaller) -> dict[str, object]:
    """The staff caller's own account facts (role included)."""
    with ctx.db.read() as db:
        return staff.account_facts(db, who.user_id, ctx.settings)


@router.post("/staff/support-codes/verify")
def verify(ctx: Ctx, who: staff.StaffCaller, body: w.SupportCodeVerify) -> dict[str, object]:
    """The facts of the account whose support code this is (the code is used up)."""
    return support_codes.verify(ctx, who, body.code)


@router.get("/staff/accounts/{user_id}")
def account(ctx: Ctx, who: staff.StaffCaller, user_id: Id) -> dict[str, object]:
    """An account's facts: plan, usage, quotas, sessions, sign-up date, 2FA, suspension."""
    audit.record(ctx, who, "view_account", user_id)
    with ctx.db.read() as db:
        return staff.account_facts(db, user_id, ctx.settings)


@router.get("/staff/abuse/reports")
def reports(ctx: Ctx, _who: staff.StaffCaller, status: Status | None = None) -> w.AbuseReportList:
    return abuse.list_reports(ctx, status)


@router.get("/staff/abuse/reports/{report_id}")
def report(ctx: Ctx, _who: staff.StaffCaller, report_id: Id) -> w.AbuseReportInfo:
    return abuse.get_report(ctx, report_id)


@router.post("/staff/abuse/reports/{report_id}/disable")
def disable(
    ctx: Ctx, who: staff.StaffCaller, report_id: Id, body: w.AbuseDisable
) -> w.AbuseReportInfo:
    """Disable the link (scope ``link``) or every link to the same content (``content``)."""
    return abuse.disable(ctx, who, report_id, body.scope)


@router.post("/staff/abuse/reports/{report_id}/dismiss")
def dismiss(ctx: Ctx, who: staff.StaffCaller, report_id: Id) -> w.AbuseReportInfo:
    return abuse.dismiss(ctx, who, report_id)


@router.post("/staff/abuse/reports/{report_id}/reporter-acted")
def reporter_acted(
    ctx: Ctx, who: staff.StaffCaller, report_id: Id, body: w.AbuseReporterActed
) -> w.AbuseReportInfo:
    """Mark that the reporter acted (went to court): access will not return by itself."""
    return abuse.reporter_acted(ctx, who, report_id, body.reporter_acted)
