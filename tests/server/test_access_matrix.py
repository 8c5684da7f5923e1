"""Who may do what: every tree, transfer, link and share route, for the owner, another
account, a member at each access level (and one who has not accepted), and an anonymous
caller. Each cell is one request against a fresh target, asserted on its status.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from coffre.protocol import models as m
from tests.server.raw import CHUNK, Account, new_id, sealed, wire

ROLES = ("owner", "stranger", "pending", "read", "write", "full", "anonymous")


@dataclass
class World:
    owner: Account
    others: dict[str, Account]
    folder: m.NodeRecord
    file: m.NodeRecord

    def caller(self, role: str) -> Account | None:
        if role == "owner":
            return self.owner
        return self.others.get(role)


def _befriend(a: Account, b: Account) -> None:
    invitation = a.api.invite(b.email)
    b.api.accept_invitation(invitation.id)


def _share(owner: Account, member: Account, folder_id: str, access: str) -> m.ShareInfo:
    return owner.api.share(
        m.ShareCreate(
            id=new_id(),
            folder_id=folder_id,
            member_id=member.user_id,
            access=access,  # type: ignore[arg-type]
            envelope=os.urandom(189),
        )
    )


@pytest.fixture
def world(world_factory: Callable[[], World]) -> World:
    return world_factory()


def _request(world: World, role: str, make: Callable[[World], tuple[str, str, object]]) -> int:
    method, path, body = make(world)
    caller = world.caller(role)
    api = caller.api if caller else world.owner.api
    headers = caller.auth if caller else {}
    kw: dict[str, object] = {}
    if isinstance(body, bytes):
        kw["content"] = body
    elif body is not None:
        kw["json"] = body
    response: httpx.Response = api.http.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
    return response.status_code


def _new_in(w: World) -> dict[str, object]:
    return wire(w.owner.new_node(w.folder.id))


def _small(w: World) -> dict[str, object]:
    return {"files": [wire(w.owner.small_file(10, parent_id=w.folder.id))]}


def _upload(w: World) -> dict[str, object]:
    return wire(m.UploadRequest(node=w.owner.new_node(w.folder.id), version=_version()))


def _version() -> m.NewVersion:
    from tests.server.raw import new_version

    return new_version(10, CHUNK)


def _move_in(w: World) -> dict[str, object]:
    return wire(w.owner.move_request(w.folder.id))


def _link(w: World) -> dict[str, object]:
    return {
        "id": new_id(),
        "node_id": w.file.id,
        "envelope": wire_bytes(sealed()),
        "auth": wire_bytes(os.urandom(32)),
    }


def _version_id(w: World) -> str:
    assert w.file.version is not None
    return w.file.version.id


def _thumbnailed(w: World) -> str:
    """The file's version, with a thumbnail the owner stored."""
    w.owner.api.put_thumbnail(_version_id(w), os.urandom(70))
    return _version_id(w)


