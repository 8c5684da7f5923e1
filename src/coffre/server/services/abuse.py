"""Abuse reports and copyright notices about public links; strikes; transparency counts.

Anyone may report a link (by its id or its URL without the key after ``#``: the server
refuses a key). Staff then disable the link, or every link whose file's current version
shares the reported file's stored content (server-side copies included), or dismiss the
report. A disabled link answers 451 ``link_disabled``. The owner gets an account notice
and may file a counter-notice; access returns after ``COFFRE_ABUSE_RESTORE_DAYS`` unless
staff mark that the reporter acted. Each upheld report is a strike against each owner
whose links it disabled; ``COFFRE_STRIKE_LIMIT`` strikes within
``COFFRE_STRIKE_WINDOW_DAYS`` suspend the account's link creation and sharing. A strike
is withdrawn when the report is dismissed, or when access returns after a counter-notice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from coffre.errors import BadRequest, Conflict, Forbidden, LegallyUnavailable, NotFound
from coffre.protocol import support as w
from coffre.server import staff
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import audit, ratelimit

_ID = re.compile(r"[0-9a-f]{32}")
_LINK_PATH = re.compile(r"/s/([0-9a-f]{32})/?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DAY = 86400
STATUSES = ("open", "disabled", "dismissed", "restored")


def _new_id() -> str:
    return secrets.token_hex(16)


def parse_link(text: str) -> str:
    """A link's id, from its id or its URL; a URL with its key is refused."""
    text = text.strip()
    if "#" in text:
        raise BadRequest(
            "link_key_refused",
            "send the link without the part after '#': that is its key, and nobody needs it",
        )
    if _ID.fullmatch(text):
        return text
    found = _LINK_PATH.search(text.split("?", 1)[0])
    if found is None:
        raise BadRequest("invalid_link", "give the link's address (…/s/ID) or its id")
    return found.group(1)


# -- checks used by links and sharing -----------------------------------------------------


def check_link(db: Session, link_id: str) -> None:
    """Raise 451 ``link_disabled`` if the link is disabled after a report."""
    disabled = db.scalar(
        select(t.LinkDisablement.id)
        .where(t.LinkDisablement.link_id == link_id, t.LinkDisablement.lifted_at.is_(None))
        .limit(1)
    )
    if disabled is not None:
        raise LegallyUnavailable(
            "link_disabled", "this link was disabled after a report of abuse or infringement"
        )


def _current_content(db: Session, node_id: str) -> str | None:
    return db.scalar(
        select(t.Version.content_id)
        .join(t.Node, t.Node.current_version == t.Version.id)
        .where(t.Node.id == node_id)
    )


def check_sharing(ctx: Context, db: Session, user_id: str, node_id: str | None = None) -> None:
    """Refuse a new link or share of a suspended account (403 ``sharing_suspended``), and a
    new link to content disabled after a report (451 ``content_disabled``)."""
    if staff.sharing_suspended(db, user_id, ctx.settings):
        raise Forbidden(
            "sharing_suspended",
            "this account may not create links or share for now, after repeated reports",
        )
    if node_id is None:
        return
    content = _current_content(db, node_id)
    if content is not None and db.scalar(
        select(t.AbuseReport.id)
        .where(
            t.AbuseReport.content_id == content,
            t.AbuseReport.status == "disabled",
            t.AbuseReport.scope == "content",
        )
        .limit(1)
    ):
        raise LegallyUnavailable(
            "content_disabled", "this file was disabled after a report and cannot be shared"
        )


# -- reporting ----------------------------------------------------------------------------


