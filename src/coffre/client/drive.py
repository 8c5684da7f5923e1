"""The decrypted tree: paths, folders, moves, copies, the rubbish bin, versions.

The server hands out records of opaque envelopes; :class:`Drive` opens each with its
parent's key and the ids the client itself asked about, so a record the server altered,
moved, swapped or invented fails to open (SECURITY.md A7-A9). Names, sizes, times and
types shown to users come only out of envelopes (A8).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Literal, Protocol

from coffre.client import listing
from coffre.client.account import AccountKeys
from coffre.client.api import Api
from coffre.client.listing import ListedNode
from coffre.crypto import account as ca
from coffre.crypto import nodes as cn
from coffre.crypto import shares as cs
from coffre.errors import Conflict, IntegrityError, NotFound, UsageError
from coffre.protocol import models as m

if TYPE_CHECKING:
    from coffre.client.tree_copy import TreeCopy

_BY_NAME = attrgetter("name")
KIND = {"folder": cn.Kind.FOLDER, "file": cn.Kind.FILE}
COPY_BATCH = 2_000


@dataclass(slots=True, repr=False)
class Entry:
    """A node with its key and its authenticated name and current version."""

    id: str
    parent_id: str | None
    kind: Literal["folder", "file"]
    name: str
    key: bytes
    record: m.NodeRecord | None = None
    version: cn.VersionInfo | None = None
    trashed: bool = False
    shared: bool = False  # in a shared folder: its writer's signature was checked

    def __repr__(self) -> str:
        return f"Entry({self.kind} {self.name!r} id={self.id})"

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def size(self) -> int:
        return self.version.size if self.version else 0


@dataclass(slots=True)
class Tree:
    """A whole account, opened: every entry by id and every folder's children."""

    root: Entry
    entries: dict[str, Entry] = field(default_factory=dict)
    children: dict[str, list[Entry]] = field(default_factory=dict)

    def path(self, entry: Entry) -> str:
        parts: list[str] = []
        current: Entry | None = entry
        while current is not None and current.parent_id is not None:
            parts.append(current.name)
            current = self.entries.get(current.parent_id)
        return "/" + "/".join(reversed(parts))

    def walk(self, top: Entry, *, include_trashed: bool = False) -> Iterator[tuple[str, Entry]]:
        """``(relative path, entry)`` below ``top``, depth first, folders before contents."""
        listing = self.listing
        stack: list[tuple[str, Iterator[Entry]]] = [("", iter(listing(top)))]
        while stack:
            prefix, children = stack[-1]
            for child in children:
                if child.trashed and not include_trashed:
                    continue
                rel = f"{prefix}/{child.name}" if prefix else child.name
                yield rel, child
                if child.kind == "folder":
                    stack.append((rel, iter(listing(child))))
                    break
            else:
                stack.pop()

    def listing(self, folder: Entry) -> list[Entry]:
        return sorted(self.children.get(folder.id, ()), key=_BY_NAME)


@contextmanager
def without_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while a whole tree's objects are made: it would
    otherwise walk every object made so far again and again (a hundred thousand entries
    with their records), and they hold no cycles for it to free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def split_path(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"{path}: '..' is not supported in remote paths")
    return parts


def open_record(parent: Entry, record: m.NodeRecord) -> Entry:
    """Open ``record`` as a child of ``parent``; the server's claims are not trusted."""
    kind = KIND[record.kind]
    node_id, parent_id = bytes.fromhex(record.id), bytes.fromhex(parent.id)
    key = cn.unwrap_node_key(parent.key, node_id, parent_id, kind, record.key)
    if record.meta is None:
        raise IntegrityError("file or folder name")
    name = cn.open_meta(key, node_id, parent_id, kind, record.meta)
    version = None
    if record.kind == "file":
        if record.version is None:
            raise IntegrityError("file version")
        version = cn.open_version(
            key, node_id, bytes.fromhex(record.version.id), record.version.envelope
        )
    return Entry(
        record.id, parent.id, record.kind, name, key, record, version, record.trashed is not None
    )


