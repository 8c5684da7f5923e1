"""Requests built by hand, for tests of the HTTP API alone.

The server never opens an envelope nor decrypts a chunk, so these tests send random bytes
of the right shapes in their place: accounts need no Argon2id derivation (signup and login
cost a millisecond), and every field can be set to exactly the value a test wants.
"""

from __future__ import annotations

import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from coffre.client.api import Api
from coffre.crypto import account as ca
from coffre.crypto import stream as cs
from coffre.protocol import models as m

CHUNK = 1024  # the smallest chunk size the test settings allow
TAG = 16


def new_id() -> str:
    return secrets.token_hex(16)


def sealed(size: int = 80) -> bytes:
    """Stands for an envelope: opaque to the server, 61..4096 bytes."""
    return os.urandom(size)


def kdf(**changes: Any) -> m.KdfParams:
    values: dict[str, Any] = {
        "time_cost": ca.DEFAULT.time_cost,
        "memory_kib": ca.DEFAULT.memory_kib,
        "lanes": ca.DEFAULT.lanes,
        "salt": os.urandom(16),
    }
    values.update(changes)
    return m.KdfParams(**values)


def header(chunk_size: int) -> bytes:
    """A content header (version, chunk size, commitment) as a client would send it."""
    return struct.pack(">BI", 1, chunk_size) + os.urandom(32)


def new_version(plain_size: int, chunk_size: int = CHUNK, **changes: Any) -> m.NewVersion:
    values: dict[str, Any] = {
        "id": new_id(),
        "header": header(chunk_size),
        "content_id": new_id(),
        "chunk_size": chunk_size,
        "chunk_count": cs.chunk_count(plain_size, chunk_size),
        "size": cs.ciphertext_size(plain_size, chunk_size),
    }
    values.update(changes)
    return m.NewVersion(**values)


def chunk_lengths(version: m.NewVersion | m.UploadState) -> list[int]:
    full = version.chunk_size + TAG
    last = version.size - (version.chunk_count - 1) * full
    return [full] * (version.chunk_count - 1) + [last]


def fake_chunks(version: m.NewVersion | m.UploadState) -> list[bytes]:
    """Random stand-ins for the encrypted chunks of ``version``, of the right lengths."""
    return [os.urandom(n) for n in chunk_lengths(version)]


def wire(model: m.Model) -> dict[str, Any]:
    """A model as the JSON the client sends, ready to be altered by a test."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


@dataclass
class Account:
    """A signed-up account with its raw secrets and a signed-in :class:`Api`."""

    email: str
    auth_secret: bytes
    recovery_verifier: bytes
    user_id: str
    root_id: str
    session_id: str
    api: Api

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api.token}"}

    def raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request through the account's transport, signed in, without any client checks."""
        headers = {**self.auth, **kw.pop("headers", {})}
        if kw.get("content") is not None and method in ("POST", "PATCH"):
            headers.setdefault("content-type", "application/json")
        return self.api.http.request(method, path, headers=headers, **kw)

    def login_request(self, auth_secret: bytes | None = None) -> m.LoginRequest:
        return m.LoginRequest(email=self.email, auth_secret=auth_secret or self.auth_secret)

    # -- the tree ---------------------------------------------------------------------------

    def new_node(self, parent_id: str | None = None, name_tag: str | None = None) -> m.NewNode:
        return m.NewNode(
            id=new_id(),
            parent_id=parent_id or self.root_id,
            key=sealed(),
            meta=sealed(96),
            name_tag=name_tag or new_id(),
        )

    def move_request(self, parent_id: str, name_tag: str | None = None) -> m.MoveNode:
        return m.MoveNode(
            parent_id=parent_id, key=sealed(), meta=sealed(96), name_tag=name_tag or new_id()
        )

    def mkdir(self, parent_id: str | None = None, name_tag: str | None = None) -> m.NodeRecord:
        return self.api.mkdir(self.new_node(parent_id, name_tag))

    def start(
        self,
        plain_size: int,
        *,
        parent_id: str | None = None,
        node_id: str | None = None,
        name_tag: str | None = None,
        chunk_size: int = CHUNK,
    ) -> m.UploadState:
        """Start an upload of a new file (or, with ``node_id``, of a new version)."""
        version = new_version(plain_size, chunk_size)
        node = None if node_id else self.new_node(parent_id, name_tag)
        return self.api.start_upload(m.UploadRequest(node=node, node_id=node_id, version=version))

    def send_all(self, state: m.UploadState) -> None:
        for index, data in enumerate(fake_chunks(state)):
            self.api.put_chunk(state.id, index, data)

    def upload(
        self,
        plain_size: int,
        *,
        parent_id: str | None = None,
        node_id: str | None = None,
        name_tag: str | None = None,
        chunk_size: int = CHUNK,
    ) -> m.NodeRecord:
        """A whole upload: start, every chunk, commit."""
        state = self.start(
            plain_size,
            parent_id=parent_id,
            node_id=node_id,
            name_tag=name_tag,
            chunk_size=chunk_size,
        )
        self.send_all(state)
        return self.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))

    def small_file(
        self, plain_size: int, *, parent_id: str | None = None, node_id: str | None = None
    ) -> m.SmallFile:
        chunk_size = max(CHUNK, plain_size)
        version = new_version(plain_size, chunk_size)
        return m.SmallFile(
            node=None if node_id else self.new_node(parent_id),
            node_id=node_id,
            version=version,
            envelope=sealed(),
            data=os.urandom(version.size),
        )

    def copy_request(
        self, source: m.NodeRecord, parent_id: str | None = None, name_tag: str | None = None
    ) -> m.CopyRequest:
        node = self.new_node(parent_id, name_tag)
        versions = []
        if source.version is not None:
            versions.append(
                m.CopiedVersion(id=new_id(), envelope=sealed(), source=source.version.id)
            )
        return m.CopyRequest(
            nodes=[m.CopiedNode(**node.model_dump(), kind=source.kind, versions=versions)]
        )


