"""Public links at the HTTP level: proofs, states, the transfer quota, limits."""

from __future__ import annotations

import base64
import dataclasses
import os
import time

import pytest

from coffre.crypto import account as ca
from coffre.protocol import models as m
from coffre.server.config import Settings
from tests.server.raw import Account, assert_error, new_id, sealed

QUOTA = 1500  # more than one 1 KiB chunk, less than two


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, transfer_quota=QUOTA, link_failures_per_link=3)


def proof(auth: bytes) -> dict[str, str]:
    return {"x-coffre-link-auth": base64.urlsafe_b64encode(auth).decode()}


def make_link(owner: Account, node: m.NodeRecord, **changes: object) -> tuple[str, bytes]:
    link_id, auth = new_id(), os.urandom(32)
    owner.api.create_link(
        m.LinkCreate(id=link_id, node_id=node.id, envelope=sealed(), auth=auth, **changes)  # type: ignore[arg-type]
    )
    return link_id, auth


def test_a_link_opens_only_with_its_proof(alice: Account, bob: Account) -> None:
    file = alice.upload(1000)
    link_id, auth = make_link(alice, file)
    anonymous = bob.api.http  # any client; no session is needed
    public = anonymous.get(f"/v1/public/links/{link_id}")
    assert public.status_code == 200
    assert public.json()["kind"] == "file"
    assert public.json()["kdf"] is None
    root = f"/v1/public/links/{link_id}/root"
    assert_error(anonymous.get(root), 403, "link_auth_failed")
    assert_error(anonymous.get(root, headers=proof(os.urandom(32))), 403, "link_auth_failed")
    opened = anonymous.get(root, headers=proof(auth))
    assert opened.status_code == 200
    assert opened.json()["node"]["id"] == file.id
    assert file.version is not None
    chunk = anonymous.get(
        f"/v1/public/links/{link_id}/versions/{file.version.id}/chunks/0", headers=proof(auth)
    )
    assert chunk.status_code == 200
    assert [i.downloads for i in alice.api.links()] == [1]


def test_password_links_publish_their_parameters(alice: Account) -> None:
    folder = alice.mkdir()
    params = ca.KdfParams.new()
    kdf = m.KdfParams(
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
        salt=params.salt,
    )
    link_id, _ = make_link(alice, folder, kdf=kdf)
    public = alice.api.http.get(f"/v1/public/links/{link_id}").json()
    assert public["kind"] == "folder"
    assert public["kdf"]["time_cost"] == params.time_cost
    weak = kdf.model_copy(update={"time_cost": 1})
    with pytest.raises(Exception, match="weaker"):
        make_link(alice, folder, kdf=weak)


def test_revoked_expired_deleted_and_unknown_links(alice: Account) -> None:
    file = alice.upload(10)
    revoked, _ = make_link(alice, file)
    alice.api.revoke_link(revoked)
    expiring, _ = make_link(alice, file, expires=time.time() + 0.5)
    http = alice.api.http
    assert_error(http.get(f"/v1/public/links/{revoked}"), 410, "link_revoked")
    assert_error(http.get(f"/v1/public/links/{new_id()}"), 404, "link_not_found")
    assert_error(http.get("/v1/public/links/not-an-id"), 400, "invalid_request")
    time.sleep(0.6)
    assert_error(http.get(f"/v1/public/links/{expiring}"), 410, "link_expired")
    alive, _ = make_link(alice, file)
    alice.api.trash(file.id)
    assert_error(http.get(f"/v1/public/links/{alive}"), 410, "link_unavailable")
    with pytest.raises(Exception, match="in the past"):
        make_link(alice, file, expires=time.time() - 10)


def test_wrong_proofs_are_limited_per_link(alice: Account) -> None:
    link_id, auth = make_link(alice, alice.upload(10))
    root = f"/v1/public/links/{link_id}/root"
    for _ in range(3):
        assert_error(
            alice.api.http.get(root, headers=proof(os.urandom(32))), 403, "link_auth_failed"
        )
    refused = alice.api.http.get(root, headers=proof(auth))
    assert_error(refused, 429, "too_many_requests")
    assert int(refused.headers["retry-after"]) > 0


def test_the_transfer_quota_counts_what_links_serve(alice: Account) -> None:
    file = alice.upload(2000)
    assert file.version is not None
    link_id, auth = make_link(alice, file)
    path = f"/v1/public/links/{link_id}/versions/{file.version.id}/chunks/0"
    assert alice.api.http.get(path, headers=proof(auth)).status_code == 200
    assert_error(alice.api.http.get(path, headers=proof(auth)), 403, "transfer_quota_exceeded")
    # The owner's own downloads do not count.
    assert alice.api.get_chunk(file.version.id, 0)


def test_links_are_the_owners_only(alice: Account, bob: Account) -> None:
    file = alice.upload(10)
    link_id, _ = make_link(alice, file)
    with pytest.raises(Exception, match="no such"):
        bob.api.revoke_link(link_id)
    with pytest.raises(Exception, match="no such file"):
        make_link(bob, file)
    assert bob.api.links() == []


def test_an_upload_only_link_reads_nothing_and_writes_one_folder(alice: Account) -> None:
    inbox, elsewhere = alice.mkdir(), alice.mkdir()
    link_id, auth = make_link(alice, inbox, request=True)
    http = alice.api.http
    public = http.get(f"/v1/public/links/{link_id}").json()
    assert public["kind"] == "request"
    assert public["folder_id"] == inbox.id
    assert_error(
        http.get(f"/v1/public/links/{link_id}/root", headers=proof(auth)), 403, "upload_only"
    )
    assert_error(
        http.get(f"/v1/public/links/{link_id}/nodes", headers=proof(auth)), 403, "upload_only"
    )
    base = f"/v1/public/links/{link_id}/uploads"
    for parent in (elsewhere.id, alice.root_id):
        body = m.UploadRequest(node=alice.new_node(parent), version=_version())
        assert_error(http.post(base, json=body.model_dump(mode="json"), headers=proof(auth)), 404)
    good = m.UploadRequest(node=alice.new_node(inbox.id), version=_version())
    started = http.post(base, json=good.model_dump(mode="json"), headers=proof(auth))
    assert started.status_code == 201
    assert_error(http.post(base, json=good.model_dump(mode="json")), 403, "link_auth_failed")


def _version() -> m.NewVersion:
    from tests.server.raw import CHUNK, new_version

    return new_version(10, CHUNK)