def report(ctx: Context, req: w.AbuseReportCreate, ip: str | None) -> w.AbuseReportCreated:
    link_id = parse_link(req.link)
    if not _EMAIL.match(req.reporter_email.strip()):
        raise BadRequest("invalid_email", "give an email address we can answer at")
    if req.kind == "copyright":
        statements = req.good_faith and req.accurate and req.authorised
        if not (statements and req.work and req.work.strip() and (req.signature or "").strip()):
            raise BadRequest(
                "notice_incomplete",
                "a copyright notice needs the work, the three statements and a signature",
            )
    scope = f"abuse-report:{ip or 'unknown'}"
    ratelimit.check(ctx, scope, ctx.settings.abuse_reports_per_address, 3600, "reports")
    with ctx.db.write() as db:
        link = db.get(t.Link, link_id)
        if link is None:
            raise NotFound("link_not_found", "no such link (check that it was copied whole)")
        row = t.AbuseReport(
            id=_new_id(),
            created_at=now(),
            kind=req.kind,
            link_id=link_id,
            owner_id=link.owner_id,
            content_id=_current_content(db, link.node_id) if link.kind == "file" else None,
            reporter_name=req.reporter_name.strip(),
            reporter_email=req.reporter_email.strip(),
            description=req.description,
            work=req.work,
            statements=req.good_faith and req.accurate and req.authorised,
            signature=req.signature,
            status="open",
            scope=None,
            reporter_acted=False,
        )
        db.add(row)
    ratelimit.hit(ctx, scope)
    return w.AbuseReportCreated(id=row.id)


# -- staff --------------------------------------------------------------------------------


def _info(db: Session, report: t.AbuseReport) -> w.AbuseReportInfo:
    disabled = db.scalar(select(func.count()).where(t.LinkDisablement.report_id == report.id))
    counters = db.scalars(
        select(t.CounterNotice)
        .where(t.CounterNotice.report_id == report.id)
        .order_by(t.CounterNotice.created_at)
    ).all()
    return w.AbuseReportInfo(
        id=report.id,
        created=report.created_at,
        kind=cast(w.AbuseKind, report.kind),
        link_id=report.link_id,
        owner_id=report.owner_id,
        reporter_name=report.reporter_name,
        reporter_email=report.reporter_email,
        description=report.description,
        work=report.work,
        statements=report.statements,
        signature=report.signature,
        status=report.status,
        scope=report.scope,
        handled_at=report.handled_at,
        restore_at=None if report.reporter_acted else report.restore_at,
        reporter_acted=report.reporter_acted,
        links_disabled=int(disabled or 0),
        counter_notices=[
            w.CounterNoticeInfo(
                id=c.id, created=c.created_at, statement=c.statement, signature=c.signature
            )
            for c in counters
        ],
    )


def list_reports(ctx: Context, status: str | None) -> w.AbuseReportList:
    if status is not None and status not in STATUSES:
        raise BadRequest("invalid_request", f"status is one of {', '.join(STATUSES)}")
    query = select(t.AbuseReport).order_by(t.AbuseReport.created_at.desc()).limit(500)
    if status is not None:
        query = query.where(t.AbuseReport.status == status)
    with ctx.db.read() as db:
        return w.AbuseReportList(reports=[_info(db, r) for r in db.scalars(query).all()])


def _report(db: Session, report_id: str, *, lock: bool = False) -> t.AbuseReport:
    """A report; with ``lock``, locked until the transaction ends (one staff action on a
    report at a time)."""
    row = db.get(t.AbuseReport, report_id, with_for_update=lock)
    if row is None:
        raise NotFound("report_not_found", "no such report")
    return row


def get_report(ctx: Context, report_id: str) -> w.AbuseReportInfo:
    with ctx.db.read() as db:
        return _info(db, _report(db, report_id))


def _targets(db: Session, report: t.AbuseReport, scope: str) -> Sequence[t.Link]:
    if scope == "content" and report.content_id is not None:
        return db.scalars(
            select(t.Link)
            .join(t.Node, t.Node.id == t.Link.node_id)
            .join(t.Version, t.Version.id == t.Node.current_version)
            .where(t.Version.content_id == report.content_id, t.Link.revoked_at.is_(None))
        ).all()
    link = db.get(t.Link, report.link_id)
    return [link] if link is not None else []


def _notify(db: Session, user_id: str, kind: str, report_id: str, links: int) -> None:
    db.add(
        t.AccountNotice(
            id=_new_id(),
            user_id=user_id,
            kind=kind,
            report_id=report_id,
            links=links,
            created_at=now(),
        )
    )


