"""The decrypted tree through :class:`Drive`: paths, folders, moves, copies, the bin."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coffre.client.api import Api
from coffre.client.drive import Drive, Entry
from coffre.errors import Conflict, NotFound, UsageError
from tests.client.helpers import blob_files, fetch, put
from tests.conftest import User

LocalFile = Callable[..., Path]


def _names(entries: list[Entry]) -> list[str]:
    return [e.name for e in entries]


def test_mkdir_and_makedirs(user: User) -> None:
    drive = user.drive
    root = drive.root()
    docs = drive.mkdir(root, "docs")
    assert (docs.name, docs.kind, docs.parent_id) == ("docs", "folder", root.id)
    with pytest.raises(Conflict) as caught:
        drive.mkdir(root, "docs")
    assert caught.value.code == "name_taken"

    deep = drive.makedirs("/docs/a/b/c")
    assert drive.resolve("docs/a/b/c").id == deep.id
    # makedirs again finds what is there; a partial path is completed.
    assert drive.makedirs("docs/a/b/c").id == deep.id
    assert drive.makedirs("docs/a/x").parent_id == drive.resolve("docs/a").id
    assert drive.makedirs("/").id == root.id
    assert _names(drive.children(drive.resolve("docs/a"))) == ["b", "x"]


def test_makedirs_stops_at_a_file(user: User, local: LocalFile) -> None:
    drive = user.drive
    put(drive, local(10), drive.root(), "notes.txt")
    with pytest.raises(Conflict) as caught:
        drive.makedirs("notes.txt/inside")
    assert caught.value.code == "not_a_folder"


def test_resolve_paths(user: User, local: LocalFile) -> None:
    drive = user.drive
    c = drive.makedirs("a/b/c")
    file = put(drive, local(5), c, "f.txt")
    for path in ("a/b/c", "/a/b/c", "a//b/./c/", "./a/b/c"):
        assert drive.resolve(path).id == c.id
    assert drive.resolve("a/b/c/f.txt").id == file.id
    assert drive.resolve("/").id == drive.root().id
    assert drive.resolve("").id == drive.root().id
    for missing in ("nope", "a/nope", "a/b/c/f.txt/deeper", "a/B"):
        with pytest.raises(NotFound):
            drive.resolve(missing)
        assert drive.resolve_or_none(missing) is None
    with pytest.raises(UsageError):
        drive.resolve("a/../a")


def test_children_are_sorted_by_name(user: User, local: LocalFile) -> None:
    drive = user.drive
    names = ["zeta", "Alpha", "alpha", "beta", "Été", "10", "9", "_x", "b c"]
    root = drive.root()
    for i, name in enumerate(names):
        if i % 2:
            drive.mkdir(root, name)
        else:
            put(drive, local(i), root, name)
    listed = drive.children(root)
    assert _names(listed) == sorted(unicodedata.normalize("NFC", n) for n in names)
    assert [e.kind for e in listed] == [
        "folder" if names.index(e.name) % 2 else "file" for e in listed
    ]
    with pytest.raises(Conflict) as caught:
        drive.children(next(e for e in listed if e.kind == "file"))
    assert caught.value.code == "not_a_folder"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
        min_size=1,
        max_size=40,
    ).filter(lambda n: unicodedata.normalize("NFC", n) not in (".", ".."))
)
def test_any_valid_name_round_trips(user: User, name: str) -> None:
    drive = user.drive
    parent = drive.mkdir(drive.root(), os.urandom(8).hex())  # examples may repeat names
    made = drive.mkdir(parent, name)
    found = drive.child(parent, name)
    assert found is not None and found.id == made.id
    assert found.name == unicodedata.normalize("NFC", name)
    assert _names(drive.children(parent)) == [found.name]


def test_move_and_rename(user: User, local: LocalFile) -> None:
    drive = user.drive
    root = drive.root()
    src = drive.makedirs("src")
    dst = drive.makedirs("dst")
    data = b"the same bytes, wherever they are" * 300
    file = put(drive, local(data=data), src, "a.txt")

    renamed = drive.move(file, src, "b.txt")
    assert (renamed.id, renamed.name, renamed.parent_id) == (file.id, "b.txt", src.id)
    assert drive.resolve_or_none("src/a.txt") is None
    moved = drive.move(drive.resolve("src/b.txt"), dst, "c.txt")
    assert drive.resolve("dst/c.txt").id == file.id
    assert fetch(drive, moved) == data
    assert drive.children(src) == []

    # A folder moves with everything in it.
    put(drive, local(7), dst, "other.bin")
    drive.move(dst, src, "inner")
    assert _names(drive.children(drive.resolve("src/inner"))) == ["c.txt", "other.bin"]
    assert fetch(drive, drive.resolve("src/inner/c.txt")) == data
    assert _names(drive.children(root)) == ["src"]

    with pytest.raises(Conflict) as caught:
        drive.move(drive.resolve("src"), drive.resolve("src/inner"), "loop")
    assert caught.value.code == "cycle"
    drive.mkdir(root, "taken")
    with pytest.raises(Conflict) as caught:
        drive.move(drive.resolve("src"), root, "taken")
    assert caught.value.code == "name_taken"


def test_copy_files_and_folder_trees(user: User, local: LocalFile, blob_dir: Path) -> None:
    drive = user.drive
    root = drive.root()
    contents = {
        "tree/a.bin": b"a" * 10_000,
        "tree/empty": b"",
        "tree/sub/b.bin": bytes(range(256)) * 40,
        "tree/sub/deeper/c.txt": b"c",
    }
    for path, data in contents.items():
        folder, _, name = path.rpartition("/")
        put(drive, local(data=data), drive.makedirs(folder), name)
    drive.makedirs("tree/sub/empty-folder")
    blobs = blob_files(blob_dir)
    used = drive.api.account().storage_used

    single = drive.resolve("tree/a.bin")
    drive.copy(single, root, "a-copy.bin")
    copied = drive.resolve("a-copy.bin")
    assert copied.id != single.id and copied.key != single.key
    assert fetch(drive, copied) == contents["tree/a.bin"]
    assert copied.version is not None and single.version is not None
    # The copy shares the content: same content key and id, no chunk sent again.
    assert copied.version.content_id == single.version.content_id
    assert copied.version.content_hash == single.version.content_hash
    assert blob_files(blob_dir) == blobs

    drive.copy(drive.resolve("tree"), drive.makedirs("backup"), "tree-copy")
    whole = drive.tree()
    original = {p: e for p, e in whole.walk(drive.resolve("tree"))}
    duplicate = {p: e for p, e in whole.walk(drive.resolve("backup/tree-copy"))}
    assert set(original) == set(duplicate)
    assert "sub/empty-folder" in duplicate
    for path, entry in duplicate.items():
        assert entry.id != original[path].id
        assert entry.kind == original[path].kind
        if entry.kind == "file":
            assert fetch(drive, entry) == contents[f"tree/{path}"]
    assert blob_files(blob_dir) == blobs
    # The quota counts each copy.
    assert drive.api.account().storage_used > used
    # Changing the copy leaves the original alone.
    drive.trash(drive.resolve("backup/tree-copy/sub"))
    assert fetch(drive, drive.resolve("tree/sub/b.bin")) == contents["tree/sub/b.bin"]


def test_trash_and_restore_through_rubbish_paths(user: User, local: LocalFile) -> None:
    drive = user.drive
    docs = drive.makedirs("docs")
    first = put(drive, local(data=b"first"), docs, "a.txt")
    drive.trash(first)
    second = put(drive, local(data=b"second"), docs, "a.txt")
    drive.trash(second)
    keep = put(drive, local(data=b"kept"), docs, "keep.txt")
    inner = drive.makedirs("docs/inner")
    put(drive, local(data=b"deep"), inner, "deep.txt")
    drive.trash(drive.resolve("docs/inner"))

    binned = drive.rubbish()
    assert sorted(p for p, _ in binned) == ["/docs/a.txt", "/docs/a.txt", "/docs/inner"]
    assert _names(drive.children(docs)) == ["keep.txt"]
    # Of two things trashed from one path, the latest comes back first.
    latest = drive.find_in_rubbish("docs/a.txt")
    assert latest.id == second.id
    drive.api.restore(latest.id)
    assert fetch(drive, drive.resolve("docs/a.txt")) == b"second"
    with pytest.raises(Conflict) as caught:
        drive.api.restore(drive.find_in_rubbish("/docs/a.txt").id)
    assert caught.value.code == "name_taken"

    folder = drive.find_in_rubbish("docs/inner")
    drive.api.restore(folder.id)
    assert fetch(drive, drive.resolve("docs/inner/deep.txt")) == b"deep"
    with pytest.raises(NotFound):
        drive.find_in_rubbish("docs/keep.txt")
    assert keep.id == drive.resolve("docs/keep.txt").id

    drive.api.empty_rubbish()
    assert drive.rubbish() == []
    assert drive.api.account().storage_used == sum(
        e.record.version.size
        for _, e in drive.tree().walk(drive.root())
        if e.record and e.record.version
    )
    with pytest.raises(UsageError):
        drive.trash(drive.root())


def test_tree_walk_order(user: User, local: LocalFile) -> None:
    drive = user.drive
    for folder in ("b", "a/sub", "a/sub/z", "c"):
        drive.makedirs(folder)
    for path in ("a/x.txt", "a/sub/y.txt", "b.txt", "a/sub/z/last", "a/A.txt"):
        folder, _, name = path.rpartition("/")
        put(drive, local(3), drive.resolve(folder), name)
    gone = put(drive, local(3), drive.resolve("b"), "gone.txt")
    drive.trash(gone)
    drive.trash(drive.resolve("c"))

    tree = drive.tree()
    walked = [(path, entry.kind) for path, entry in tree.walk(tree.root)]
    assert walked == [
        ("a", "folder"),
        ("a/A.txt", "file"),
        ("a/sub", "folder"),
        ("a/sub/y.txt", "file"),
        ("a/sub/z", "folder"),
        ("a/sub/z/last", "file"),
        ("a/x.txt", "file"),
        ("b", "folder"),
        ("b.txt", "file"),
    ]
    everything = [path for path, _ in tree.walk(tree.root, include_trashed=True)]
    assert everything == [
        "a",
        "a/A.txt",
        "a/sub",
        "a/sub/y.txt",
        "a/sub/z",
        "a/sub/z/last",
        "a/x.txt",
        "b",
        "b/gone.txt",
        "b.txt",
        "c",
    ]
    sub = drive.resolve("a/sub")
    assert [p for p, _ in tree.walk(tree.entries[sub.id])] == ["y.txt", "z", "z/last"]
    assert tree.path(tree.entries[drive.resolve("a/sub/z/last").id]) == "/a/sub/z/last"
    assert tree.path(tree.root) == "/"
    assert _names(tree.listing(tree.root)) == ["a", "b", "b.txt", "c"]


def test_a_second_client_sees_the_same_tree(
    user: User, local: LocalFile, make_api: Callable[..., Api]
) -> None:
    drive = user.drive
    put(drive, local(data=b"hello"), drive.makedirs("shared"), "hello.txt")
    other = Drive(make_api(user.api.token), user.keys)
    assert fetch(other, other.resolve("shared/hello.txt")) == b"hello"
    assert [p for p, _ in other.tree().walk(other.root())] == ["shared", "shared/hello.txt"]
