"""One account cannot see or touch another's nodes, versions, uploads or sessions.

Whatever Bob does with Alice's ids, the answer is the very one he gets for ids that exist
nowhere: a 404 that does not tell him that the id is in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from coffre.protocol import models as m
from tests.server.raw import Account, new_id, new_version, sealed, wire


@dataclass
class Alices:
    folder: m.NodeRecord
    file: m.NodeRecord
    old_version: str
    trashed: m.NodeRecord
    upload: m.UploadState


@pytest.fixture
def alices(alice: Account) -> Alices:
    folder = alice.mkdir()
    file = alice.upload(3000, parent_id=folder.id)
    old = file.version
    assert old is not None
    file = alice.upload(2000, node_id=file.id)
    trashed = alice.mkdir()
    alice.api.trash(trashed.id)
    upload = alice.start(5000, parent_id=folder.id)
    alice.api.put_chunk(upload.id, 0, b"\x00" * 1040)
    return Alices(folder, file, old.id, trashed, upload)


def _answer(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


def _same_as_for_unknown(
    bob: Account,
    method: str,
    path: Callable[[str], str],
    theirs: str,
    body: Callable[[], object] | None = None,
    content: bytes | None = None,
) -> None:
    """Bob's request on Alice's id gets exactly the answer it gets on an unknown id."""
    answers = []
    for target in (theirs, new_id()):
        response = bob.raw(method, path(target), json=body() if body else None, content=content)
        assert response.status_code == 404, (method, path(target), response.text)
        answers.append(_answer(response))
    assert answers[0] == answers[1], (method, path("ID"), answers)


def test_nodes_of_others_are_invisible(alice: Account, bob: Account, alices: Alices) -> None:
    before = alice.api.all_nodes()
    for node in (alices.folder, alices.file, alices.trashed):
        for method, path in (
            ("GET", lambda i: f"/v1/nodes/{i}"),
            ("GET", lambda i: f"/v1/nodes/{i}/children"),
            ("GET", lambda i: f"/v1/nodes/{i}/versions"),
            ("POST", lambda i: f"/v1/nodes/{i}/trash"),
            ("POST", lambda i: f"/v1/nodes/{i}/restore"),
            ("DELETE", lambda i: f"/v1/nodes/{i}"),
        ):
            _same_as_for_unknown(bob, method, path, node.id)
        _same_as_for_unknown(
            bob,
            "PATCH",
            lambda i: f"/v1/nodes/{i}",
            node.id,
            lambda: wire(bob.move_request(bob.root_id)),
        )
    # Alice's root too.
    _same_as_for_unknown(bob, "GET", lambda i: f"/v1/nodes/{i}", alice.root_id)
    _same_as_for_unknown(bob, "GET", lambda i: f"/v1/nodes/{i}/children", alice.root_id)
    # Nothing of Alice's changed.
    assert alice.api.all_nodes() == before
    assert bob.api.all_nodes()[0].id == bob.root_id


def test_others_folders_cannot_be_written_into(
    alice: Account, bob: Account, alices: Alices
) -> None:
    mine = bob.mkdir()
    before = alice.api.all_nodes()
    for folder in (alice.root_id, alices.folder.id):
        for make in (
            lambda f: ("POST", "/v1/nodes", wire(bob.new_node(f))),
            lambda f: ("POST", "/v1/nodes/copy", wire(bob.copy_request(mine, f))),
            lambda f: ("PATCH", f"/v1/nodes/{mine.id}", wire(bob.move_request(f))),
            lambda f: (
                "POST",
                "/v1/uploads",
                {"node": wire(bob.new_node(f)), "version": wire(_version())},
            ),
            lambda f: (
                "POST",
                "/v1/files/small",
                {"files": [wire(bob.small_file(10, parent_id=f))]},
            ),
        ):
            answers = []
            for target in (folder, new_id()):
                method, path, body = make(target)
                response = bob.raw(method, path, json=body)
                assert response.status_code == 404, (path, response.text)
                answers.append(_answer(response))
            assert answers[0] == answers[1], answers
    assert alice.api.all_nodes() == before
    assert alice.api.usage().uploading == alices.upload.size


def _version() -> m.NewVersion:
    return new_version(100)


def test_files_of_others_cannot_get_versions(alice: Account, bob: Account, alices: Alices) -> None:
    answers = []
    for target in (alices.file.id, new_id()):
        body = {"node_id": target, "version": wire(_version())}
        answers.append(_answer(bob.raw("POST", "/v1/uploads", json=body)))
        small = bob.small_file(100, node_id=target)
        answers.append(_answer(bob.raw("POST", "/v1/files/small", json={"files": [wire(small)]})))
    assert answers[0] == answers[2] and answers[1] == answers[3], answers
    assert answers[0][0] == answers[1][0] == 404
    assert alice.api.node(alices.file.id).versions == 2


def test_versions_of_others_are_invisible(alice: Account, bob: Account, alices: Alices) -> None:
    assert alices.file.version is not None
    for version in (alices.old_version, alices.file.version.id):
        _same_as_for_unknown(bob, "GET", lambda i: f"/v1/versions/{i}/chunks/0", version)
        _same_as_for_unknown(
            bob, "GET", lambda i: f"/v1/versions/{i}/chunks?first=0&count=1", version
        )
        _same_as_for_unknown(bob, "DELETE", lambda i: f"/v1/versions/{i}", version)
    assert len(alice.api.versions(alices.file.id)) == 2


def test_versions_of_others_cannot_be_copied(alice: Account, bob: Account, alices: Alices) -> None:
    """A copy names the version whose content it shares: only one's own."""
    answers = []
    for source in (alices.old_version, new_id()):
        node = bob.new_node()
        request = m.CopyRequest(
            nodes=[
                m.CopiedNode(
                    **node.model_dump(),
                    kind="file",
                    versions=[m.CopiedVersion(id=new_id(), envelope=sealed(), source=source)],
                )
            ]
        )
        response = bob.raw("POST", "/v1/nodes/copy", json=wire(request))
        assert response.status_code == 404, response.text
        answers.append(_answer(response))
    assert answers[0] == answers[1], answers
    assert bob.api.children(bob.root_id) == []
    assert bob.api.account().storage_used == 0


def test_uploads_of_others_are_invisible(alice: Account, bob: Account, alices: Alices) -> None:
    upload = alices.upload.id
    _same_as_for_unknown(bob, "GET", lambda i: f"/v1/uploads/{i}", upload)
    _same_as_for_unknown(
        bob, "PUT", lambda i: f"/v1/uploads/{i}/chunks/1", upload, content=b"\x01" * 1040
    )
    _same_as_for_unknown(
        bob,
        "POST",
        lambda i: f"/v1/uploads/{i}/commit",
        upload,
        lambda: {"envelope": wire(m.CommitRequest(envelope=sealed()))["envelope"]},
    )
    _same_as_for_unknown(bob, "DELETE", lambda i: f"/v1/uploads/{i}", upload)
    assert alice.api.upload_state(upload).received == [0]


def test_sessions_and_feeds_are_per_account(alice: Account, bob: Account, alices: Alices) -> None:
    _same_as_for_unknown(bob, "DELETE", lambda i: f"/v1/sessions/{i}", alice.session_id)
    assert alice.api.sessions().sessions[0].id == alice.session_id
    assert bob.api.events(0).events == []
    assert all(n.id in {bob.root_id} for n in bob.api.all_nodes())
    usage = bob.api.usage()
    assert (usage.storage_used, usage.files, usage.rubbish, usage.uploading) == (0, 0, 0, 0)
    assert bob.api.rubbish() == []
