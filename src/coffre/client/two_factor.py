"""Two-factor authentication, support codes and account notices, from the client's side."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from coffre.client.api import Api
from coffre.errors import IntegrityError
from coffre.protocol import support as w

T = TypeVar("T", bound=BaseModel)


def _call(api: Api, model: type[T], method: str, path: str, body: BaseModel | None = None) -> T:
    json = body.model_dump(mode="json", exclude_none=True) if body is not None else None
    content = api.request(method, path, json=json, idempotent=False).content
    try:
        return model.model_validate_json(content)
    except ValidationError:
        raise IntegrityError(f"the server's answer to {method} {path}") from None


def status(api: Api) -> w.TwoFactorStatus:
    return _call(api, w.TwoFactorStatus, "GET", "/v1/account/2fa")


def begin(api: Api) -> w.TwoFactorBegin:
    return _call(api, w.TwoFactorBegin, "POST", "/v1/account/2fa/begin")


def confirm(api: Api, code: str) -> w.TwoFactorEnabled:
    return _call(
        api, w.TwoFactorEnabled, "POST", "/v1/account/2fa/confirm", w.TwoFactorCode(code=code)
    )


def disable(api: Api, code: str) -> None:
    body = w.TwoFactorCode(code=code).model_dump(mode="json")
    api.request("POST", "/v1/account/2fa/disable", json=body, idempotent=False)


def support_code(api: Api) -> w.SupportCode:
    return _call(api, w.SupportCode, "POST", "/v1/account/support-code")


def notices(api: Api) -> w.AccountNoticeList:
    return _call(api, w.AccountNoticeList, "GET", "/v1/account/notices")
