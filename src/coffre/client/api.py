"""The HTTP API as typed Python calls, over any httpx transport.

Errors come back as the exceptions of :mod:`coffre.errors`. Idempotent requests (reads,
chunk PUTs, deletes, commits) are retried with exponential backoff when the server cannot be
reached or answers 502/503/504, for up to ``retry_for`` seconds. Other requests are sent
again only when they cannot have been carried out: the connection was never made, or the
server answered 503 saying that its database or blob store was unavailable (it changed
nothing); otherwise once, because a lost answer does not tell whether the request was
carried out.
"""

from __future__ import annotations

import base64
import random
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from coffre import __version__
from coffre.client import listing
from coffre.client.bulk import CONNECT_TIMEOUT, Bulk
from coffre.errors import (
    ConnectionFailed,
    IntegrityError,
    NotFound,
    ServiceUnavailable,
    api_error,
)
from coffre.protocol import models as m

T = TypeVar("T", bound=BaseModel)

_RETRY_STATUS = {502, 503, 504}
_NOTHING_DONE = frozenset({"database_unavailable", "database_busy", "storage_unavailable"})
"""503 codes with which the server says it changed nothing: any request may be sent again."""
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
USER_AGENT = f"coffre/{__version__}"


def _retriable(response: httpx.Response, idempotent: bool) -> bool:
    if response.status_code not in _RETRY_STATUS:
        return False
    if idempotent:
        return True
    try:
        return m.ErrorBody.model_validate_json(response.content).error.code in _NOTHING_DONE
    except ValueError:
        return False


KEEPALIVE_EXPIRY = 4.0
"""Seconds an idle connection is kept for reuse: less than uvicorn's default keep-alive (5 s)."""


def _json_body(body: BaseModel | None) -> dict[str, Any]:
    """A model as a request's JSON body, serialized by pydantic's own (compiled) encoder."""
    if body is None:
        return {}
    content = body.model_dump_json(exclude_none=True).encode()
    return {"content": content, "content_type": "application/json"}