def disable(ctx: Context, agent: Principal, report_id: str, scope: str) -> w.AbuseReportInfo:
    """Disable the reported link (``link``) or every link to the same stored content
    (``content``); tell each owner, and give each a strike."""
    at = now()
    days = ctx.settings.abuse_restore_days
    with ctx.db.write() as db:
        report = _report(db, report_id, lock=True)
        if report.status != "open":
            raise Conflict("report_handled", f"this report was already handled ({report.status})")
        per_owner: dict[str, int] = {}
        for link in _targets(db, report, scope):
            db.add(
                t.LinkDisablement(
                    link_id=link.id,
                    report_id=report.id,
                    owner_id=link.owner_id,
                    disabled_at=at,
                    lifted_at=None,
                )
            )
            per_owner[link.owner_id] = per_owner.get(link.owner_id, 0) + 1
        for owner, count in per_owner.items():
            _notify(db, owner, "link_disabled", report.id, count)
            db.add(t.Strike(user_id=owner, report_id=report.id, at=at))
        report.status = "disabled"
        report.scope = "content" if scope == "content" and report.content_id else "link"
        report.handled_by = agent.user_id
        report.handled_at = at
        report.restore_at = at + days * _DAY if days > 0 else None
    audit.record(ctx, agent, "abuse_disable", report_id)
    return get_report(ctx, report_id)


def _lift(db: Session, report: t.AbuseReport, kind: str, *, keep_strikes: bool) -> int:
    at = now()
    rows = db.scalars(
        select(t.LinkDisablement).where(
            t.LinkDisablement.report_id == report.id, t.LinkDisablement.lifted_at.is_(None)
        )
    ).all()
    per_owner: dict[str, int] = {}
    for row in rows:
        row.lifted_at = at
        per_owner[row.owner_id] = per_owner.get(row.owner_id, 0) + 1
    for owner, count in per_owner.items():
        _notify(db, owner, kind, report.id, count)
        countered = db.scalar(
            select(t.CounterNotice.id).where(
                t.CounterNotice.report_id == report.id, t.CounterNotice.user_id == owner
            )
        )
        if not keep_strikes or countered is not None:
            db.execute(
                delete(t.Strike).where(t.Strike.report_id == report.id, t.Strike.user_id == owner)
            )
    return len(rows)


def dismiss(ctx: Context, agent: Principal, report_id: str) -> w.AbuseReportInfo:
    """Close a report without action; a link it disabled comes back and its strikes go."""
    with ctx.db.write() as db:
        report = _report(db, report_id, lock=True)
        if report.status in ("dismissed", "restored"):
            raise Conflict("report_handled", f"this report was already handled ({report.status})")
        _lift(db, report, "link_restored", keep_strikes=False)
        report.status = "dismissed"
        report.handled_by = agent.user_id
        report.handled_at = now()
        report.restore_at = None
    audit.record(ctx, agent, "abuse_dismiss", report_id)
    return get_report(ctx, report_id)


def reporter_acted(
    ctx: Context, agent: Principal, report_id: str, acted: bool
) -> w.AbuseReportInfo:
    """Mark that the reporter acted on a counter-notice: access then does not return by
    itself."""
    with ctx.db.write() as db:
        report = _report(db, report_id, lock=True)
        if report.status != "disabled":
            raise Conflict("report_not_disabled", "only a report that disabled links")
        report.reporter_acted = acted
    audit.record(ctx, agent, "abuse_reporter_acted", report_id)
    return get_report(ctx, report_id)


def restore_due(ctx: Context) -> int:
    """Restore the links of reports whose period is over (the background passes run it);
    how many links came back."""
    restored = 0
    with ctx.db.write() as db:
        due = db.scalars(
            select(t.AbuseReport).where(
                t.AbuseReport.status == "disabled",
                t.AbuseReport.reporter_acted.is_(False),
                t.AbuseReport.restore_at.is_not(None),
                t.AbuseReport.restore_at <= now(),
            )
        ).all()
        for report in due:
            restored += _lift(db, report, "link_restored", keep_strikes=True)
            report.status = "restored"
    return restored


# -- the owner's side ---------------------------------------------------------------------


