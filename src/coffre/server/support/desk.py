"""The staff desk: the queue, a ticket with its customer's account facts, replies and
internal notes, state, priority, category and assignment, merging, and the audit trail.

Staff see what the customer wrote and the account's facts (plan, usage, quota, sessions,
sign-up date): never a file's name, content or key, which the server does not have.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, Conflict
from coffre.protocol import tickets as tm
from coffre.server import staff
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import audit
from coffre.server.support import notify, store, timers
from coffre.server.support.tickets import writable

QUEUE_LIMIT = 500


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _email(db: Session, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    user = db.get(t.User, user_id)
    return user.email if user is not None else None


def _summary_fields(
    db: Session, ticket: t.SupportTicket, targets: dict[str, timers.Target], at: float
) -> dict[str, object]:
    return {
        **store.summary_fields(ticket),
        "email": ticket.email,
        "user_id": ticket.user_id,
        "assignee_id": ticket.assignee_id,
        "assignee": _email(db, ticket.assignee_id),
        "merged_into": ticket.merged_into,
        "first_response": ticket.first_response_at,
        "timers": timers.timers(ticket, targets, at),
    }


def queue(
    ctx: Context,
    who: Principal,
    *,
    category: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    q: str | None = None,
    breached: bool = False,
) -> tm.DeskList:
    """Tickets, most urgent first. ``state`` may be ``active`` (new, open or pending);
    ``assignee`` an account id, ``me`` or ``none``; ``q`` searches subjects, addresses
    and every message's text."""
    query = select(t.SupportTicket)
    if category:
        query = query.where(t.SupportTicket.category == category)
    if state == "active":
        query = query.where(t.SupportTicket.state.in_(("new", "open", "pending")))
    elif state:
        query = query.where(t.SupportTicket.state == state)
    if assignee == "me":
        query = query.where(t.SupportTicket.assignee_id == who.user_id)
    elif assignee == "none":
        query = query.where(t.SupportTicket.assignee_id.is_(None))
    elif assignee:
        query = query.where(t.SupportTicket.assignee_id == assignee)
    if q and q.strip():
        pattern = _like(q.strip())
        conditions = [
            t.SupportTicket.subject.ilike(pattern, escape="\\"),
            t.SupportTicket.email.ilike(pattern, escape="\\"),
            exists().where(
                and_(
                    t.SupportMessage.ticket_id == t.SupportTicket.id,
                    t.SupportMessage.body.ilike(pattern, escape="\\"),
                )
            ),
        ]
        number = q.strip().lstrip("#")
        if number.isdigit() and len(number) < 10:
            conditions.append(t.SupportTicket.number == int(number))
        query = query.where(or_(*conditions))
    query = query.order_by(t.SupportTicket.updated_at.desc()).limit(QUEUE_LIMIT)
    targets = timers.parse(ctx.settings.support_targets)
    at = now()
    with ctx.db.read() as db:
        summaries = [
            tm.DeskSummary.model_validate(_summary_fields(db, row, targets, at))
            for row in db.scalars(query).all()
        ]
    if breached:
        summaries = [
            s for s in summaries if s.timers.first_response_breached or s.timers.resolution_breached
        ]
    rank = {p: i for i, p in enumerate(reversed(tm.PRIORITIES))}
    summaries.sort(key=lambda s: (rank[s.priority], s.state in ("solved", "closed")))
    return tm.DeskList(tickets=summaries)


def view(ctx: Context, who: Principal, ref: str) -> tm.DeskView:
    """A ticket for staff. Showing its customer's account facts is a look at the account:
    it goes into the staff audit log, as every other look does."""
    targets = timers.parse(ctx.settings.support_targets)
    with ctx.db.read() as db:
        ticket = store.get(db, ref)
        facts = None
        if ticket.user_id is not None and db.get(t.User, ticket.user_id) is not None:
            facts = staff.account_facts(db, ticket.user_id, ctx.settings)
        answer = tm.DeskView.model_validate(
            {
                **_summary_fields(db, ticket, targets, now()),
                "messages": store.messages(db, ticket.id, notes=True),
                "account": facts,
            }
        )
    if answer.user_id is not None and facts is not None:
        audit.record(ctx, who, "view_account", answer.user_id)
    return answer


def agents(ctx: Context) -> tm.AgentList:
    """Every staff account, to assign tickets to."""
    with ctx.db.read() as db:
        rows = db.execute(
            select(t.User.id, t.User.email, t.User.role)
            .where(t.User.role.in_(staff.STAFF_ROLES))
            .order_by(t.User.email)
        ).all()
    return tm.AgentList(agents=[tm.Agent(id=r.id, email=r.email, role=r.role) for r in rows])


def _staff_email(db: Session, who: Principal) -> str:
    return _email(db, who.user_id) or "staff"


