"""Folders and files: their keys, their names, their versions.

Every node (folder or file) has its own random 256-bit key, sealed under its parent's key::

    node key   = seal(parent key, "node-key",  node_id || parent_id || kind, key)
    node meta  = seal(node key,   "node-meta", node_id || parent_id || kind, padded JSON)
    version    = seal(node key,   "version",   node_id || version_id,
                      content_key(32) || content_id(16) || size u64 || mtime_ms i64
                      || chunk_size u32 || content_hash(32) || type_length u8 || media type)
    name tag   = HMAC-SHA256(HKDF-Expand(parent key, "coffre/v1 name-tag", 32), NFC name)[:16]

``kind`` is one byte: 0x01 folder, 0x02 file. Node metadata is JSON, ``{"name": ...}``,
compact with sorted keys, UTF-8, padded with spaces to a multiple of 32 bytes so that
ciphertext sizes say little about name lengths. A version's plaintext is binary, so that
a large listing opens fast: the content key and id, the plaintext size, the modification
time (milliseconds since the epoch), the chunk size, the content hash of
:func:`coffre.crypto.stream.content_hash` and the media type; bytes after the media type
are reserved for later fields and ignored.

Binding ids and kind into the associated data stops the server from swapping names or
keys between nodes, moving a node under another parent, or turning a file into a folder
(SECURITY.md A7, A8); sealing under the parent's key, which the server never has, stops it
from injecting nodes of its own (A9). The name tag lets the server keep names unique in a
folder, and find a child by name, without learning the name.
"""

from __future__ import annotations

import json
import re
import struct
import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from coffre.crypto import _primitives as p
from coffre.crypto.envelope import Purpose, open_, seal
from coffre.errors import IntegrityError, UsageError

MAX_NAME_BYTES = 255
_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")
_PAD = 32


class Kind(IntEnum):
    FOLDER = 0x01
    FILE = 0x02


def _ctx(node_id: bytes, parent_id: bytes, kind: Kind) -> bytes:
    return node_id + parent_id + bytes([kind])


def pack_json(obj: dict[str, Any]) -> bytes:
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return raw + b" " * (-len(raw) % _PAD)


def unpack_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise IntegrityError(what) from None
    if not isinstance(obj, dict):
        raise IntegrityError(what)
    return obj


def check_name(name: str) -> str:
    """Return ``name`` in NFC, or raise if it cannot be a file or folder name."""
    name = unicodedata.normalize("NFC", name)
    if name in ("", ".", ".."):
        raise UsageError(f"{name!r} is not a valid name")
    if _FORBIDDEN.search(name):
        raise UsageError(f"{name!r} is not a valid name: no slashes or control characters")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise UsageError(f"name too long ({len(name.encode())} bytes, at most {MAX_NAME_BYTES})")
    return name


# -- node keys ----------------------------------------------------------------------------


def wrap_node_key(
    parent_key: bytes, node_id: bytes, parent_id: bytes, kind: Kind, node_key: bytes
) -> bytes:
    return seal(parent_key, Purpose.NODE_KEY, _ctx(node_id, parent_id, kind), node_key)


def unwrap_node_key(
    parent_key: bytes, node_id: bytes, parent_id: bytes, kind: Kind, wrapped: bytes
) -> bytes:
    key = open_(
        parent_key, Purpose.NODE_KEY, _ctx(node_id, parent_id, kind), wrapped, what="node key"
    )
    if len(key) != 32:
        raise IntegrityError("node key")
    return key


# -- names --------------------------------------------------------------------------------


def seal_meta(node_key: bytes, node_id: bytes, parent_id: bytes, kind: Kind, name: str) -> bytes:
    return seal(
        node_key,
        Purpose.NODE_META,
        _ctx(node_id, parent_id, kind),
        pack_json({"name": check_name(name)}),
    )