def _notice_model(db: Session, notice: t.AccountNotice) -> w.AccountNotice:
    report = db.get(t.AbuseReport, notice.report_id) if notice.report_id else None
    link_ids = (
        db.scalars(
            select(t.LinkDisablement.link_id).where(
                t.LinkDisablement.report_id == notice.report_id,
                t.LinkDisablement.owner_id == notice.user_id,
            )
        ).all()
        if notice.report_id
        else []
    )
    restore_at = None
    if report is not None and report.status == "disabled" and not report.reporter_acted:
        restore_at = report.restore_at
    countered = db.scalar(select(t.CounterNotice.id).where(t.CounterNotice.notice_id == notice.id))
    return w.AccountNotice(
        id=notice.id,
        kind=notice.kind,
        created=notice.created_at,
        links=notice.links,
        link_ids=list(link_ids),
        restore_at=restore_at if notice.kind == "link_disabled" else None,
        countered=countered is not None,
    )


def notices(ctx: Context, who: Principal) -> w.AccountNoticeList:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(t.AccountNotice)
            .where(t.AccountNotice.user_id == who.user_id)
            .order_by(t.AccountNotice.created_at.desc())
            .limit(200)
        ).all()
        return w.AccountNoticeList(
            notices=[_notice_model(db, n) for n in rows],
            strikes=staff.strikes_in_window(db, who.user_id, ctx.settings),
            sharing_suspended=staff.sharing_suspended(db, who.user_id, ctx.settings),
        )


def counter(
    ctx: Context, who: Principal, notice_id: str, req: w.CounterNoticeCreate
) -> w.AccountNotice:
    if not req.good_faith:
        raise BadRequest(
            "counter_notice_incomplete",
            "a counter-notice states in good faith that the material was removed by mistake",
        )
    with ctx.db.write() as db:
        notice = db.get(t.AccountNotice, notice_id)
        if notice is None or notice.user_id != who.user_id:
            raise NotFound("notice_not_found", "no such notice")
        if notice.kind != "link_disabled" or notice.report_id is None:
            raise BadRequest("not_counterable", "only a notice of disabled links can be answered")
        if db.scalar(select(t.CounterNotice.id).where(t.CounterNotice.notice_id == notice_id)):
            raise Conflict("counter_notice_exists", "you already answered this notice")
        db.add(
            t.CounterNotice(
                id=_new_id(),
                notice_id=notice_id,
                report_id=notice.report_id,
                user_id=who.user_id,
                statement=req.statement,
                signature=req.signature.strip(),
                created_at=now(),
            )
        )
        db.flush()
        return _notice_model(db, notice)


# -- transparency -------------------------------------------------------------------------


def transparency(ctx: Context) -> w.Transparency:
    """Aggregate counts only: nothing about any reporter, link or account."""
    s = ctx.settings
    with ctx.db.read() as db:
        by_kind = dict(
            db.execute(select(t.AbuseReport.kind, func.count()).group_by(t.AbuseReport.kind)).all()
        )
        dismissed = db.scalar(select(func.count()).where(t.AbuseReport.status == "dismissed"))
        disabled = db.scalar(select(func.count()).select_from(t.LinkDisablement))
        restored = db.scalar(select(func.count()).where(t.LinkDisablement.lifted_at.is_not(None)))
        counters = db.scalar(select(func.count()).select_from(t.CounterNotice))
        suspended = 0
        if s.strike_limit > 0:
            since = now() - s.strike_window_days * _DAY
            per_user = (
                select(t.Strike.user_id)
                .where(t.Strike.at > since)
                .group_by(t.Strike.user_id)
                .having(func.count() >= s.strike_limit)
                .subquery()
            )
            suspended = int(db.scalar(select(func.count()).select_from(per_user)) or 0)
    return w.Transparency(
        notices=sum(int(v) for v in by_kind.values()),
        copyright_notices=int(by_kind.get("copyright", 0)),
        harm_reports=int(by_kind.get("harm", 0)),
        other_reports=int(by_kind.get("other", 0)),
        dismissed=int(dismissed or 0),
        links_disabled=int(disabled or 0),
        counter_notices=int(counters or 0),
        restored=int(restored or 0),
        accounts_suspended=suspended,
    )
