"""The metadata schema. Alembic migrations (``migrations/versions``) create exactly this;
a test compares the two.

What the server stores is listed in docs/threat-model.md: the tree's shape, ciphertext
sizes, times, opaque envelopes. No column holds a key, a name or a plaintext byte.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(32)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    kdf_time_cost: Mapped[int] = mapped_column(Integer)
    kdf_memory_kib: Mapped[int] = mapped_column(Integer)
    kdf_lanes: Mapped[int] = mapped_column(Integer)
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary)
    auth_hash: Mapped[bytes] = mapped_column(LargeBinary)
    recovery_hash: Mapped[bytes] = mapped_column(LargeBinary)
    master_key: Mapped[bytes] = mapped_column(LargeBinary)
    identity_keys: Mapped[bytes] = mapped_column(LargeBinary)
    public_keys: Mapped[bytes] = mapped_column(LargeBinary)
    root_id: Mapped[str] = mapped_column(ID)
    root_key: Mapped[bytes] = mapped_column(LargeBinary)
    storage_used: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_quota: Mapped[int] = mapped_column(BigInteger)
    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    role: Mapped[str] = mapped_column(String(8), default="user", server_default="user")
    # Two-factor authentication (TOTP): the shared secret is the server's to check codes
    # with, not a key of the user's data. ``totp_pending`` holds a secret being enrolled;
    # ``totp_last_step`` is the time step of the last code accepted (a code is used once).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    device: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)


class Node(Base):
    __tablename__ = "nodes"
    __table_args__ = (
        Index(
            "uq_nodes_live_name",
            "parent_id",
            "name_tag",
            unique=True,
            sqlite_where=text("trashed_at IS NULL"),
            postgresql_where=text("trashed_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(6))
    key: Mapped[bytes] = mapped_column(LargeBinary)
    meta: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_tag: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    trashed_at: Mapped[float | None] = mapped_column(Float, index=True)
    current_version: Mapped[str | None] = mapped_column(ID)
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[str | None] = mapped_column(ID)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)


class Content(Base):
    """The encrypted chunks of one stream; shared by a version and its copies."""

    __tablename__ = "contents"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    inline: Mapped[bytes | None] = mapped_column(LargeBinary)


class Version(Base):
    __tablename__ = "versions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"))  # uq_versions_node_number
    number: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str] = mapped_column(ForeignKey("contents.id"), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    header: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)
    author_id: Mapped[str | None] = mapped_column(ID)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)


Index("uq_versions_node_number", Version.node_id, Version.number, unique=True)
Index("ix_nodes_owner_id_id", Node.owner_id, Node.id)


class Thumbnail(Base):
    """A client-made preview image of one version, sealed under the file's node key."""

    __tablename__ = "thumbnails"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)


class Upload(Base):
    """A version being uploaded; it becomes a :class:`Version` at commit."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(ID)
    new_node: Mapped[bool] = mapped_column(Boolean)
    parent_id: Mapped[str | None] = mapped_column(ID)
    node_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    node_meta: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_tag: Mapped[str | None] = mapped_column(ID)
    node_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    uploader_id: Mapped[str | None] = mapped_column(ID)
    header: Mapped[bytes] = mapped_column(LargeBinary)
    content_id: Mapped[str] = mapped_column(ID, unique=True)
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)


class Event(Base):
    __tablename__ = "events"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[str | None] = mapped_column(ID)
    parent_id: Mapped[str | None] = mapped_column(ID)
    at: Mapped[float] = mapped_column(Float)


class Garbage(Base):
    """Blobs of a content no longer referenced, waiting to be deleted from the blob store."""

    __tablename__ = "garbage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_id: Mapped[str] = mapped_column(ID)
    chunk_count: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[float] = mapped_column(Float)


class Link(Base):
    """A public link to a node: the node key sealed under a link key the server never sees."""

    __tablename__ = "links"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(ID, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    auth_hash: Mapped[bytes] = mapped_column(LargeBinary)
    kdf_time_cost: Mapped[int | None] = mapped_column(Integer)
    kdf_memory_kib: Mapped[int | None] = mapped_column(Integer)
    kdf_lanes: Mapped[int | None] = mapped_column(Integer)
    kdf_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)
    downloads: Mapped[int] = mapped_column(Integer, default=0)


class TransferUsage(Base):
    """Bytes served through an account's links, per hour, for the rolling transfer quota."""

    __tablename__ = "transfer_usage"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class RateEvent(Base):
    """One request counted against a rate limit (scope names what is limited)."""

    __tablename__ = "rate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)


