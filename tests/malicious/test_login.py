"""The server attacks the login: keys (A1), password hashing (A2), decryption oracles (A3).

Every login costs an Argon2id derivation, so the accounts live for the whole module, on a
server of the module's own (with the failed-login limits raised, since several tests make
the honest server refuse). Rules on the wire never change the server's state; the tests
that rewrite the database put the rows back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from coffre.client import account
from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.crypto import _primitives as p
from coffre.crypto import account as ca
from coffre.crypto.identity import Identity
from coffre.errors import DowngradeError, IntegrityError, Unauthenticated
from coffre.server.app import create_app
from coffre.server.config import Settings
from coffre.server.db import tables as t
from coffre.server.services.accounts import key_bundle
from tests.conftest import BASE
from tests.malicious.harness import (
    Exchange,
    MaliciousTransport,
    ServerStore,
    b64,
    flip_b64,
    json_response,
    unb64,
)

PASSWORD = "correct horse battery staple"
PRELOGIN = "/v1/auth/prelogin"
LOGIN = "/v1/auth/login"
ENVELOPES = ("master_key", "identity_keys", "root_key")


@dataclass
class Account:
    email: str
    user_id: str


@dataclass
class World:
    app: FastAPI
    store: ServerStore
    alice: Account
    bob: Account


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("login") / "server",
        gc_interval=0,
        min_chunk_size=1024,
        login_failures_per_account=10_000,
        login_failures_per_address=10_000,
    )
    app = create_app(settings)
    accounts: list[Account] = []
    for name in ("alice", "bob"):
        transport = InProcessTransport(app)
        with Api(BASE, transport=transport, retry_for=0) as api:
            _, keys = account.signup(api, f"{name}@example.org", PASSWORD)
            accounts.append(Account(keys.email, keys.user_id.hex()))
    yield World(app, ServerStore(app), *accounts)
    app.state.ctx.db.dispose()


@dataclass
class Wire:
    server: MaliciousTransport
    api: Api

    def paths(self) -> list[str]:
        return [s.path for s in self.server.requests()]

    def login_bodies(self) -> list[dict[str, Any]]:
        return [s.json() for s in self.server.requests("POST", LOGIN)]


@pytest.fixture
def wire(world: World) -> Iterator[Wire]:
    server = MaliciousTransport(InProcessTransport(world.app))
    api = Api(BASE, transport=server, retry_for=0)
    yield Wire(server, api)
    api.close()  # closes the transport too


@contextlib.contextmanager
def rows_restored(store: ServerStore, user_id: str) -> Iterator[None]:
    saved = store.row(t.User, user_id)
    columns = ("kdf_salt", "master_key", "identity_keys", "public_keys", "root_key", "root_id")
    try:
        yield
    finally:
        store.update(t.User, user_id, **{c: getattr(saved, c) for c in columns})


def bundle_of(world: World, who: Account) -> dict[str, Any]:
    """The key bundle the honest server holds for ``who``, as JSON."""
    return key_bundle(world.store.row(t.User, who.user_id)).model_dump(mode="json")


def refused_login(wire: Wire, world: World, error: type[Exception] = IntegrityError) -> str:
    """Log alice in through the wire, expect ``error``, and check nothing followed the login."""
    with pytest.raises(error) as caught:
        account.login(wire.api, world.alice.email, PASSWORD)
    # A3: once the login's answer fails to open, the client sends nothing more.
    assert wire.paths() == [PRELOGIN, LOGIN]
    return str(caught.value)


def edit_keys(fn: Callable[[dict[str, Any]], None]) -> Callable[[Any, Exchange], Any]:
    def rewrite(body: Any, _x: Exchange) -> Any:
        fn(body["keys"])
        return body

    return rewrite


# -- A1: the account's keys ---------------------------------------------------------------


def test_a1_honest_login_works(world: World, wire: Wire) -> None:
    """The baseline every other test in this module departs from."""
    _, keys = account.login(wire.api, world.alice.email, PASSWORD)
    assert keys.user_id.hex() == world.alice.user_id
    assert wire.paths() == [PRELOGIN, LOGIN]


@pytest.mark.parametrize(
    ("field", "index"),
    [("master_key", 20), ("master_key", -1), ("identity_keys", 50), ("root_key", 0)],
    ids=["master-key-commitment", "master-key-tag", "identity-keys-body", "root-key-version"],
)
def test_a1_tampered_key_envelope_in_login_answer(
    world: World, wire: Wire, field: str, index: int
) -> None:
    """A bit flipped anywhere in a wrapped key: login fails with an integrity error."""

    def tamper(keys: dict[str, Any]) -> None:
        keys[field] = flip_b64(keys[field], index)

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    message = refused_login(wire, world)
    assert "integrity check failed" in message


@pytest.mark.parametrize("field", [*ENVELOPES, "public_keys"])
def test_a1_other_users_key_material_swapped_into_bundle(
    world: World, wire: Wire, field: str
) -> None:
    """Bob's wrapped keys or published keys served as alice's: refused."""
    bob = bundle_of(world, world.bob)

    def tamper(keys: dict[str, Any]) -> None:
        keys[field] = bob[field]

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    refused_login(wire, world)


@pytest.mark.parametrize("field", ["user_id", "root_id"])
def test_a1_bundle_ids_rewritten(world: World, wire: Wire, field: str) -> None:
    """The ids the envelopes are bound to cannot be changed: user id and root folder id."""

    def tamper(keys: dict[str, Any]) -> None:
        keys[field] = world.bob.user_id if field == "user_id" else p.random_bytes(16).hex()

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    refused_login(wire, world)


def test_a1_whole_bundle_of_another_user(world: World, wire: Wire) -> None:
    """The server answers alice's (correct) password with bob's complete bundle."""
    bob = bundle_of(world, world.bob)
    wire.server.on_json("POST", LOGIN, lambda body, _x: {**body, "keys": bob})
    refused_login(wire, world)


def test_a1_forged_public_keys_signed_by_the_server(world: World, wire: Wire) -> None:
    """A self-signed statement naming alice but carrying the server's own keys.

    Its layout, owner and signature are all valid; it is refused only because it does not
    match the private keys alice's master key opens.
    """
    forged = Identity.generate(bytes.fromhex(world.alice.user_id)).publish()

    def tamper(keys: dict[str, Any]) -> None:
        keys["public_keys"] = b64(forged)

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    refused_login(wire, world)


def test_a1_kdf_params_in_bundle_differ_from_prelogin(world: World, wire: Wire) -> None:
    def tamper(keys: dict[str, Any]) -> None:
        keys["kdf"]["time_cost"] += 1

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    refused_login(wire, world)


@pytest.mark.parametrize(
    "columns",
    [("master_key",), ("identity_keys", "public_keys")],
    ids=["master-key", "identity"],
)
def test_a1_database_rows_swapped_with_another_users(
    world: World, wire: Wire, columns: tuple[str, ...]
) -> None:
    """The operator copies bob's key columns into alice's row: her next login fails."""
    bob = world.store.row(t.User, world.bob.user_id)
    with rows_restored(world.store, world.alice.user_id):
        world.store.update(t.User, world.alice.user_id, **{c: getattr(bob, c) for c in columns})
        refused_login(wire, world)


def test_a1_root_key_row_of_another_user(world: World, wire: Wire) -> None:
    """Bob's root folder (id and wrapped key together) put into alice's row."""
    bob = world.store.row(t.User, world.bob.user_id)
    with rows_restored(world.store, world.alice.user_id):
        world.store.update(t.User, world.alice.user_id, root_id=bob.root_id, root_key=bob.root_key)
        refused_login(wire, world)


def test_the_bundle_email_must_be_the_one_typed(world: World, wire: Wire) -> None:
    """The email in the key bundle is covered by no envelope or signature, so the client
    compares it with the address the user typed rather than believing the server."""

    def tamper(keys: dict[str, Any]) -> None:
        keys["email"] = "mallory@example.org"

    wire.server.on_json("POST", LOGIN, edit_keys(tamper))
    with pytest.raises(IntegrityError):
        account.login(wire.api, world.alice.email, PASSWORD)


# -- A2: password-hashing parameters ------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"time_cost": 2},
        {"time_cost": 1, "memory_kib": 8},
        {"memory_kib": 64 * 1024 - 1},
        {"memory_kib": 1024},
        {"time_cost": 17},
        {"memory_kib": 2 * 1024 * 1024},
        {"lanes": 9},
    ],
    ids=["t2", "t1-m8", "m-1KiB", "m1MiB", "t17", "m2GiB", "p9"],
)
def test_a2_weak_or_absurd_params_refused_before_any_secret_leaves(
    world: World, wire: Wire, change: dict[str, int]
) -> None:
    """Downgraded (or denial-of-service) Argon2id parameters: DowngradeError, no login sent."""
    wire.server.on_json("POST", PRELOGIN, lambda body, _x: {"kdf": {**body["kdf"], **change}})
    with pytest.raises(DowngradeError):
        account.login(wire.api, world.alice.email, PASSWORD)
    assert wire.paths() == [PRELOGIN]
    assert wire.server.requests("POST", LOGIN) == []


def test_a2_short_salt_refused_before_any_secret_leaves(world: World, wire: Wire) -> None:
    """An 8-byte salt is refused by the wire model: a malformed answer is an integrity error."""
    wire.server.on_json(
        "POST", PRELOGIN, lambda body, _x: {"kdf": {**body["kdf"], "salt": b64(b"\x00" * 8)}}
    )
    with pytest.raises(IntegrityError):
        account.login(wire.api, world.alice.email, PASSWORD)
    assert wire.paths() == [PRELOGIN]


def _accept_any_secret(world: World, *, kdf: dict[str, Any] | None) -> Callable[[Exchange], Any]:
    """A login endpoint that lets anyone in and hands out alice's real bundle."""

    def answer(_x: Exchange) -> Any:
        keys = bundle_of(world, world.alice)
        if kdf is not None:
            keys["kdf"] = kdf
        return json_response({"token": "cfs_fake", "session_id": "0" * 32, "keys": keys})

    return answer


