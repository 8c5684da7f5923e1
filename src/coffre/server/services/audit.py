"""The staff audit log: who looked at which account, who handled which report."""

from __future__ import annotations

from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t


def record(ctx: Context, who: Principal, action: str, subject: str | None) -> None:
    with ctx.db.write() as db:
        db.add(t.StaffAudit(staff_id=who.user_id, action=action, subject=subject, at=now()))