def open_meta(node_key: bytes, node_id: bytes, parent_id: bytes, kind: Kind, sealed: bytes) -> str:
    """The node's name, authenticated; a name that could escape a folder is refused."""
    what = "file or folder name"
    obj = unpack_json(
        open_(node_key, Purpose.NODE_META, _ctx(node_id, parent_id, kind), sealed, what=what), what
    )
    name = obj.get("name")
    if not isinstance(name, str):
        raise IntegrityError(what)
    try:
        return check_name(name)
    except UsageError:
        raise IntegrityError(what) from None


@lru_cache(maxsize=4096)
def _name_tag_key(parent_key: bytes) -> bytes:
    return p.hkdf_expand(parent_key, b"coffre/v1 name-tag", 32)


def name_tag(parent_key: bytes, name: str) -> bytes:
    return p.hmac_sha256(_name_tag_key(parent_key), check_name(name).encode())[:16]


# -- versions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class VersionInfo:
    """What a version envelope holds: the content key, its stream, and the file's facts."""

    content_key: bytes
    content_id: bytes
    size: int
    mtime_ms: int
    media_type: str
    content_hash: bytes
    chunk_size: int

    def __repr__(self) -> str:
        return (
            f"VersionInfo(content_id={self.content_id.hex()}, size={self.size}, "
            f"mtime_ms={self.mtime_ms}, media_type={self.media_type!r})"
        )


_VERSION_FIXED = struct.Struct(">32s16sQqI32sB")
"""content key, content id, size, mtime, chunk size, content hash, media type length"""


def version_plaintext(info: VersionInfo) -> bytes:
    """The binary record a version envelope seals (docs/crypto.md, section 6)."""
    media_type = info.media_type.encode()[:255]
    return (
        _VERSION_FIXED.pack(
            info.content_key,
            info.content_id,
            info.size,
            info.mtime_ms,
            info.chunk_size,
            info.content_hash,
            len(media_type),
        )
        + media_type
    )


def seal_version(node_key: bytes, node_id: bytes, version_id: bytes, info: VersionInfo) -> bytes:
    return seal(node_key, Purpose.VERSION, node_id + version_id, version_plaintext(info))


def open_version(node_key: bytes, node_id: bytes, version_id: bytes, sealed: bytes) -> VersionInfo:
    what = "file version"
    return parse_version(open_(node_key, Purpose.VERSION, node_id + version_id, sealed, what=what))


def parse_version(raw: bytes) -> VersionInfo:
    """The opened record of :func:`version_plaintext`; a bad layout is an IntegrityError."""
    what = "file version"
    if len(raw) < _VERSION_FIXED.size:
        raise IntegrityError(what)
    key, content_id, size, mtime, chunk_size, digest, type_length = _VERSION_FIXED.unpack_from(raw)
    end = _VERSION_FIXED.size + type_length
    if len(raw) < end or chunk_size == 0:
        raise IntegrityError(what)
    try:
        media_type = raw[_VERSION_FIXED.size : end].decode()
    except UnicodeDecodeError:
        raise IntegrityError(what) from None
    return VersionInfo(key, content_id, size, mtime, media_type, digest, chunk_size)


# -- thumbnails ---------------------------------------------------------------------------

THUMBNAIL_MAX_BYTES = 64 * 1024
"""The largest thumbnail image (plaintext) a client makes or accepts."""


def seal_thumbnail(node_key: bytes, node_id: bytes, version_id: bytes, image: bytes) -> bytes:
    """A small preview image of one version, sealed under the file's node key and bound to
    the node and the version, so that the server cannot move it to another file."""
    if len(image) > THUMBNAIL_MAX_BYTES:
        raise ValueError(f"thumbnails are at most {THUMBNAIL_MAX_BYTES} bytes")
    return seal(node_key, Purpose.THUMBNAIL, node_id + version_id, image)


def open_thumbnail(node_key: bytes, node_id: bytes, version_id: bytes, sealed: bytes) -> bytes:
    what = "thumbnail"
    image = open_(node_key, Purpose.THUMBNAIL, node_id + version_id, sealed, what=what)
    if len(image) > THUMBNAIL_MAX_BYTES:
        raise IntegrityError(what)
    return image
