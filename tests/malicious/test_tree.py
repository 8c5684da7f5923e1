"""The server attacks the tree: flipped envelopes (A4), swaps and moves (A7), lies about
sizes, times and types (A8), and nodes it made up (A9).

Each test builds the same small tree through the client, then plays the server: it
rewrites database rows (``victim.store``) or answers on the wire (``victim.server``), and
shows that listing, resolving or walking the tree refuses with :class:`IntegrityError`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coffre.cli.files import long_row
from coffre.client import listing
from coffre.client.drive import Entry
from coffre.crypto import _primitives as p
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.crypto.envelope import HEADER_SIZE
from coffre.errors import BadRequest, IntegrityError
from coffre.server.db import tables as t
from coffre.server.services.records import Listing
from tests.malicious.conftest import CHUNK, Template, Victim, stock
from tests.malicious.harness import Exchange, flip, flip_b64

MTIME_NS = 1_234_567_890_123_000_000  # 2009-02-13, to the millisecond


@dataclass
class Tree:
    """/Docs/{a.txt, b.txt, big.bin} and /Other/ (empty), with what each really holds."""

    root: Entry
    docs: Entry
    other: Entry
    a: Entry
    b: Entry
    big: Entry
    big_data: bytes


def _stock_tree(victim: Victim) -> Tree:
    drive = victim.drive
    root = drive.root()
    docs = drive.mkdir(root, "Docs")
    other = drive.mkdir(root, "Other")
    a = victim.upload("a.txt", b"alpha " * 20, docs, mtime_ns=MTIME_NS)
    b = victim.upload("b.txt", b"bravo " * 30, docs)
    big_data = os.urandom(5 * CHUNK + 123)
    big = victim.upload("big.bin", big_data, docs, mtime_ns=MTIME_NS)
    return Tree(root, docs, other, a, b, big, big_data)


@pytest.fixture(scope="module")
def stocked(template: Template, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tree]:
    """The tree is built once; every test gets a fresh copy of the server holding it."""
    return stock(template, tmp_path_factory.mktemp("tree"), _stock_tree)


@pytest.fixture
def server_template(stocked: tuple[Path, Tree]) -> Path:
    return stocked[0]


@pytest.fixture
def tree(stocked: tuple[Path, Tree]) -> Tree:
    return stocked[1]


def refuses_everywhere(victim: Victim, folder: Entry, path: str | None) -> None:
    """Listing ``folder``, walking the tree and resolving ``path`` all fail to open."""
    with pytest.raises(IntegrityError):
        victim.drive.children(folder)
    with pytest.raises(IntegrityError):
        victim.drive.tree()
    if path is not None:
        with pytest.raises(IntegrityError):
            victim.drive.resolve(path)


# -- A4: bit flips in stored envelopes ----------------------------------------------------

POSITIONS = {"version byte": 0, "nonce": 5, "commitment": 20, "ciphertext": HEADER_SIZE, "tag": -1}


@pytest.mark.parametrize("column", ["key", "meta"])
def test_a4_flipped_bit_in_node_envelope(victim: Victim, tree: Tree, column: str) -> None:
    """A flipped bit anywhere in a file's wrapped key or its sealed name."""
    original = getattr(victim.store.row(t.Node, tree.a.id), column)
    for where, index in POSITIONS.items():
        victim.store.update(t.Node, tree.a.id, **{column: flip(original, index)})
        refuses_everywhere(victim, tree.docs, "/Docs/a.txt")
        victim.store.update(t.Node, tree.a.id, **{column: original})
        assert victim.drive.resolve("/Docs/a.txt").name == "a.txt", where


def test_a4_flipped_bit_in_version_envelope(victim: Victim, tree: Tree) -> None:
    assert tree.a.record is not None and tree.a.record.version is not None
    version_id = tree.a.record.version.id
    original = victim.store.version(version_id).envelope
    for index in POSITIONS.values():
        victim.store.update(t.Version, version_id, envelope=flip(original, index))
        refuses_everywhere(victim, tree.docs, "/Docs/a.txt")
    victim.store.update(t.Version, version_id, envelope=original)
    victim.store.update(t.Version, version_id, envelope=flip(original, -1))
    with pytest.raises(IntegrityError):  # and through the versions listing
        victim.drive.versions(tree.a)


def test_a4_flipped_bit_in_folder_key_hides_nothing_behind_it(victim: Victim, tree: Tree) -> None:
    """A folder whose key envelope was changed cannot be opened, so neither can its contents."""
    victim.store.update(
        t.Node, tree.docs.id, key=flip(victim.store.row(t.Node, tree.docs.id).key, 50)
    )
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.root)
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Docs/a.txt")


