"""Drive.tree() over the binary listing: decoding, opening in any order, records on demand."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coffre.client import listing
from coffre.client.drive import Entry, build_tree, grow_tree
from coffre.errors import IntegrityError
from coffre.protocol import models as m
from coffre.server.services.records import Listing
from tests.client.helpers import put, same_tree
from tests.conftest import User

LocalFile = Callable[..., Path]


def _id() -> str:
    return os.urandom(16).hex()


def _row(*, version: bool = True, **change: Any) -> tuple[Any, ...]:
    """A row of the server's listing query (records.LISTING), with valid lengths."""
    node: dict[str, Any] = {
        "id": _id(),
        "parent_id": _id(),
        "kind": "file" if version else "folder",
        "key": os.urandom(93),
        "meta": os.urandom(93),
        "name_tag": _id(),
        "created": 1.5,
        "updated": 2.5,
        "trashed": None,
        "versions": 1 if version else 0,
        "author": _id(),
        "signature": os.urandom(64),
    }
    file: dict[str, Any] = {
        "vid": _id() if version else None,
        "number": 1,
        "envelope": os.urandom(172),
        "header": os.urandom(37),
        "vcreated": 3.5,
        "size": 1 << 40,
        "chunk_size": 1 << 20,
        "chunk_count": 1 << 20,
        "vauthor": None,
        "vsignature": None,
    }
    for key, value in change.items():
        (node if key in node else file)[key] = value
    return (*node.values(), *file.values())


def _page(*rows: tuple[Any, ...], cursor: str | None = None) -> bytes:
    return Listing(list(rows), cursor).binary()


def test_decode_gives_back_every_field() -> None:
    rows = [_row(), _row(version=False, meta=None, parent_id=None, author=None, signature=None)]
    rows.append(_row(trashed=7.25, vauthor=_id(), vsignature=os.urandom(64), name_tag=None))
    cursor = _id()
    data = _page(*rows, cursor=cursor)
    assert listing.page_cursor(data) == cursor
    decoded = [n.record() for n in listing.decode(data)]
    assert decoded == Listing(rows).records()
    assert decoded[1].meta is None and decoded[1].parent_id is None and decoded[1].version is None
    assert decoded[2].trashed == 7.25 and decoded[2].version is not None
    assert decoded[2].version.size == 1 << 40
    assert listing.page_cursor(_page()) is None and listing.decode(_page()) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-1],  # cut short
        lambda d: d + b"\0",  # a byte too many
        lambda d: b"CFN2" + d[4:],  # another format
        lambda d: d[:4] + struct.pack("<I", 3) + d[8:],  # more records than there are
        lambda d: d[:8] + b"\x02" + d[9:],  # a cursor flag that is neither 0 nor 1
        lambda d: d[:10],  # not even a page header
    ],
)
def test_decode_refuses_a_damaged_page(damage: Callable[[bytes], bytes]) -> None:
    data = _page(_row(), _row(version=False))
    with pytest.raises(IntegrityError):
        listing.decode(damage(data))


@pytest.mark.parametrize(
    "change",
    [
        {"key": os.urandom(60)},  # shorter than any envelope
        {"meta": os.urandom(4097)},  # longer than any envelope
        {"meta": b""},  # present but empty
        {"signature": os.urandom(63)},
        {"header": os.urandom(36)},
        {"envelope": os.urandom(10)},
        {"vsignature": os.urandom(65)},
    ],
)
def test_decode_refuses_what_a_record_cannot_hold(change: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError):
        listing.decode(_page(_row(**change)))


def test_decode_refuses_a_version_author_without_a_version() -> None:
    data = bytearray(_page(_row(version=False)))
    data[m.NODES_PAGE.size] |= m.NODE_VERSION_AUTHOR
    with pytest.raises(IntegrityError):
        listing.decode(bytes(data))


def test_tree_opens_children_listed_before_their_folders(user: User, local: LocalFile) -> None:
    drive = user.drive
    deep = drive.makedirs("a/b/c/d")
    put(drive, local(10), deep, "deep.txt")
    put(drive, local(20), drive.resolve("a/b"), "mid.txt")
    drive.trash(drive.resolve("a/b/c"))
    reference = build_tree(drive.root(), list(drive.api.all_nodes()), drive.open)
    # One node a page, in every order: children first, parents first, and the server's.
    pages = [page for page in listing.pages(drive.api, 1) if page]
    assert len(pages) == len(reference.entries) == 7

    def depth(page: list[listing.ListedNode]) -> int:
        return reference.path(reference.entries[page[0].id]).count("/")

    for order in (pages, pages[::-1], sorted(pages, key=depth)):
        same_tree(grow_tree(drive.root(), order, drive.open_listed), reference)
    whole = drive.tree()
    same_tree(whole, reference)
    assert whole.entries[deep.id].trashed  # inside a folder in the bin
    assert [p for p, _ in whole.walk(whole.root)] == ["a", "a/b", "a/b/mid.txt"]


def test_tree_leaves_out_what_is_not_below_the_root(user: User) -> None:
    drive = user.drive
    kept = drive.mkdir(drive.root(), "kept")
    nodes = [n for page in listing.pages(drive.api) for n in page]
    orphan = listing.decode(_page(_row(version=False)))  # its parent is nowhere
    whole = grow_tree(drive.root(), [orphan, nodes], drive.open_listed)
    assert set(whole.entries) == {drive.root().id, kept.id}


def test_listed_entries_build_their_record_when_read(user: User, local: LocalFile) -> None:
    drive = user.drive
    file = put(drive, local(30), drive.root(), "f.txt")
    entry: Entry = drive.tree().entries[file.id]
    assert entry.record == drive.api.node(file.id)
    assert entry.record is entry.record  # built once
    assert entry.record is not None and entry.record.version is not None
    assert entry.record.version.id == drive.api.node(file.id).version.id  # type: ignore[union-attr]
    with pytest.raises(AttributeError):
        _ = entry.missing  # type: ignore[attr-defined]
