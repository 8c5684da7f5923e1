"""Signup, login, sessions, password change and recovery."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.deps import Caller, ClientIp, Ctx
from coffre.server.services import accounts, tree

router = APIRouter(prefix="/v1", tags=["accounts"])


def _device(request: Request, given: str | None) -> str | None:
    return (given or request.headers.get("user-agent") or "")[:100] or None


@router.post("/auth/prelogin")
def prelogin(ctx: Ctx, body: m.PreloginRequest) -> m.PreloginResponse:
    """The password-hashing parameters for an email address (made up for unknown ones)."""
    return accounts.prelogin(ctx, body.email)


@router.post("/auth/signup", status_code=201)
def signup(ctx: Ctx, ip: ClientIp, request: Request, body: m.SignupRequest) -> m.LoginResponse:
    body = body.model_copy(update={"device": _device(request, body.device)})
    return accounts.signup(ctx, body, ip)


@router.post("/auth/login")
def login(ctx: Ctx, ip: ClientIp, request: Request, body: m.LoginRequest) -> m.LoginResponse:
    body = body.model_copy(update={"device": _device(request, body.device)})
    return accounts.login(ctx, body, ip)


@router.post("/auth/recover/keys")
def recovery_keys(ctx: Ctx, ip: ClientIp, body: m.RecoveryProof) -> m.KeyBundle:
    """The sealed key bundle, for a client that proves it holds the recovery key."""
    return accounts.recovery_keys(ctx, body, ip)


@router.post("/auth/recover")
def recover(ctx: Ctx, ip: ClientIp, request: Request, body: m.RecoverRequest) -> m.LoginResponse:
    """Set a new password with the recovery key's verifier; ends every session."""
    body = body.model_copy(update={"device": _device(request, body.device)})
    return accounts.recover(ctx, body, ip)


@router.post("/auth/logout", status_code=204)
def logout(ctx: Ctx, who: Caller) -> Response:
    accounts.logout(ctx, who)
    return Response(status_code=204)


@router.get("/account")
def account(ctx: Ctx, who: Caller) -> m.AccountInfo:
    return accounts.account_info(ctx, who)


@router.get("/account/keys")
def keys(ctx: Ctx, who: Caller) -> m.KeyBundle:
    return accounts.keys(ctx, who)


@router.get("/account/usage")
def usage(ctx: Ctx, who: Caller) -> m.Usage:
    return tree.usage(ctx, who)


@router.post("/account/password", status_code=204)
def change_password(ctx: Ctx, who: Caller, ip: ClientIp, body: m.PasswordChangeRequest) -> Response:
    """Replace the password (the client re-seals the master key); ends other sessions."""
    accounts.change_password(ctx, who, body, ip)
    return Response(status_code=204)


@router.get("/sessions")
def sessions(ctx: Ctx, who: Caller) -> m.SessionList:
    return accounts.list_sessions(ctx, who)


@router.delete("/sessions/{session_id}", status_code=204)
def revoke(ctx: Ctx, who: Caller, session_id: Id) -> Response:
    accounts.revoke_session(ctx, who, session_id)
    return Response(status_code=204)