def test_a4_flipped_bit_on_the_wire(victim: Victim, tree: Tree) -> None:
    """The same, done in the answer rather than on disk."""

    def rewrite(body: Any, _x: Exchange) -> Any:
        for node in body["nodes"]:
            node["meta"] = flip_b64(node["meta"], -3)
        return body

    victim.server.on_json("GET", rf"/v1/nodes/{tree.docs.id}/children", rewrite)
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.docs)


# -- A7: swapped names, moved nodes -------------------------------------------------------


@pytest.mark.parametrize("columns", [("meta",), ("key", "meta")], ids=["names", "keys-and-names"])
def test_a7_envelopes_swapped_between_two_files(
    victim: Victim, tree: Tree, columns: tuple[str, ...]
) -> None:
    """a.txt and b.txt exchange their sealed names (and keys): both fail to open."""
    victim.store.swap(t.Node, tree.a.id, tree.b.id, *columns)
    refuses_everywhere(victim, tree.docs, "/Docs/a.txt")


def test_a7_names_swapped_on_the_wire(victim: Victim, tree: Tree) -> None:
    def rewrite(body: Any, _x: Exchange) -> Any:
        nodes = {n["id"]: n for n in body["nodes"]}
        a, b = nodes[tree.a.id], nodes[tree.b.id]
        a["meta"], b["meta"] = b["meta"], a["meta"]
        return body

    victim.server.on_json("GET", rf"/v1/nodes/{tree.docs.id}/children", rewrite)
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.docs)


def test_a7_version_envelopes_swapped_between_two_files(victim: Victim, tree: Tree) -> None:
    assert tree.a.record and tree.a.record.version and tree.b.record and tree.b.record.version
    victim.store.swap(
        t.Version, tree.a.record.version.id, tree.b.record.version.id, "envelope", "header"
    )
    refuses_everywhere(victim, tree.docs, "/Docs/a.txt")


def test_a7_current_version_pointed_at_another_files_version(victim: Victim, tree: Tree) -> None:
    assert tree.b.record and tree.b.record.version
    victim.store.update(t.Node, tree.a.id, current_version=tree.b.record.version.id)
    refuses_everywhere(victim, tree.docs, "/Docs/a.txt")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a7_node_moved_under_another_parent(victim: Victim, tree: Tree, what: str) -> None:
    """The server sets parent_id without the client re-sealing key and name for the move."""
    moved = tree.a if what == "file" else tree.docs
    victim.store.update(t.Node, moved.id, parent_id=tree.other.id)
    # Resolving /Other/NAME asks by a name tag under Other's key, which the server cannot
    # make; the next test answers that lookup with the moved node anyway.
    refuses_everywhere(victim, tree.other, None)


def test_a7_moved_node_served_for_a_name_lookup(victim: Victim, tree: Tree) -> None:
    """Resolving /Other/a.txt: the server answers the name-tag query with the moved node."""
    record = victim.user.api.node(tree.a.id).model_dump(mode="json")
    victim.store.update(t.Node, tree.a.id, parent_id=tree.other.id)
    record["parent_id"] = tree.other.id

    def answer_with_moved(body: Any, x: Exchange) -> Any:
        assert "name_tag" in x.query
        return {**body, "nodes": [record]}

    victim.server.on_json("GET", rf"/v1/nodes/{tree.other.id}/children", answer_with_moved)
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Other/a.txt")


def test_a7_name_lookup_answered_with_another_real_child(victim: Victim, tree: Tree) -> None:
    """Asked for a.txt, the server answers with b.txt, a genuine child of the same folder:
    it opens, but under another name, and the client refuses rather than hand it out."""
    record = victim.user.api.node(tree.b.id).model_dump(mode="json")
    victim.server.on_json(
        "GET", rf"/v1/nodes/{tree.docs.id}/children", lambda body, _x: {"nodes": [record]}
    )
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Docs/a.txt")


def test_a7_old_name_replayed_after_a_move(victim: Victim, tree: Tree) -> None:
    """After a real move and rename, the server puts back the name sealed for the old place
    (same node, same node key): the name is bound to its parent, so it no longer opens."""
    old_meta = victim.store.row(t.Node, tree.a.id).meta
    victim.drive.move(tree.a, tree.other, "renamed.txt")
    victim.store.update(t.Node, tree.a.id, meta=old_meta)
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.other)
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Other/renamed.txt")


