"""The client's kept copy of its opened tree, brought up to date from the change feed.

Opening a whole account means fetching every record and opening three envelopes for each:
seconds for a hundred thousand nodes. The command line keeps, after each whole-tree
command, what it opened, sealed under the account's master key on the user's own disk
(docs/crypto.md, section 11), with the change feed's position it is current to. The next
command reads it back and asks the feed what changed since (``GET /v1/events?after=``):
only the nodes named there are fetched and opened again, exactly as any record is (their
parent's key, their ids, and inside shared folders their writer's signature). Everything
else comes from the copy, which only this account's master key opens.

The file is a chain of sealed frames: the whole tree, then the changes each later command
applied, each frame bound to the one before, so that a command that changed little
appends little; the whole tree is written again when the changes grow. A frame that does
not open ends the copy there: what came before it is still the tree at an earlier
position, and the feed brings it up to date.

The copy is dropped for a full listing when it cannot be trusted to be complete: it is
missing, damaged at its start or sealed for another account; the feed says it is behind
the copy (the server's state went back); the folders this account shares changed (what is
below them is opened with writers' checks); or more nodes changed than a full listing
would cost.

What the server could do with the feed, it could do without it: leaving a change out of
the feed shows the copy's older state of that node, as leaving a record out of a listing
or serving an older one would (rollback and omission, SECURITY.md A13/A14, which signed
folder states will close). It cannot make the client accept a record it did not seal.
"""

from __future__ import annotations

import contextlib
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coffre.client import listing
from coffre.client.drive import Entry, ListedEntry, Tree, without_gc
from coffre.client.state import write_all, write_private
from coffre.crypto import account as ca
from coffre.crypto import nodes as cn
from coffre.errors import IntegrityError, LocalError, NotFound
from coffre.protocol import models as m

if TYPE_CHECKING:
    from coffre.client.drive import Drive

MAGIC = b"CFT1"
WHOLE, CHANGES = 0, 1
FRAME = struct.Struct("<I")
"""before each sealed frame: its length"""
HEAD = struct.Struct("<4sBQIII")
"""magic, WHOLE or CHANGES, the feed position, then the counts of shared folders, removed
nodes and nodes; then the shared folders' and removed nodes' ids (16 bytes each)"""
INDEX = struct.Struct("<16s16s32sBHHI")
"""per node: id, parent id, node key, flags (FILE, TRASHED), then the lengths of the name,
the version record and the listed record that follow all the index entries, in order"""
FILE, TRASHED = 0x01, 0x02
_KINDS: tuple[m.NodeKind, m.NodeKind] = ("folder", "file")

MAX_FETCHES = 1_000
"""More changed nodes than this and a full listing costs less than fetching each."""
_FETCHERS = 8
_FEED_END = 1 << 62
_WHAT = "kept copy of the tree"
_START = bytes(16)