def reply(
    ctx: Context, who: Principal, ref: str, req: tm.ReplyCreate, via: str = "web"
) -> tm.DeskView:
    """A public answer: emailed to the customer; the ticket then waits for them."""
    files = [(a.name, a.type, a.data) for a in req.attachments]
    store.check_attachments(files, ctx.settings.support_attachment_bytes)
    with ctx.db.write() as db:
        ticket = store.get(db, ref)
        writable(ticket)
        me = _staff_email(db, who)
        message = store.add_message(
            db,
            ticket,
            kind="staff",
            author_id=who.user_id,
            author_email=me,
            body=req.message,
            via=via,
            attachments=files,
        )
        store.audit(db, ticket.id, me, "reply", "", actor_id=who.user_id)
        if ticket.first_response_at is None:
            ticket.first_response_at = message.created_at
        if ticket.state in ("new", "open"):
            store.audit(db, ticket.id, me, "state", f"{ticket.state} -> pending", who.user_id)
            ticket.state = "pending"
        ticket_id, message_id = ticket.id, message.id
    notify.staff_replied(ctx, ticket_id, message_id, req.message)
    return view(ctx, who, ticket_id)


def note(
    ctx: Context, who: Principal, ref: str, req: tm.StaffNote, via: str = "web"
) -> tm.DeskView:
    """An internal note: staff only, never shown or sent to the customer. A note with
    ``call`` records a phone call (``via`` is then ``phone``)."""
    files = [(a.name, a.type, a.data) for a in req.attachments]
    store.check_attachments(files, ctx.settings.support_attachment_bytes)
    with ctx.db.write() as db:
        ticket = store.get(db, ref)
        me = _staff_email(db, who)
        store.add_message(
            db,
            ticket,
            kind="note",
            author_id=who.user_id,
            author_email=me,
            body=req.message,
            via="phone" if req.call else via,
            attachments=files,
        )
        store.audit(db, ticket.id, me, "call" if req.call else "note", "", who.user_id)
        ticket_id = ticket.id
    return view(ctx, who, ticket_id)


def update(
    ctx: Context, who: Principal, ref: str, req: tm.TicketUpdate, given: set[str]
) -> tm.DeskView:
    with ctx.db.write() as db:
        ticket = store.get(db, ref)
        me = _staff_email(db, who)

        def changed(action: str, old: object, new: object) -> None:
            store.audit(db, ticket.id, me, action, f"{old} -> {new}", actor_id=who.user_id)

        if req.state is not None and req.state != ticket.state:
            if ticket.merged_into is not None:
                raise Conflict("ticket_merged", "a merged ticket stays closed")
            changed("state", ticket.state, req.state)
            ticket.state = req.state
            ticket.solved_at = now() if req.state == "solved" else None
        if req.priority is not None and req.priority != ticket.priority:
            changed("priority", ticket.priority, req.priority)
            ticket.priority = req.priority
        if req.category is not None and req.category != ticket.category:
            changed("category", ticket.category, req.category)
            ticket.category = req.category
        if "assignee_id" in given and req.assignee_id != ticket.assignee_id:
            if req.assignee_id is not None:
                role = db.scalar(select(t.User.role).where(t.User.id == req.assignee_id))
                if role not in staff.STAFF_ROLES:
                    raise BadRequest("not_staff", "tickets are assigned to staff accounts only")
            changed(
                "assignee",
                _email(db, ticket.assignee_id) or "nobody",
                _email(db, req.assignee_id) or "nobody",
            )
            ticket.assignee_id = req.assignee_id
        ticket.updated_at = now()
        ticket_id = ticket.id
    return view(ctx, who, ticket_id)


def merge(ctx: Context, who: Principal, ref: str, into: str) -> tm.DeskView:
    """Move one ticket's messages, attachments and mail threading into another; the
    merged ticket is closed and points at the one it went into."""
    with ctx.db.write() as db:
        source = store.get(db, ref)
        target = store.get(db, into)
        if source.id == target.id:
            raise BadRequest("merge_self", "a ticket cannot be merged into itself")
        if source.merged_into is not None or target.merged_into is not None:
            raise Conflict("ticket_merged", "that ticket was already merged into another")
        me = _staff_email(db, who)
        for table in (t.SupportMessage, t.SupportAttachment, t.SupportMailRef):
            db.execute(
                sql_update(table).where(table.ticket_id == source.id).values(ticket_id=target.id)
            )
        store.audit(db, source.id, me, "merge", f"into #{target.number}", who.user_id)
        store.audit(db, target.id, me, "merge", f"#{source.number} merged into this", who.user_id)
        store.add_message(
            db,
            target,
            kind="note",
            author_id=who.user_id,
            author_email=me,
            body=f"Ticket #{source.number} ({source.email}: {source.subject}) was merged "
            "into this one.",
            via="web",
        )
        if target.first_response_at is None and source.first_response_at is not None:
            target.first_response_at = source.first_response_at
        source.merged_into = target.id
        source.state = "closed"
        source.updated_at = now()
        target_id = target.id
    return view(ctx, who, target_id)


def audit_trail(ctx: Context, ref: str) -> tm.AuditList:
    with ctx.db.read() as db:
        ticket = store.get(db, ref)
        rows = db.scalars(
            select(t.SupportAudit)
            .where(t.SupportAudit.ticket_id == ticket.id)
            .order_by(t.SupportAudit.id)
        ).all()
        return tm.AuditList(
            entries=[
                tm.AuditEntry(at=r.at, actor=r.actor, action=r.action, detail=r.detail)
                for r in rows
            ]
        )


def attachment(ctx: Context, ref: str, attachment_id: str) -> t.SupportAttachment:
    with ctx.db.read() as db:
        ticket = store.get(db, ref)
        return store.attachment(db, ticket.id, attachment_id, notes=True)