def test_a7_a_real_move_by_the_client_still_opens(victim: Victim, tree: Tree) -> None:
    """The baseline: a move the client makes re-seals key and name, and opens afterwards."""
    victim.drive.move(tree.a, tree.other, "renamed.txt")
    moved = victim.drive.resolve("/Other/renamed.txt")
    assert moved.id == tree.a.id and moved.size == tree.a.size
    assert [e.name for e in victim.drive.children(tree.docs)] == ["b.txt", "big.bin"]


# -- A8: the server's own numbers ---------------------------------------------------------


def _lie_about(node: dict[str, Any]) -> None:
    node.update(versions=42, created=0.0, updated=4e9)
    version = node.get("version")
    if version:
        version.update(size=17, chunk_count=1, chunk_size=1 << 20, number=99, created=0.0)


def _lie_in_listings(body: Any, _x: Exchange) -> Any:
    for node in body.get("nodes", [body]):
        _lie_about(node)
    return body


def _listing_row(body: dict[str, Any]) -> tuple[Any, ...]:
    """A NodeRecord's fields in the order of the server's listing query (records.LISTING)."""
    node = tuple(body[k] for k in ("id", "parent_id", "kind", "key", "meta", "name_tag"))
    node += tuple(body[k] for k in ("created", "updated", "trashed", "versions", "author"))
    version = body["version"] or dict.fromkeys(("id", "number", "envelope", "header"))
    fields = ("id", "number", "envelope", "header", "created", "size", "chunk_size")
    return (
        *node,
        body["signature"],
        *(version.get(k) for k in (*fields, "chunk_count", "author", "signature")),
    )


def _lie_in_binary_listing(data: bytes, _x: Exchange) -> bytes:
    """The same lies in a page of the binary listing (application/x-coffre-nodes)."""
    rows = []
    for node in listing.decode(data):
        body = node.record().model_dump()
        _lie_about(body)
        rows.append(_listing_row(body))
    return Listing(rows, listing.page_cursor(data)).binary()


def check_true_facts(victim: Victim, tree: Tree, entries: dict[str, Entry]) -> None:
    """Sizes, times and types are those the uploader sealed, and the download is whole."""
    big, a = entries["big.bin"], entries["a.txt"]
    assert big.version is not None and a.version is not None and tree.big.version is not None
    assert big.size == len(tree.big_data)
    assert a.size == len(b"alpha " * 20)
    assert big.version.mtime_ms == a.version.mtime_ms == MTIME_NS // 1_000_000
    assert a.version.media_type == "text/plain"
    assert big.version.media_type == "application/octet-stream"
    assert big.version.content_hash == tree.big.version.content_hash
    dest = victim.download(big)
    assert dest.read_bytes() == tree.big_data
    assert dest.stat().st_mtime_ns == MTIME_NS
    assert victim.leftovers() == ["out.bin"]


def test_a8_sizes_times_and_counts_rewritten_on_the_wire(victim: Victim, tree: Tree) -> None:
    """Every record says size 17, one chunk of 1 MiB, version 99 of 42, dated 1970."""
    for path in (r"/v1/nodes/\w+/children", r"/v1/nodes/\w+"):
        victim.server.on_json("GET", path, _lie_in_listings)
    victim.server.on_bytes("GET", r"/v1/nodes", _lie_in_binary_listing)
    check_true_facts(victim, tree, {e.name: e for e in victim.drive.children(tree.docs)})
    whole = victim.drive.tree()
    check_true_facts(victim, tree, {e.name: e for e in whole.listing(whole.entries[tree.docs.id])})
    listed = whole.entries[tree.big.id].record
    assert listed is not None and listed.version is not None and listed.version.size == 17
    found = victim.drive.resolve("/Docs/big.bin")
    assert found.record is not None and found.record.version is not None
    assert found.record.version.size == 17  # the lie arrived...
    assert found.size == len(tree.big_data)  # ...and is not what the client shows


def test_a8_sizes_and_counts_rewritten_in_the_database(victim: Victim, tree: Tree) -> None:
    assert tree.big.record is not None and tree.big.record.version is not None
    content = victim.store.content(tree.big.record.version.id)
    victim.store.update(t.Content, content.id, size=content.size * 3, chunk_count=99)
    victim.store.update(t.Node, tree.big.id, version_count=42, updated_at=0.0)
    check_true_facts(victim, tree, {e.name: e for e in victim.drive.children(tree.docs)})


