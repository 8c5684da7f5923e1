"""Accounts and sessions.

The server never sees a password. At signup it receives the auth secret (derived on the
client, docs/crypto.md) and stores only a hash of it; at login it compares hashes in
constant time and hands back a random session token, stored hashed as well. The sealed
key bundle it returns is opaque to it. Failed logins are counted per account and per
address in the database, so the limit holds across API processes.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from coffre.crypto import account as crypto_account
from coffre.crypto._primitives import hmac_sha256, sha256
from coffre.errors import BadRequest, Conflict, NotFound, RateLimited, Unauthenticated
from coffre.protocol import models as m
from coffre.server.context import Context, Principal, now
from coffre.server.db import tables as t
from coffre.server.services import two_factor

TOKEN_PREFIX = "cfs_"  # noqa: S105 - a prefix, not a secret
_LAST_SEEN_GRANULARITY = 60.0


def _token_hash(token: str) -> bytes:
    return sha256(b"coffre/v1 session-token\x00" + token.encode())


def _kdf_model(user: t.User) -> m.KdfParams:
    return m.KdfParams(
        time_cost=user.kdf_time_cost,
        memory_kib=user.kdf_memory_kib,
        lanes=user.kdf_lanes,
        salt=user.kdf_salt,
    )


def key_bundle(user: t.User) -> m.KeyBundle:
    return m.KeyBundle(
        user_id=user.id,
        email=user.email,
        kdf=_kdf_model(user),
        master_key=user.master_key,
        identity_keys=user.identity_keys,
        public_keys=user.public_keys,
        root_id=user.root_id,
        root_key=user.root_key,
    )


def _check_kdf(kdf: m.KdfParams) -> None:
    params = crypto_account.KdfParams(kdf.time_cost, kdf.memory_kib, kdf.lanes, kdf.salt)
    try:
        params.check()
    except Exception as exc:
        raise BadRequest("weak_kdf", str(exc)) from None


def _server_secret(ctx: Context, name: str) -> bytes:
    """A random secret of the server's, made on first use and shared by every process."""
    with ctx.db.read() as db:
        row = db.get(t.ServerSecret, name)
        if row is not None:
            return row.value
    try:
        with ctx.db.write() as db:
            db.add(t.ServerSecret(name=name, value=secrets.token_bytes(32)))
    except sa_exc.IntegrityError:
        pass  # another process made it first
    with ctx.db.read() as db:
        return db.get_one(t.ServerSecret, name).value


def _user_by_email(db: Session, email: str) -> t.User | None:
    return db.scalar(select(t.User).where(t.User.email == email))


# -- rate limiting ------------------------------------------------------------------------


def _scopes(email: str, ip: str | None) -> list[tuple[str, str]]:
    scopes = [("account", f"account:{email}")]
    if ip:
        scopes.append(("address", f"address:{ip}"))
    return scopes


def _check_rate(ctx: Context, db: Session, email: str, ip: str | None) -> None:
    s = ctx.settings
    at = now()
    since = at - s.login_window
    for kind, scope in _scopes(email, ip):
        limit = s.login_failures_per_account if kind == "account" else s.login_failures_per_address
        count, oldest = db.execute(
            select(func.count(), func.min(t.LoginFailure.at)).where(
                t.LoginFailure.scope == scope, t.LoginFailure.at > since
            )
        ).one()
        if (count or 0) >= limit:
            raise RateLimited(
                "too_many_attempts",
                f"too many failed attempts for this {kind}; try again in a few minutes",
                retry_after=max(1, int((oldest or at) + s.login_window - at) + 1),
            )


def _record_failure(ctx: Context, email: str, ip: str | None) -> None:
    # In its own transaction: the caller's transaction is about to roll back.
    with ctx.db.write() as db:
        at = now()
        for _, scope in _scopes(email, ip):
            db.add(t.LoginFailure(scope=scope, at=at))
    prune_login_failures(ctx)


def prune_login_failures(ctx: Context) -> None:
    """Forget failed logins older than the window (they hold emails and addresses)."""
    with ctx.db.write() as db:
        db.execute(
            delete(t.LoginFailure).where(t.LoginFailure.at < now() - ctx.settings.login_window)
        )