class ListedEntry(Entry):
    """An entry opened from the binary listing (:func:`open_listed`): its ``record`` is built
    from the listed node when first read, since most commands never read it and building a
    hundred thousand NodeRecords costs more than opening them."""

    __slots__ = ("_node",)

    def __init__(
        self,
        node: ListedNode,
        parent_id: str,
        name: str,
        key: bytes,
        version: cn.VersionInfo | None,
    ) -> None:
        # Entry.__init__ would set ``record``; left unset, its first read reaches __getattr__.
        self._node = node
        self.id = node.id
        self.parent_id = parent_id
        self.kind = node.kind
        self.name = name
        self.key = key
        self.version = version
        self.trashed = node.trashed is not None
        self.shared = False

    def __getattr__(self, name: str) -> m.NodeRecord:
        if name != "record":
            raise AttributeError(name)
        self.record = self._node.record()
        return self.record


def open_listed(parent: Entry, node: ListedNode) -> Entry:
    """:func:`open_record` for a node of the binary listing: the same envelopes opened under
    the same ids, with the raw ids the listing carries."""
    kind = cn.Kind.FILE if node.is_file else cn.Kind.FOLDER
    node_id, parent_id = node.raw_id, bytes.fromhex(parent.id)
    key = cn.unwrap_node_key(parent.key, node_id, parent_id, kind, node.key)
    if not node.meta:
        raise IntegrityError("file or folder name")
    name = cn.open_meta(key, node_id, parent_id, kind, node.meta)
    version = None
    if kind == cn.Kind.FILE:
        version_id = node.raw_version_id
        if version_id is None:
            raise IntegrityError("file version")
        version = cn.open_version(key, node_id, version_id, node.envelope)
    return ListedEntry(node, parent.id, name, key, version)


Opener = Callable[[Entry, m.NodeRecord], Entry]
ListedOpener = Callable[[Entry, ListedNode], Entry]


def build_tree(root: Entry, records: list[m.NodeRecord], opener: Opener = open_record) -> Tree:
    """Open ``records`` from ``root`` down; records not reachable from it are left out."""
    by_parent: dict[str, list[m.NodeRecord]] = {}
    for record in records:
        if record.parent_id is not None:
            by_parent.setdefault(record.parent_id, []).append(record)
    tree = Tree(root, {root.id: root})
    frontier = [root]
    while frontier:
        folder = frontier.pop()
        kids = [opener(folder, r) for r in by_parent.get(folder.id, [])]
        for kid in kids:
            kid.trashed = kid.trashed or folder.trashed
            tree.entries[kid.id] = kid
            if kid.is_folder:
                frontier.append(kid)
        tree.children[folder.id] = kids
    return tree


def grow_tree(root: Entry, pages: Iterable[list[ListedNode]], opener: ListedOpener) -> Tree:
    """:func:`build_tree` for the binary listing, opening each page as it comes: a node opens
    as soon as its folder has (the listing is in id order, so a child may come first, and
    waits for it). Nodes not reachable from ``root`` are left out."""
    tree = Tree(root, {root.id: root}, {root.id: []})
    folders = {bytes.fromhex(root.id): root}
    waiting: dict[bytes, list[ListedNode]] = {}
    for page in pages:
        for node in page:
            parent_id = node.raw_parent
            if parent_id is None:
                continue  # the root, which the caller opened
            folder = folders.get(parent_id)
            if folder is None:
                waiting.setdefault(parent_id, []).append(node)
            else:
                _open_below(tree, folders, waiting, folder, node, opener)
    return tree


def _open_below(
    tree: Tree,
    folders: dict[bytes, Entry],
    waiting: dict[bytes, list[ListedNode]],
    folder: Entry,
    node: ListedNode,
    opener: ListedOpener,
) -> None:
    """Open ``node`` in ``folder``, and whatever was waiting for it, depth first."""
    stack = [(folder, node)]
    while stack:
        folder, node = stack.pop()
        kid = opener(folder, node)
        kid.trashed = kid.trashed or folder.trashed
        tree.entries[kid.id] = kid
        tree.children[folder.id].append(kid)
        if kid.is_folder:
            tree.children[kid.id] = []
            folders[node.raw_id] = kid
            stack.extend((kid, child) for child in waiting.pop(node.raw_id, ()))