def blob_files(root: Path) -> set[Path]:
    """Every blob the store holds (temporary files excluded)."""
    return {p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """``response`` is a JSON ``{"error": {"code", "message"}}`` with ``status``."""
    where = f"{response.request.method} {response.request.url.path}: {response.text[:300]}"
    assert response.status_code == status, (response.status_code, where)
    assert response.headers["content-type"].startswith("application/json"), where
    body = response.json()
    assert set(body) == {"error"}, where
    assert set(body["error"]) == {"code", "message"}, where
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], where
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], where
    if code is not None:
        assert body["error"]["code"] == code, where


def signup_request(
    email: str, auth_secret: bytes, recovery_verifier: bytes, **changes: Any
) -> m.SignupRequest:
    values: dict[str, Any] = {
        "email": email,
        "user_id": new_id(),
        "kdf": kdf(),
        "auth_secret": auth_secret,
        "recovery_verifier": recovery_verifier,
        "master_key": sealed(),
        "identity_keys": sealed(200),
        "public_keys": os.urandom(145),
        "root_id": new_id(),
        "root_key": sealed(),
    }
    values.update(changes)
    return m.SignupRequest(**values)


# Every route of the API: (method, path, needs a session token).
ROUTES: list[tuple[str, str, bool]] = [
    ("GET", "/healthz", False),
    ("GET", "/v1/help/search", False),
    ("POST", "/v1/auth/prelogin", False),
    ("POST", "/v1/auth/signup", False),
    ("POST", "/v1/auth/login", False),
    ("POST", "/v1/auth/recover/keys", False),
    ("POST", "/v1/auth/recover", False),
    ("POST", "/v1/auth/logout", True),
    ("GET", "/v1/account", True),
    ("GET", "/v1/account/keys", True),
    ("GET", "/v1/account/usage", True),
    ("POST", "/v1/account/password", True),
    ("GET", "/v1/sessions", True),
    ("DELETE", "/v1/sessions/{session_id}", True),
    ("GET", "/v1/nodes", True),
    ("POST", "/v1/nodes", True),
    ("POST", "/v1/nodes/copy", True),
    ("GET", "/v1/nodes/{node_id}", True),
    ("GET", "/v1/nodes/{node_id}/children", True),
    ("PATCH", "/v1/nodes/{node_id}", True),
    ("POST", "/v1/nodes/{node_id}/trash", True),
    ("POST", "/v1/nodes/{node_id}/restore", True),
    ("DELETE", "/v1/nodes/{node_id}", True),
    ("GET", "/v1/rubbish", True),
    ("POST", "/v1/rubbish/empty", True),
    ("GET", "/v1/nodes/{node_id}/versions", True),
    ("DELETE", "/v1/versions/{version_id}", True),
    ("POST", "/v1/uploads", True),
    ("GET", "/v1/uploads/{upload_id}", True),
    ("PUT", "/v1/uploads/{upload_id}/chunks/{index}", True),
    ("PUT", "/v1/uploads/{upload_id}/chunks", True),
    ("POST", "/v1/uploads/{upload_id}/urls", True),
    ("POST", "/v1/uploads/{upload_id}/commit", True),
    ("DELETE", "/v1/uploads/{upload_id}", True),
    ("POST", "/v1/files/small", True),
    ("GET", "/v1/versions/{version_id}/chunks/{index}", True),
    ("GET", "/v1/versions/{version_id}/chunks", True),
    ("GET", "/v1/versions/{version_id}/urls", True),
    ("POST", "/v1/versions/small", True),
    ("GET", "/v1/events", True),
    ("POST", "/v1/links", True),
    ("GET", "/v1/links", True),
    ("DELETE", "/v1/links/{link_id}", True),
    ("GET", "/v1/public/links/{link_id}", False),
    ("GET", "/v1/public/links/{link_id}/root", False),
    ("GET", "/v1/public/links/{link_id}/nodes", False),
    ("GET", "/v1/public/links/{link_id}/versions/{version_id}/chunks/{index}", False),
    ("GET", "/v1/public/links/{link_id}/versions/{version_id}/chunks", False),
    ("POST", "/v1/public/links/{link_id}/versions/small", False),
    ("POST", "/v1/public/links/{link_id}/uploads", False),
    ("GET", "/v1/public/links/{link_id}/uploads/{upload_id}", False),
    ("PUT", "/v1/public/links/{link_id}/uploads/{upload_id}/chunks/{index}", False),
    ("PUT", "/v1/public/links/{link_id}/uploads/{upload_id}/chunks", False),
    ("POST", "/v1/public/links/{link_id}/uploads/{upload_id}/commit", False),
    ("GET", "/v1/users/{user_id}/keys", True),
    ("GET", "/v1/contacts", True),
    ("POST", "/v1/contacts/invitations", True),
    ("POST", "/v1/contacts/invitations/{invitation_id}/accept", True),
    ("DELETE", "/v1/contacts/invitations/{invitation_id}", True),
    ("DELETE", "/v1/contacts/{user_id}", True),
    ("POST", "/v1/shares", True),
    ("GET", "/v1/shares", True),
    ("POST", "/v1/shares/{share_id}/accept", True),
    ("DELETE", "/v1/shares/{share_id}", True),
    ("GET", "/v1/shares/{share_id}/members", True),
    ("GET", "/v1/shares/{share_id}/nodes", True),
    ("PUT", "/v1/versions/{version_id}/signature", True),
    ("PUT", "/v1/versions/{version_id}/thumbnail", True),
    ("GET", "/v1/versions/{version_id}/thumbnail", True),
    # Two-factor authentication, support codes, staff, abuse handling.
    ("GET", "/v1/account/2fa", True),
    ("POST", "/v1/account/2fa/begin", True),
    ("POST", "/v1/account/2fa/confirm", True),
    ("POST", "/v1/account/2fa/disable", True),
    ("POST", "/v1/account/support-code", True),
    ("GET", "/v1/account/notices", True),
    ("POST", "/v1/account/notices/{notice_id}/counter", True),
    ("POST", "/v1/abuse/reports", False),
    ("GET", "/v1/transparency", False),
    ("GET", "/v1/staff/me", True),
    ("POST", "/v1/staff/support-codes/verify", True),
    ("GET", "/v1/staff/accounts/{user_id}", True),
    ("GET", "/v1/staff/abuse/reports", True),
    ("GET", "/v1/staff/abuse/reports/{report_id}", True),
    ("POST", "/v1/staff/abuse/reports/{report_id}/disable", True),
    ("POST", "/v1/staff/abuse/reports/{report_id}/dismiss", True),
    ("POST", "/v1/staff/abuse/reports/{report_id}/reporter-acted", True),
    # Support tickets and the staff desk.
    ("POST", "/v1/support/tickets", False),
    ("GET", "/v1/support/tickets", True),
    ("GET", "/v1/support/tickets/{ref}", False),
    ("POST", "/v1/support/tickets/{ref}/replies", False),
    ("POST", "/v1/support/tickets/{ref}/state", False),
    ("GET", "/v1/support/tickets/{ref}/attachments/{attachment_id}", False),
    ("GET", "/v1/staff/tickets", True),
    ("GET", "/v1/staff/tickets/{ref}", True),
    ("PATCH", "/v1/staff/tickets/{ref}", True),
    ("POST", "/v1/staff/tickets/{ref}/replies", True),
    ("POST", "/v1/staff/tickets/{ref}/notes", True),
    ("POST", "/v1/staff/tickets/{ref}/merge", True),
    ("GET", "/v1/staff/tickets/{ref}/audit", True),
    ("GET", "/v1/staff/tickets/{ref}/attachments/{attachment_id}", True),
    ("GET", "/v1/staff/agents", True),
    ("GET", "/v1/staff/canned", True),
    ("POST", "/v1/staff/canned", True),
    ("PUT", "/v1/staff/canned/{canned_id}", True),
    ("DELETE", "/v1/staff/canned/{canned_id}", True),
]


def concrete(path: str) -> str:
    """A route's path with its parameters filled in with well-formed values."""
    return (
        path.replace("{index}", "0")
        .replace("{session_id}", new_id())
        .replace("{node_id}", new_id())
        .replace("{version_id}", new_id())
        .replace("{upload_id}", new_id())
        .replace("{link_id}", new_id())
        .replace("{user_id}", new_id())
        .replace("{invitation_id}", new_id())
        .replace("{share_id}", new_id())
        .replace("{report_id}", new_id())
        .replace("{notice_id}", new_id())
        .replace("{ref}", new_id())
        .replace("{attachment_id}", new_id())
        .replace("{canned_id}", new_id())
    )