def _verify(ctx: Context, email: str, ip: str | None, secret: bytes, field: str) -> str:
    """The account's id if ``secret`` matches its stored hash; one uniform error otherwise."""
    with ctx.db.read() as db:
        _check_rate(ctx, db, email, ip)
        user = _user_by_email(db, email)
        expected = getattr(user, field) if user is not None else b"\x00" * 32
        ok = hmac.compare_digest(crypto_account.auth_hash(secret), expected)
    if not ok or user is None:
        _record_failure(ctx, email, ip)
        raise Unauthenticated("invalid_credentials", "wrong email address or password")
    return user.id


def _user(db: Session, user_id: str) -> t.User:
    user = db.get(t.User, user_id)
    if user is None:
        raise Unauthenticated("invalid_session", "not signed in")
    return user


# -- sessions -----------------------------------------------------------------------------


def _new_session(db: Session, user_id: str, device: str | None, ip: str | None) -> tuple[str, str]:
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    session_id = secrets.token_hex(16)
    at = now()
    db.add(
        t.Session(
            id=session_id,
            user_id=user_id,
            token_hash=_token_hash(token),
            created_at=at,
            last_seen_at=at,
            device=device,
            ip=ip,
        )
    )
    return token, session_id


_S = t.Session.__table__.c
_BY_TOKEN = select(_S.user_id, _S.id, _S.last_seen_at).where(
    _S.token_hash == bindparam("token_hash")
)
_SEEN = (
    update(t.Session)
    .where(t.Session.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


def authenticate(ctx: Context, token: str) -> Principal:
    """The session's account; refreshes the session's ``last_seen_at`` about once a minute.

    The lookup is one Core statement (no ORM objects): every request of the API runs it."""
    row = ctx.db.first(_BY_TOKEN, {"token_hash": _token_hash(token)})
    if row is None:
        raise Unauthenticated("invalid_session", "not signed in, or the session has ended")
    if now() - row.last_seen_at > _LAST_SEEN_GRANULARITY:
        _touch(ctx, row.id)
    return Principal(row.user_id, row.id)


def _touch(ctx: Context, session_id: str) -> None:
    """Note that the session was used. Bookkeeping: a request never waits for writers
    for it (a busy database leaves it to one of the session's next requests), and it is
    not fsynced on its own (the list of sessions may show a time up to a minute old)."""
    with ctx.db.write_if_free() as db:
        if db is not None:
            db.execute(_SEEN, {"session_id": session_id, "at": now()})


def list_sessions(ctx: Context, who: Principal) -> m.SessionList:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(t.Session).where(t.Session.user_id == who.user_id).order_by(t.Session.created_at)
        ).all()
        return m.SessionList(
            sessions=[
                m.SessionInfo(
                    id=r.id,
                    created=r.created_at,
                    last_seen=r.last_seen_at,
                    device=r.device,
                    ip=r.ip,
                    current=r.id == who.session_id,
                )
                for r in rows
            ]
        )


def revoke_session(ctx: Context, who: Principal, session_id: str) -> None:
    with ctx.db.write() as db:
        row = db.get(t.Session, session_id)
        if row is None or row.user_id != who.user_id:
            raise NotFound("session_not_found", "no such session")
        db.delete(row)


# -- the flows ----------------------------------------------------------------------------


def prelogin(ctx: Context, email: str) -> m.PreloginResponse:
    """The account's KDF parameters; for an unknown address, stable made-up ones."""
    with ctx.db.read() as db:
        user = _user_by_email(db, email)
        if user is not None:
            return m.PreloginResponse(kdf=_kdf_model(user))
    secret = _server_secret(ctx, "prelogin")
    d = crypto_account.DEFAULT
    salt = hmac_sha256(secret, b"coffre/v1 prelogin-salt\x00" + email.encode())[:16]
    return m.PreloginResponse(
        kdf=m.KdfParams(time_cost=d.time_cost, memory_kib=d.memory_kib, lanes=d.lanes, salt=salt)
    )


def signup(ctx: Context, req: m.SignupRequest, ip: str | None) -> m.LoginResponse:
    _check_kdf(req.kdf)
    at = now()
    user = t.User(
        id=req.user_id,
        email=req.email,
        created_at=at,
        kdf_time_cost=req.kdf.time_cost,
        kdf_memory_kib=req.kdf.memory_kib,
        kdf_lanes=req.kdf.lanes,
        kdf_salt=req.kdf.salt,
        auth_hash=crypto_account.auth_hash(req.auth_secret),
        recovery_hash=crypto_account.auth_hash(req.recovery_verifier),
        master_key=req.master_key,
        identity_keys=req.identity_keys,
        public_keys=req.public_keys,
        root_id=req.root_id,
        root_key=req.root_key,
        storage_used=0,
        storage_quota=ctx.settings.storage_quota,
        feed_seq=0,
    )
    root = t.Node(
        id=req.root_id,
        owner_id=req.user_id,
        parent_id=None,
        kind="folder",
        key=req.root_key,
        meta=None,
        name_tag=None,
        created_at=at,
        updated_at=at,
        version_count=0,
    )
    try:
        with ctx.db.write() as db:
            if _user_by_email(db, req.email) is not None:
                raise Conflict("email_taken", "an account with this email address exists")
            if db.get(t.User, req.user_id) or db.get(t.Node, req.root_id):
                raise Conflict("id_taken", "that id is in use; generate another")
            db.add(user)
            db.flush()
            db.add(root)
            token, session_id = _new_session(db, user.id, req.device, ip)
            bundle = key_bundle(user)
    except sa_exc.IntegrityError:
        raise Conflict("email_taken", "an account with this email address exists") from None
    return m.LoginResponse(token=token, session_id=session_id, keys=bundle)


def login(ctx: Context, req: m.LoginRequest, ip: str | None) -> m.LoginResponse:
    user_id = _verify(ctx, req.email, ip, req.auth_secret, "auth_hash")
    two_factor.check_login(ctx, user_id, req.totp)  # only once the password checked out
    with ctx.db.write() as db:
        user = _user(db, user_id)
        db.execute(delete(t.LoginFailure).where(t.LoginFailure.scope == f"account:{req.email}"))
        token, session_id = _new_session(db, user.id, req.device, ip)
        return m.LoginResponse(token=token, session_id=session_id, keys=key_bundle(user))


def logout(ctx: Context, who: Principal) -> None:
    with ctx.db.write() as db:
        db.execute(delete(t.Session).where(t.Session.id == who.session_id))


def _replace_password(
    user: t.User, kdf: m.KdfParams, auth_secret: bytes, master_key: bytes
) -> None:
    user.kdf_time_cost = kdf.time_cost
    user.kdf_memory_kib = kdf.memory_kib
    user.kdf_lanes = kdf.lanes
    user.kdf_salt = kdf.salt
    user.auth_hash = crypto_account.auth_hash(auth_secret)
    user.master_key = master_key


def change_password(
    ctx: Context, who: Principal, req: m.PasswordChangeRequest, ip: str | None
) -> None:
    """Replace the password; every other session of the account ends."""
    _check_kdf(req.kdf)
    with ctx.db.read() as db:
        email = _user(db, who.user_id).email
    _verify(ctx, email, ip, req.auth_secret, "auth_hash")
    with ctx.db.write() as db:
        user = _user(db, who.user_id)
        _replace_password(user, req.kdf, req.new_auth_secret, req.master_key)
        db.execute(
            delete(t.Session).where(t.Session.user_id == user.id, t.Session.id != who.session_id)
        )


def recovery_keys(ctx: Context, req: m.RecoveryProof, ip: str | None) -> m.KeyBundle:
    """The key bundle, to a client that proves it holds the recovery key."""
    user_id = _verify(ctx, req.email, ip, req.recovery_verifier, "recovery_hash")
    with ctx.db.read() as db:
        return key_bundle(_user(db, user_id))


def recover(ctx: Context, req: m.RecoverRequest, ip: str | None) -> m.LoginResponse:
    """Set a new password with the recovery key; every session of the account ends."""
    _check_kdf(req.kdf)
    user_id = _verify(ctx, req.email, ip, req.recovery_verifier, "recovery_hash")
    with ctx.db.write() as db:
        user = _user(db, user_id)
        _replace_password(user, req.kdf, req.auth_secret, req.master_key)
        db.execute(delete(t.Session).where(t.Session.user_id == user.id))
        token, session_id = _new_session(db, user.id, req.device, ip)
        return m.LoginResponse(token=token, session_id=session_id, keys=key_bundle(user))


def account_info(ctx: Context, who: Principal) -> m.AccountInfo:
    with ctx.db.read() as db:
        user = _user(db, who.user_id)
        return m.AccountInfo(
            user_id=user.id,
            email=user.email,
            created=user.created_at,
            root_id=user.root_id,
            storage_used=user.storage_used,
            storage_quota=user.storage_quota,
        )


def keys(ctx: Context, who: Principal) -> m.KeyBundle:
    with ctx.db.read() as db:
        return key_bundle(_user(db, who.user_id))
