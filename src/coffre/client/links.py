"""Public links on the client: making them, and opening them with no account.

A link URL is ``BASE/s/LINK_ID#KEY``; ``KEY`` never reaches the server. Opening a link
checks what the server returns exactly as the owner's own client would: the node key must
open from the link envelope bound to the link id, the node id and its kind, and every
name, key and version below must open from there (docs/crypto.md section 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from coffre.client.api import Api, LinkApi
from coffre.client.drive import KIND, Drive, Entry, Tree, build_tree
from coffre.client.upload import RANGE_BYTES, media_type
from coffre.crypto import account as ca
from coffre.crypto import links as cl
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.errors import IntegrityError, LocalError, UsageError
from coffre.protocol import models as m

_PATH = re.compile(r"^/s/([0-9a-f]{32})/?$")


@dataclass(frozen=True, slots=True)
class LinkUrl:
    base: str
    link_id: str
    key: bytes | None

    def __str__(self) -> str:
        return format_url(self.base, self.link_id, self.key)


def format_url(base: str, link_id: str, key: bytes | None) -> str:
    url = f"{base.rstrip('/')}/s/{link_id}"
    return f"{url}#{cl.encode_key(key)}" if key is not None else url


def parse_url(url: str) -> LinkUrl:
    parts = urlsplit(url.strip())
    match = _PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or match is None:
        raise UsageError(f"{url!r} is not a Coffre link (https://HOST/s/LINK_ID#KEY)")
    key = cl.decode_key(parts.fragment) if parts.fragment else None
    return LinkUrl(f"{parts.scheme}://{parts.netloc}", match.group(1), key)


def create(
    drive: Drive, entry: Entry, *, password: str | None = None, expires: float | None = None
) -> tuple[m.LinkInfo, LinkUrl]:
    """Make a link to ``entry``; the URL carries the key unless the link has a password."""
    if entry.parent_id is None:
        raise UsageError("the root folder cannot be shared by a link")
    link_id = ca.new_id()
    kdf: m.KdfParams | None = None
    if password is not None:
        params = ca.KdfParams.new()
        link_key = cl.password_key(password, params)
        kdf = m.KdfParams(
            time_cost=params.time_cost,
            memory_kib=params.memory_kib,
            lanes=params.lanes,
            salt=params.salt,
        )
    else:
        link_key = cl.new_link_key()
    envelope = cl.wrap(link_key, link_id, bytes.fromhex(entry.id), KIND[entry.kind], entry.key)
    info = drive.api.create_link(
        m.LinkCreate(
            id=link_id.hex(),
            node_id=entry.id,
            envelope=envelope,
            auth=cl.link_auth(link_key),
            kdf=kdf,
            expires=expires,
        )
    )
    key = None if password is not None else link_key
    return info, LinkUrl(drive.api.base_url, link_id.hex(), key)


@dataclass
class OpenedLink:
    reader: LinkApi
    public: m.PublicLink
    root: Entry

    def tree(self) -> Tree:
        """For a folder link: everything below it, opened."""
        return build_tree(self.root, self.reader.nodes())


def needs_password(api: Api, url: LinkUrl) -> bool:
    return LinkApi(api, url.link_id).public().kdf is not None


def open_link(api: Api, url: LinkUrl, *, password: str | None = None) -> OpenedLink:
    reader = LinkApi(api, url.link_id)
    public = reader.public()
    if public.kdf is not None:
        if password is None:
            raise UsageError("this link is protected by a password")
        kdf = public.kdf
        link_key = cl.password_key(
            password, ca.KdfParams(kdf.time_cost, kdf.memory_kib, kdf.lanes, kdf.salt)
        )
    elif url.key is None:
        raise UsageError("this link needs its key: the part after '#' is missing")
    else:
        link_key = url.key
    reader.prove(cl.link_auth(link_key))
    answer = reader.root()
    record = answer.node
    if record.parent_id is None or record.meta is None or record.kind != public.kind:
        raise IntegrityError("link")
    kind = KIND[record.kind]
    node_id = bytes.fromhex(record.id)
    node_key = cl.unwrap(link_key, bytes.fromhex(url.link_id), node_id, kind, answer.envelope)
    parent_id = bytes.fromhex(record.parent_id)
    name = cn.open_meta(node_key, node_id, parent_id, kind, record.meta)
    version = None
    if record.kind == "file":
        if record.version is None:
            raise IntegrityError("file version")
        version = cn.open_version(
            node_key, node_id, bytes.fromhex(record.version.id), record.version.envelope
        )
    root = Entry(record.id, record.parent_id, record.kind, name, node_key, record, version)
    return OpenedLink(reader, public, root)


# -- upload-only links (file requests) -------------------------------------------------------


def create_request(
    drive: Drive, folder: Entry, *, expires: float | None = None
) -> tuple[m.LinkInfo, LinkUrl]:
    """An upload-only link to ``folder``: its URL carries the request's public key."""
    if not folder.is_folder:
        raise UsageError("an upload-only link goes to a folder")
    link_id = ca.new_id()
    private, public = cl.new_request_key()
    sealed = cl.seal_request_key(folder.key, link_id, bytes.fromhex(folder.id), private)
    info = drive.api.create_link(
        m.LinkCreate(
            id=link_id.hex(),
            node_id=folder.id,
            envelope=sealed,
            auth=cl.link_auth(public),
            expires=expires,
            request=True,
        )
    )
    return info, LinkUrl(drive.api.base_url, link_id.hex(), public)