class Api:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
        retry_for: float = 20.0,
        connections: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.link_auth: bytes | None = None
        self.retry_for = retry_for
        # An idle connection is dropped before a server would close it (uvicorn's default is
        # 5 s; coffre serve's 30 s): a request written to a connection the server is closing
        # fails, and a POST cannot be retried safely.
        limits = httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
        # Ranges of chunks are received over connections of their own (see coffre.client.bulk),
        # when requests go over the network at all.
        self._bulk: Bulk | None = None
        if transport is None:
            self._bulk = Bulk(
                self.base_url,
                timeout=timeout,
                keepalive=KEEPALIVE_EXPIRY,
                headers={"user-agent": USER_AGENT},
            )
            # Without TCP_NODELAY, a request's last partial segment waits for the server's
            # delayed ACK (about 40 ms): every chunk PUT would stall that long.
            transport = httpx.HTTPTransport(
                limits=limits,
                socket_options=_SOCKET_OPTIONS,
                # Loading the CA bundle costs a tenth of a second; plain HTTP needs none.
                verify=self.base_url.startswith("https:"),
            )
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            limits=limits,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        self.http.close()
        if self._bulk is not None:
            self._bulk.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if self.link_auth is not None:
            headers["x-coffre-link-auth"] = base64.urlsafe_b64encode(self.link_auth).decode()
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        accept: str | None = None,
        content_type: str | None = None,
        prefer: str | None = None,
    ) -> httpx.Response:
        retry = method in ("GET", "PUT", "DELETE", "HEAD") if idempotent is None else idempotent
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}

        def send() -> httpx.Response:
            return self.http.request(
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers=self._headers()
                | ({"accept": accept} if accept else {})
                | ({"content-type": content_type} if content_type else {})
                | ({"prefer": prefer} if prefer else {}),
                **extra,
            )

        return self._retrying(send, retry)

    def read_into(self, path: str, params: dict[str, Any], into: memoryview) -> int:
        """GET ``path`` and receive its body straight into ``into``, with no buffer of the
        whole answer in between; retried from the start like any GET. Returns the body's
        length, which is more than ``len(into)`` if it did not fit: then only what fits was
        kept, and reading stopped there."""
        received = 0
        bulk = self._bulk

        def send() -> httpx.Response:
            nonlocal received
            if bulk is not None:
                got = bulk.get_into(path, params, self._headers(), into)
                received = got.length
                return got.response()
            with self.http.stream("GET", path, params=params, headers=self._headers()) as answer:
                if answer.status_code >= 400:
                    answer.read()  # for the error's code and message
                    return answer
                received = 0
                for piece in answer.iter_bytes():
                    end = received + len(piece)
                    if end > len(into):
                        received = end  # too long: the caller sees the length is wrong
                        return answer
                    into[received:end] = piece
                    received = end
                return answer

        self._retrying(send, retry=True)
        return received

    def _retrying(self, send: Callable[[], httpx.Response], retry: bool) -> httpx.Response:
        """``send()`` until it answers below 400; again after a transport error or a 502,
        503 or 504 if ``retry``, for up to ``retry_for`` seconds."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                response = send()
            except httpx.TransportError as exc:
                # A connection that was never made carried no request: any request may be
                # sent again (behind a load balancer, another API process may take it).
                again = retry or isinstance(exc, httpx.ConnectError)
                if not again or time.monotonic() + delay > deadline:
                    raise ConnectionFailed(
                        f"cannot reach the Coffre server at {self.base_url} ({type(exc).__name__})"
                    ) from None
            else:
                if response.status_code < 400:
                    return response
                if not _retriable(response, retry) or time.monotonic() + delay > deadline:
                    raise self._error(response)
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, 5.0)

    @staticmethod
    def _error(response: httpx.Response) -> Exception:
        try:
            detail = m.ErrorBody.model_validate_json(response.content).error
        except ValueError:
            if response.status_code in _RETRY_STATUS:
                return ServiceUnavailable(
                    "unavailable", f"the server is unavailable ({response.status_code})"
                )
            return api_error(
                response.status_code, "http_error", f"the server answered {response.status_code}"
            )
        return api_error(response.status_code, detail.code, detail.message)

    def _call(
        self, model: type[T], method: str, path: str, body: BaseModel | None = None, **kw: Any
    ) -> T:
        content = self.request(method, path, **_json_body(body), **kw).content
        try:
            return model.model_validate_json(content)
        except ValidationError:
            # A malformed answer is refused like any other data that does not check out.
            raise IntegrityError(f"the server's answer to {method} {path}") from None

    def _send(self, method: str, path: str, body: BaseModel | None = None, **kw: Any) -> None:
        self.request(method, path, **_json_body(body), **kw)

    # -- accounts -------------------------------------------------------------------------

    def prelogin(self, email: str) -> m.PreloginResponse:
        return self._call(
            m.PreloginResponse, "POST", "/v1/auth/prelogin", m.PreloginRequest(email=email)
        )

    def signup(self, req: m.SignupRequest) -> m.LoginResponse:
        return self._call(m.LoginResponse, "POST", "/v1/auth/signup", req)

    def login(self, req: m.LoginRequest) -> m.LoginResponse:
        return self._call(m.LoginResponse, "POST", "/v1/auth/login", req)

    def recovery_keys(self, req: m.RecoveryProof) -> m.KeyBundle:
        return self._call(m.KeyBundle, "POST", "/v1/auth/recover/keys", req)

    def recover(self, req: m.RecoverRequest) -> m.LoginResponse:
        return self._call(m.LoginResponse, "POST", "/v1/auth/recover", req)

    def logout(self) -> None:
        self._send("POST", "/v1/auth/logout")

    def account(self) -> m.AccountInfo:
        return self._call(m.AccountInfo, "GET", "/v1/account")

    def keys(self) -> m.KeyBundle:
        return self._call(m.KeyBundle, "GET", "/v1/account/keys")

    def usage(self) -> m.Usage:
        return self._call(m.Usage, "GET", "/v1/account/usage")

    def change_password(self, req: m.PasswordChangeRequest) -> None:
        self._send("POST", "/v1/account/password", req)

    def sessions(self) -> m.SessionList:
        return self._call(m.SessionList, "GET", "/v1/sessions")

    def revoke_session(self, session_id: str) -> None:
        self._send("DELETE", f"/v1/sessions/{session_id}")

    # -- tree -----------------------------------------------------------------------------

    def node(self, node_id: str) -> m.NodeRecord:
        return self._call(m.NodeRecord, "GET", f"/v1/nodes/{node_id}")

    def children(self, node_id: str, name_tag: str | None = None) -> list[m.NodeRecord]:
        params = {"name_tag": name_tag} if name_tag else None
        return self._call(m.NodeList, "GET", f"/v1/nodes/{node_id}/children", params=params).nodes

    def all_nodes(self, page: int = listing.PAGE) -> listing.NodeListing:
        """Every node of the account, through the binary listing (records built when read)."""
        return listing.NodeListing(node for batch in listing.pages(self, page) for node in batch)

    def mkdir(self, req: m.NewNode) -> m.NodeRecord:
        return self._call(m.NodeRecord, "POST", "/v1/nodes", req)

    def move(self, node_id: str, req: m.MoveNode) -> m.NodeRecord:
        return self._call(m.NodeRecord, "PATCH", f"/v1/nodes/{node_id}", req)

    def copy(self, req: m.CopyRequest) -> list[m.NodeRecord]:
        return self._call(m.NodeList, "POST", "/v1/nodes/copy", req).nodes

    def trash(self, node_id: str) -> m.NodeRecord:
        return self._call(m.NodeRecord, "POST", f"/v1/nodes/{node_id}/trash")

    def restore(self, node_id: str) -> m.NodeRecord:
        return self._call(m.NodeRecord, "POST", f"/v1/nodes/{node_id}/restore")

    def delete(self, node_id: str) -> None:
        self._send("DELETE", f"/v1/nodes/{node_id}")

    def rubbish(self) -> list[m.NodeRecord]:
        return self._call(m.NodeList, "GET", "/v1/rubbish").nodes

    def empty_rubbish(self) -> None:
        self._send("POST", "/v1/rubbish/empty", idempotent=True)

    def versions(self, node_id: str) -> list[m.VersionRecord]:
        return self._call(m.VersionList, "GET", f"/v1/nodes/{node_id}/versions").versions

    def put_thumbnail(self, version_id: str, sealed: bytes) -> None:
        self.request("PUT", f"/v1/versions/{version_id}/thumbnail", content=sealed)

    def get_thumbnail(self, version_id: str) -> bytes | None:
        """A version's sealed thumbnail, or None if it has none."""
        try:
            return self.request("GET", f"/v1/versions/{version_id}/thumbnail").content
        except NotFound as exc:
            if exc.code == "thumbnail_not_found":
                return None
            raise

    def sign_version(self, version_id: str, signature: bytes) -> None:
        body = m.VersionSignature(signature=signature)
        self._send("PUT", f"/v1/versions/{version_id}/signature", body)

    def delete_version(self, version_id: str) -> None:
        self._send("DELETE", f"/v1/versions/{version_id}")

    # -- transfers ------------------------------------------------------------------------

    def start_upload(self, req: m.UploadRequest) -> m.UploadState:
        return self._call(m.UploadState, "POST", "/v1/uploads", req)

    def upload_state(self, upload_id: str) -> m.UploadState:
        return self._call(m.UploadState, "GET", f"/v1/uploads/{upload_id}")

    def put_chunk(self, upload_id: str, index: int, data: bytes) -> None:
        self.request("PUT", f"/v1/uploads/{upload_id}/chunks/{index}", content=data)

    def put_chunks(self, upload_id: str, first: int, data: bytes | memoryview) -> None:
        """Consecutive encrypted chunks from ``first``, concatenated, in one request."""
        path, params = f"/v1/uploads/{upload_id}/chunks", {"first": first}
        bulk = self._bulk
        if bulk is None:
            self.request("PUT", path, content=bytes(data), params=params)
            return

        self._retrying(lambda: bulk.put(path, params, self._headers(), data).response(), retry=True)

    def commit_upload(self, upload_id: str, req: m.CommitRequest) -> m.NodeRecord:
        # Safe to repeat: a commit that went through makes the next one upload_not_found,
        # which the uploader checks against the file's versions.
        return self._call(
            m.NodeRecord, "POST", f"/v1/uploads/{upload_id}/commit", req, idempotent=True
        )

    def upload_urls(self, upload_id: str, indexes: list[int]) -> m.ChunkUrls:
        """Presigned PUT URLs for these chunks (none: send them to the API)."""
        req = m.ChunkUrlsRequest(chunks=indexes)
        return self._call(
            m.ChunkUrls, "POST", f"/v1/uploads/{upload_id}/urls", req, idempotent=True
        )

    def download_urls(self, version_id: str, first: int, count: int) -> m.ChunkUrls:
        """Presigned GET URLs for chunks ``first`` .. ``first + count - 1`` (none: fetch
        them from the API)."""
        params = {"first": first, "count": count}
        return self._call(m.ChunkUrls, "GET", f"/v1/versions/{version_id}/urls", params=params)

    def cancel_upload(self, upload_id: str) -> None:
        self._send("DELETE", f"/v1/uploads/{upload_id}")

    def small_files(self, req: m.SmallFilesRequest) -> list[m.NodeRecord]:
        return self._call(m.SmallFilesResponse, "POST", "/v1/files/small", req).nodes

    def store_small_files(self, req: m.SmallFilesRequest) -> None:
        """Create the batch's files, asking for no records back (``Prefer:
        return=minimal``): building, sending and reading them was a tenth of the work of
        both sides for a batch. A server that answers with them anyway is not read."""
        self._send("POST", "/v1/files/small", req, prefer="return=minimal")

    def get_chunk(self, version_id: str, index: int) -> bytes:
        return self.request("GET", f"/v1/versions/{version_id}/chunks/{index}").content

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]:
        """The one chunk of each of these one-chunk versions."""
        req = m.SmallChunksRequest(versions=version_ids)
        answer = self._call(
            m.SmallChunksResponse, "POST", "/v1/versions/small", req, idempotent=True
        )
        return {c.version_id: c.data for c in answer.chunks}

    def get_chunks(self, version_id: str, first: int, count: int) -> bytes:
        """Chunks ``first`` .. ``first + count - 1`` of a version, concatenated."""
        params = {"first": first, "count": count}
        return self.request("GET", f"/v1/versions/{version_id}/chunks", params=params).content

    def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
        """The same, received into ``into``; the answer's length (see :meth:`read_into`)."""
        params = {"first": first, "count": count}
        return self.read_into(f"/v1/versions/{version_id}/chunks", params, into)

    # -- feed -----------------------------------------------------------------------------

    def events(self, after: int, wait: float = 0, limit: int = 1000) -> m.EventList:
        params = {"after": after, "wait": wait, "limit": limit}
        return self._call(m.EventList, "GET", "/v1/events", params=params, timeout=wait + 30)

    # -- public links ---------------------------------------------------------------------

    def create_link(self, req: m.LinkCreate) -> m.LinkInfo:
        return self._call(m.LinkInfo, "POST", "/v1/links", req)

    def links(self) -> list[m.LinkInfo]:
        return self._call(m.LinkList, "GET", "/v1/links").links

    def revoke_link(self, link_id: str) -> None:
        self._send("DELETE", f"/v1/links/{link_id}")

    # -- contacts and shares ----------------------------------------------------------------

    def user_keys(self, user_id: str) -> m.UserKeys:
        return self._call(m.UserKeys, "GET", f"/v1/users/{user_id}/keys")

    def contacts(self) -> m.ContactList:
        return self._call(m.ContactList, "GET", "/v1/contacts")

    def invite(self, email: str) -> m.Invitation:
        return self._call(
            m.Invitation, "POST", "/v1/contacts/invitations", m.InviteRequest(email=email)
        )

    def accept_invitation(self, invitation_id: str) -> m.UserKeys:
        return self._call(m.UserKeys, "POST", f"/v1/contacts/invitations/{invitation_id}/accept")

    def decline_invitation(self, invitation_id: str) -> None:
        self._send("DELETE", f"/v1/contacts/invitations/{invitation_id}")

    def remove_contact(self, user_id: str) -> None:
        self._send("DELETE", f"/v1/contacts/{user_id}")

    def share(self, req: m.ShareCreate) -> m.ShareInfo:
        return self._call(m.ShareInfo, "POST", "/v1/shares", req)

    def shares(self) -> m.ShareList:
        return self._call(m.ShareList, "GET", "/v1/shares")

    def accept_share(self, share_id: str) -> m.ShareInfo:
        return self._call(m.ShareInfo, "POST", f"/v1/shares/{share_id}/accept")

    def remove_share(self, share_id: str) -> None:
        self._send("DELETE", f"/v1/shares/{share_id}")

    def share_members(self, share_id: str) -> list[m.ShareInfo]:
        return self._call(m.ShareList, "GET", f"/v1/shares/{share_id}/members").outgoing

    def share_nodes(self, share_id: str) -> list[m.NodeRecord]:
        return self._call(m.NodeList, "GET", f"/v1/shares/{share_id}/nodes").nodes


