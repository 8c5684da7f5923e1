"""The binary node listing on the client: fetched page by page, decoded without pydantic.

``GET /v1/nodes`` with ``Accept: application/x-coffre-nodes`` (docs/api.md) carries the
records of :class:`~coffre.protocol.models.NodeList` as fixed-size fields and raw bytes. A
whole account is a hundred thousand records: parsing them as JSON into pydantic models cost
seconds, so they are decoded with :mod:`struct` into :class:`ListedNode`, which holds what
opening needs and builds the full :class:`~coffre.protocol.models.NodeRecord` only when
someone reads it. The decoder checks the layout and every length a NodeRecord constrains;
what the bytes say is checked by opening them, as for any record (SECURITY.md A7-A9).

:func:`pages` asks for the next page while the caller opens the last one, so that the
server reads its database while the client decrypts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, overload

from coffre.errors import IntegrityError
from coffre.protocol import models as m

if TYPE_CHECKING:
    from coffre.client.api import Api

PAGE = 10_000
"""Records per request: small enough for the first page to arrive soon, large enough that
requests cost little."""

_WHAT = "the server's answer to GET /v1/nodes"
_ENVELOPE = range(61, 4097)  # the lengths an Envelope may have (protocol/types.py)
_SIGNATURE = (0, 64)  # none, or an Ed25519 signature
_HEADER = 37  # a ContentHeader


class ListedNode:
    """One record of the binary listing: ids as raw bytes, the fixed fields as unpacked."""

    __slots__ = ("_fixed", "_record", "envelope", "header", "key", "meta", "signature", "vsig")

    def __init__(
        self,
        fixed: tuple[Any, ...],
        key: bytes,
        meta: bytes,
        signature: bytes,
        envelope: bytes,
        header: bytes,
        vsig: bytes,
    ) -> None:
        self._fixed = fixed
        self._record: m.NodeRecord | None = None
        self.key = key
        self.meta = meta  # empty when the record has none (the root)
        self.signature = signature  # empty when unsigned
        self.envelope = envelope  # the current version's; empty for a folder
        self.header = header
        self.vsig = vsig

    @property
    def raw_id(self) -> bytes:
        return self._fixed[1]  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        return self._fixed[1].hex()  # type: ignore[no-any-return]

    @property
    def raw_parent(self) -> bytes | None:
        return self._fixed[2] if self._fixed[0] & m.NODE_PARENT else None

    @property
    def is_file(self) -> bool:
        return bool(self._fixed[0] & m.NODE_FILE)

    @property
    def kind(self) -> m.NodeKind:
        return "file" if self._fixed[0] & m.NODE_FILE else "folder"

    @property
    def trashed(self) -> float | None:
        return self._fixed[7] if self._fixed[0] & m.NODE_TRASHED else None

    @property
    def raw_version_id(self) -> bytes | None:
        return self._fixed[12] if self._fixed[0] & m.NODE_VERSION else None

    def received_from(self) -> str | None:
        """The author of an unsigned record (a file a visitor uploaded through an upload-only
        link, see Drive.open), or None."""
        if self.signature or not self._fixed[0] & m.NODE_AUTHOR:
            return None
        return self._fixed[4].hex()  # type: ignore[no-any-return]

    def record(self) -> m.NodeRecord:
        """The record as :class:`~coffre.protocol.models.NodeRecord`, built on first use
        without validation: :func:`decode` checked what pydantic would have."""
        if self._record is None:
            self._record = _record(self)
        return self._record


def _record(node: ListedNode) -> m.NodeRecord:
    f = node._fixed
    flags = f[0]
    version = None
    if flags & m.NODE_VERSION:
        version = m.VersionRecord.model_construct(
            id=f[12].hex(),
            number=f[14],
            envelope=node.envelope,
            header=node.header,
            created=f[15],
            size=f[16],
            chunk_size=f[17],
            chunk_count=f[18],
            author=f[13].hex() if flags & m.NODE_VERSION_AUTHOR else None,
            signature=node.vsig or None,
        )
    return m.NodeRecord.model_construct(
        id=f[1].hex(),
        parent_id=f[2].hex() if flags & m.NODE_PARENT else None,
        kind=node.kind,
        key=node.key,
        meta=node.meta or None,
        name_tag=f[3].hex() if flags & m.NODE_NAME_TAG else None,
        created=f[5],
        updated=f[6],
        trashed=node.trashed,
        versions=f[8],
        author=f[4].hex() if flags & m.NODE_AUTHOR else None,
        signature=node.signature or None,
        version=version,
    )


# -- decoding -----------------------------------------------------------------------------


def page_cursor(data: bytes) -> str | None:
    """The cursor of an encoded page (the ``after`` of the next one), or None at the end."""
    if len(data) < m.NODES_PAGE.size:
        raise IntegrityError(_WHAT)
    magic, _count, more, cursor = m.NODES_PAGE.unpack_from(data)
    if magic != m.NODES_MAGIC or more not in (0, 1):
        raise IntegrityError(_WHAT)
    return cursor.hex() if more else None


def decode(data: bytes) -> list[ListedNode]:
    """The records of one encoded page; anything malformed is an IntegrityError."""
    page_cursor(data)
    count = m.NODES_PAGE.unpack_from(data)[1]
    nodes: list[ListedNode] = []
    pos = m.NODES_PAGE.size
    plain, versioned = m.NODE_FIXED, m.NODE_VERSION_FIXED
    try:
        for _ in range(count):
            layout = versioned if data[pos] & m.NODE_VERSION else plain
            fixed = layout.unpack_from(data, pos)
            pos += layout.size
            flags, key_len, meta_len, sig_len = fixed[0], fixed[9], fixed[10], fixed[11]
            if (
                key_len not in _ENVELOPE
                or (meta_len not in _ENVELOPE if flags & m.NODE_META else meta_len)
                or sig_len not in _SIGNATURE
            ):
                raise IntegrityError(_WHAT)
            pos, (key, meta, signature) = _slices(data, pos, key_len, meta_len, sig_len)
            if layout is plain:
                if flags & m.NODE_VERSION_AUTHOR:
                    raise IntegrityError(_WHAT)
                nodes.append(ListedNode(fixed, key, meta, signature, b"", b"", b""))
                continue
            env_len, header_len, vsig_len = fixed[19], fixed[20], fixed[21]
            if env_len not in _ENVELOPE or header_len != _HEADER or vsig_len not in _SIGNATURE:
                raise IntegrityError(_WHAT)
            pos, (envelope, header, vsig) = _slices(data, pos, env_len, header_len, vsig_len)
            nodes.append(ListedNode(fixed, key, meta, signature, envelope, header, vsig))
    except (IndexError, ValueError):  # struct.error is a ValueError
        raise IntegrityError(_WHAT) from None
    if pos != len(data):  # a short slice moved ``pos`` past the end; or bytes left over
        raise IntegrityError(_WHAT)
    return nodes


# -- one record at a time (the client's kept copy of its tree, client/tree_copy.py) -------

_ONE = m.NODES_PAGE.pack(m.NODES_MAGIC, 1, 0, b"")


def decode_one(record: bytes) -> ListedNode:
    """One record of :func:`encode_one`, checked by the same decoder as the server's pages."""
    return decode(_ONE + record)[0]


