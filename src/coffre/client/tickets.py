"""Support tickets from the client's side: file, list, show, reply, close."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from coffre.client.api import Api
from coffre.errors import IntegrityError, LocalError, UsageError
from coffre.protocol import tickets as tm

T = TypeVar("T", bound=BaseModel)


def _call(api: Api, model: type[T], method: str, path: str, body: BaseModel | None = None) -> T:
    json = body.model_dump(mode="json", exclude_none=True) if body is not None else None
    content = api.request(method, path, json=json, idempotent=method == "GET").content
    try:
        return model.model_validate_json(content)
    except ValidationError:
        raise IntegrityError(f"the server's answer to {method} {path}") from None


def attachment(path: Path) -> tm.AttachmentIn:
    """A local file, ready to send with a message."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LocalError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return tm.AttachmentIn(name=path.name or "attachment", type=media_type, data=data)


def file(api: Api, req: tm.TicketCreate) -> tm.TicketCreated:
    return _call(api, tm.TicketCreated, "POST", "/v1/support/tickets", req)


def mine(api: Api) -> list[tm.TicketSummary]:
    return _call(api, tm.TicketList, "GET", "/v1/support/tickets").tickets


def show(api: Api, ref: str) -> tm.TicketView:
    return _call(api, tm.TicketView, "GET", f"/v1/support/tickets/{_ref(ref)}")


def reply(api: Api, ref: str, req: tm.ReplyCreate) -> tm.TicketView:
    return _call(api, tm.TicketView, "POST", f"/v1/support/tickets/{_ref(ref)}/replies", req)


def close(api: Api, ref: str) -> tm.TicketView:
    return _call(
        api,
        tm.TicketView,
        "POST",
        f"/v1/support/tickets/{_ref(ref)}/state",
        tm.CustomerState(state="closed"),
    )


def _ref(ref: str) -> str:
    """A ticket's id, or its number (``12`` or ``#12``), as the API's path takes it."""
    ref = ref.strip().lstrip("#")
    if not (ref.isdigit() and len(ref) < 10) and not (
        len(ref) == 32 and all(c in "0123456789abcdef" for c in ref)
    ):
        raise UsageError(f"{ref!r} is not a ticket number")
    return ref
