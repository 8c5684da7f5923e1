"""The staff desk: the ticket queue, a ticket with its customer's account facts, replies,
internal notes, changes, merging, the audit trail, attachments, canned replies.

Every route needs a staff account (agent or admin) with two-factor authentication on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from coffre.protocol import tickets as tm
from coffre.protocol.types import Id
from coffre.server.deps import Ctx
from coffre.server.routes.support import TicketRef, download, via
from coffre.server.staff import StaffCaller
from coffre.server.support import canned, desk

router = APIRouter(tags=["staff desk"])

QueueState = Literal["new", "open", "pending", "solved", "closed", "active"]
Assignee = Annotated[
    str | None,
    Query(pattern=r"^(me|none|[0-9a-f]{32})$", description="an account id, me or none"),
]


@router.get("/v1/staff/tickets")
def queue(
    ctx: Ctx,
    who: StaffCaller,
    category: tm.Category | None = None,
    state: QueueState | None = None,
    assignee: Assignee = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    breached: bool = False,
) -> tm.DeskList:
    """Tickets, most urgent first, each with its timers (targets and breaches)."""
    return desk.queue(
        ctx, who, category=category, state=state, assignee=assignee, q=q, breached=breached
    )


@router.get("/v1/staff/agents")
def agents(ctx: Ctx, who: StaffCaller) -> tm.AgentList:
    """The staff accounts tickets can be assigned to."""
    return desk.agents(ctx)


@router.get("/v1/staff/tickets/{ref}")
def view(ctx: Ctx, who: StaffCaller, ref: TicketRef) -> tm.DeskView:
    """A ticket, its notes, and its customer's account facts."""
    return desk.view(ctx, who, ref)


@router.post("/v1/staff/tickets/{ref}/replies", status_code=201)
def reply(
    ctx: Ctx, who: StaffCaller, ref: TicketRef, request: Request, body: tm.ReplyCreate
) -> tm.DeskView:
    """A public answer, emailed to the customer."""
    return desk.reply(ctx, who, ref, body, via(request))


@router.post("/v1/staff/tickets/{ref}/notes", status_code=201)
def note(
    ctx: Ctx, who: StaffCaller, ref: TicketRef, request: Request, body: tm.StaffNote
) -> tm.DeskView:
    """An internal note: staff only. ``"call": true`` logs a phone call."""
    return desk.note(ctx, who, ref, body, via(request))


@router.patch("/v1/staff/tickets/{ref}")
def change(ctx: Ctx, who: StaffCaller, ref: TicketRef, body: tm.TicketUpdate) -> tm.DeskView:
    """State, priority, category, assignee (``"assignee_id": null`` unassigns)."""
    return desk.update(ctx, who, ref, body, set(body.model_fields_set))


@router.post("/v1/staff/tickets/{ref}/merge")
def merge(ctx: Ctx, who: StaffCaller, ref: TicketRef, body: tm.MergeRequest) -> tm.DeskView:
    """Merge this ticket into another; answers the one merged into."""
    return desk.merge(ctx, who, ref, body.into)


@router.get("/v1/staff/tickets/{ref}/audit")
def audit(ctx: Ctx, who: StaffCaller, ref: TicketRef) -> tm.AuditList:
    del who
    return desk.audit_trail(ctx, ref)


@router.get(
    "/v1/staff/tickets/{ref}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def attachment(ctx: Ctx, who: StaffCaller, ref: TicketRef, attachment_id: Id) -> Response:
    """An attachment, always as a download (never displayed by the browser)."""
    del who
    row = await run_in_threadpool(desk.attachment, ctx, ref, attachment_id)
    return download(row)


@router.get("/v1/staff/canned")
def canned_list(ctx: Ctx, who: StaffCaller) -> tm.CannedList:
    del who
    return canned.list_all(ctx)


@router.post("/v1/staff/canned", status_code=201)
def canned_create(ctx: Ctx, who: StaffCaller, body: tm.CannedCreate) -> tm.CannedReply:
    del who
    return canned.create(ctx, body)


@router.put("/v1/staff/canned/{canned_id}")
def canned_change(
    ctx: Ctx, who: StaffCaller, canned_id: Id, body: tm.CannedCreate
) -> tm.CannedReply:
    del who
    return canned.change(ctx, canned_id, body)


@router.delete("/v1/staff/canned/{canned_id}", status_code=204)
def canned_delete(ctx: Ctx, who: StaffCaller, canned_id: Id) -> Response:
    del who
    canned.delete(ctx, canned_id)
    return Response(status_code=204)
