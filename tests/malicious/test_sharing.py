"""The server plays against sharing: substituted keys (A10), shares nobody sent (A11),
writes by members who may not write (A9 in a shared folder), link secrets (A12)."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from coffre.client import links, sharing
from coffre.client.api import Api
from coffre.client.drive import Drive
from coffre.client.inprocess import InProcessTransport
from coffre.crypto import nodes as cn
from coffre.crypto import shares as cs
from coffre.crypto.identity import Identity
from coffre.errors import IntegrityError, KeyChanged
from coffre.server.db import tables as t
from tests.conftest import User
from tests.malicious.harness import MaliciousTransport, ServerStore

MakeUser = Callable[..., User]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def befriend(a: User, b: User) -> None:
    invitation = a.api.invite(b.email)
    b.api.accept_invitation(invitation.id)


def wired(
    app: FastAPI, make_api: Callable[..., Api], user: User
) -> tuple[Drive, MaliciousTransport]:
    """``user``'s drive, through a transport the test can make lie."""
    server = MaliciousTransport(InProcessTransport(app))
    return Drive(make_api(user.api.token, transport=server), user.keys), server


def forged_statement(user_id: bytes) -> bytes:
    """A well-formed, validly self-signed public-key statement for ``user_id``, made by the
    server with keys of its own."""
    return Identity.generate(user_id).publish()


@pytest.fixture
def pair(make_user: MakeUser) -> tuple[User, User]:
    alice, bob = make_user(), make_user()
    befriend(alice, bob)
    return alice, bob


def test_a10_a_substituted_key_at_share_time_is_refused(
    pair: tuple[User, User], app: FastAPI, make_api: Callable[..., Api]
) -> None:
    alice, bob = pair
    folder = alice.drive.mkdir(alice.drive.root(), "shared")
    real = sharing.contact(alice.drive, bob.email)
    alice_pins = sharing.Pins(alice.keys.user_id.hex())
    alice_pins.accept_new(real, verified=True)  # alice compared fingerprints with bob

    drive, server = wired(app, make_api, alice)
    forged = forged_statement(bytes.fromhex(real.user_id))

    def swap(body: dict[str, Any], _x: object) -> dict[str, Any]:
        for c in body["contacts"]:
            if c["user_id"] == real.user_id:
                c["public_keys"] = b64(forged)
        return body

    server.on_json("GET", r"/v1/contacts$", swap)
    member = sharing.contact(drive, bob.email)
    with pytest.raises(KeyChanged):
        sharing.share_folder(drive, folder, member, "read")
    assert server.requests("POST", r"/v1/shares$") == []


def test_a10_a_key_seen_first_is_caught_by_the_fingerprint(
    pair: tuple[User, User], app: FastAPI, make_api: Callable[..., Api]
) -> None:
    """Even when the server substitutes a key before alice ever saw bob's, comparing
    fingerprints shows it; and sharing to an unverified key needs consent."""
    alice, bob = pair
    folder = alice.drive.mkdir(alice.drive.root(), "shared")
    drive, server = wired(app, make_api, alice)
    real_fp = bob.keys.identity.public.fingerprint()
    forged = forged_statement(bob.keys.user_id)

    def swap(body: dict[str, Any], _x: object) -> dict[str, Any]:
        for c in body["contacts"]:
            c["public_keys"] = b64(forged)
        return body

    server.on_json("GET", r"/v1/contacts$", swap)
    member = sharing.contact(drive, bob.email)
    with pytest.raises(Exception, match="not verified"):
        sharing.share_folder(drive, folder, member, "read")
    shown = sharing.Pins(alice.keys.user_id.hex()).get(member.user_id)
    assert shown is not None
    assert shown.identity.fingerprint() != real_fp


def test_a11_a_share_nobody_sent_is_refused(pair: tuple[User, User], store_for: Any) -> None:
    """The server delivers to bob a share 'from alice' that it made itself."""
    alice, bob = pair
    sharing.Pins(bob.keys.user_id.hex()).check(sharing.contact(bob.drive, alice.email))
    folder = alice.drive.mkdir(alice.drive.root(), "real")
    impostor = Identity.generate(alice.keys.user_id)  # the server's keys, alice's id
    share_id = os.urandom(16)
    facts = cs.ShareFacts(
        share_id, alice.keys.user_id, bob.keys.user_id, bytes.fromhex(folder.id), cs.Access.FULL
    )
    envelope = cs.seal_share(impostor, bob.keys.identity.public, facts, os.urandom(32))
    store = store_for()
    with store.ctx.db.write() as db:
        db.add(
            t.Share(
                id=share_id.hex(),
                folder_id=folder.id,
                owner_id=alice.keys.user_id.hex(),
                member_id=bob.keys.user_id.hex(),
                access=3,
                envelope=envelope,
                accepted=True,
                created_at=time.time(),
            )
        )
    (info,) = bob.api.shares().incoming
    with pytest.raises(IntegrityError):
        sharing.open_incoming(bob.drive, info)


