"""Support codes: a user proves who they are to staff on the phone.

The user makes a code in their account and reads it out; the agent enters it and sees the
account's facts (:func:`coffre.server.staff.account_facts`). A code is nine random digits,
lives fifteen minutes, works once, and is stored only as a keyed hash. Staff get a limited
number of tries, so guessing one is hopeless.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select

from coffre.crypto._primitives import hmac_sha256
from coffre.errors import NotFound
from coffre.protocol import support as w
from coffre.server import staff
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import audit, ratelimit
from coffre.server.services.accounts import _server_secret

LIFETIME = 15 * 60
DIGITS = 9
_PER_HOUR = 20


def _hash(ctx: Context, digits: str) -> bytes:
    return hmac_sha256(
        _server_secret(ctx, "support-codes"), b"coffre/v1 support\x00" + digits.encode()
    )


def _format(digits: str) -> str:
    return "-".join(digits[i : i + 3] for i in range(0, DIGITS, 3))


def create(ctx: Context, who: Principal) -> w.SupportCode:
    scope = f"support-code-new:{who.user_id}"
    ratelimit.check(ctx, scope, _PER_HOUR, 3600, "support codes made")
    digits = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
    at = now()
    code_hash = _hash(ctx, digits)
    with ctx.db.write() as db:
        db.execute(delete(t.SupportCode).where(t.SupportCode.expires_at <= at))
        db.add(
            t.SupportCode(
                code_hash=code_hash, user_id=who.user_id, created_at=at, expires_at=at + LIFETIME
            )
        )
    ratelimit.hit(ctx, scope)
    return w.SupportCode(code=_format(digits), expires_at=at + LIFETIME)


def verify(ctx: Context, agent: Principal, code: str) -> dict[str, object]:
    """The facts of the account whose code this is; the code is used up."""
    s = ctx.settings
    scope = f"support-code-try:{agent.user_id}"
    ratelimit.check(ctx, scope, s.support_code_attempts, s.login_window, "support codes tried")
    digits = "".join(ch for ch in code if ch.isdigit())
    user_id = None
    if len(digits) == DIGITS:
        code_hash = _hash(ctx, digits)
        with ctx.db.write() as db:
            row = db.scalar(
                select(t.SupportCode)
                .where(t.SupportCode.code_hash == code_hash, t.SupportCode.expires_at > now())
                .with_for_update()  # two staff entering one code: only one gets it
            )
            if row is not None:
                user_id = row.user_id
                db.delete(row)
    if user_id is None:
        ratelimit.hit(ctx, scope)
        raise NotFound("support_code_invalid", "no such support code, or it expired or was used")
    audit.record(ctx, agent, "support_code", user_id)
    with ctx.db.read() as db:
        return staff.account_facts(db, user_id, s)


def prune(ctx: Context) -> None:
    with ctx.db.write() as db:
        db.execute(delete(t.SupportCode).where(t.SupportCode.expires_at <= now()))