class LinkApi:
    """The visitor's side of one public link: every request proves the link key.

    It reads chunks like :class:`Api` does (:class:`coffre.client.download.Downloader`
    takes either), through the link's own routes, with no account.
    """

    def __init__(self, api: Api, link_id: str) -> None:
        self.api = api
        self.link_id = link_id
        self.base = f"/v1/public/links/{link_id}"

    def prove(self, auth: bytes) -> None:
        self.api.link_auth = auth

    def public(self) -> m.PublicLink:
        return self.api._call(m.PublicLink, "GET", self.base)

    def root(self) -> m.LinkRoot:
        return self.api._call(m.LinkRoot, "GET", f"{self.base}/root")

    def nodes(self) -> list[m.NodeRecord]:
        return self.api._call(m.NodeList, "GET", f"{self.base}/nodes").nodes

    def get_chunk(self, version_id: str, index: int) -> bytes:
        path = f"{self.base}/versions/{version_id}/chunks/{index}"
        return self.api.request("GET", path).content

    def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
        params = {"first": first, "count": count}
        return self.api.read_into(f"{self.base}/versions/{version_id}/chunks", params, into)

    def start_upload(self, req: m.UploadRequest) -> m.UploadState:
        return self.api._call(m.UploadState, "POST", f"{self.base}/uploads", req)

    def put_chunks(self, upload_id: str, first: int, data: bytes) -> None:
        path = f"{self.base}/uploads/{upload_id}/chunks"
        self.api.request("PUT", path, content=data, params={"first": first})

    def commit_upload(self, upload_id: str, req: m.CommitRequest) -> m.UploadState:
        return self.api._call(m.UploadState, "POST", f"{self.base}/uploads/{upload_id}/commit", req)

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]:
        req = m.SmallChunksRequest(versions=version_ids)
        path = f"{self.base}/versions/small"
        answer = self.api._call(m.SmallChunksResponse, "POST", path, req, idempotent=True)
        return {c.version_id: c.data for c in answer.chunks}
