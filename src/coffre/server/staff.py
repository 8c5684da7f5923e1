"""Staff: who may use the staff routes, and what they may learn about an account.

A staff route takes :data:`StaffCaller` (an agent or an admin) or :data:`AdminCaller`
(an admin). Both refuse, with 403, an account without the role (``staff_only``,
``admin_only``) and a staff account without two-factor authentication
(``two_factor_required``): staff accounts must use it.

:func:`account_facts` is everything staff may see of an account: the plan, usage and
quotas, the number of sessions, when it signed up, whether two-factor authentication is on
and whether sharing is suspended. The server holds no file name, content or key in a form
it can read, and these facts carry none of what it does hold (envelopes, hashes, secrets).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from coffre.errors import Forbidden, NotFound
from coffre.server.config import Settings
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.deps import Caller, Ctx

ROLES = ("user", "agent", "admin")
STAFF_ROLES = ("agent", "admin")
PLAN = "free"
_HOUR = 3600


def _require(ctx: Context, who: Principal, roles: tuple[str, ...], code: str) -> Principal:
    with ctx.db.read() as db:
        row = db.execute(
            select(t.User.role, t.User.totp_secret).where(t.User.id == who.user_id)
        ).first()
    if who.dropbox is not None or row is None or row.role not in roles:
        what = "staff" if code == "staff_only" else "administrators"
        raise Forbidden(code, f"only {what} may do this")
    if row.totp_secret is None:
        raise Forbidden(
            "two_factor_required",
            "staff accounts must turn on two-factor authentication first ('coffre 2fa enable')",
        )
    return who


async def _staff(ctx: Ctx, who: Caller) -> Principal:
    return await run_in_threadpool(_require, ctx, who, STAFF_ROLES, "staff_only")


async def _admin(ctx: Ctx, who: Caller) -> Principal:
    return await run_in_threadpool(_require, ctx, who, ("admin",), "admin_only")


StaffCaller = Annotated[Principal, Depends(_staff)]
"""A signed-in agent or admin with two-factor authentication on."""

AdminCaller = Annotated[Principal, Depends(_admin)]
"""A signed-in admin with two-factor authentication on."""


def strikes_in_window(db: Session, user_id: str, settings: Settings) -> int:
    since = now() - settings.strike_window_days * 86400
    return int(
        db.scalar(select(func.count()).where(t.Strike.user_id == user_id, t.Strike.at > since)) or 0
    )


def sharing_suspended(db: Session, user_id: str, settings: Settings) -> bool:
    """Whether the strike policy suspends the account's link creation and sharing."""
    limit = settings.strike_limit
    return limit > 0 and strikes_in_window(db, user_id, settings) >= limit


def account_facts(db: Session, user_id: str, settings: Settings | None = None) -> dict[str, object]:
    """What staff may know of an account (docs/threat-model.md). ``settings`` gives the
    transfer quota and the strike policy; the environment's settings when not given."""
    s = settings or Settings.from_env()
    user = db.get(t.User, user_id)
    if user is None:
        raise NotFound("account_not_found", "no such account")
    sessions = db.scalar(select(func.count()).where(t.Session.user_id == user_id)) or 0
    hour = int(now()) // _HOUR
    transfer_used = db.scalar(
        select(func.coalesce(func.sum(t.TransferUsage.bytes), 0)).where(
            t.TransferUsage.user_id == user_id,
            t.TransferUsage.hour > hour - s.transfer_window // _HOUR,
        )
    )
    return {
        "user_id": user.id,
        "email": user.email,
        "role": user.role,
        "plan": PLAN,
        "storage_used": int(user.storage_used),
        "storage_quota": int(user.storage_quota),
        "transfer_used": int(transfer_used or 0),
        "transfer_quota": s.transfer_quota,
        "transfer_window": s.transfer_window,
        "sessions": int(sessions),
        "created": float(user.created_at),
        "two_factor": user.totp_secret is not None,
        "strikes": strikes_in_window(db, user_id, s),
        "sharing_suspended": sharing_suspended(db, user_id, s),
    }