OK, NF, DENY, ANON = 200, 404, 403, 401
# role order:             owner stranger pending read  write  full   anonymous
CASES: dict[str, tuple[Callable[[World], tuple[str, str, object]], tuple[int, ...]]] = {
    "get node": (
        lambda w: ("GET", f"/v1/nodes/{w.file.id}", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "list folder": (
        lambda w: ("GET", f"/v1/nodes/{w.folder.id}/children", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "list versions": (
        lambda w: ("GET", f"/v1/nodes/{w.file.id}/versions", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "read a chunk": (
        lambda w: ("GET", f"/v1/versions/{_version_id(w)}/chunks/0", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "read a range of chunks": (
        lambda w: ("GET", f"/v1/versions/{_version_id(w)}/chunks?first=0&count=1", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "read small chunks": (
        lambda w: ("POST", "/v1/versions/small", {"versions": [_version_id(w)]}),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "store a thumbnail": (
        lambda w: ("PUT", f"/v1/versions/{_version_id(w)}/thumbnail", os.urandom(70)),
        (204, NF, NF, DENY, 204, 204, ANON),
    ),
    "read a thumbnail": (
        lambda w: ("GET", f"/v1/versions/{_thumbnailed(w)}/thumbnail", None),
        (OK, NF, NF, OK, OK, OK, ANON),
    ),
    "make a folder inside": (
        lambda w: ("POST", "/v1/nodes", _new_in(w)),
        (201, NF, NF, DENY, 201, 201, ANON),
    ),
    "upload a small file inside": (
        lambda w: ("POST", "/v1/files/small", _small(w)),
        (201, NF, NF, DENY, 201, 201, ANON),
    ),
    "start an upload inside": (
        lambda w: ("POST", "/v1/uploads", _upload(w)),
        (201, NF, NF, DENY, 201, 201, ANON),
    ),
    "rename a file inside": (
        lambda w: ("PATCH", f"/v1/nodes/{w.file.id}", _move_in(w)),
        (OK, NF, NF, DENY, OK, OK, ANON),
    ),
    "put a file in the bin": (
        lambda w: ("POST", f"/v1/nodes/{w.file.id}/trash", None),
        (OK, NF, NF, DENY, DENY, OK, ANON),
    ),
    "make a link": (
        lambda w: ("POST", "/v1/links", _link(w)),
        (201, NF, NF, NF, NF, NF, ANON),
    ),
    "share the folder": (
        lambda w: ("POST", "/v1/shares", _reshare(w)),
        (201, NF, NF, NF, NF, NF, ANON),
    ),
    "see the folder's members": (
        lambda w: ("GET", f"/v1/shares/{_share_id(w)}/members", None),
        (OK, NF, NF, OK, NF, NF, ANON),
    ),
}


FRESH_WORLD_PER_CELL = {"put a file in the bin"}  # one success changes what follows


def _reshare(w: World) -> dict[str, object]:
    return {
        "id": new_id(),
        "folder_id": w.folder.id,
        "member_id": w.others["read"].user_id,
        "access": "read",
        "envelope": wire_bytes(os.urandom(189)),
    }


def _share_id(w: World) -> str:
    (share,) = [
        s for s in w.owner.api.shares().outgoing if s.member.email == w.others["read"].email
    ]
    return share.id


def wire_bytes(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_access_matrix(world_factory: Callable[[], World], case: str) -> None:
    make, expected = CASES[case]
    got = []
    world = world_factory()
    for role in ROLES:
        if case in FRESH_WORLD_PER_CELL:
            world = world_factory()
        got.append(_request(world, role, make))
    assert tuple(got) == expected, dict(zip(ROLES, got, strict=True))


def test_a_members_view_of_someone_elses_account_is_its_own(world: World) -> None:
    """A member's /v1/nodes lists their own account only; the shared folder comes through
    its share."""
    member = world.others["read"]
    ids = {n.id for n in member.api.all_nodes()}
    assert world.file.id not in ids
    (share,) = [s for s in member.api.shares().incoming if s.folder_id == world.folder.id]
    assert world.file.id in {n.id for n in member.api.share_nodes(share.id)}
    pending = world.others["pending"]
    (waiting,) = pending.api.shares().incoming
    response = pending.raw("GET", f"/v1/shares/{waiting.id}/nodes")
    assert response.status_code == 409


def test_revoking_ends_access_at_once(world: World) -> None:
    member = world.others["write"]
    (share,) = [s for s in member.api.shares().incoming if s.folder_id == world.folder.id]
    assert member.raw("GET", f"/v1/nodes/{world.file.id}").status_code == OK
    world.owner.api.remove_share(share.id)
    assert member.raw("GET", f"/v1/nodes/{world.file.id}").status_code == NF
    assert _version_id(world)
    chunk = member.raw("GET", f"/v1/versions/{_version_id(world)}/chunks/0")
    assert chunk.status_code == NF


def test_member_writes_count_against_the_owners_quota(world: World) -> None:
    member = world.others["write"]
    before_owner = world.owner.api.account().storage_used
    before_member = member.api.account().storage_used
    member.api.small_files(
        m.SmallFilesRequest(files=[member.small_file(50, parent_id=world.folder.id)])
    )
    assert world.owner.api.account().storage_used > before_owner
    assert member.api.account().storage_used == before_member


@pytest.fixture
def world_factory(make_account: Callable[..., Account]) -> Callable[[], World]:
    """A fresh world per cell, so that one cell's change does not decide the next."""

    def make() -> World:
        owner = make_account()
        others = {r: make_account() for r in ("stranger", "pending", "read", "write", "full")}
        folder = owner.mkdir()
        for role in ("pending", "read", "write", "full"):
            _befriend(owner, others[role])
            info = _share(owner, others[role], folder.id, "read" if role == "pending" else role)
            if role != "pending":
                others[role].api.accept_share(info.id)
        file = owner.upload(100, parent_id=folder.id)
        return World(owner, others, folder, file)

    return make