def encode_one(node: ListedNode) -> bytes:
    """One record as the binary listing carries it: what :func:`decode_one` reads back."""
    f = node._fixed
    layout = m.NODE_VERSION_FIXED if f[0] & m.NODE_VERSION else m.NODE_FIXED
    fields = (node.key, node.meta, node.signature, node.envelope, node.header, node.vsig)
    return b"".join((layout.pack(*f), *fields))  # a folder's last three are empty


def _raw(hex_id: str | None) -> bytes:
    return bytes.fromhex(hex_id) if hex_id else b""


def from_record(record: m.NodeRecord) -> ListedNode:
    """The listed form of a record fetched as JSON (one node asked for by id)."""
    meta, sig = record.meta or b"", record.signature or b""
    flags = (
        (m.NODE_FILE if record.kind == "file" else 0)
        | (m.NODE_PARENT if record.parent_id else 0)
        | (m.NODE_NAME_TAG if record.name_tag else 0)
        | (m.NODE_TRASHED if record.trashed is not None else 0)
        | (m.NODE_AUTHOR if record.author else 0)
        | (m.NODE_META if record.meta is not None else 0)
    )
    node = (
        _raw(record.id),
        _raw(record.parent_id),
        _raw(record.name_tag),
        _raw(record.author),
        record.created,
        record.updated,
        record.trashed or 0.0,
        record.versions,
        len(record.key),
        len(meta),
        len(sig),
    )
    v = record.version
    fixed: tuple[Any, ...] = (flags, *node)
    layout, version = m.NODE_FIXED, (b"", b"", b"")
    if v is not None:
        vsig = v.signature or b""
        layout, version = m.NODE_VERSION_FIXED, (v.envelope, v.header, vsig)
        fixed = (
            flags | m.NODE_VERSION | (m.NODE_VERSION_AUTHOR if v.author else 0),
            *node,
            _raw(v.id),
            _raw(v.author),
            v.number,
            v.created,
            v.size,
            v.chunk_size,
            v.chunk_count,
            len(v.envelope),
            len(v.header),
            len(vsig),
        )
    # Packed and unpacked, so that the fields read as the decoder's do (ids padded to 16).
    listed = ListedNode(layout.unpack(layout.pack(*fixed)), record.key, meta, sig, *version)
    listed._record = record
    return listed


# -- fetching -----------------------------------------------------------------------------


def _fetch(api: Api, page: int, after: str | None) -> bytes:
    params: dict[str, Any] = {"limit": page}
    if after:
        params["after"] = after
    return api.request("GET", "/v1/nodes", params=params, accept=m.NODES_MEDIA_TYPE).content


def pages(api: Api, page: int = PAGE) -> Iterator[list[ListedNode]]:
    """Every node of the account, a decoded page at a time; while the caller works on one
    page, a helper thread already fetches the next (the socket wait releases the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coffre-listing") as pool:
        pending = pool.submit(_fetch, api, page, None)
        while True:
            data = pending.result()
            cursor = page_cursor(data)
            if cursor is not None:
                pending = pool.submit(_fetch, api, page, cursor)
            yield decode(data)
            if cursor is None:
                return


class NodeListing(Sequence[m.NodeRecord]):
    """What :meth:`Api.all_nodes` returns: the listed nodes, read as NodeRecords (each built
    when first read), in the server's order."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, nodes: Iterable[ListedNode]) -> None:
        self.nodes = list(nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @overload
    def __getitem__(self, index: int) -> m.NodeRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[m.NodeRecord]: ...

    def __getitem__(self, index: int | slice) -> m.NodeRecord | list[m.NodeRecord]:
        if isinstance(index, slice):
            return [node.record() for node in self.nodes[index]]
        return self.nodes[index].record()

    def __iter__(self) -> Iterator[m.NodeRecord]:
        return (node.record() for node in self.nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"NodeListing({len(self.nodes)} nodes)"


def _slices(data: bytes, pos: int, *lengths: int) -> tuple[int, list[bytes]]:
    """The fields of these lengths from ``pos`` on, one after another, and the position
    after them (a slice past the end comes out short: the caller checks the final pos)."""
    fields = []
    for length in lengths:
        fields.append(data[pos : pos + length])
        pos += length
    return pos, fields
