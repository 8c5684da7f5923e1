"""Wire models of two-factor authentication, support codes, staff and abuse handling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from coffre.protocol.models import Model

AbuseKind = Literal["copyright", "harm", "other"]


class TwoFactorBegin(Model):
    secret: str = Field(description="the TOTP secret, base32, for an authenticator app")
    uri: str = Field(description="the same as an otpauth:// URI")


class TwoFactorCode(Model):
    code: str = Field(min_length=1, max_length=64)


class TwoFactorEnabled(Model):
    recovery_codes: list[str] = Field(description="one-time codes, shown once")


class TwoFactorStatus(Model):
    enabled: bool
    recovery_codes_left: int


class SupportCode(Model):
    code: str
    expires_at: float


class SupportCodeVerify(Model):
    code: str = Field(min_length=1, max_length=32)


class AbuseReportCreate(Model):
    reporter_name: str = Field(min_length=1, max_length=200)
    reporter_email: str = Field(min_length=3, max_length=254)
    link: str = Field(min_length=1, max_length=2000, description="the link's URL or id")
    kind: AbuseKind
    description: str = Field(min_length=1, max_length=5000)
    work: str | None = Field(default=None, max_length=2000)
    good_faith: bool = False
    accurate: bool = False
    authorised: bool = False
    signature: str | None = Field(default=None, max_length=200)


class AbuseReportCreated(Model):
    id: str


class CounterNoticeInfo(Model):
    id: str
    created: float
    statement: str
    signature: str


class AbuseReportInfo(Model):
    id: str
    created: float
    kind: AbuseKind
    link_id: str
    owner_id: str | None
    reporter_name: str
    reporter_email: str
    description: str
    work: str | None
    statements: bool
    signature: str | None
    status: str
    scope: str | None
    handled_at: float | None
    restore_at: float | None
    reporter_acted: bool
    links_disabled: int
    counter_notices: list[CounterNoticeInfo]


class AbuseReportList(Model):
    reports: list[AbuseReportInfo]


class AbuseDisable(Model):
    scope: Literal["link", "content"] = "link"


class AbuseReporterActed(Model):
    reporter_acted: bool = True


class CounterNoticeCreate(Model):
    statement: str = Field(min_length=1, max_length=5000)
    signature: str = Field(min_length=1, max_length=200)
    good_faith: bool


class AccountNotice(Model):
    id: str
    kind: str
    created: float
    links: int
    link_ids: list[str]
    restore_at: float | None
    countered: bool


class AccountNoticeList(Model):
    notices: list[AccountNotice]
    strikes: int
    sharing_suspended: bool


class Transparency(Model):
    notices: int
    copyright_notices: int
    harm_reports: int
    other_reports: int
    dismissed: int
    links_disabled: int
    counter_notices: int
    restored: int
    accounts_suspended: int