def upload_to_request(api: Api, url: LinkUrl, local: Path, name: str) -> None:
    """Encrypt ``local`` to the request's key and upload it; the visitor learns nothing
    of the folder, and keeps no key that opens the file once it is sent."""
    if url.key is None:
        raise UsageError("this link needs its key: the part after '#' is missing")
    reader = LinkApi(api, url.link_id)
    public = reader.public()
    if public.kind != "request" or public.folder_id is None:
        raise UsageError("this link is for downloading: use 'coffre link get'")
    reader.prove(cl.link_auth(url.key))
    node_id, node_key = ca.new_id(), ca.new_key()
    folder_id = bytes.fromhex(public.folder_id)
    link_id = bytes.fromhex(url.link_id)
    content_key, content_id, version_id = ca.new_key(), ca.new_id(), ca.new_id()
    try:
        data_size = local.stat().st_size
        st = local.stat()
    except OSError as exc:
        raise LocalError.of(local, exc) from None
    cipher = cs.ContentCipher(content_key, content_id, cs.DEFAULT_CHUNK_SIZE)
    n = cs.chunk_count(data_size, cipher.chunk_size)
    state = reader.start_upload(
        m.UploadRequest(
            node=m.NewNode(
                id=node_id.hex(),
                parent_id=public.folder_id,
                key=cl.seal_to_request(url.key, link_id, node_id, node_key),
                meta=cn.seal_meta(node_key, node_id, folder_id, cn.Kind.FILE, name),
                name_tag=ca.new_id().hex(),  # the owner's client names it properly later
            ),
            version=m.NewVersion(
                id=version_id.hex(),
                header=cipher.header.encode(),
                content_id=content_id.hex(),
                chunk_size=cipher.chunk_size,
                chunk_count=n,
                size=cs.ciphertext_size(data_size, cipher.chunk_size),
            ),
        )
    )
    digests: list[bytes] = []
    per_request = max(1, RANGE_BYTES // cipher.chunk_size)
    with local.open("rb") as f:
        for first in range(0, n, per_request):
            sealed: list[bytes] = []
            for index in range(first, min(n, first + per_request)):
                piece = f.read(cs.chunk_plaintext_size(data_size, cipher.chunk_size, index))
                digests.append(cs.chunk_digest(piece))
                sealed.append(cipher.encrypt_chunk(index, piece, last=index == n - 1))
            reader.put_chunks(state.id, first, b"".join(sealed))
    info = cn.VersionInfo(
        content_key=content_key,
        content_id=content_id,
        size=data_size,
        mtime_ms=st.st_mtime_ns // 1_000_000,
        media_type=media_type(name),
        content_hash=cs.content_hash(digests),
        chunk_size=cipher.chunk_size,
    )
    envelope = cn.seal_version(node_key, node_id, version_id, info)
    reader.commit_upload(state.id, m.CommitRequest(envelope=envelope))