def test_a11_a_share_with_other_facts_is_refused(pair: tuple[User, User]) -> None:
    """A real share, but the server claims another access level or folder for it."""
    alice, bob = pair
    folder = alice.drive.mkdir(alice.drive.root(), "real")
    other = alice.drive.mkdir(alice.drive.root(), "other")
    sharing.share_folder(
        alice.drive, folder, sharing.contact(alice.drive, bob.email), "read", allow_unverified=True
    )
    (info,) = bob.api.shares().incoming
    sharing.open_incoming(bob.drive, info)  # as sent: fine
    for forged in (
        info.model_copy(update={"access": "full"}),
        info.model_copy(update={"folder_id": other.id}),
        info.model_copy(update={"id": os.urandom(16).hex()}),
    ):
        with pytest.raises(IntegrityError):
            sharing.open_incoming(bob.drive, forged)


def test_a9_a_read_only_member_cannot_write_what_others_accept(
    pair: tuple[User, User], store_for: Any
) -> None:
    """Bob has the folder key (read access) and the server's help: he seals a perfectly
    valid node into alice's shared folder and signs it himself. Alice refuses it."""
    alice, bob = pair
    folder = alice.drive.mkdir(alice.drive.root(), "shared")
    sharing.share_folder(
        alice.drive, folder, sharing.contact(alice.drive, bob.email), "read", allow_unverified=True
    )
    (info,) = bob.api.shares().incoming
    info = bob.api.accept_share(info.id)
    opened = sharing.open_incoming(bob.drive, info)
    shared_root = sharing.ShareDrive(bob.drive, opened).root()
    request, _key = bob.drive.new_node(shared_root, "planted", cn.Kind.FOLDER)  # signed by bob
    store = store_for()
    with store.ctx.db.write() as db:
        db.add(
            t.Node(
                id=request.id,
                owner_id=alice.keys.user_id.hex(),
                parent_id=folder.id,
                kind="folder",
                key=request.key,
                meta=request.meta,
                name_tag=request.name_tag,
                created_at=time.time(),
                updated_at=time.time(),
                version_count=0,
                author_id=bob.keys.user_id.hex(),
                signature=request.signature,
            )
        )
    fresh = Drive(alice.api, alice.keys)
    with pytest.raises(IntegrityError):
        fresh.children(fresh.resolve("shared"))
    # The same node claiming to be alice's, with bob's signature, fails as well.
    with store.ctx.db.write() as db:
        node = db.get_one(t.Node, request.id)
        node.author_id = alice.keys.user_id.hex()
    with pytest.raises(IntegrityError):
        Drive(alice.api, alice.keys).children(fresh.resolve("shared"))


def test_a12_no_request_carries_a_link_key_or_password(
    user: User, app: FastAPI, make_api: Callable[..., Api], tmp_path: Any
) -> None:
    local = tmp_path / "f.txt"
    local.write_bytes(b"linked")
    from coffre.client.upload import Uploader

    Uploader(user.drive).put(local, user.drive.root(), "f.txt")
    entry = user.drive.resolve("f.txt")
    _, url = links.create(user.drive, entry)
    password = "a link password 123"
    _, password_url = links.create(user.drive, entry, password=password)
    assert url.key is not None

    server = MaliciousTransport(InProcessTransport(app))
    api = make_api(transport=server)
    links.open_link(api, url)
    opened = links.open_link(api, password_url, password=password)
    assert opened.root.name == "f.txt"
    secrets = [
        url.key,
        url.key.hex().encode(),
        b64(url.key).encode(),
        b64(url.key).rstrip("=").encode(),
        password.encode(),
    ]
    for sent in server.requests():
        blob = json.dumps(
            {"path": sent.path, "query": str(sent.query), "body": str(sent.body)}
        ).encode()
        for secret in secrets:
            assert secret not in blob, sent.path


@pytest.fixture
def store_for(app: FastAPI) -> Callable[[], ServerStore]:
    return lambda: ServerStore(app)
