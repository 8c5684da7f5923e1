"""The wire models: every JSON body the server accepts or returns.

The server validates requests with these models at the edge (handlers never see
unchecked data) and the client builds its requests and reads the answers with the same
classes. Nothing here is secret to the server: envelopes are opaque ciphertext to it.
Times are seconds since the epoch as the server saw them; they are the server's facts,
never shown to users as a file's own dates (those come out of envelopes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from coffre.protocol.types import (
    ChunkData,
    ContentHeader,
    Email,
    Envelope,
    Id,
    PublicKeys,
    Salt,
    Secret,
    ShareEnvelope,
    Signature,
)

NodeKind = Literal["folder", "file"]
MAX_CHUNKS = 1 << 22  # 4 TiB at 1 MiB chunks
MAX_TIME = 253402300799.0
"""9999-12-31 23:59:59 UTC: the latest moment a request may name (a link's expiry), so that
every client can show it."""
MAX_INT = (1 << 63) - 1
"""The largest integer either database stores (a signed 64-bit column): no number a request
carries into a query or a row may be larger."""


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        val_json_bytes="base64",
        ser_json_bytes="base64",
        # No NaN or infinity: a link whose expiry was NaN never expired (NaN <= now is
        # false), and JSON has no way to write either back.
        allow_inf_nan=False,
        # A command builds only the validators it uses, on first use (pydantic 2.14 or
        # later makes that thread-safe); the server builds them all at start: build_all().
        defer_build=True,
    )


def every_model() -> Iterator[type[Model]]:
    """:class:`Model` and every subclass of it, of every module imported so far."""
    pending: list[type[Model]] = [Model]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        yield model


def build_all() -> None:
    """Build every wire model's validator and serializer now, and defer no more: the server
    does it before its routes wrap the models, so that no request pays for building them and
    the type adapters FastAPI makes of them (which follow a model's ``defer_build``) are
    complete too. Models of other modules count once those modules are imported."""
    for model in every_model():
        model.model_config["defer_build"] = False  # each class has its own config dict
        model.model_rebuild()


# -- errors -------------------------------------------------------------------------------


class ErrorDetail(Model):
    code: str = Field(description="stable, machine-readable; see docs/api.md")
    message: str = Field(description="for people")


class ErrorBody(Model):
    error: ErrorDetail


# -- accounts -----------------------------------------------------------------------------


class KdfParams(Model):
    algorithm: Literal["argon2id"] = "argon2id"
    time_cost: int = Field(ge=1, le=64)
    memory_kib: int = Field(ge=8, le=4 * 1024 * 1024)
    lanes: int = Field(ge=1, le=64)
    salt: Salt


class PreloginRequest(Model):
    email: Email


class PreloginResponse(Model):
    kdf: KdfParams


class KeyBundle(Model):
    """Everything a client needs, after login, to open the account's keys."""

    user_id: Id
    email: Email
    kdf: KdfParams
    master_key: Envelope = Field(description="sealed under the key-encryption key")
    identity_keys: Envelope = Field(description="sealed under the master key")
    public_keys: PublicKeys = Field(description="self-signed statement (docs/crypto.md)")
    root_id: Id
    root_key: Envelope = Field(description="sealed under the master key")


class SignupRequest(Model):
    email: Email
    user_id: Id
    kdf: KdfParams
    auth_secret: Secret
    recovery_verifier: Secret
    master_key: Envelope
    identity_keys: Envelope
    public_keys: PublicKeys
    root_id: Id
    root_key: Envelope
    device: str | None = Field(default=None, max_length=100)


class LoginRequest(Model):
    email: Email
    auth_secret: Secret
    device: str | None = Field(default=None, max_length=100)
    totp: str | None = Field(
        default=None,
        max_length=64,
        description="a two-factor code (or recovery code), when the account has 2FA on",
    )


class LoginResponse(Model):
    token: str
    session_id: Id
    keys: KeyBundle


class PasswordChangeRequest(Model):
    auth_secret: Secret = Field(description="derived from the current password")
    kdf: KdfParams
    new_auth_secret: Secret
    master_key: Envelope = Field(description="the same master key, sealed under the new KEK")


class RecoveryProof(Model):
    email: Email
    recovery_verifier: Secret


class RecoverRequest(Model):
    email: Email
    recovery_verifier: Secret
    kdf: KdfParams
    auth_secret: Secret
    master_key: Envelope
    device: str | None = Field(default=None, max_length=100)


class AccountInfo(Model):
    user_id: Id
    email: Email
    created: float
    root_id: Id
    storage_used: int
    storage_quota: int


class Usage(Model):
    storage_used: int
    storage_quota: int
    files: int = Field(description="ciphertext bytes of current versions outside the bin")
    versions: int = Field(description="ciphertext bytes of older versions")
    rubbish: int = Field(description="ciphertext bytes in the rubbish bin")
    uploading: int = Field(description="bytes reserved by uploads not yet committed")
    transfer_used: int = Field(
        0, description="bytes the account's public links served in the rolling transfer window"
    )
    transfer_quota: int = Field(0, description="bytes they may serve per window")
    transfer_window: int = Field(0, description="the window, in seconds")


class SessionInfo(Model):
    id: Id
    created: float
    last_seen: float
    device: str | None
    ip: str | None
    current: bool


class SessionList(Model):
    sessions: list[SessionInfo]


# -- the tree -----------------------------------------------------------------------------


class VersionRecord(Model):
    id: Id
    number: int = Field(description="1 for the first version of a file, then 2, 3...")
    envelope: Envelope
    header: ContentHeader
    size: int = Field(description="ciphertext bytes, as the server counts them")
    chunk_size: int
    chunk_count: int
    created: float
    author: Id | None = Field(default=None, description="who wrote it (signed by them)")
    signature: Signature | None = None


class NodeRecord(Model):
    id: Id
    parent_id: Id | None
    kind: NodeKind
    key: Envelope
    meta: Envelope | None = Field(description="absent on the root folder only")
    name_tag: Id | None
    created: float
    updated: float
    trashed: float | None = None
    version: VersionRecord | None = Field(default=None, description="a file's current version")
    versions: int = 0
    author: Id | None = Field(default=None, description="who wrote it (signed by them)")
    signature: Signature | None = None


class NodeList(Model):
    nodes: list[NodeRecord]
    cursor: str | None = Field(default=None, description="pass as ?after= for the next page")


# -- the binary node listing (docs/api.md, "GET /v1/nodes") ---------------------------------
# The same records as NodeList, for clients that list a whole account: no JSON, no base64,
# ids as their 16 raw bytes. Everything little-endian.

NODES_MEDIA_TYPE = "application/x-coffre-nodes"
NODES_MAGIC = b"CFN1"
NODES_PAGE = struct.Struct("<4sIB16s")
"""magic, record count, 1 if a cursor follows (else 0), the cursor (zeros when none)"""
NODE_FIXED = struct.Struct("<B16s16s16s16sdddIHHH")
"""flags, id, parent id, name tag, author (zeros when absent), created, updated, trashed
(0 when not), versions, then the lengths of key, meta and signature (0 when absent)"""
NODE_VERSION_FIXED = struct.Struct(NODE_FIXED.format + "16s16sIdQIIHHH")
"""a node with its current version: NODE_FIXED, then the version's id, author (zeros when
absent), number, created, size, chunk size, chunk count, and the lengths of its envelope,
header and signature"""
NODE_FILE = 0x01  # a file (else a folder)
NODE_PARENT = 0x02
NODE_NAME_TAG = 0x04
NODE_TRASHED = 0x08
NODE_AUTHOR = 0x10
NODE_VERSION = 0x20  # NODE_VERSION_FIXED, and the version's bytes after the node's
NODE_META = 0x40
NODE_VERSION_AUTHOR = 0x80


class NewNode(Model):
    id: Id
    parent_id: Id
    key: Envelope
    meta: Envelope
    name_tag: Id
    signature: Signature | None = Field(default=None, description="the writer's (crypto.md 10)")


class MoveNode(Model):
    """Rename and move alike: the client re-seals key and name for the (new) parent."""

    parent_id: Id
    key: Envelope
    meta: Envelope
    name_tag: Id
    signature: Signature | None = None


class CopiedVersion(Model):
    id: Id
    envelope: Envelope
    source: Id = Field(description="the version whose content this one shares")
    signature: Signature | None = None


class CopiedNode(NewNode):
    kind: NodeKind
    versions: list[CopiedVersion] = Field(default_factory=list, max_length=10_000)


class CopyRequest(Model):
    nodes: list[CopiedNode] = Field(min_length=1, max_length=10_000)


# -- transfers ----------------------------------------------------------------------------


class NewVersion(Model):
    """A version's shape, declared when its upload starts; its envelope comes at commit."""

    id: Id
    header: ContentHeader
    content_id: Id
    chunk_size: int = Field(ge=1, le=1 << 26)
    chunk_count: int = Field(ge=1, le=MAX_CHUNKS)
    size: int = Field(ge=16, description="ciphertext bytes: plaintext plus 16 per chunk")


class UploadRequest(Model):
    """Either ``node`` (a new file) or ``node_id`` (a new version of an existing file)."""

    node: NewNode | None = None
    node_id: Id | None = None
    version: NewVersion


class CommitRequest(Model):
    envelope: Envelope = Field(description="the version envelope, sealed once the hash is known")
    signature: Signature | None = None


class UploadState(Model):
    id: Id = Field(description="the upload's id is the new version's id")
    node_id: Id
    chunk_size: int
    chunk_count: int
    size: int
    received: list[int] = Field(description="indexes of the chunks the server holds")
    expires: float
    direct: bool = Field(
        default=False,
        description="send the chunks straight to storage, to URLs from POST .../urls",
    )


class ChunkUrlsRequest(Model):
    chunks: list[int] = Field(min_length=1, max_length=1000, description="chunk indexes")


class ChunkUrl(Model):
    """A presigned URL for one chunk: a PUT (upload) or GET (download) straight to the
    object store, with these headers and no others; it carries no session token."""

    index: int
    url: str = Field(pattern=r"^https?://", max_length=8192)
    headers: dict[str, str] = Field(default_factory=dict)


class ChunkUrls(Model):
    urls: list[ChunkUrl] = Field(description="empty: move these chunks through the API")
    expires: float = Field(description="when the URLs stop working")


class SmallFile(Model):
    node: NewNode | None = None
    node_id: Id | None = None
    version: NewVersion
    envelope: Envelope
    signature: Signature | None = None
    data: ChunkData = Field(description="the one encrypted chunk of a content")


class SmallFilesRequest(Model):
    files: list[SmallFile] = Field(min_length=1, max_length=1000)


class SmallFilesResponse(Model):
    nodes: list[NodeRecord]


class SmallChunksRequest(Model):
    versions: list[Id] = Field(min_length=1, max_length=1000)


class SmallChunk(Model):
    version_id: Id
    data: ChunkData


class SmallChunksResponse(Model):
    chunks: list[SmallChunk]


class VersionSignature(Model):
    signature: Signature = Field(description="the caller's signature of the version (crypto.md 10)")


class VersionList(Model):
    versions: list[VersionRecord]


# -- the change feed ----------------------------------------------------------------------

EventKind = Literal[
    "node.created",
    "node.moved",
    "node.trashed",
    "node.restored",
    "node.deleted",
    "version.added",
    "version.deleted",
]


class Event(Model):
    seq: int
    kind: EventKind
    node_id: Id | None
    parent_id: Id | None
    at: float


class EventList(Model):
    events: list[Event]
    last: int = Field(description="the highest sequence number seen; pass as ?after=")


# -- public links -------------------------------------------------------------------------

LinkKind = Literal["folder", "file", "request"]


class LinkCreate(Model):
    id: Id = Field(description="chosen by the client, bound into the envelope")
    node_id: Id
    envelope: Envelope = Field(description="the node key sealed under the link key")
    auth: Secret = Field(description="HKDF-Expand(link key, 'coffre/v1 link-auth'); stored hashed")
    kdf: KdfParams | None = Field(default=None, description="for a password link")
    expires: float | None = Field(
        default=None, le=MAX_TIME, description="seconds since the epoch, before year 10000"
    )
    request: bool = Field(
        default=False,
        description="an upload-only link to a folder; envelope is then the request's "
        "private key sealed under the folder key",
    )


class LinkInfo(Model):
    """A link as its owner sees it."""

    id: Id
    node_id: Id
    kind: LinkKind
    created: float
    expires: float | None
    revoked: float | None
    downloads: int
    password: bool
    envelope: Envelope | None = Field(
        default=None, description="an upload-only link's sealed private key (owner's view)"
    )


class LinkList(Model):
    links: list[LinkInfo]


class PublicLink(Model):
    """What anyone with a link id learns before proving the key: enough to derive it."""

    id: Id
    kind: LinkKind
    kdf: KdfParams | None
    expires: float | None
    folder_id: Id | None = Field(default=None, description="an upload-only link's folder")


class LinkRoot(Model):
    """The linked node and its key envelope, for a visitor who proved the key."""

    node: NodeRecord
    envelope: Envelope


# -- contacts and shared folders ----------------------------------------------------------

AccessLevel = Literal["read", "write", "full"]


class InviteRequest(Model):
    email: Email


class UserKeys(Model):
    """Someone's account id, email and published public keys (docs/crypto.md section 4)."""

    user_id: Id
    email: Email
    public_keys: PublicKeys


class Invitation(Model):
    id: Id
    email: Email = Field(description="the other side: who invited, or who is invited")
    user: UserKeys | None = Field(default=None, description="the inviter, for incoming ones")
    created: float


class ContactEntry(UserKeys):
    since: float


class ContactList(Model):
    contacts: list[ContactEntry]
    incoming: list[Invitation]
    outgoing: list[Invitation]


class ShareCreate(Model):
    id: Id
    folder_id: Id
    member_id: Id
    access: AccessLevel
    envelope: ShareEnvelope


class ShareInfo(Model):
    id: Id
    folder_id: Id
    owner: UserKeys
    member: UserKeys
    access: AccessLevel
    envelope: ShareEnvelope
    accepted: bool
    created: float
    folder: NodeRecord | None = Field(default=None, description="the shared folder's record")


class ShareList(Model):
    outgoing: list[ShareInfo]
    incoming: list[ShareInfo]
