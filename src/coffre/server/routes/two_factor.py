"""Two-factor authentication of the signed-in account: enrol, confirm, disable."""

from __future__ import annotations

from fastapi import APIRouter, Response

from coffre.protocol import support as w
from coffre.server.deps import Caller, Ctx
from coffre.server.services import two_factor

router = APIRouter(prefix="/v1/account/2fa", tags=["two-factor"])


@router.get("")
def status(ctx: Ctx, who: Caller) -> w.TwoFactorStatus:
    return two_factor.status(ctx, who)


@router.post("/begin")
def begin(ctx: Ctx, who: Caller) -> w.TwoFactorBegin:
    """A new TOTP secret and its otpauth:// URI; 2FA is on once a code is confirmed."""
    return two_factor.begin(ctx, who)


@router.post("/confirm")
def confirm(ctx: Ctx, who: Caller, body: w.TwoFactorCode) -> w.TwoFactorEnabled:
    """Turn 2FA on with a code of the new secret; returns one-time recovery codes."""
    return two_factor.confirm(ctx, who, body.code)


@router.post("/disable", status_code=204)
def disable(ctx: Ctx, who: Caller, body: w.TwoFactorCode) -> Response:
    """Turn 2FA off with a current code or a recovery code."""
    two_factor.disable(ctx, who, body.code)
    return Response(status_code=204)
