"""The kept copy of the opened tree: read back, brought up to date from the change feed, and
dropped for a full listing whenever it cannot be trusted to be complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client import tree_copy
from coffre.client.drive import Drive, Tree
from coffre.client.tree_copy import TreeCopy
from coffre.crypto import account as ca
from coffre.errors import IntegrityError
from tests.client.helpers import put, same_tree
from tests.conftest import User

LocalFile = Callable[..., Path]


class Counting:
    """Counts what a drive asked the server for while bringing its copy up to date."""

    def __init__(self, drive: Drive, monkeypatch: pytest.MonkeyPatch) -> None:
        self.listings = 0
        self.fetched: list[str] = []
        listed, node = drive.list_tree, drive.api.node

        def list_tree() -> Tree:
            self.listings += 1
            return listed()

        def fetch(node_id: str) -> object:
            self.fetched.append(node_id)
            return node(node_id)

        monkeypatch.setattr(drive, "list_tree", list_tree)
        monkeypatch.setattr(drive.api, "node", fetch)


@pytest.fixture
def kept(user: User, tmp_path: Path) -> Drive:
    """The user's drive, keeping its copy in a file of the test's own."""
    keys = user.drive.keys
    path = tmp_path / "trees" / f"{keys.user_id.hex()}.bin"
    return Drive(user.api, keys, TreeCopy(path, keys.master_key, keys.user_id))


@pytest.fixture
def counting(kept: Drive, monkeypatch: pytest.MonkeyPatch) -> Counting:
    return Counting(kept, monkeypatch)


def _copy(drive: Drive) -> TreeCopy:
    assert drive.kept is not None
    return drive.kept


def test_the_copy_reads_back_the_tree_it_kept(
    kept: Drive, counting: Counting, local: LocalFile
) -> None:
    docs = kept.makedirs("docs/deep")
    put(kept, local(10), docs, "a.txt")
    put(kept, local(0), kept.root(), "empty")
    kept.trash(kept.resolve("docs"))
    first = kept.tree()
    assert counting.listings == 1
    again = kept.tree()
    assert counting.listings == 1 and counting.fetched == []
    same_tree(again, first)
    same_tree(again, kept.list_tree())
    assert again.entries[docs.id].trashed  # below a folder in the rubbish bin


def test_changes_since_are_fetched_and_opened(
    kept: Drive, counting: Counting, local: LocalFile
) -> None:
    a = kept.makedirs("a")
    b = kept.makedirs("b/inner")
    old = put(kept, local(10), a, "old.txt")
    gone = kept.makedirs("gone/below")
    put(kept, local(5), gone, "in-gone.txt")
    kept.tree()
    # Every kind of change: create, new version, move and rename, trash, restore, delete.
    put(kept, local(20), b, "new.txt")
    put(kept, local(30), a, "old.txt", existing=old)
    kept.move(kept.resolve("b"), a, "b-moved")
    kept.trash(kept.resolve("a/b-moved/inner"))
    kept.trash(kept.resolve("gone"))
    kept.api.delete(kept.find_in_rubbish("gone").id)
    kept.trash(kept.resolve("a/old.txt"))
    kept.api.restore(kept.find_in_rubbish("a/old.txt").id)
    listings = counting.listings
    fetched = len(counting.fetched)
    now = kept.tree()
    assert counting.listings == listings  # no full listing
    assert 0 < len(counting.fetched) - fetched <= 8
    same_tree(now, kept.list_tree())
    assert [p for p, _ in now.walk(now.root)] == [
        "a",
        "a/b-moved",
        "a/old.txt",
    ]
    assert now.entries[b.id].trashed
    assert now.entries[old.id].size == 30
    # What the copy now holds is what the next command reads back.
    again = _copy(kept).load(kept.root())
    assert again is not None
    same_tree(again.tree, now)


def test_a_feed_behind_the_copy_means_a_full_listing(
    kept: Drive, counting: Counting, local: LocalFile
) -> None:
    put(kept, local(10), kept.root(), "f.txt")
    tree = kept.tree()
    copy = _copy(kept)
    loaded = copy.load(kept.root())
    assert loaded is not None
    copy.save(tree, loaded.seq + 100, loaded.shared)  # as if the server went back in time
    kept.tree()
    assert counting.listings == 2
    reread = copy.load(kept.root())
    assert reread is not None and reread.seq == loaded.seq


def test_more_changes_than_a_listing_costs_mean_a_full_listing(
    kept: Drive, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept.tree()
    monkeypatch.setattr(tree_copy, "MAX_FETCHES", 2)
    for name in "abc":
        kept.mkdir(kept.root(), name)
    same_tree(kept.tree(), kept.list_tree())
    assert counting.listings == 3 and counting.fetched == []


def test_a_changed_set_of_shared_folders_means_a_full_listing(
    kept: Drive, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = kept.mkdir(kept.root(), "to-share")
    kept.tree()
    monkeypatch.setattr(kept, "shared_roots", lambda: {folder.id})
    again = kept.tree()
    assert counting.listings == 2
    assert again.entries[folder.id].shared


@pytest.mark.parametrize(
    "damage",
    [
        lambda sealed: sealed[:-1],
        lambda sealed: sealed[:100] + bytes([sealed[100] ^ 1]) + sealed[101:],
        lambda sealed: b"",
    ],
    ids=["cut", "flipped", "empty"],
)
def test_a_damaged_copy_is_dropped_and_listed_again(
    kept: Drive, counting: Counting, damage: Callable[[bytes], bytes]
) -> None:
    kept.mkdir(kept.root(), "x")
    first = kept.tree()
    path = _copy(kept).path
    path.write_bytes(damage(path.read_bytes()))
    same_tree(kept.tree(), first)
    assert counting.listings == 2
    assert _copy(kept).load(kept.root()) is not None  # written again


def test_another_accounts_key_does_not_open_the_copy(kept: Drive) -> None:
    kept.mkdir(kept.root(), "x")
    kept.tree()
    copy = _copy(kept)
    stranger = TreeCopy(copy.path, os.urandom(32), kept.keys.user_id)
    assert stranger.load(kept.root()) is None
    assert not copy.path.exists()  # dropped


def test_the_copy_is_sealed_and_private(kept: Drive, local: LocalFile) -> None:
    put(kept, local(10), kept.makedirs("Secret Plans"), "launch-codes.txt")
    kept.tree()
    path = _copy(kept).path
    sealed = path.read_bytes()
    for name in (b"Secret Plans", b"launch-codes", "Secret".encode("utf-16-le")):
        assert name not in sealed
    assert path.stat().st_mode & 0o777 == 0o600
    frame = sealed[tree_copy.FRAME.size :]
    plaintext = ca.open_tree_copy(kept.keys.master_key, kept.keys.user_id, bytes(16), frame)
    assert b"launch-codes.txt" in plaintext
    with pytest.raises(IntegrityError):  # bound to the account
        ca.open_tree_copy(kept.keys.master_key, os.urandom(16), bytes(16), frame)


def test_a_copy_that_cannot_be_read_or_written_is_no_error(kept: Drive, counting: Counting) -> None:
    copy = _copy(kept)
    (copy.path / "in-the-way").mkdir(parents=True)  # a folder where the file should be
    kept.mkdir(kept.root(), "x")
    first = kept.tree()
    same_tree(kept.tree(), first)
    assert counting.listings == 2
    assert copy.path.is_dir()


def test_changes_are_appended_then_the_whole_tree_written_again(
    kept: Drive, counting: Counting
) -> None:
    for i in range(20):
        kept.mkdir(kept.root(), f"folder-{i}")
    kept.tree()
    path = _copy(kept).path
    whole = path.stat().st_size
    kept.mkdir(kept.root(), "one more")
    kept.tree()
    grown = path.stat().st_size
    assert whole < grown < whole * 1.25  # one small frame appended
    loaded = _copy(kept).load(kept.root())
    assert loaded is not None and loaded.change_bytes == grown - whole and loaded.clean
    same_tree(loaded.tree, kept.list_tree())
    # Past an eighth of the whole tree, the changes are folded into one frame again.
    for i in range(4):
        kept.move(kept.resolve(f"folder-{i}"), kept.root(), f"renamed-{i}")
        kept.tree()
    loaded = _copy(kept).load(kept.root())
    assert loaded is not None and loaded.whole_bytes > whole  # written whole again
    same_tree(loaded.tree, kept.list_tree())
    assert counting.listings == 3  # the first; the others are list_tree() here above


def test_a_bad_later_frame_ends_the_copy_there(kept: Drive, counting: Counting) -> None:
    kept.mkdir(kept.root(), "first")
    kept.tree()
    path = _copy(kept).path
    whole = path.read_bytes()
    kept.mkdir(kept.root(), "second")
    kept.tree()
    appended = path.read_bytes()[len(whole) :]
    path.write_bytes(whole + appended[:-1] + bytes([appended[-1] ^ 1]))
    loaded = _copy(kept).load(kept.root())
    assert loaded is not None and not loaded.clean  # the first frame, not the second
    assert "second" not in {e.name for e in loaded.tree.entries.values()}
    tree = kept.tree()  # the feed brings it up to date, and the copy is written whole
    assert "second" in {e.name for e in tree.entries.values()}
    assert counting.listings == 1
    again = _copy(kept).load(kept.root())
    assert again is not None and again.clean and again.change_bytes == 0
    same_tree(again.tree, tree)
