"""Server settings: read once, typed, each with its help text.

Every setting can come from an environment variable; ``coffre serve`` options override
them. docs/deploy.md lists them all (a test checks that it does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from coffre.errors import UsageError

GIB = 1 << 30
SQLITE_REQUEST_THREADS = 3
NETWORK_REQUEST_THREADS = 8
"""COFFRE_REQUEST_THREADS when it is not set, on SQLite and on PostgreSQL."""


@dataclass(frozen=True, slots=True)
class Setting:
    env: str
    help: str
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("coffre-data")
    database_url: str = ""
    blobs: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    storage_quota: int = 20 * GIB
    upload_expiry: int = 24 * 3600
    gc_interval: int = 600
    min_chunk_size: int = 64 * 1024
    max_chunk_size: int = 16 * 1024 * 1024
    max_json_bytes: int = 4 * 1024 * 1024
    max_range_bytes: int = 64 * 1024 * 1024
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_window: int = 15 * 60
    trusted_proxies: str = ""
    transfer_quota: int = 100 * GIB
    transfer_window: int = 24 * 3600
    link_opens_per_address: int = 600
    link_failures_per_link: int = 20
    # Scale-out: PostgreSQL and S3 (docs/deploy.md, "Scale-out").
    auto_migrate: bool = True
    db_pool_size: int = 10
    request_threads: int = 0  # 0: by database (request_threads_for)
    s3_endpoint: str = ""
    s3_public_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = ""
    s3_multipart_bytes: int = 8 * 1024 * 1024
    direct_transfers: bool = True
    presign_expiry: int = 900
    blobs_fallback: str = ""
    recount_interval: int = 24 * 3600
    # Support mail (docs/mail.md).
    smtp_url: str = field(default="", repr=False)
    smtp_timeout: int = 30
    mail_from: str = ""
    support_address: str = "support@localhost"
    support_staff_email: str = ""
    mail_secret: str = field(default="", repr=False)
    mail_max_bytes: int = 25 * 1024 * 1024
    mail_attachment_max_bytes: int = 10 * 1024 * 1024
    smtp_receive_port: int = 0
    smtp_receive_lmtp: bool = False
    imap_url: str = field(default="", repr=False)
    imap_interval: int = 60
    # Abuse handling and strikes (docs/abuse.md).
    abuse_restore_days: int = 14
    strike_limit: int = 3
    strike_window_days: int = 180
    abuse_reports_per_address: int = 10
    support_code_attempts: int = 20
    # Support tickets (docs/support.md).
    support_targets: str = ""
    support_attachment_bytes: int = 2 * 1024 * 1024
    support_filings_per_address: int = 5
    support_filings_per_ip: int = 20

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'coffre.db'}"

    def request_threads_for(self, *, sqlite: bool) -> int:
        """Threads for request work: the setting, else by database. On SQLite a request's
        work waits on nothing but the local disk and the interpreter, and more threads
        only hand the interpreter back and forth: 3 served 100 busy clients 18% faster
        than 8 (docs/performance-history.md, "Fewer request threads on SQLite"). A PostgreSQL
        statement waits on a round trip, which more threads overlap."""
        if self.request_threads:
            return self.request_threads
        return SQLITE_REQUEST_THREADS if sqlite else NETWORK_REQUEST_THREADS

    @property
    def resolved_blobs(self) -> str:
        return self.blobs or str(self.data_dir / "blobs")

    @property
    def presign_seconds(self) -> int:
        """How long a presigned URL lives: never more than a quarter of the upload expiry,
        so that no URL handed out for an upload outlives its collection."""
        return max(1, min(self.presign_expiry, self.upload_expiry // 4))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            setting = DOCS[f.name]
            if setting.env in env:
                values[f.name] = _parse(setting, type(getattr(cls(), f.name)), env[setting.env])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _parse(setting: Setting, kind: type, text: str) -> Any:
    """A setting's value from its variable, or a UsageError that names the variable."""
    try:
        value = _PARSERS[kind](text)
    except ValueError:
        raise UsageError(f"{setting.env} must be a whole number, not {text!r}") from None
    # No count, size or time here means anything below zero (-5 as a quota was taken and
    # refused every upload); some cannot be zero either (their own minimum).
    minimum = setting.minimum if setting.minimum is not None else 0 if kind is int else None
    if minimum is not None and value < minimum:
        raise UsageError(f"{setting.env} must be at least {minimum}, not {value}")
    return value


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


_PARSERS: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    bool: _bool,
    Path: Path,
    type(Path()): Path,
}

