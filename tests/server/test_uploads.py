"""Uploads: declared shapes, chunks, state, commit, cancel; small-file batches; downloads."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from coffre.errors import BadRequest, Conflict, NotFound
from coffre.protocol import models as m
from tests.server.raw import (
    CHUNK,
    Account,
    assert_error,
    chunk_lengths,
    header,
    new_id,
    new_version,
    sealed,
    wire,
)

FULL = CHUNK + 16


def _start(alice: Account, **version: Any) -> m.UploadState:
    request = m.UploadRequest(node=alice.new_node(), version=new_version(100, **version))
    return alice.api.start_upload(request)


def _commit(alice: Account, upload_id: str) -> m.NodeRecord:
    return alice.api.commit_upload(upload_id, m.CommitRequest(envelope=sealed()))


# -- declared shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "code"),
    [
        ({"chunk_size": 512, "header": header(512)}, "bad_chunk_size"),
        ({"chunk_size": CHUNK - 1, "header": header(CHUNK - 1)}, "bad_chunk_size"),
        ({"chunk_size": (16 << 20) + 1, "header": header((16 << 20) + 1)}, "bad_chunk_size"),
        ({"chunk_count": 1, "size": FULL + 1}, "bad_size"),
        ({"chunk_count": 2, "size": FULL + 16}, "bad_size"),
        ({"chunk_count": 2, "size": 2 * FULL + 1}, "bad_size"),
        ({"chunk_count": 3, "size": FULL + 17}, "bad_size"),
        ({"chunk_count": 4, "size": 100}, "bad_size"),
        ({"header": header(2 * CHUNK)}, "bad_header"),
    ],
)
def test_a_bad_shape_is_refused_at_start(
    alice: Account, version: dict[str, Any], code: str
) -> None:
    request = {"node": wire(alice.new_node()), "version": wire(new_version(100, **version))}
    assert_error(alice.raw("POST", "/v1/uploads", json=request), 400, code)
    shape = new_version(100, **version)
    small = m.SmallFile(
        node=alice.new_node(), version=shape, envelope=sealed(), data=os.urandom(shape.size)
    )
    response = alice.raw("POST", "/v1/files/small", json={"files": [wire(small)]})
    assert_error(response, 400, code)
    assert alice.api.usage().uploading == 0
    assert alice.api.children(alice.root_id) == []


@pytest.mark.parametrize(
    ("chunk_count", "size"),
    [(1, 16), (1, 17), (1, FULL), (2, FULL + 17), (2, 2 * FULL), (3, 2 * FULL + 17)],
)
def test_the_boundaries_of_good_shapes(alice: Account, chunk_count: int, size: int) -> None:
    state = _start(alice, chunk_count=chunk_count, size=size)
    assert (state.chunk_count, state.size, state.received) == (chunk_count, size, [])
    assert alice.api.usage().uploading == size


# -- chunks -------------------------------------------------------------------------------


def test_chunks_must_have_their_exact_length(alice: Account) -> None:
    state = alice.start(2500)
    assert chunk_lengths(state) == [FULL, FULL, 2500 - 2 * CHUNK + 16]
    for index, length in ((0, FULL - 1), (0, FULL + 1), (1, 0), (2, FULL), (2, 16)):
        response = alice.raw(
            "PUT", f"/v1/uploads/{state.id}/chunks/{index}", content=b"\x00" * length
        )
        assert_error(response, 400, "bad_chunk_length")
    assert alice.api.upload_state(state.id).received == []


def test_chunk_indexes_must_be_in_range(alice: Account) -> None:
    state = alice.start(2500)
    for index in (3, 4, 1 << 22):
        response = alice.raw(
            "PUT", f"/v1/uploads/{state.id}/chunks/{index}", content=b"\x00" * FULL
        )
        assert_error(response, 400, "bad_chunk_index")
    assert alice.api.upload_state(state.id).received == []


def test_state_lists_the_chunks_received(alice: Account) -> None:
    before = time.time()
    state = alice.start(4 * CHUNK + 10)
    assert state.expires > before
    chunks = [os.urandom(n) for n in chunk_lengths(state)]
    for index in (3, 0, 4):
        alice.api.put_chunk(state.id, index, chunks[index])
    assert alice.api.upload_state(state.id).received == [0, 3, 4]
    # Sending a chunk again replaces it; it is listed once.
    alice.api.put_chunk(state.id, 3, chunks[3])
    again = alice.api.upload_state(state.id)
    assert again.received == [0, 3, 4]
    assert (again.id, again.node_id, again.chunk_size, again.chunk_count, again.size) == (
        state.id,
        state.node_id,
        state.chunk_size,
        state.chunk_count,
        state.size,
    )

    with pytest.raises(Conflict) as caught:
        _commit(alice, state.id)
    assert caught.value.code == "upload_incomplete"
    assert alice.api.children(alice.root_id) == []

    for index in (1, 2):
        alice.api.put_chunk(state.id, index, chunks[index])
    record = _commit(alice, state.id)
    assert record.id == state.node_id
    assert record.kind == "file" and record.versions == 1
    assert record.version is not None and record.version.id == state.id
    assert (record.version.size, record.version.chunk_count) == (state.size, 5)
    assert [alice.api.get_chunk(state.id, i) for i in range(5)] == chunks
    with pytest.raises(BadRequest) as bad:
        alice.api.get_chunk(state.id, 5)
    assert bad.value.code == "bad_chunk_index"

    # The upload is gone: no state, no more chunks, no second commit.
    for call in (
        lambda: alice.api.upload_state(state.id),
        lambda: alice.api.put_chunk(state.id, 0, chunks[0]),
        lambda: _commit(alice, state.id),
        lambda: alice.api.cancel_upload(state.id),
    ):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "upload_not_found"
    # A repeated chunk PUT after the commit did not damage the content.
    assert alice.api.get_chunk(state.id, 0) == chunks[0]
    assert alice.api.account().storage_used == state.size
    assert alice.api.usage().uploading == 0


def test_an_upload_can_be_cancelled(alice: Account) -> None:
    state = alice.start(3000)
    alice.api.put_chunk(state.id, 0, os.urandom(FULL))
    assert alice.api.usage().uploading == state.size
    alice.api.cancel_upload(state.id)
    with pytest.raises(NotFound):
        alice.api.upload_state(state.id)
    assert alice.api.usage().uploading == 0
    assert alice.api.children(alice.root_id) == []


def test_new_versions_of_a_file(alice: Account) -> None:
    first = alice.upload(100)
    second = alice.upload(5000, node_id=first.id)
    assert second.id == first.id
    assert second.versions == 2
    assert second.version is not None and first.version is not None
    assert second.version.number == 2
    assert [v.number for v in alice.api.versions(first.id)] == [1, 2]
    assert alice.api.account().storage_used == first.version.size + second.version.size


def test_uploads_go_into_live_folders_and_files(alice: Account) -> None:
    folder = alice.mkdir()
    file = alice.upload(10)
    trashed_file = alice.upload(10)
    alice.api.trash(trashed_file.id)
    bin_folder = alice.mkdir()
    inside_bin = alice.mkdir(bin_folder.id)
    alice.api.trash(bin_folder.id)

    for kwargs, code in (
        ({"parent_id": file.id}, "not_a_folder"),
        ({"parent_id": bin_folder.id}, "in_rubbish"),
        ({"parent_id": inside_bin.id}, "in_rubbish"),
        ({"node_id": folder.id}, "not_a_file"),
        ({"node_id": trashed_file.id}, "in_rubbish"),
    ):
        with pytest.raises(Conflict) as caught:
            alice.start(100, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code, kwargs
    assert alice.api.usage().uploading == 0


def test_commit_checks_the_folder_and_file_again(alice: Account) -> None:
    folder = alice.mkdir()
    file = alice.upload(10)
    into_folder = alice.start(100, parent_id=folder.id)
    of_file = alice.start(100, node_id=file.id)
    alice.send_all(into_folder)
    alice.send_all(of_file)
    alice.api.trash(folder.id)
    alice.api.trash(file.id)
    for state in (into_folder, of_file):
        with pytest.raises(Conflict) as caught:
            _commit(alice, state.id)
        assert caught.value.code == "in_rubbish"
    alice.api.restore(folder.id)
    alice.api.restore(file.id)
    assert _commit(alice, into_folder.id).parent_id == folder.id
    assert _commit(alice, of_file.id).versions == 2


def test_ids_in_use_are_refused(alice: Account) -> None:
    content_id = new_id()
    done = alice.api.start_upload(
        m.UploadRequest(node=alice.new_node(), version=new_version(10, content_id=content_id))
    )
    alice.send_all(done)
    file = _commit(alice, done.id)
    assert file.version is not None
    pending_content = new_id()
    pending = alice.api.start_upload(
        m.UploadRequest(node=alice.new_node(), version=new_version(10, content_id=pending_content))
    )
    folder = alice.mkdir()
    node = alice.new_node()
    cases = [
        # node ids: an existing node, a node an upload will create
        m.UploadRequest(node=node.model_copy(update={"id": folder.id}), version=new_version(9)),
        m.UploadRequest(
            node=node.model_copy(update={"id": pending.node_id}), version=new_version(9)
        ),
        # version ids: a version, an upload
        m.UploadRequest(node=node, version=new_version(9, id=file.version.id)),
        m.UploadRequest(node=node, version=new_version(9, id=pending.id)),
        # content ids (they name the blobs): a committed content, an upload's
        m.UploadRequest(node=node, version=new_version(9, content_id=content_id)),
        m.UploadRequest(node=node, version=new_version(9, content_id=pending_content)),
    ]
    for request in cases:
        with pytest.raises(Conflict) as caught:
            alice.api.start_upload(request)
        assert caught.value.code == "id_taken"
        small = m.SmallFile(
            node=request.node,
            version=request.version,
            envelope=sealed(),
            data=os.urandom(request.version.size),
        )
        with pytest.raises(Conflict) as caught:
            alice.api.small_files(m.SmallFilesRequest(files=[small]))
        assert caught.value.code == "id_taken"
    assert alice.api.usage().uploading == pending.size
    with pytest.raises(Conflict) as caught:
        alice.api.mkdir(node.model_copy(update={"id": pending.node_id}))
    assert caught.value.code == "id_taken"


# -- small files --------------------------------------------------------------------------


def test_small_files_in_one_batch(alice: Account) -> None:
    folder = alice.mkdir()
    files = [
        alice.small_file(0, parent_id=folder.id),
        alice.small_file(1, parent_id=folder.id),
        alice.small_file(CHUNK, parent_id=folder.id),
        alice.small_file(70 * 1024, parent_id=folder.id),  # over the inline limit
    ]
    records = alice.api.small_files(m.SmallFilesRequest(files=files))
    assert [r.id for r in records] == [f.node.id for f in files if f.node]
    assert all(r.kind == "file" and r.versions == 1 and r.version for r in records)
    for f, r in zip(files, records, strict=True):
        assert r.version is not None
        assert r.version.id == f.version.id
        assert r.version.size == len(f.data) == f.version.size
        assert alice.api.get_chunk(r.version.id, 0) == f.data
    assert alice.api.account().storage_used == sum(len(f.data) for f in files)
    assert sorted(n.id for n in alice.api.children(folder.id)) == sorted(r.id for r in records)

    # Read back many at once.
    ids = [r.version.id for r in records if r.version]
    assert alice.api.small_chunks(ids) == {f.version.id: f.data for f in files}

    # A new version of one of them, in another batch.
    again = alice.small_file(5, node_id=records[1].id)
    (updated,) = alice.api.small_files(m.SmallFilesRequest(files=[again]))
    assert updated.versions == 2
    assert updated.version is not None and updated.version.number == 2


def test_a_small_file_batch_answers_with_the_records_a_listing_then_gives(
    alice: Account,
) -> None:
    """The answer is built from the batch, not read back: it must say what the database
    says. New files, a new version of an existing file, and two of another in one batch."""
    folder = alice.mkdir()
    first = alice.api.small_files(
        m.SmallFilesRequest(files=[alice.small_file(3, parent_id=folder.id) for _ in range(2)])
    )
    signed = alice.small_file(4, parent_id=folder.id)
    assert signed.node is not None
    signed = signed.model_copy(
        update={
            "node": signed.node.model_copy(update={"signature": os.urandom(64)}),
            "signature": os.urandom(64),
        }
    )
    batch = [
        alice.small_file(1, parent_id=folder.id),
        signed,
        alice.small_file(2, node_id=first[0].id),
        alice.small_file(5, node_id=first[1].id),
        alice.small_file(6, node_id=first[1].id),
        alice.small_file(70 * 1024, parent_id=folder.id),  # kept as a blob, not inline
    ]
    answered = alice.api.small_files(m.SmallFilesRequest(files=batch))
    assert answered == [alice.api.node(r.id) for r in answered]
    assert [r.versions for r in answered] == [1, 1, 2, 3, 3, 1]
    assert [r.version.number for r in answered if r.version] == [1, 1, 2, 3, 3, 1]
    listed = {r.id: r for r in alice.api.children(folder.id)}
    assert all(listed[r.id] == r for r in answered)


@pytest.mark.parametrize(
    "prefer",
    [
        "return=minimal",
        'RETURN = "minimal"',
        "respond-async, return=minimal; x=1",
        "wait=5,return=minimal",
    ],
)
def test_a_small_file_batch_with_prefer_return_minimal_answers_with_no_body(
    alice: Account, prefer: str
) -> None:
    """RFC 7240: the files are stored as without the preference, the answer is empty."""
    folder = alice.mkdir()
    batch = [alice.small_file(3, parent_id=folder.id) for _ in range(3)]
    body = {"files": [wire(f) for f in batch]}
    response = alice.raw("POST", "/v1/files/small", json=body, headers={"prefer": prefer})
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["preference-applied"] == "return=minimal"
    listed = alice.api.children(folder.id)
    assert sorted(r.id for r in listed) == sorted(f.node.id for f in batch if f.node)
    assert all(r.versions == 1 and r.version and r.version.number == 1 for r in listed)
    assert alice.api.account().storage_used == sum(f.version.size for f in batch)
    # And a new version of one of them, the client's way.
    alice.api.store_small_files(
        m.SmallFilesRequest(files=[alice.small_file(4, node_id=listed[0].id)])
    )
    again = alice.api.node(listed[0].id)
    assert again.versions == 2 and again.version and again.version.number == 2


@pytest.mark.parametrize(
    "prefer", [None, "return=representation", "return=minimalist", "x=return=minimal"]
)
def test_a_small_file_batch_without_that_preference_answers_with_records(
    alice: Account, prefer: str | None
) -> None:
    batch = [alice.small_file(3) for _ in range(2)]
    headers = {"prefer": prefer} if prefer else {}
    body = {"files": [wire(f) for f in batch]}
    response = alice.raw("POST", "/v1/files/small", json=body, headers=headers)
    assert response.status_code == 201
    assert "preference-applied" not in response.headers
    answered = m.SmallFilesResponse.model_validate_json(response.content).nodes
    assert [r.id for r in answered] == [f.node.id for f in batch if f.node]


def test_a_minimal_small_file_batch_is_all_or_nothing_too(alice: Account) -> None:
    taken = alice.mkdir()
    clash = alice.small_file(10)
    assert clash.node is not None
    clash = clash.model_copy(
        update={"node": clash.node.model_copy(update={"name_tag": taken.name_tag})}
    )
    with pytest.raises(Conflict) as caught:
        alice.api.store_small_files(m.SmallFilesRequest(files=[alice.small_file(10), clash]))
    assert caught.value.code == "name_taken"
    assert [n.id for n in alice.api.children(alice.root_id)] == [taken.id]
    assert alice.api.account().storage_used == 0


def test_a_small_file_batch_is_all_or_nothing(alice: Account) -> None:
    taken = alice.mkdir()
    good = [alice.small_file(10) for _ in range(3)]
    clash = alice.small_file(10)
    assert clash.node is not None
    clash = clash.model_copy(
        update={"node": clash.node.model_copy(update={"name_tag": taken.name_tag})}
    )
    with pytest.raises(Conflict) as caught:
        alice.api.small_files(m.SmallFilesRequest(files=[*good, clash]))
    assert caught.value.code == "name_taken"
    assert [n.id for n in alice.api.children(alice.root_id)] == [taken.id]
    assert alice.api.account().storage_used == 0
    # Two files of one batch with one name.
    twin = alice.small_file(10)
    assert twin.node is not None and good[0].node is not None
    twin = twin.model_copy(
        update={"node": twin.node.model_copy(update={"name_tag": good[0].node.name_tag})}
    )
    with pytest.raises(Conflict) as caught:
        alice.api.small_files(m.SmallFilesRequest(files=[good[0], twin]))
    assert caught.value.code == "name_taken"
    assert alice.api.small_files(m.SmallFilesRequest(files=good))


def test_a_small_file_batch_checks_names_folder_by_folder(alice: Account) -> None:
    """A batch spread over folders clashes only with a live name in the file's own folder:
    not with the same name elsewhere, nor with one in the rubbish bin."""
    one, two = alice.mkdir(), alice.mkdir()
    binned = alice.small_file(10, parent_id=one.id)
    assert binned.node is not None
    (record,) = alice.api.small_files(m.SmallFilesRequest(files=[binned]))
    alice.api.trash(record.id)

    def named(parent_id: str) -> m.SmallFile:
        f = alice.small_file(10, parent_id=parent_id)
        assert f.node is not None and binned.node is not None
        node = f.node.model_copy(update={"name_tag": binned.node.name_tag})
        return f.model_copy(update={"node": node})

    batch = [
        named(one.id),
        named(two.id),
        *(alice.small_file(10, parent_id=two.id) for _ in range(3)),
    ]
    assert len(alice.api.small_files(m.SmallFilesRequest(files=batch))) == 5
    with pytest.raises(Conflict) as caught:  # now live in ``two``
        alice.api.small_files(m.SmallFilesRequest(files=[alice.small_file(10), named(two.id)]))
    assert caught.value.code == "name_taken"


def test_small_files_are_one_chunk_of_their_size(alice: Account) -> None:
    base = alice.small_file(100)
    two_chunks = base.model_copy(
        update={"version": new_version(CHUNK + 10), "data": os.urandom(CHUNK + 10 + 32)}
    )
    wrong_length = base.model_copy(update={"data": base.data + b"\x00"})
    for bad in (two_chunks, wrong_length):
        with pytest.raises(BadRequest) as caught:
            alice.api.small_files(m.SmallFilesRequest(files=[bad]))
        assert caught.value.code in ("bad_chunk_length", "bad_size"), caught.value.code
    assert alice.api.children(alice.root_id) == []


def test_name_taken_at_start_and_at_commit(alice: Account) -> None:
    tag = new_id()
    alice.mkdir(name_tag=tag)
    with pytest.raises(Conflict) as caught:
        alice.start(100, name_tag=tag)
    assert caught.value.code == "name_taken"

    other = new_id()
    state = alice.start(100, name_tag=other)
    alice.send_all(state)
    alice.mkdir(name_tag=other)  # the name is taken while the upload runs
    with pytest.raises(Conflict) as caught:
        _commit(alice, state.id)
    assert caught.value.code == "name_taken"
    assert alice.api.upload_state(state.id).received == [0]


def test_a_copy_cannot_take_the_version_id_of_a_pending_upload(alice: Account) -> None:
    """Version ids are unique across versions and uploads, whichever way they are made."""
    source = alice.upload(10)
    assert source.version is not None
    pending = alice.start(100)
    alice.send_all(pending)
    node = alice.new_node()
    copied = m.CopiedVersion(id=pending.id, envelope=sealed(), source=source.version.id)
    request = m.CopyRequest(
        nodes=[m.CopiedNode(**node.model_dump(), kind="file", versions=[copied])]
    )
    with pytest.raises(Conflict) as caught:
        alice.api.copy(request)
    assert caught.value.code == "id_taken"
    # ...so the upload can still be committed.
    record = _commit(alice, pending.id)
    assert record.version is not None and record.version.id == pending.id


def test_small_chunks_are_read_only_for_one_chunk_versions_of_ones_own(
    alice: Account, bob: Account
) -> None:
    (small,) = alice.api.small_files(m.SmallFilesRequest(files=[alice.small_file(10)]))
    big = alice.upload(3 * CHUNK + 5)
    assert small.version is not None and big.version is not None
    response = alice.raw("POST", "/v1/versions/small", json={"versions": [big.version.id]})
    assert_error(response, 400, "bad_chunk_index")
    for who, version in ((bob, small.version.id), (alice, new_id())):
        response = who.raw("POST", "/v1/versions/small", json={"versions": [version]})
        assert_error(response, 404, "version_not_found")
