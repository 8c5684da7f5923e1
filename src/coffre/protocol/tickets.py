"""Wire models of support tickets: the customer's side and the staff desk's.

Support messages are plaintext to the service (customers are told so before they write):
they are the one thing a customer hands Coffre unencrypted, and the API never mixes them
with anything from the encrypted tree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from coffre.protocol.models import Model
from coffre.protocol.types import Email, Id

Category = Literal["technical", "billing", "account", "abuse"]
State = Literal["new", "open", "pending", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
MessageKind = Literal["customer", "staff", "note"]

CATEGORIES: tuple[Category, ...] = ("technical", "billing", "account", "abuse")
STATES: tuple[State, ...] = ("new", "open", "pending", "solved", "closed")
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")

MAX_MESSAGE = 20_000
MAX_ATTACHMENTS = 5


class AttachmentIn(Model):
    name: str = Field(min_length=1, max_length=255)
    type: str = Field(default="application/octet-stream", min_length=1, max_length=100)
    data: bytes = Field(description="the file, base64")


class TicketCreate(Model):
    category: Category
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    email: Email | None = Field(
        default=None, description="without a session: where answers go (required then)"
    )
    attachments: list[AttachmentIn] = Field(default=[], max_length=MAX_ATTACHMENTS)


class ReplyCreate(Model):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    attachments: list[AttachmentIn] = Field(default=[], max_length=MAX_ATTACHMENTS)


class StaffNote(ReplyCreate):
    call: bool = Field(default=False, description="the note records a phone call with the customer")


class CustomerState(Model):
    state: Literal["closed"] = Field(description="a customer can close their ticket")


class AttachmentInfo(Model):
    id: Id
    name: str
    type: str
    size: int


class MessageInfo(Model):
    id: Id
    kind: MessageKind
    author: str = Field(
        description="the customer's address; the staff member's ('Coffre support' to customers)"
    )
    body: str
    via: str = Field(description="web, api, email or phone")
    created: float
    attachments: list[AttachmentInfo]


class TicketSummary(Model):
    id: Id
    number: int
    category: Category
    subject: str
    state: State
    priority: Priority
    created: float
    updated: float


class TicketView(TicketSummary):
    email: str
    messages: list[MessageInfo] = Field(description="notes are never shown to customers")


class TicketCreated(Model):
    ticket: TicketView
    token: str | None = Field(
        default=None,
        description="filed without an account: the ticket's access token (send it as "
        "X-Coffre-Ticket-Token); shown once",
    )


class TicketList(Model):
    tickets: list[TicketSummary]


# -- the staff desk -------------------------------------------------------------------------


class Timers(Model):
    first_response_due: float
    resolution_due: float
    first_response_breached: bool
    resolution_breached: bool


class DeskSummary(TicketSummary):
    email: str
    user_id: Id | None
    assignee_id: Id | None
    assignee: str | None
    merged_into: Id | None
    first_response: float | None
    timers: Timers


class DeskView(DeskSummary):
    messages: list[MessageInfo]
    account: dict[str, object] | None = Field(
        description="the customer's account facts (never names, contents or keys)"
    )


class Agent(Model):
    id: Id
    email: Email
    role: Literal["agent", "admin"]


class AgentList(Model):
    agents: list[Agent]


class DeskList(Model):
    tickets: list[DeskSummary]


class TicketUpdate(Model):
    state: State | None = None
    priority: Priority | None = None
    assignee_id: Id | None = Field(
        default=None, description="a staff account; null (sent explicitly) unassigns"
    )
    category: Category | None = None


class MergeRequest(Model):
    into: Id = Field(description="the ticket this one is merged into")


class AuditEntry(Model):
    at: float
    actor: str
    action: str
    detail: str


class AuditList(Model):
    entries: list[AuditEntry]


class CannedCreate(Model):
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=MAX_MESSAGE)


class CannedReply(Model):
    id: Id
    title: str
    body: str
    updated: float


class CannedList(Model):
    replies: list[CannedReply]