class Writers(Protocol):
    """Who may write in a shared folder, and the check of a record's signatures."""

    def check(self, parent: Entry, record: m.NodeRecord) -> None: ...


class Drive:
    """One's own tree. Records inside folders one shares are checked for a signature of a
    writer the shares allow (:mod:`coffre.client.sharing`); the rest need none."""

    def __init__(self, api: Api, keys: AccountKeys, copy: TreeCopy | None = None) -> None:
        self.api = api
        self.keys = keys
        self.kept = copy
        self._shared_roots: set[str] | None = None
        self._requests: dict[str, m.LinkInfo] | None = None
        self.writers: Writers | None = None

    def shared_roots(self) -> set[str]:
        """Ids of the folders this account shares with others (asked once)."""
        if self._shared_roots is None:
            self._shared_roots = {s.folder_id for s in self.api.shares().outgoing}
        return self._shared_roots

    # -- opening records ------------------------------------------------------------------

    def root(self) -> Entry:
        return Entry(self.keys.root_id.hex(), None, "folder", "", self.keys.root_key)

    def open(self, parent: Entry, record: m.NodeRecord) -> Entry:
        unsigned = record.signature is None and record.author is not None
        if unsigned and record.author != self.keys.user_id.hex():
            entry = self._open_received(parent, record)
        else:
            entry = open_record(parent, record)
        entry.shared = parent.shared or record.id in self.shared_roots()
        if entry.shared and parent.shared:
            self.writer_check().check(parent, record)
        return entry

    def open_listed(self, parent: Entry, node: ListedNode) -> Entry:
        """:meth:`open` for a node of the binary listing. One's own records outside shared
        folders open on the fast path; the rest (received files, what writers wrote in
        shared folders) take :meth:`open` with the node's full record."""
        received = node.received_from()
        if parent.shared or (received is not None and received != self.keys.user_id.hex()):
            return self.open(parent, node.record())
        entry = open_listed(parent, node)
        entry.shared = entry.id in self.shared_roots()
        return entry

    def requests(self) -> dict[str, m.LinkInfo]:
        """This account's upload-only links, by id (asked once)."""
        if self._requests is None:
            self._requests = {i.id: i for i in self.api.links() if i.kind == "request"}
        return self._requests

    def _open_received(self, parent: Entry, record: m.NodeRecord) -> Entry:
        """A file a visitor uploaded through one of this account's upload-only links: its
        key is encrypted to the request's key, kept sealed under the folder's key."""
        from coffre.crypto import links as cl

        info = self.requests().get(record.author or "")
        if info is None or info.node_id != parent.id or info.envelope is None:
            return open_record(parent, record)  # not one of ours: it fails as it should
        link_id, folder_id = bytes.fromhex(info.id), bytes.fromhex(parent.id)
        node_id = bytes.fromhex(record.id)
        private = cl.open_request_key(parent.key, link_id, folder_id, info.envelope)
        key = cl.open_from_request(private, link_id, node_id, record.key)
        if record.kind != "file" or record.meta is None or record.version is None:
            raise IntegrityError("file received through a request")
        name = cn.open_meta(key, node_id, folder_id, cn.Kind.FILE, record.meta)
        version = cn.open_version(
            key, node_id, bytes.fromhex(record.version.id), record.version.envelope
        )
        return Entry(
            record.id, parent.id, "file", name, key, record, version, record.trashed is not None
        )

    def writer_check(self) -> Writers:
        if self.writers is None:
            from coffre.client.sharing import owner_writers

            self.writers = owner_writers(self)
        return self.writers

    def children(self, folder: Entry) -> list[Entry]:
        if not folder.is_folder:
            raise Conflict("not_a_folder", f"{folder.name}: not a folder")
        return sorted(
            (self.open(folder, r) for r in self.api.children(folder.id)), key=lambda e: e.name
        )

    def child(self, folder: Entry, name: str) -> Entry | None:
        """The child called ``name``, found by its name tag; the name is checked after opening."""
        tag = cn.name_tag(folder.key, name).hex()
        for record in self.api.children(folder.id, name_tag=tag):
            entry = self.open(folder, record)
            if entry.name == cn.check_name(name):
                return entry
            raise IntegrityError("file or folder name")
        if any(info.node_id == folder.id for info in self.requests().values()):
            # Files received through an upload-only link have no name tag of ours yet.
            wanted = cn.check_name(name)
            return next((e for e in self.children(folder) if e.name == wanted), None)
        return None

    def resolve(self, path: str) -> Entry:
        entry = self.root()
        for part in split_path(path):
            if not entry.is_folder:
                raise NotFound("not_found", f"{path}: {entry.name} is a file, not a folder")
            found = self.child(entry, part)
            if found is None:
                raise NotFound("not_found", f"{path}: no such file or folder")
            entry = found
        return entry

    def resolve_or_none(self, path: str) -> Entry | None:
        try:
            return self.resolve(path)
        except NotFound:
            return None

    def tree(self) -> Tree:
        """Every node of the account, opened from the root down (rubbish included): from
        the kept copy brought up to date if this drive has one (client/tree_copy.py)."""
        return self.kept.tree(self) if self.kept is not None else self.list_tree()

    def list_tree(self) -> Tree:
        """Every node of the account, listed and opened from the root down."""
        with without_gc():
            return grow_tree(self.root(), listing.pages(self.api), self.open_listed)

    # -- making and changing --------------------------------------------------------------

    def new_node(self, parent: Entry, name: str, kind: cn.Kind) -> tuple[m.NewNode, bytes]:
        node_id, key = ca.new_id(), ca.new_key()
        parent_id = bytes.fromhex(parent.id)
        wrapped = cn.wrap_node_key(parent.key, node_id, parent_id, kind, key)
        meta = cn.seal_meta(key, node_id, parent_id, kind, name)
        return (
            m.NewNode(
                id=node_id.hex(),
                parent_id=parent.id,
                key=wrapped,
                meta=meta,
                name_tag=cn.name_tag(parent.key, name).hex(),
                signature=cs.sign_node(self.keys.identity, node_id, parent_id, kind, wrapped, meta),
            ),
            key,
        )

    def mkdir(self, parent: Entry, name: str) -> Entry:
        request, key = self.new_node(parent, name, cn.Kind.FOLDER)
        record = self.api.mkdir(request)
        return Entry(record.id, parent.id, "folder", cn.check_name(name), key, record)

    def makedirs(self, path: str) -> Entry:
        entry = self.root()
        for part in split_path(path):
            found = self.child(entry, part)
            if found is None:
                found = self.mkdir(entry, part)
            elif not found.is_folder:
                raise Conflict("not_a_folder", f"{part}: a file is in the way")
            entry = found
        return entry

    def move(self, entry: Entry, new_parent: Entry, new_name: str) -> Entry:
        """Move and/or rename: the key and name are sealed again for the new place."""
        kind = KIND[entry.kind]
        node_id, parent_id = bytes.fromhex(entry.id), bytes.fromhex(new_parent.id)
        wrapped = cn.wrap_node_key(new_parent.key, node_id, parent_id, kind, entry.key)
        meta = cn.seal_meta(entry.key, node_id, parent_id, kind, new_name)
        record = self.api.move(
            entry.id,
            m.MoveNode(
                parent_id=new_parent.id,
                key=wrapped,
                meta=meta,
                name_tag=cn.name_tag(new_parent.key, new_name).hex(),
                signature=cs.sign_node(self.keys.identity, node_id, parent_id, kind, wrapped, meta),
            ),
        )
        return self.open(new_parent, record)

    def copy(
        self, entry: Entry, dest: Entry, name: str, *, source_drive: Drive | None = None
    ) -> None:
        """Copy ``entry`` (a whole folder, or a file's current version) into ``dest``.

        Every copied node gets a new id and a new key; versions share the source's content,
        whose key travels inside the new version envelope, so no chunk is sent again.
        """
        plan: list[m.CopiedNode] = []
        queue: list[tuple[Entry, Entry, str]] = [(entry, dest, name)]
        while queue:
            source, parent, new_name = queue.pop(0)
            kind = KIND[source.kind]
            request, key = self.new_node(parent, new_name, kind)
            versions: list[m.CopiedVersion] = []
            if source.version is not None and source.record and source.record.version:
                version_id = ca.new_id()
                node_id = bytes.fromhex(request.id)
                envelope = cn.seal_version(key, node_id, version_id, source.version)
                header = source.record.version.header
                versions.append(
                    m.CopiedVersion(
                        id=version_id.hex(),
                        envelope=envelope,
                        source=source.record.version.id,
                        signature=cs.sign_version(
                            self.keys.identity, node_id, version_id, envelope, header
                        ),
                    )
                )
            plan.append(m.CopiedNode(**request.model_dump(), kind=source.kind, versions=versions))
            if source.is_folder:
                placed = Entry(request.id, parent.id, "folder", new_name, key)
                listing = (source_drive or self).children(source)
                queue.extend((child, placed, child.name) for child in listing)
        for i in range(0, len(plan), COPY_BATCH):
            self.api.copy(m.CopyRequest(nodes=plan[i : i + COPY_BATCH]))

    def trash(self, entry: Entry) -> None:
        if entry.parent_id is None:
            raise UsageError("the root folder cannot be removed")
        self.api.trash(entry.id)

    # -- rubbish bin ----------------------------------------------------------------------

    def rubbish(self) -> list[tuple[str, Entry]]:
        """What is in the bin, with the path each came from."""
        tree = self.tree()
        found = [tree.entries[r.id] for r in self.api.rubbish() if r.id in tree.entries]
        return [(tree.path(e), e) for e in found]

    def find_in_rubbish(self, path: str) -> Entry:
        wanted = "/" + "/".join(split_path(path))
        matches = [e for p, e in self.rubbish() if p == wanted]
        if not matches:
            raise NotFound("not_found", f"{path}: not in the rubbish bin")
        return max(matches, key=lambda e: (e.record.trashed or 0.0) if e.record else 0.0)

    # -- versions -------------------------------------------------------------------------

    def _current_version(self, entry: Entry) -> str:
        if entry.is_folder or entry.record is None or entry.record.version is None:
            raise Conflict("not_a_file", f"{entry.name}: folders have no thumbnails")
        return entry.record.version.id

    def set_thumbnail(self, entry: Entry, image: bytes) -> None:
        """Seal ``image`` (at most cn.THUMBNAIL_MAX_BYTES) as the current version's thumbnail."""
        version_id = self._current_version(entry)
        sealed = cn.seal_thumbnail(
            entry.key, bytes.fromhex(entry.id), bytes.fromhex(version_id), image
        )
        self.api.put_thumbnail(version_id, sealed)

    def thumbnail(self, entry: Entry) -> bytes | None:
        """The current version's thumbnail, opened and checked, or None if it has none."""
        version_id = self._current_version(entry)
        sealed = self.api.get_thumbnail(version_id)
        if sealed is None:
            return None
        return cn.open_thumbnail(
            entry.key, bytes.fromhex(entry.id), bytes.fromhex(version_id), sealed
        )

    def versions(self, entry: Entry) -> list[tuple[m.VersionRecord, cn.VersionInfo]]:
        if entry.is_folder:
            raise Conflict("not_a_file", f"{entry.name}: folders have no versions")
        node_id = bytes.fromhex(entry.id)
        return [
            (v, cn.open_version(entry.key, node_id, bytes.fromhex(v.id), v.envelope))
            for v in self.api.versions(entry.id)
        ]
