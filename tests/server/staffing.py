"""Staff accounts for the API tests: a role set in the database, 2FA turned on."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import update

from coffre.client import two_factor
from coffre.server.context import Context
from coffre.server.db import tables as t
from tests.authenticator import Authenticator
from tests.server.raw import Account


def ctx_of(app: FastAPI) -> Context:
    ctx: Context = app.state.ctx
    return ctx


def set_role(app: FastAPI, account: Account, role: str) -> None:
    with ctx_of(app).db.write() as db:
        db.execute(update(t.User).where(t.User.id == account.user_id).values(role=role))


def enable_2fa(account: Account) -> tuple[Authenticator, list[str]]:
    begun = two_factor.begin(account.api)
    device = Authenticator.from_b32(begun.secret)
    enabled = two_factor.confirm(account.api, device.code())
    return device, enabled.recovery_codes


def make_staff(app: FastAPI, account: Account, role: str = "agent") -> Authenticator:
    set_role(app, account, role)
    device, _ = enable_2fa(account)
    return device