@dataclass(slots=True)
class Kept:
    """A copy read back: the tree, the feed position it is current to, the shared folders;
    and where the next frame goes (the last good frame's tag, the size of the changes)."""

    tree: Tree
    seq: int
    shared: frozenset[str]
    chain: bytes = _START
    whole_bytes: int = 0
    change_bytes: int = 0
    clean: bool = True  # every frame opened (else the next save writes the whole tree)
    applied: list[Entry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class KeptEntry(Entry):
    """An entry read back from the copy. Its ``version`` and ``record`` are parsed from the
    copy's bytes when first read: most commands read neither for most entries."""

    __slots__ = ("_at", "_end", "_frame", "_own_trashed", "_record_at")

    def __init__(
        self,
        node_id: str,
        parent_id: str,
        kind: m.NodeKind,
        name: str,
        key: bytes,
        flags: int,
        frame: bytes,
        at: int,
        record_at: int,
        end: int,
    ) -> None:
        # Entry.__init__ would set ``version`` and ``record``; left unset, they are read
        # through __getattr__.
        self.id = node_id
        self.parent_id = parent_id
        self.kind = kind
        self.name = name
        self.key = key
        self._own_trashed = bool(flags & TRASHED)
        self.trashed = self._own_trashed
        self.shared = False
        # The frame it was read from, and where in it its version record (empty for a
        # folder) and its listed record are: sliced only when read.
        self._frame = frame
        self._at = at
        self._record_at = record_at
        self._end = end

    @property
    def raw(self) -> tuple[bytes, bytes]:
        """The version record and the listed record, as a frame holds them."""
        frame, record_at = self._frame, self._record_at
        return frame[self._at : record_at], frame[record_at : self._end]

    def __getattr__(self, name: str) -> Any:
        if name == "version":
            version = self.raw[0]
            self.version = cn.parse_version(version) if version else None
            return self.version
        if name == "record":
            self.record = listing.decode_one(self.raw[1]).record()
            return self.record
        raise AttributeError(name)


class TreeCopy:
    """The kept copy of one account's tree, in one file."""

    def __init__(self, path: Path, master_key: bytes, user_id: bytes) -> None:
        self.path = path
        self._master_key = master_key
        self._user_id = user_id

    def tree(self, drive: Drive) -> Tree:
        """The whole tree as :meth:`Drive.tree` gives it: from the copy brought up to date,
        or listed again (and kept) when the copy cannot be used."""
        shared = frozenset(drive.shared_roots())
        kept = self.load(drive.root())
        if kept is not None and kept.shared == shared:
            seq = _bring_up_to_date(drive, kept)
            if seq is not None:
                if seq != kept.seq or not kept.clean:
                    self._save_changes(kept, seq)
                return kept.tree
        seq = drive.api.events(after=_FEED_END).last  # before listing: changes after it replay
        tree = drive.list_tree()
        self.save(tree, seq, shared)
        return tree

    # -- reading --------------------------------------------------------------------------

    def load(self, root: Entry) -> Kept | None:
        """The copy, or None if there is none or its first frame does not open."""
        try:
            data = memoryview(self.path.read_bytes())  # frames are opened in place
        except OSError:  # none, or unreadable: the command lists everything
            return None
        kept: Kept | None = None
        pos = 0
        while pos < len(data):
            previous = kept.chain if kept else _START
            try:
                (length,) = FRAME.unpack_from(data, pos)
                sealed = data[pos + FRAME.size : pos + FRAME.size + length]
                plaintext = ca.open_tree_copy(self._master_key, self._user_id, previous, sealed)
            except (IntegrityError, struct.error):
                break  # a frame cut short or not ours: the copy ends before it
            try:
                with without_gc():
                    kept = _apply_frame(plaintext, root, kept)
            except IntegrityError:  # sealed by us, yet not as specified: trust none of it
                self.forget()
                return None
            kept.chain = bytes(sealed[-16:])  # its GCM tag: the next frame is bound to this one
            size = FRAME.size + length
            if kept.whole_bytes:
                kept.change_bytes += size
            else:
                kept.whole_bytes = size
            pos += size
        if kept is None:
            self.forget()
        elif pos != len(data):
            kept.clean = False
        return kept

    # -- writing --------------------------------------------------------------------------

    def save(self, tree: Tree, seq: int, shared: frozenset[str]) -> None:
        """Keep ``tree`` whole, as the copy's only frame."""
        entries = _in_tree_order(tree)
        plaintext = _frame(WHOLE, seq, shared, [], entries)
        sealed = ca.seal_tree_copy(self._master_key, self._user_id, _START, plaintext)
        self._write(lambda: write_private(self.path, FRAME.pack(len(sealed)) + sealed))

    def _save_changes(self, kept: Kept, seq: int) -> None:
        """Append what ``kept`` applied as one frame; or write the whole tree again when
        the changes have grown to an eighth of it, or the copy had a bad frame."""
        if not kept.clean or kept.change_bytes > kept.whole_bytes // 8:
            self.save(kept.tree, seq, kept.shared)
            return
        plaintext = _frame(CHANGES, seq, kept.shared, kept.removed, kept.applied)
        sealed = ca.seal_tree_copy(self._master_key, self._user_id, kept.chain, plaintext)
        self._write(lambda: _append(self.path, FRAME.pack(len(sealed)) + sealed))

    def _write(self, write: Any) -> None:
        """A copy that cannot be written is no copy (the next command lists everything
        again), never an error of the command."""
        try:
            write()
        except (OSError, LocalError):
            self.forget()

    def forget(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# -- frames -------------------------------------------------------------------------------


def _in_tree_order(tree: Tree) -> list[Entry]:
    """Every entry but the root, each after its folder."""
    out: list[Entry] = []
    stack = [tree.root]
    while stack:
        for kid in tree.children.get(stack.pop().id, ()):
            out.append(kid)
            if kid.is_folder:
                stack.append(kid)
    return out


def _raw(entry: Entry) -> tuple[bytes, bytes]:
    """An entry's version record and listed record, as a frame holds them."""
    if isinstance(entry, KeptEntry):
        return entry.raw
    version = cn.version_plaintext(entry.version) if entry.version else b""
    if isinstance(entry, ListedEntry):
        return version, listing.encode_one(entry._node)
    assert entry.record is not None
    return version, listing.encode_one(listing.from_record(entry.record))


def _own_trashed(entry: Entry) -> bool:
    if isinstance(entry, KeptEntry):
        return entry._own_trashed
    if isinstance(entry, ListedEntry):
        return entry._node.trashed is not None
    return entry.record is not None and entry.record.trashed is not None


def _frame(
    kind: int, seq: int, shared: frozenset[str], removed: list[str], entries: list[Entry]
) -> bytes:
    index: list[bytes] = []
    tail: list[bytes] = []
    for entry in entries:
        name = entry.name.encode()
        version, record = _raw(entry)
        flags = (FILE if entry.kind == "file" else 0) | (TRASHED if _own_trashed(entry) else 0)
        parent = bytes.fromhex(entry.parent_id or "")
        index.append(
            INDEX.pack(
                bytes.fromhex(entry.id),
                parent,
                entry.key,
                flags,
                len(name),
                len(version),
                len(record),
            )
        )
        tail += (name, version, record)
    head = HEAD.pack(MAGIC, kind, seq, len(shared), len(removed), len(entries))
    ids = [bytes.fromhex(i) for i in (*sorted(shared), *removed)]
    return b"".join((head, *ids, *index, *tail))


def _apply_frame(raw: bytes, root: Entry, kept: Kept | None) -> Kept:
    """The tree of ``kept`` with one more frame applied (the first frame: the whole tree)."""
    try:
        magic, kind, seq, shared_count, removed_count, count = HEAD.unpack_from(raw)
        if magic != MAGIC or kind != (CHANGES if kept else WHOLE):
            raise IntegrityError(_WHAT)
        pos = HEAD.size
        ids = [
            raw[i : i + 16].hex() for i in range(pos, pos + 16 * (shared_count + removed_count), 16)
        ]
        pos += 16 * len(ids)
        shared = frozenset(ids[:shared_count])
        end = pos + INDEX.size * count
        index = INDEX.iter_unpack(raw[pos:end])
        if kept is None:
            kept = Kept(Tree(root, {root.id: root}, {root.id: []}), seq, shared)
        elif shared != kept.shared:
            raise IntegrityError(_WHAT)
        kept.seq = seq
        tree = kept.tree
        for node_id in ids[shared_count:]:
            _remove(tree, node_id)
        entries, children = tree.entries, tree.children
        pos = end
        fresh = kind == WHOLE
        folders = {bytes.fromhex(e.id): e for e in entries.values() if e.is_folder}
        for raw_id, raw_parent, key, flags, name_length, version_length, record_length in index:
            name = raw[pos : pos + name_length].decode()
            at = pos + name_length
            record_at = at + version_length
            pos = record_at + record_length
            folder = folders[raw_parent]
            node_id = raw_id.hex()
            entry = KeptEntry(
                node_id, folder.id, _KINDS[flags & FILE], name, key, flags, raw, at, record_at, pos
            )
            entry.trashed = entry.trashed or folder.trashed
            entry.shared = folder.shared or node_id in shared
            if flags & FILE == 0:
                folders[raw_id] = entry
            if fresh:
                entries[node_id] = entry
                children[folder.id].append(entry)
                if flags & FILE == 0:
                    children[node_id] = []
            else:
                _put(tree, folder, entry)
    except (KeyError, ValueError, IndexError):  # struct.error and UnicodeDecodeError included
        raise IntegrityError(_WHAT) from None
    if pos != len(raw):
        raise IntegrityError(_WHAT)
    return kept


# -- bringing it up to date ---------------------------------------------------------------


def _bring_up_to_date(drive: Drive, kept: Kept) -> int | None:
    """Apply the feed's changes since the copy to its tree (noting them in ``kept``); the
    feed's new position, or None if the copy must be dropped for a full listing."""
    seq, changes = kept.seq, list[m.Event]()
    while True:
        page = drive.api.events(after=seq, limit=10_000)
        if page.last < seq:
            return None  # the server's feed is behind the copy
        if not page.events:
            break
        changes += page.events
        seq = page.last
        if len(changes) > 4 * MAX_FETCHES:
            return None
    gone = {e.node_id for e in changes if e.kind == "node.deleted" and e.node_id}
    wanted = list(dict.fromkeys(e.node_id for e in changes if e.node_id and e.node_id not in gone))
    if len(wanted) > MAX_FETCHES:
        return None
    tree = kept.tree
    for node_id in gone:
        _remove(tree, node_id)
        kept.removed.append(node_id)
    with ThreadPoolExecutor(max_workers=_FETCHERS, thread_name_prefix="coffre-feed") as pool:
        records = list(pool.map(lambda node_id: _fetch(drive, node_id), wanted))
    pending = {}
    for node_id, record in zip(wanted, records, strict=True):
        if record is None:
            _remove(tree, node_id)
            kept.removed.append(node_id)
        else:
            pending[node_id] = record
    while pending:
        ready = [
            r
            for r in pending.values()
            if r.parent_id in tree.entries and r.parent_id not in pending
        ]
        if not ready:
            break
        for record in ready:
            del pending[record.id]
            entry = _open(drive, tree, record)
            if entry is None:
                return None
            kept.applied.append(entry)
    for node_id in pending:  # no folder of the tree holds them (any more)
        _remove(tree, node_id)
        kept.removed.append(node_id)
    # The frame replays the removals, then what is still in the tree, parents first.
    kept.applied = [e for e in kept.applied if tree.entries.get(e.id) is e]
    return seq


def _fetch(drive: Drive, node_id: str) -> m.NodeRecord | None:
    try:
        return drive.api.node(node_id)
    except NotFound:
        return None


def _open(drive: Drive, tree: Tree, record: m.NodeRecord) -> Entry | None:
    """Open ``record`` under its folder and put it in place of its old entry (keeping what
    is below it); None if it moved in or out of a shared folder, which the copy's fast
    path did not open with writers' checks."""
    assert record.parent_id is not None
    folder = tree.entries[record.parent_id]
    entry = drive.open(folder, record)
    entry.trashed = entry.trashed or folder.trashed
    old = tree.entries.get(entry.id)
    if old is not None and old.shared != entry.shared:
        return None
    _put(tree, folder, entry)
    return entry


def _put(tree: Tree, folder: Entry, entry: Entry) -> None:
    """Put ``entry`` in ``folder`` in place of its old self, keeping what is below it, and
    pass its rubbish-bin state down."""
    old = tree.entries.get(entry.id)
    if old is not None:
        siblings = tree.children.get(old.parent_id or "", [])
        siblings[:] = [e for e in siblings if e.id != entry.id]
    tree.entries[entry.id] = entry
    tree.children[folder.id].append(entry)
    if entry.is_folder:
        tree.children.setdefault(entry.id, [])
        _inherit(tree, entry)


def _inherit(tree: Tree, top: Entry) -> None:
    """Pass ``top``'s rubbish-bin state down to everything below it."""
    stack = [top]
    while stack:
        folder = stack.pop()
        for kid in tree.children.get(folder.id, ()):
            kid.trashed = _own_trashed(kid) or folder.trashed
            if kid.is_folder:
                stack.append(kid)


def _remove(tree: Tree, node_id: str) -> None:
    """Take ``node_id`` and everything below it out of the tree."""
    entry = tree.entries.get(node_id)
    if entry is None:
        return
    siblings = tree.children.get(entry.parent_id or "", [])
    siblings[:] = [e for e in siblings if e.id != node_id]
    stack = [node_id]
    while stack:
        current = stack.pop()
        tree.entries.pop(current, None)
        stack += [kid.id for kid in tree.children.pop(current, ())]
