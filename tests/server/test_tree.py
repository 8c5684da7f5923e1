"""The tree over HTTP: names, moves, cycles, the root, the rubbish bin, versions, usage."""

from __future__ import annotations

import pytest

from coffre.errors import ApiError, BadRequest, Conflict, NotFound
from coffre.protocol import models as m
from tests.server.raw import Account, new_id, sealed


def _code(call: object, error: type[ApiError] = Conflict) -> str:
    assert callable(call)
    with pytest.raises(error) as caught:
        call()
    return caught.value.code


# -- folders and names --------------------------------------------------------------------


def test_mkdir_and_lookups(alice: Account) -> None:
    tag = new_id()
    folder = alice.mkdir(name_tag=tag)
    assert folder.parent_id == alice.root_id and folder.kind == "folder"
    assert folder.version is None and folder.versions == 0 and folder.trashed is None
    inner = alice.mkdir(folder.id)
    assert alice.api.node(folder.id) == folder
    assert [n.id for n in alice.api.children(alice.root_id)] == [folder.id]
    assert [n.id for n in alice.api.children(alice.root_id, name_tag=tag)] == [folder.id]
    assert alice.api.children(alice.root_id, name_tag=new_id()) == []
    assert [n.id for n in alice.api.children(folder.id)] == [inner.id]
    file = alice.upload(10)
    assert _code(lambda: alice.api.children(file.id)) == "not_a_folder"
    assert _code(lambda: alice.mkdir(file.id)) == "not_a_folder"
    assert _code(lambda: alice.api.node(new_id()), NotFound) == "node_not_found"


def test_names_are_unique_in_a_folder(alice: Account) -> None:
    tag = new_id()
    first = alice.mkdir(name_tag=tag)
    assert _code(lambda: alice.mkdir(name_tag=tag)) == "name_taken"
    assert _code(lambda: alice.start(10, name_tag=tag)) == "name_taken"
    # The same name in another folder is fine.
    alice.mkdir(first.id, name_tag=tag)
    # So is a name whose holder is in the rubbish bin.
    alice.api.trash(first.id)
    second = alice.mkdir(name_tag=tag)
    # ...but then the first cannot come back under that name.
    assert _code(lambda: alice.api.restore(first.id)) == "name_taken"
    assert alice.api.node(first.id).trashed is not None
    alice.api.move(second.id, alice.move_request(alice.root_id))
    assert alice.api.restore(first.id).trashed is None


def test_moves_and_renames(alice: Account) -> None:
    a, b = alice.mkdir(), alice.mkdir()
    file = alice.upload(2000, parent_id=a.id)
    request = alice.move_request(b.id)
    moved = alice.api.move(file.id, request)
    assert (moved.parent_id, moved.key, moved.meta, moved.name_tag) == (
        b.id,
        request.key,
        request.meta,
        request.name_tag,
    )
    assert moved.version == file.version
    assert alice.api.children(a.id) == []
    assert [n.id for n in alice.api.children(b.id)] == [file.id]
    # A rename keeps the folder; renaming to its own name is no conflict.
    renamed = alice.api.move(file.id, alice.move_request(b.id, name_tag=moved.name_tag))
    assert renamed.name_tag == moved.name_tag
    # Onto a name in use: refused, nothing changes.
    taken = alice.mkdir(b.id)
    assert _code(lambda: alice.api.move(file.id, alice.move_request(b.id, taken.name_tag))) == (
        "name_taken"
    )
    assert alice.api.node(file.id) == renamed
    # Into a file, or into the rubbish bin: refused.
    other = alice.upload(10)
    assert _code(lambda: alice.api.move(file.id, alice.move_request(other.id))) == "not_a_folder"
    alice.api.trash(a.id)
    assert _code(lambda: alice.api.move(file.id, alice.move_request(a.id))) == "in_rubbish"
    # What is in the rubbish bin does not move.
    alice.api.trash(other.id)
    assert _code(lambda: alice.api.move(other.id, alice.move_request(b.id))) == "in_rubbish"


def test_a_folder_cannot_move_into_itself(alice: Account) -> None:
    top = alice.mkdir()
    middle = alice.mkdir(top.id)
    bottom = alice.mkdir(middle.id)
    for target in (top, middle, bottom):
        code = _code(lambda t=target: alice.api.move(top.id, alice.move_request(t.id)))
        assert code == "cycle"
    assert _code(lambda: alice.api.move(middle.id, alice.move_request(bottom.id))) == "cycle"
    assert alice.api.node(top.id).parent_id == alice.root_id
    # Moving up is fine.
    alice.api.move(bottom.id, alice.move_request(alice.root_id))
    alice.api.move(top.id, alice.move_request(bottom.id))
    assert alice.api.node(top.id).parent_id == bottom.id


