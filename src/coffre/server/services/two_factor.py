"""Two-factor authentication: enrolment, checks at login, recovery codes.

The TOTP secret is shared with the user's authenticator app; the server keeps it to check
codes (docs/threat-model.md). It is no key to any of the user's data. A code is accepted
once: the time step of the last accepted code is kept, and a code of that step or an
earlier one is refused. Recovery codes are random, shown once, stored hashed, and each
works once. Wrong codes count against a per-account limit.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from coffre.crypto._primitives import sha256
from coffre.errors import BadRequest, Conflict, Unauthenticated
from coffre.protocol import support as w
from coffre.server.context import Context, Principal
from coffre.server.db import tables as t
from coffre.server.services import ratelimit, totp
from coffre.server.services.records import lock_account

RECOVERY_CODES = 10


def _recovery_hash(code: str) -> bytes:
    return sha256(b"coffre/v1 2fa-recovery\x00" + code.encode())


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _scope(user_id: str) -> str:
    return f"2fa:{user_id}"


def _check_rate(ctx: Context, user_id: str) -> None:
    s = ctx.settings
    ratelimit.check(
        ctx, _scope(user_id), s.login_failures_per_account, s.login_window, "wrong codes"
    )


def _accept(db: Session, user: t.User, secret: bytes, code: str) -> bool:
    """Whether ``code`` is a fresh TOTP code of ``secret`` or one of the account's recovery
    codes; uses it up if so. ``user`` is locked by the caller."""
    code = _normalise(code)
    if code.isdigit() and len(code) == totp.DIGITS:
        step = totp.match(secret, code)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return False
        user.totp_last_step = step
        return True
    if len(code) != 16:
        return False
    used = db.scalar(
        select(t.RecoveryCode).where(
            t.RecoveryCode.user_id == user.id,
            t.RecoveryCode.code_hash == _recovery_hash(_group(code)),
        )
    )
    if used is None:
        return False
    db.delete(used)
    return True


def _group(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, 16, 4))


def _wrong(ctx: Context, user_id: str) -> Unauthenticated:
    ratelimit.hit(ctx, _scope(user_id))
    return Unauthenticated("invalid_two_factor_code", "that two-factor code is wrong or used")


def enabled(db: Session, user_id: str) -> bool:
    return db.scalar(select(t.User.totp_secret).where(t.User.id == user_id)) is not None


def check_login(ctx: Context, user_id: str, code: str | None) -> None:
    """At login, after the password checked out: require a fresh code if 2FA is on."""
    with ctx.db.read() as db:
        if not enabled(db, user_id):
            return
    if not code:
        raise Unauthenticated(
            "two_factor_required", "this account uses two-factor authentication: send a code"
        )
    _check_rate(ctx, user_id)
    with ctx.db.write() as db:
        user = lock_account(db, user_id)
        secret = user.totp_secret if user is not None else None
        ok = user is not None and secret is not None and _accept(db, user, secret, code)
    if not ok:
        raise _wrong(ctx, user_id)


def status(ctx: Context, who: Principal) -> w.TwoFactorStatus:
    with ctx.db.read() as db:
        on = enabled(db, who.user_id)
        left = db.scalar(select(func.count()).where(t.RecoveryCode.user_id == who.user_id))
    return w.TwoFactorStatus(enabled=on, recovery_codes_left=int(left or 0))


def _without_two_factor(db: Session, user_id: str) -> t.User:
    """The caller's account, locked, refused if it has 2FA on already."""
    user = lock_account(db, user_id)
    if user is None:
        raise Unauthenticated("invalid_session", "not signed in")
    if user.totp_secret is not None:
        raise Conflict("two_factor_enabled", "two-factor authentication is already on")
    return user


def begin(ctx: Context, who: Principal) -> w.TwoFactorBegin:
    """A new secret to enrol; 2FA is on once a code of it is confirmed."""
    secret = totp.new_secret()
    with ctx.db.write() as db:
        user = _without_two_factor(db, who.user_id)
        user.totp_pending = secret
        email = user.email
    return w.TwoFactorBegin(secret=totp.b32(secret), uri=totp.uri(secret, email))


def confirm(ctx: Context, who: Principal, code: str) -> w.TwoFactorEnabled:
    _check_rate(ctx, who.user_id)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    with ctx.db.write() as db:
        user = _without_two_factor(db, who.user_id)
        if user.totp_pending is None:
            raise BadRequest("two_factor_not_started", "begin enrolment first")
        step = totp.match(user.totp_pending, _normalise(code))
        if step is not None:
            user.totp_secret, user.totp_pending = user.totp_pending, None
            user.totp_last_step = step
            db.execute(delete(t.RecoveryCode).where(t.RecoveryCode.user_id == user.id))
            db.add_all(t.RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c)) for c in codes)
    if step is None:
        raise _wrong(ctx, who.user_id)
    return w.TwoFactorEnabled(recovery_codes=codes)


def disable(ctx: Context, who: Principal, code: str) -> None:
    """Turn 2FA off, with a current code (or a recovery code)."""
    _check_rate(ctx, who.user_id)
    with ctx.db.write() as db:
        user = lock_account(db, who.user_id)
        if user is None:
            raise Unauthenticated("invalid_session", "not signed in")
        if user.totp_secret is None:
            raise Conflict("two_factor_disabled", "two-factor authentication is not on")
        ok = _accept(db, user, user.totp_secret, code)
        if ok:
            user.totp_secret = user.totp_pending = None
            db.execute(delete(t.RecoveryCode).where(t.RecoveryCode.user_id == user.id))
    if not ok:
        raise _wrong(ctx, who.user_id)