@pytest.mark.parametrize(
    ("change", "server"),
    [
        ({"salt": "fresh"}, "honest"),
        ({"salt": "fresh"}, "accepts-anything"),
        ({"salt": "fresh"}, "consistent-liar"),
        ({"time_cost": 4}, "honest"),
        ({"lanes": 2}, "consistent-liar"),
    ],
    ids=["salt-honest", "salt-accepts", "salt-liar", "t4-honest", "p2-liar"],
)
def test_a2_changed_but_strong_params_are_not_silently_used(
    world: World, wire: Wire, change: dict[str, Any], server: str
) -> None:
    """Other (strong enough) parameters at prelogin: the login fails, it never half-works.

    - ``honest``: the real server checks the auth secret, which depends on the parameters
      (they are bound into the derivation): ``Unauthenticated``.
    - ``accepts-anything``: the server lets the login through and returns the true bundle,
      whose parameters differ from those at prelogin: ``IntegrityError``.
    - ``consistent-liar``: it also rewrites the bundle's parameters to match; the master key
      was wrapped under a key derived with the true ones: ``IntegrityError``.
    """
    if change.get("salt") == "fresh":
        change = {"salt": b64(p.random_bytes(16))}
    changed: dict[str, Any] = {}

    def rewrite(body: Any, _x: Exchange) -> Any:
        changed.update({**body["kdf"], **change})
        return {"kdf": changed}

    wire.server.on_json("POST", PRELOGIN, rewrite)
    if server != "honest":
        lie = {**bundle_of(world, world.alice)["kdf"], **change}
        wire.server.answer(
            "POST",
            LOGIN,
            _accept_any_secret(world, kdf=lie if server == "consistent-liar" else None),
        )
    refused_login(wire, world, Unauthenticated if server == "honest" else IntegrityError)
    assert changed != bundle_of(world, world.alice)["kdf"]