DOCS: dict[str, Setting] = {
    "data_dir": Setting(
        "COFFRE_DATA", "Folder for the embedded database and blobs (default ./coffre-data)."
    ),
    "database_url": Setting(
        "COFFRE_DATABASE_URL",
        "Metadata database: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default sqlite:///DATA/coffre.db).",
    ),
    "blobs": Setting(
        "COFFRE_BLOBS",
        "Where encrypted chunks are kept: a folder, or s3://BUCKET/PREFIX (default DATA/blobs).",
    ),
    "host": Setting("COFFRE_HOST", "Address to listen on (default 127.0.0.1)."),
    "port": Setting("COFFRE_PORT", "TCP port to listen on (default 8080)."),
    "storage_quota": Setting(
        "COFFRE_STORAGE_QUOTA", "Storage quota of a new account, in bytes (default 20 GiB)."
    ),
    "upload_expiry": Setting(
        "COFFRE_UPLOAD_EXPIRY",
        "Seconds an unfinished upload is kept before its chunks are collected (default 86400).",
    ),
    "gc_interval": Setting(
        "COFFRE_GC_INTERVAL", "Seconds between garbage-collection passes (default 600; 0: off)."
    ),
    "min_chunk_size": Setting(
        "COFFRE_MIN_CHUNK_SIZE",
        "Smallest plaintext chunk size accepted (default 65536).",
        minimum=1,
    ),
    "max_chunk_size": Setting(
        "COFFRE_MAX_CHUNK_SIZE",
        "Largest plaintext chunk size accepted (default 16 MiB).",
        minimum=1,
    ),
    "max_json_bytes": Setting(
        "COFFRE_MAX_JSON_BYTES", "Largest JSON request body accepted (default 4 MiB).", minimum=1
    ),
    "max_range_bytes": Setting(
        "COFFRE_MAX_RANGE_BYTES",
        "Largest body of a ranged chunk upload, several chunks in one request (default 64 MiB).",
        minimum=1,
    ),
    "login_failures_per_account": Setting(
        "COFFRE_LOGIN_FAILURES_PER_ACCOUNT",
        "Failed logins allowed per account in the login window (default 10).",
    ),
    "login_failures_per_address": Setting(
        "COFFRE_LOGIN_FAILURES_PER_ADDRESS",
        "Failed logins allowed per client address in the login window (default 50).",
    ),
    "login_window": Setting(
        "COFFRE_LOGIN_WINDOW", "Seconds over which failed logins are counted (default 900)."
    ),
    "transfer_quota": Setting(
        "COFFRE_TRANSFER_QUOTA",
        "Bytes an account's public links may serve per transfer window (default 100 GiB).",
    ),
    "transfer_window": Setting(
        "COFFRE_TRANSFER_WINDOW",
        "Seconds over which link transfers are counted, rolling (default 86400).",
    ),
    "link_opens_per_address": Setting(
        "COFFRE_LINK_OPENS_PER_ADDRESS",
        "Links a client address may open per login window (default 600).",
    ),
    "link_failures_per_link": Setting(
        "COFFRE_LINK_FAILURES_PER_LINK",
        "Wrong keys or passwords allowed per link in the login window (default 20).",
    ),
    "auto_migrate": Setting(
        "COFFRE_AUTO_MIGRATE",
        "Bring the database schema up to date at start (default on; off: run "
        "'coffre db upgrade' first, and a server on an old schema refuses to start).",
    ),
    "db_pool_size": Setting(
        "COFFRE_DB_POOL_SIZE",
        "PostgreSQL connections each process keeps open (default 10; up to twice as many "
        "under load).",
        minimum=1,
    ),
    "request_threads": Setting(
        "COFFRE_REQUEST_THREADS",
        "Threads each API process runs request work on, database transactions mostly "
        "(default 3 on SQLite, 8 on PostgreSQL). More let more requests wait on a slow "
        "database at once; each runs slower, sharing one interpreter with the others.",
        minimum=1,
    ),
    "s3_endpoint": Setting(
        "COFFRE_S3_ENDPOINT",
        "URL of the S3 service the server talks to (default: AWS_ENDPOINT_URL, else AWS).",
    ),
    "s3_public_endpoint": Setting(
        "COFFRE_S3_PUBLIC_ENDPOINT",
        "URL of the S3 service as clients reach it, written into presigned URLs "
        "(default: the S3 endpoint).",
    ),
    "s3_access_key": Setting(
        "COFFRE_S3_ACCESS_KEY", "S3 access key id (default: AWS_ACCESS_KEY_ID)."
    ),
    "s3_secret_key": Setting(
        "COFFRE_S3_SECRET_KEY", "S3 secret access key (default: AWS_SECRET_ACCESS_KEY)."
    ),
    "s3_region": Setting("COFFRE_S3_REGION", "S3 region (default: AWS_REGION, else us-east-1)."),
    "s3_multipart_bytes": Setting(
        "COFFRE_S3_MULTIPART_BYTES",
        "Blobs larger than this are written to S3 in multipart parts of this size "
        "(default 8 MiB; at least 5 MiB).",
    ),
    "direct_transfers": Setting(
        "COFFRE_DIRECT_TRANSFERS",
        "With S3 blobs, clients move chunks straight to and from the object store with "
        "presigned URLs (default on; off: chunks go through the API).",
    ),
    "presign_expiry": Setting(
        "COFFRE_PRESIGN_EXPIRY",
        "Seconds a presigned chunk URL stays valid (default 900; at most a quarter of "
        "COFFRE_UPLOAD_EXPIRY).",
    ),
    "blobs_fallback": Setting(
        "COFFRE_BLOBS_FALLBACK",
        "A second blob store read when a chunk is not in COFFRE_BLOBS, while "
        "'coffre admin migrate-blobs' copies it (default: none).",
    ),
    "recount_interval": Setting(
        "COFFRE_RECOUNT_INTERVAL",
        "Seconds between recounts of every account's storage used (default 86400; 0: off).",
    ),
    "abuse_restore_days": Setting(
        "COFFRE_ABUSE_RESTORE_DAYS",
        "Days after which a link disabled on a report is restored, unless staff mark that "
        "the reporter acted (default 14; 0: never restored automatically).",
    ),
    "strike_limit": Setting(
        "COFFRE_STRIKE_LIMIT",
        "Upheld notices within the strike window that suspend an account's link creation "
        "and sharing (default 3; 0: never).",
    ),
    "strike_window_days": Setting(
        "COFFRE_STRIKE_WINDOW_DAYS", "Days over which strikes are counted (default 180)."
    ),
    "abuse_reports_per_address": Setting(
        "COFFRE_ABUSE_REPORTS_PER_ADDRESS",
        "Abuse reports a client address may file per hour (default 10).",
    ),
    "support_code_attempts": Setting(
        "COFFRE_SUPPORT_CODE_ATTEMPTS",
        "Support codes a staff account may try per login window (default 20).",
    ),
    "smtp_url": Setting(
        "COFFRE_SMTP_URL",
        "Outgoing mail server: smtp://USER:PASS@HOST:PORT, smtps://... (TLS) or "
        "smtp+starttls://... (default: none; mail is written to DATA/outbox and the log).",
    ),
    "smtp_timeout": Setting(
        "COFFRE_SMTP_TIMEOUT", "Seconds to wait for the outgoing mail server (default 30)."
    ),
    "mail_from": Setting(
        "COFFRE_MAIL_FROM",
        "From address of the mail the server sends (default: 'Coffre Support' at "
        "COFFRE_SUPPORT_ADDRESS).",
    ),
    "support_address": Setting(
        "COFFRE_SUPPORT_ADDRESS",
        "The support mailbox; replies go to its +TOKEN form, e.g. support+TOKEN@example.org "
        "(default support@localhost).",
    ),
    "support_staff_email": Setting(
        "COFFRE_SUPPORT_STAFF_EMAIL",
        "Where staff notifications of new tickets and replies go (default: none, not sent).",
    ),
    "mail_secret": Setting(
        "COFFRE_MAIL_SECRET",
        "Key that signs the ticket tokens in reply addresses; the same on every process "
        "(default: made once and kept in DATA/mail-secret).",
    ),
    "mail_max_bytes": Setting(
        "COFFRE_MAIL_MAX_BYTES", "Largest incoming mail message accepted (default 25 MiB)."
    ),
    "mail_attachment_max_bytes": Setting(
        "COFFRE_MAIL_ATTACHMENT_MAX_BYTES",
        "Largest attachment kept from incoming mail; larger ones are dropped (default 10 MiB).",
    ),
    "smtp_receive_port": Setting(
        "COFFRE_SMTP_RECEIVE_PORT",
        "Also receive support mail by SMTP on this port, on COFFRE_HOST (default 0: off).",
    ),
    "smtp_receive_lmtp": Setting(
        "COFFRE_SMTP_RECEIVE_LMTP",
        "Speak LMTP instead of SMTP on COFFRE_SMTP_RECEIVE_PORT (default off).",
    ),
    "imap_url": Setting(
        "COFFRE_IMAP_URL",
        "Mailbox 'coffre mail poll-imap' reads: imaps://USER:PASS@HOST/INBOX or "
        "imap://... (default: none).",
    ),
    "imap_interval": Setting("COFFRE_IMAP_INTERVAL", "Seconds between IMAP polls (default 60)."),
    "support_targets": Setting(
        "COFFRE_SUPPORT_TARGETS",
        "First-response and resolution targets per ticket category, in hours: "
        "CATEGORY=FIRST/RESOLUTION, comma-separated (default technical=8/72, billing=24/120, "
        "account=8/72, abuse=24/72; categories not named keep their default).",
    ),
    "support_attachment_bytes": Setting(
        "COFFRE_SUPPORT_ATTACHMENT_BYTES",
        "Largest attachment of a support message filed through the API (default 2 MiB).",
    ),
    "support_filings_per_address": Setting(
        "COFFRE_SUPPORT_FILINGS_PER_ADDRESS",
        "Tickets an email address may file per hour without an account (default 5).",
    ),
    "support_filings_per_ip": Setting(
        "COFFRE_SUPPORT_FILINGS_PER_IP",
        "Tickets a client address may file per hour without an account (default 20).",
    ),
    "trusted_proxies": Setting(
        "COFFRE_TRUSTED_PROXIES",
        "Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
        "(default: none; the peer's address is the client's).",
    ),
}