def test_the_root_cannot_be_moved_trashed_or_deleted(alice: Account) -> None:
    folder = alice.mkdir()
    root = alice.root_id
    assert _code(lambda: alice.api.move(root, alice.move_request(folder.id)), BadRequest) == (
        "root_immutable"
    )
    assert _code(lambda: alice.api.trash(root), BadRequest) == "root_immutable"
    assert _code(lambda: alice.api.delete(root)) == "not_in_rubbish"
    assert _code(lambda: alice.api.restore(root)) == "not_in_rubbish"
    node = alice.api.node(root)
    assert node.parent_id is None and node.trashed is None


def test_copies(alice: Account) -> None:
    folder = alice.mkdir()
    file = alice.upload(3000, parent_id=folder.id)
    assert file.version is not None
    (copy,) = alice.api.copy(alice.copy_request(file))
    assert copy.parent_id == alice.root_id and copy.kind == "file" and copy.versions == 1
    assert copy.version is not None
    assert copy.version.id != file.version.id
    assert (copy.version.size, copy.version.header) == (file.version.size, file.version.header)
    assert [alice.api.get_chunk(copy.version.id, i) for i in range(3)] == [
        alice.api.get_chunk(file.version.id, i) for i in range(3)
    ]
    assert alice.api.account().storage_used == 2 * file.version.size
    # Deleting the original leaves the copy whole.
    alice.api.trash(file.id)
    alice.api.delete(file.id)
    assert alice.api.get_chunk(copy.version.id, 2)
    assert alice.api.account().storage_used == file.version.size
    # Copies into a copied folder, folders without versions, files with.
    assert _code(lambda: alice.api.copy(alice.copy_request(copy, copy.id))) == "not_a_folder"
    bad = (
        alice.copy_request(folder)
        .nodes[0]
        .model_copy(
            update={
                "versions": [
                    m.CopiedVersion(id=new_id(), envelope=sealed(), source=copy.version.id)
                ]
            }
        )
    )
    assert _code(lambda: alice.api.copy(m.CopyRequest(nodes=[bad])), BadRequest) == (
        "invalid_request"
    )
    no_version = alice.copy_request(copy).nodes[0].model_copy(update={"versions": []})
    assert _code(lambda: alice.api.copy(m.CopyRequest(nodes=[no_version])), BadRequest) == (
        "invalid_request"
    )
    assert _code(lambda: alice.api.copy(alice.copy_request(copy, name_tag=copy.name_tag))) == (
        "name_taken"
    )


# -- the rubbish bin ----------------------------------------------------------------------


def test_trash_restore_and_delete(alice: Account) -> None:
    folder = alice.mkdir()
    inner = alice.mkdir(folder.id)
    file = alice.upload(1500, parent_id=inner.id)
    live = alice.mkdir()
    alice.api.trash(folder.id)
    assert [n.id for n in alice.api.rubbish()] == [folder.id]
    assert [n.id for n in alice.api.children(alice.root_id)] == [live.id]
    # What is inside a trashed folder stays where it is, and is in the bin with it.
    assert alice.api.node(file.id).trashed is None
    assert _code(lambda: alice.api.trash(file.id)) == "in_rubbish"
    assert _code(lambda: alice.api.restore(file.id)) == "not_in_rubbish"
    assert _code(lambda: alice.mkdir(inner.id)) == "in_rubbish"
    assert _code(lambda: alice.api.trash(folder.id)) == "in_rubbish"
    assert _code(lambda: alice.api.delete(live.id)) == "not_in_rubbish"

    alice.api.restore(folder.id)
    assert alice.api.rubbish() == []
    assert [n.id for n in alice.api.children(inner.id)] == [file.id]

    alice.api.trash(file.id)
    alice.api.trash(folder.id)
    # The file was put in the bin first: it cannot come back while its folder is in there.
    assert _code(lambda: alice.api.restore(file.id)) == "parent_in_rubbish"
    alice.api.delete(folder.id)
    for node in (folder, inner, file):
        assert _code(lambda n=node: alice.api.node(n.id), NotFound) == "node_not_found"
    assert alice.api.rubbish() == []
    assert alice.api.account().storage_used == 0
    assert {n.id for n in alice.api.all_nodes()} == {alice.root_id, live.id}


