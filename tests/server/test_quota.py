"""The storage quota: reserved at upload start, checked at commit, for copies and batches."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coffre.errors import QuotaExceeded
from coffre.protocol import models as m
from coffre.server.config import Settings
from tests.server.raw import CHUNK, Account, assert_error, new_version, sealed, wire

QUOTA = 10_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, storage_quota=QUOTA)


def _quota_refused(exc: pytest.ExceptionInfo[QuotaExceeded]) -> None:
    assert exc.value.code == "quota_exceeded"
    assert exc.value.status == 403


def test_an_upload_over_the_quota_is_refused_at_start(alice: Account) -> None:
    assert alice.api.account().storage_quota == QUOTA
    too_big = new_version(QUOTA, chunk_size=CHUNK)
    assert too_big.size > QUOTA
    request = m.UploadRequest(node=alice.new_node(), version=too_big)
    response = alice.raw("POST", "/v1/uploads", json=wire(request))
    assert_error(response, 403, "quota_exceeded")
    assert alice.api.usage().uploading == 0


def test_an_upload_of_exactly_the_quota_fits(alice: Account) -> None:
    # 9 chunks of 1024 + 9 tags = 9360; the 10th chunk takes what is left.
    plain = QUOTA - 10 * 16
    state = alice.start(plain)
    assert state.size == QUOTA
    alice.send_all(state)
    alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    assert alice.api.account().storage_used == QUOTA
    with pytest.raises(QuotaExceeded) as caught:
        alice.start(0)
    _quota_refused(caught)


def test_pending_uploads_reserve_their_size(alice: Account) -> None:
    first = alice.start(6000)
    with pytest.raises(QuotaExceeded) as caught:
        alice.start(6000)
    _quota_refused(caught)
    assert alice.api.usage().uploading == first.size
    alice.api.cancel_upload(first.id)
    second = alice.start(6000)
    alice.send_all(second)
    alice.api.commit_upload(second.id, m.CommitRequest(envelope=sealed()))
    usage = alice.api.usage()
    assert (usage.storage_used, usage.uploading, usage.files) == (second.size, 0, second.size)
    with pytest.raises(QuotaExceeded):
        alice.start(6000, node_id=second.node_id)


def test_copies_count_against_the_quota(alice: Account) -> None:
    folder = alice.mkdir()
    file = alice.upload(6000, parent_id=folder.id)
    assert file.version is not None
    used = file.version.size
    top = alice.new_node()
    tree_copy = m.CopyRequest(
        nodes=[
            m.CopiedNode(**top.model_dump(), kind="folder"),
            m.CopiedNode(
                **alice.new_node(top.id).model_dump(),
                kind="file",
                versions=[
                    m.CopiedVersion(id=new_version(1).id, envelope=sealed(), source=file.version.id)
                ],
            ),
        ]
    )
    for request in (alice.copy_request(file), tree_copy):
        response = alice.raw("POST", "/v1/nodes/copy", json=wire(request))
        assert_error(response, 403, "quota_exceeded")
    # Nothing was created and nothing counted.
    assert [n.id for n in alice.api.children(alice.root_id)] == [folder.id]
    assert alice.api.account().storage_used == used
    # A copy of a folder without files costs nothing.
    empty = alice.mkdir()
    alice.api.copy(alice.copy_request(empty))
    assert alice.api.account().storage_used == used


def test_small_files_count_against_the_quota(alice: Account) -> None:
    files = [alice.small_file(900) for _ in range(12)]
    with pytest.raises(QuotaExceeded) as caught:
        alice.api.small_files(m.SmallFilesRequest(files=files))
    _quota_refused(caught)
    assert alice.api.children(alice.root_id) == []
    assert alice.api.account().storage_used == 0
    alice.api.small_files(m.SmallFilesRequest(files=files[:10]))
    assert alice.api.account().storage_used == 10 * (900 + 16)


def test_the_rubbish_bin_counts_until_emptied(alice: Account) -> None:
    file = alice.upload(8000)
    alice.api.trash(file.id)
    with pytest.raises(QuotaExceeded):
        alice.start(8000)
    alice.api.empty_rubbish()
    assert alice.api.account().storage_used == 0
    alice.upload(8000)


def test_the_quota_is_checked_again_at_commit(alice: Account) -> None:
    """A copy made while an upload runs can take the space the upload counted on."""
    file = alice.upload(4000)
    state = alice.start(4000)
    alice.send_all(state)
    alice.api.copy(alice.copy_request(file))
    with pytest.raises(QuotaExceeded) as caught:
        alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    _quota_refused(caught)
    assert alice.api.upload_state(state.id).received == [0, 1, 2, 3]