def test_a8_fewer_chunks_in_the_database_refuses_the_download(victim: Victim, tree: Tree) -> None:
    """A chunk count below the truth: the download fails, and writes nothing."""
    assert tree.big.record is not None and tree.big.record.version is not None
    content = victim.store.content(tree.big.record.version.id)
    victim.store.update(t.Content, content.id, chunk_count=3, size=3 * (CHUNK + 16))
    big = victim.drive.resolve("/Docs/big.bin")
    assert big.size == len(tree.big_data)
    with pytest.raises((IntegrityError, BadRequest)):  # the server itself refuses chunk 3
        victim.download(big)
    assert victim.leftovers() == []


@pytest.mark.parametrize(("which", "kind"), [("a", "folder"), ("docs", "file")])
def test_a8_type_changed_in_the_database(victim: Victim, tree: Tree, which: str, kind: str) -> None:
    """A file turned into a folder, a folder into a file: the kind is in the associated data."""
    entry: Entry = getattr(tree, which)
    victim.store.update(t.Node, entry.id, kind=kind)
    parent = tree.docs if which == "a" else tree.root
    with pytest.raises(IntegrityError):
        victim.drive.children(parent)
    with pytest.raises(IntegrityError):
        victim.drive.tree()


def test_weakness_ls_long_shows_the_servers_version_count(victim: Victim, tree: Tree) -> None:
    """WEAKNESS (reported): ``coffre ls -l`` prints ``NodeRecord.versions``, the server's count.

    Size and time in the same row come out of the version envelope; the ``vN`` column comes
    from :func:`coffre.cli.files.long_row`, straight from the record, so the server can make
    a file look like it has 42 versions (or 1). This test documents it; when the column is
    derived from authenticated data (or dropped), flip the assertion.
    """
    victim.server.on_json("GET", r"/v1/nodes/\w+/children", _lie_in_listings)
    row = long_row(victim.drive.resolve("/Docs/a.txt"))
    assert row[1] == str(len(b"alpha " * 20))  # authenticated
    assert row[3] == "v42"  # the server's number, shown as is


# -- A9: nodes the server made up ---------------------------------------------------------


def forge_node(victim: Victim, parent: Entry, kind: cn.Kind, name: str) -> tuple[t.Node, bytes]:
    """A node whose key the server chose, wrapped under a key of its own (it lacks the
    parent's), with a valid-looking name sealed under that node key."""
    node_id, node_key, guessed_parent_key = (
        p.random_bytes(16),
        p.random_bytes(32),
        p.random_bytes(32),
    )
    parent_id = bytes.fromhex(parent.id)
    now = time.time()
    row = t.Node(
        id=node_id.hex(),
        owner_id=victim.user.keys.user_id.hex(),
        parent_id=parent.id,
        kind="folder" if kind == cn.Kind.FOLDER else "file",
        key=cn.wrap_node_key(guessed_parent_key, node_id, parent_id, kind, node_key),
        meta=cn.seal_meta(node_key, node_id, parent_id, kind, name),
        name_tag=p.random_bytes(16).hex(),
        created_at=now,
        updated_at=now,
        trashed_at=None,
        current_version=None,
        version_count=0,
    )
    return row, node_key


def forge_version(
    victim: Victim, node_id: str, node_key: bytes, data: bytes
) -> tuple[t.Content, t.Version]:
    """A whole version (content and envelope) under keys the server chose."""
    content_key, content_id, version_id = (
        p.random_bytes(32),
        p.random_bytes(16),
        p.random_bytes(16),
    )
    header, chunks = cs.encrypt_all(content_key, content_id, data, CHUNK)
    info = cn.VersionInfo(
        content_key,
        content_id,
        len(data),
        MTIME_NS // 1_000_000,
        "text/plain",
        cs.content_hash([cs.chunk_digest(data)]),
        CHUNK,
    )
    now = time.time()
    content = t.Content(
        id=content_id.hex(),
        owner_id=victim.user.keys.user_id.hex(),
        chunk_size=CHUNK,
        chunk_count=1,
        size=len(chunks[0]),
        created_at=now,
        inline=chunks[0],
    )
    version = t.Version(
        id=version_id.hex(),
        node_id=node_id,
        number=1,
        content_id=content_id.hex(),
        envelope=cn.seal_version(node_key, bytes.fromhex(node_id), version_id, info),
        header=header,
        created_at=now,
    )
    return content, version