# -- A3: no decryption oracle -------------------------------------------------------------


def test_a3_login_sends_only_a_secret_derived_from_the_password(world: World, wire: Wire) -> None:
    """Whatever the server answers, the one secret it gets is the same, and it is what the
    password and the account's own parameters give; nothing depends on server ciphertext."""
    bob = bundle_of(world, world.bob)
    tamperings: list[Callable[[dict[str, Any]], None]] = [
        lambda keys: keys.update(master_key=flip_b64(keys["master_key"], -1)),
        lambda keys: keys.update(identity_keys=bob["identity_keys"]),
        lambda keys: keys.update(master_key=bob["master_key"], user_id=bob["user_id"]),
    ]
    for tamper in tamperings:
        wire.server.clear()
        wire.server.on_json("POST", LOGIN, edit_keys(tamper))
        with pytest.raises(IntegrityError):
            account.login(wire.api, world.alice.email, PASSWORD)
    wire.server.clear()
    account.login(wire.api, world.alice.email, PASSWORD)  # and one honest login

    bodies = wire.login_bodies()
    assert len(bodies) == len(tamperings) + 1
    assert all(set(b) <= {"email", "auth_secret", "device"} for b in bodies)
    assert {b["auth_secret"] for b in bodies} == {bodies[-1]["auth_secret"]}

    row = world.store.row(t.User, world.alice.user_id)
    params = ca.KdfParams(row.kdf_time_cost, row.kdf_memory_kib, row.kdf_lanes, row.kdf_salt)
    expected = ca.derive_login_secrets(PASSWORD, params).auth_secret
    assert unb64(bodies[-1]["auth_secret"]) == expected
    # Only the prelogin and login of each attempt went out: no request after a failure.
    assert wire.paths() == [PRELOGIN, LOGIN] * (len(tamperings) + 1)