class Invitation(Base):
    """A contact invitation, by email address (the invitee may not have an account yet)."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    from_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_email: Mapped[str] = mapped_column(String(254), index=True)
    created_at: Mapped[float] = mapped_column(Float)


Index("uq_invitations_pair", Invitation.from_id, Invitation.to_email, unique=True)


class Contact(Base):
    """One direction of an accepted contact (there are always two rows)."""

    __tablename__ = "contacts"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[float] = mapped_column(Float)


class Share(Base):
    """A folder shared with a member: the folder key sealed to them, signed by the owner."""

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    folder_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


Index("uq_shares_folder_member", Share.folder_id, Share.member_id, unique=True)


class ServerSecret(Base):
    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class Job(Base):
    """A background job (garbage collection, quota recounts): who runs it and when it last ran.

    On PostgreSQL a session advisory lock picks the one process that runs a job; on SQLite
    the ``holder`` and ``lease_until`` columns are the lease that does it.
    """

    __tablename__ = "jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    last_run: Mapped[float | None] = mapped_column(Float)


class RecoveryCode(Base):
    """A one-time two-factor recovery code, stored hashed; deleted when used."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)


class SupportCode(Base):
    """A one-time support code a user reads out to staff; stored hashed, short-lived."""

    __tablename__ = "support_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class AbuseReport(Base):
    """A report of abuse or a copyright notice about a public link (never its key)."""

    __tablename__ = "abuse_reports"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[str] = mapped_column(ID, index=True)
    owner_id: Mapped[str | None] = mapped_column(ID, index=True)
    content_id: Mapped[str | None] = mapped_column(ID, index=True)
    reporter_name: Mapped[str] = mapped_column(String(200))
    reporter_email: Mapped[str] = mapped_column(String(254))
    description: Mapped[str] = mapped_column(String(5000))
    work: Mapped[str | None] = mapped_column(String(2000))
    statements: Mapped[bool] = mapped_column(Boolean, default=False)
    signature: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    scope: Mapped[str | None] = mapped_column(String(8))
    handled_by: Mapped[str | None] = mapped_column(ID)
    handled_at: Mapped[float | None] = mapped_column(Float)
    restore_at: Mapped[float | None] = mapped_column(Float, index=True)
    reporter_acted: Mapped[bool] = mapped_column(Boolean, default=False)


class LinkDisablement(Base):
    """A link disabled after a report; ``lifted_at`` is set when access returns."""

    __tablename__ = "link_disablements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(ID, index=True)
    report_id: Mapped[str] = mapped_column(ID, index=True)
    owner_id: Mapped[str] = mapped_column(ID, index=True)
    disabled_at: Mapped[float] = mapped_column(Float)
    lifted_at: Mapped[float | None] = mapped_column(Float)


class AccountNotice(Base):
    """Something the service tells an account's owner (a link disabled or restored)."""

    __tablename__ = "account_notices"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[str | None] = mapped_column(ID, index=True)
    links: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class CounterNotice(Base):
    """An owner's answer to a notice: the material was removed by mistake."""

    __tablename__ = "counter_notices"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    notice_id: Mapped[str] = mapped_column(ID, unique=True)
    report_id: Mapped[str] = mapped_column(ID, index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    statement: Mapped[str] = mapped_column(String(5000))
    signature: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)


class Strike(Base):
    """One upheld notice against an account; the strike policy counts them in a window."""

    __tablename__ = "strikes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[str] = mapped_column(ID)
    at: Mapped[float] = mapped_column(Float, index=True)


class StaffAudit(Base):
    """What staff did: verified a support code, viewed an account, handled a report."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(ID, index=True)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(ID)
    at: Mapped[float] = mapped_column(Float, index=True)


# -- support tickets -------------------------------------------------------------------------
# Support messages are not end-to-end encrypted (the customer is told so): they are the
# only plaintext a customer hands the service, and they never hold a file's key or name.


class SupportTicket(Base):
    """A support request: from an account, or from an email address with no account."""

    __tablename__ = "support_tickets"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(8), index=True)
    priority: Mapped[str] = mapped_column(String(8))
    assignee_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    token_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    merged_into: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    first_response_at: Mapped[float | None] = mapped_column(Float)
    solved_at: Mapped[float | None] = mapped_column(Float)


class SupportMessage(Base):
    """One message of a ticket: the customer's, a staff reply, or an internal note."""

    __tablename__ = "support_messages"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[str | None] = mapped_column(ID)
    author_email: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(8))
    mail_id: Mapped[str | None] = mapped_column(String(300), index=True)
    created_at: Mapped[float] = mapped_column(Float)


class SupportAttachment(Base):
    """A file sent with a message, kept in the database (size-limited)."""

    __tablename__ = "support_attachments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(
        ForeignKey("support_messages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SupportAudit(Base):
    """One change to a ticket, as it happened: who, what, when."""

    __tablename__ = "support_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[str | None] = mapped_column(ID)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1000))
    at: Mapped[float] = mapped_column(Float)


class CannedReply(Base):
    """A prepared answer staff insert into a reply."""

    __tablename__ = "support_canned"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class SupportMailRef(Base):
    """A Message-ID of a ticket's email, sent or received, for threading replies."""

    __tablename__ = "support_mail_refs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mail_id: Mapped[str] = mapped_column(String(300), index=True)
    ticket_id: Mapped[str] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True
    )