def inject_file(victim: Victim, parent: Entry, name: str, data: bytes) -> t.Node:
    node, key = forge_node(victim, parent, cn.Kind.FILE, name)
    content, version = forge_version(victim, node.id, key, data)
    node.current_version, node.version_count = version.id, 1
    victim.store.insert(node, content, version)
    return node


@pytest.mark.parametrize("where", ["root", "docs"])
@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a9_node_injected_in_the_database(
    victim: Victim, tree: Tree, where: str, kind: str
) -> None:
    parent: Entry = getattr(tree, where)
    if kind == "folder":
        node, _ = forge_node(victim, parent, cn.Kind.FOLDER, "Injected")
        victim.store.insert(node)
    else:
        inject_file(victim, parent, "injected.txt", b"the server wrote this")
    with pytest.raises(IntegrityError):
        victim.drive.children(parent)
    with pytest.raises(IntegrityError):
        victim.drive.tree()


def test_a9_injected_node_served_for_any_name(victim: Victim, tree: Tree) -> None:
    """The server cannot compute name tags; it answers every lookup with its own node."""
    node = inject_file(victim, tree.docs, "evil.txt", b"the server wrote this")
    record = victim.user.api.node(node.id).model_dump(mode="json")
    victim.server.on_json(
        "GET", rf"/v1/nodes/{tree.docs.id}/children", lambda body, _x: {"nodes": [record]}
    )
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Docs/evil.txt")
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/Docs/a.txt")


def test_a9_node_injected_on_the_wire(victim: Victim, tree: Tree) -> None:
    node, key = forge_node(victim, tree.docs, cn.Kind.FILE, "wire.txt")
    content, version = forge_version(victim, node.id, key, b"made up")
    node.current_version, node.version_count = version.id, 1
    victim.store.insert(node, content, version)
    record = victim.user.api.node(node.id).model_dump(mode="json")
    victim.store.update(t.Node, node.id, parent_id=tree.other.id)  # gone from Docs on disk

    def append(body: Any, _x: Exchange) -> Any:
        return {**body, "nodes": [*body["nodes"], record]}

    victim.server.on_json("GET", rf"/v1/nodes/{tree.docs.id}/children", append)
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.docs)


def test_a9_envelopes_copied_to_a_new_node_id(victim: Victim, tree: Tree) -> None:
    """The server clones a.txt's real key and name envelopes under an id of its own."""
    real = victim.store.row(t.Node, tree.a.id)
    clone, _ = forge_node(victim, tree.docs, cn.Kind.FILE, "x")
    clone.key, clone.meta, clone.current_version, clone.version_count = (
        real.key,
        real.meta,
        real.current_version,
        1,
    )
    victim.store.insert(clone)
    with pytest.raises(IntegrityError):
        victim.drive.children(tree.docs)


def test_a9_version_injected_into_an_existing_file(victim: Victim, tree: Tree) -> None:
    """A new current version of a.txt, sealed under a node key the server made up."""
    content, version = forge_version(victim, tree.a.id, p.random_bytes(32), b"replaced")
    version.number = 2
    victim.store.insert(content, version)
    victim.store.update(t.Node, tree.a.id, current_version=version.id, version_count=2)
    refuses_everywhere(victim, tree.docs, "/Docs/a.txt")
    with pytest.raises(IntegrityError):
        victim.drive.versions(tree.a)


# -- thumbnails: sealed per version, so neither changed nor moved --------------------------


def test_a4_a7_thumbnail_flipped_or_moved(victim: Victim, tree: Tree) -> None:
    """A thumbnail changed by the server, or moved onto another file's version, is refused;
    the genuine one opens."""
    drive = victim.drive
    a, b = drive.resolve("/Docs/a.txt"), drive.resolve("/Docs/b.txt")
    drive.set_thumbnail(a, b"\x89PNG a small picture of a")
    assert drive.thumbnail(a) == b"\x89PNG a small picture of a"
    assert drive.thumbnail(b) is None
    assert a.record is not None and a.record.version is not None
    assert b.record is not None and b.record.version is not None
    sealed = victim.store.row(t.Thumbnail, a.record.version.id).data
    for index in POSITIONS.values():
        victim.store.update(t.Thumbnail, a.record.version.id, data=flip(sealed, index))
        with pytest.raises(IntegrityError):
            drive.thumbnail(a)
    victim.store.update(t.Thumbnail, a.record.version.id, data=sealed)
    drive.set_thumbnail(b, b"\x89PNG b")
    victim.store.update(t.Thumbnail, b.record.version.id, data=sealed)  # a's, on b
    with pytest.raises(IntegrityError):
        drive.thumbnail(b)