def test_empty_the_rubbish_bin_with_nested_trashed_nodes(alice: Account) -> None:
    folder = alice.mkdir()
    sub = alice.mkdir(folder.id)
    files = [alice.upload(1200, parent_id=p) for p in (folder.id, sub.id, sub.id)]
    loose = alice.upload(300)
    kept = alice.upload(500)
    pending = alice.start(2000, parent_id=sub.id)
    alice.send_all(pending)
    # Trashed one by one, inner ones first, then their folders.
    for node_id in (files[1].id, sub.id, files[0].id, folder.id, loose.id):
        alice.api.trash(node_id)
    assert len(alice.api.rubbish()) == 5
    usage = alice.api.usage()
    assert usage.rubbish == sum(f.version.size for f in [*files, loose] if f.version)
    assert kept.version is not None
    assert usage.files == kept.version.size

    alice.api.empty_rubbish()
    assert alice.api.rubbish() == []
    assert {n.id for n in alice.api.all_nodes()} == {alice.root_id, kept.id}
    usage = alice.api.usage()
    assert (usage.storage_used, usage.files, usage.versions, usage.rubbish) == (
        kept.version.size,
        kept.version.size,
        0,
        0,
    )
    # An emptied bin can be emptied again.
    alice.api.empty_rubbish()
    alice.api.trash(kept.id)
    alice.api.empty_rubbish()
    assert alice.api.account().storage_used == 0


def test_usage_by_category(alice: Account) -> None:
    def usage() -> tuple[int, int, int, int, int]:
        u = alice.api.usage()
        return u.storage_used, u.files, u.versions, u.rubbish, u.uploading

    assert usage() == (0, 0, 0, 0, 0)
    file = alice.upload(1000)
    v1 = file.version.size if file.version else 0
    assert usage() == (v1, v1, 0, 0, 0)
    file = alice.upload(3000, node_id=file.id)
    v2 = file.version.size if file.version else 0
    assert usage() == (v1 + v2, v2, v1, 0, 0)
    state = alice.start(5000)
    assert usage() == (v1 + v2, v2, v1, 0, state.size)
    alice.api.trash(file.id)
    assert usage() == (v1 + v2, 0, 0, v1 + v2, state.size)
    alice.api.restore(file.id)
    assert usage() == (v1 + v2, v2, v1, 0, state.size)
    alice.api.cancel_upload(state.id)
    alice.api.trash(file.id)
    alice.api.empty_rubbish()
    assert usage() == (0, 0, 0, 0, 0)
    assert alice.api.account().storage_used == 0


# -- versions -----------------------------------------------------------------------------


def test_versions_list_and_delete(alice: Account) -> None:
    file = alice.upload(100)
    sizes = [file.version.size if file.version else 0]
    for plain in (2000, 3000):
        file = alice.upload(plain, node_id=file.id)
        sizes.append(file.version.size if file.version else 0)
    versions = alice.api.versions(file.id)
    assert [v.number for v in versions] == [1, 2, 3]
    assert [v.size for v in versions] == sizes
    assert file.version == versions[-1]

    # Deleting the current version makes the newest remaining one current.
    alice.api.delete_version(versions[2].id)
    node = alice.api.node(file.id)
    assert node.versions == 2 and node.version == versions[1]
    alice.api.delete_version(versions[0].id)
    assert [v.number for v in alice.api.versions(file.id)] == [2]
    assert alice.api.account().storage_used == sizes[1]
    assert _code(lambda: alice.api.delete_version(versions[1].id)) == "last_version"
    assert _code(lambda: alice.api.delete_version(versions[0].id), NotFound) == (
        "version_not_found"
    )
    assert _code(lambda: alice.api.get_chunk(versions[0].id, 0), NotFound) == "version_not_found"
    # The next version is numbered after the newest there is.
    newer = alice.upload(10, node_id=file.id)
    assert newer.version is not None and newer.version.number == 3
    assert _code(lambda: alice.api.versions(alice.root_id)) == "not_a_file"


def test_all_nodes_in_pages(alice: Account) -> None:
    made = {alice.root_id}
    folder = alice.mkdir()
    made.add(folder.id)
    for _ in range(6):
        made.add(alice.mkdir(folder.id).id)
    trashed = alice.upload(10)
    alice.api.trash(trashed.id)
    made.add(trashed.id)
    assert {n.id for n in alice.api.all_nodes()} == made
    listed = alice.api.all_nodes(page=3)
    assert [n.id for n in listed] == sorted(made)
    first = alice.raw("GET", "/v1/nodes", params={"limit": 3}).json()
    assert len(first["nodes"]) == 3 and first["cursor"] == first["nodes"][-1]["id"]
    last = alice.raw("GET", "/v1/nodes", params={"after": sorted(made)[-2], "limit": 3}).json()
    assert [n["id"] for n in last["nodes"]] == [sorted(made)[-1]]
    assert last.get("cursor") is None
