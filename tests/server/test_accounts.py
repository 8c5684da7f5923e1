"""Prelogin, signup, login, sessions, logout, password change and recovery, over HTTP."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.crypto import account as ca
from coffre.errors import BadRequest, Conflict, NotFound, Unauthenticated
from coffre.protocol import models as m
from coffre.server.app import create_app
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.services import accounts
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, kdf, sealed, signup_request, wire


def _default(params: m.KdfParams) -> tuple[int, int, int]:
    return params.time_cost, params.memory_kib, params.lanes


# -- prelogin -----------------------------------------------------------------------------


def test_prelogin_gives_an_account_its_own_parameters(
    make_api: Callable[..., Api], alice: Account
) -> None:
    keys = alice.api.keys()
    other = make_api()
    assert other.prelogin(alice.email).kdf == keys.kdf
    assert other.prelogin(alice.email.upper()).kdf == keys.kdf


def test_prelogin_for_unknown_emails_is_made_up_and_stable(make_api: Callable[..., Api]) -> None:
    api = make_api()
    first = api.prelogin("nobody@example.org").kdf
    again = api.prelogin("nobody@example.org").kdf
    shouted = api.prelogin("NOBODY@Example.org").kdf
    other = api.prelogin("somebody-else@example.org").kdf
    assert first == again == shouted
    assert other.salt != first.salt
    assert len(first.salt) == ca.SALT_SIZE
    expected = (ca.DEFAULT.time_cost, ca.DEFAULT.memory_kib, ca.DEFAULT.lanes)
    assert _default(first) == _default(other) == expected


def test_prelogin_answers_look_alike_for_known_and_unknown(
    make_api: Callable[..., Api], alice: Account
) -> None:
    http = make_api().http
    known = http.post("/v1/auth/prelogin", json={"email": alice.email})
    unknown = http.post("/v1/auth/prelogin", json={"email": "ghost@example.org"})
    assert known.status_code == unknown.status_code == 200
    a, b = known.json()["kdf"], unknown.json()["kdf"]
    assert set(a) == set(b)
    assert len(a["salt"]) == len(b["salt"])
    assert {k: v for k, v in a.items() if k != "salt"} == {
        k: v for k, v in b.items() if k != "salt"
    }


def test_prelogin_made_up_parameters_survive_a_restart(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    """The secret behind made-up salts is kept in the database, not in memory."""
    first = make_api().prelogin("ghost@example.org").kdf
    restarted = create_app(settings)
    try:
        again = make_api(transport=InProcessTransport(restarted)).prelogin("ghost@example.org")
        assert again.kdf == first
    finally:
        restarted.state.ctx.db.dispose()


# -- signup -------------------------------------------------------------------------------


def test_signup_returns_a_session_and_the_key_bundle(make_api: Callable[..., Api]) -> None:
    api = make_api()
    request = signup_request("Carol@Example.org ", os.urandom(32), os.urandom(32))
    response = api.http.post("/v1/auth/signup", json=wire(request))
    assert response.status_code == 201
    body = m.LoginResponse.model_validate_json(response.content)
    assert body.keys.email == "carol@example.org"
    assert body.keys.user_id == request.user_id
    assert body.keys.root_id == request.root_id
    assert body.keys.master_key == request.master_key
    assert body.keys.root_key == request.root_key
    assert body.keys.kdf == request.kdf
    api.token = body.token
    info = api.account()
    assert info.user_id == request.user_id
    assert info.storage_used == 0
    root = api.node(request.root_id)
    assert root.parent_id is None and root.kind == "folder" and root.meta is None
    assert api.children(request.root_id) == []


def test_signup_twice_with_one_email_is_refused(
    make_api: Callable[..., Api], alice: Account
) -> None:
    api = make_api()
    for email in (alice.email, alice.email.upper()):
        with pytest.raises(Conflict) as caught:
            api.signup(signup_request(email, os.urandom(32), os.urandom(32)))
        assert caught.value.code == "email_taken"


def test_signup_with_ids_in_use_is_refused(make_api: Callable[..., Api], alice: Account) -> None:
    api = make_api()
    for ids in ({"user_id": alice.user_id}, {"root_id": alice.root_id}):
        request = signup_request("new@example.org", os.urandom(32), os.urandom(32), **ids)
        with pytest.raises(Conflict) as caught:
            api.signup(request)
        assert caught.value.code == "id_taken"


@pytest.mark.parametrize(
    "weak",
    [
        {"time_cost": 2},
        {"memory_kib": 32 * 1024},
    ],
)
def test_signup_with_weak_kdf_parameters_is_refused(
    make_api: Callable[..., Api], weak: dict[str, object]
) -> None:
    api = make_api()
    request = signup_request("weak@example.org", os.urandom(32), os.urandom(32), kdf=kdf(**weak))
    response = api.http.post("/v1/auth/signup", json=wire(request))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_kdf"
    # Nothing was created: the address is still free.
    api.signup(signup_request("weak@example.org", os.urandom(32), os.urandom(32)))


def test_signup_with_absurd_kdf_parameters_is_refused(make_api: Callable[..., Api]) -> None:
    api = make_api()
    request = signup_request("big@example.org", os.urandom(32), os.urandom(32), kdf=kdf(lanes=9))
    with pytest.raises(BadRequest) as caught:
        api.signup(request)
    assert caught.value.code == "weak_kdf"


# -- login --------------------------------------------------------------------------------


def test_login_with_the_right_secret(make_api: Callable[..., Api], alice: Account) -> None:
    api = make_api()
    response = api.login(m.LoginRequest(email=alice.email.upper(), auth_secret=alice.auth_secret))
    assert response.keys == alice.api.keys()
    assert response.token != alice.api.token
    assert response.session_id != alice.session_id
    api.token = response.token
    assert api.account().user_id == alice.user_id


def test_login_with_a_wrong_secret_or_email(make_api: Callable[..., Api], alice: Account) -> None:
    api = make_api()
    for request in (
        alice.login_request(os.urandom(32)),
        m.LoginRequest(email="nobody@example.org", auth_secret=alice.auth_secret),
        # The recovery verifier is no password.
        alice.login_request(alice.recovery_verifier),
    ):
        with pytest.raises(Unauthenticated) as caught:
            api.login(request)
        assert caught.value.code == "invalid_credentials"
        assert caught.value.message == "wrong email address or password"


def test_the_token_is_opaque_and_checked(make_api: Callable[..., Api], alice: Account) -> None:
    assert alice.api.token is not None
    api = make_api(alice.api.token + "x")
    with pytest.raises(Unauthenticated) as caught:
        api.account()
    assert caught.value.code == "invalid_session"
    response = api.http.get("/v1/account", headers={"authorization": f"Basic {alice.api.token}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    response = api.http.get("/v1/account", headers={"authorization": "Bearer "})
    assert response.json()["error"]["code"] == "unauthenticated"
    # The scheme is case-insensitive and spaces around the token do not matter.
    response = api.http.get("/v1/account", headers={"authorization": f"bearer  {alice.api.token}"})
    assert response.status_code == 200


# -- sessions -----------------------------------------------------------------------------


def test_sessions_are_listed_and_revoked(make_api: Callable[..., Api], alice: Account) -> None:
    second = make_api()
    login = second.login(
        m.LoginRequest(email=alice.email, auth_secret=alice.auth_secret, device="phone")
    )
    second.token = login.token
    listed = alice.api.sessions().sessions
    assert [s.id for s in listed] == [alice.session_id, login.session_id]
    assert [s.current for s in listed] == [True, False]
    assert listed[1].device == "phone"
    assert listed[0].device is not None and listed[0].device.startswith("coffre/")
    assert {s.ip for s in listed} == {"127.0.0.1"}
    assert [s.current for s in second.sessions().sessions] == [False, True]

    alice.api.revoke_session(login.session_id)
    with pytest.raises(Unauthenticated):
        second.account()
    assert [s.id for s in alice.api.sessions().sessions] == [alice.session_id]
    with pytest.raises(NotFound) as caught:
        alice.api.revoke_session(login.session_id)
    assert caught.value.code == "session_not_found"


def test_revoking_the_current_session_signs_out(alice: Account) -> None:
    alice.api.revoke_session(alice.session_id)
    with pytest.raises(Unauthenticated):
        alice.api.sessions()


def test_logout_invalidates_the_token(make_api: Callable[..., Api], alice: Account) -> None:
    other = make_api()
    other.token = other.login(alice.login_request()).token
    token = alice.api.token
    alice.api.logout()
    for api in (alice.api, make_api(token)):
        with pytest.raises(Unauthenticated) as caught:
            api.account()
        assert caught.value.code == "invalid_session"
        with pytest.raises(Unauthenticated):
            api.logout()
    # Only that session ended.
    assert [s.current for s in other.sessions().sessions] == [True]


# -- password change ----------------------------------------------------------------------


def _password_change(current: bytes, new: bytes) -> m.PasswordChangeRequest:
    return m.PasswordChangeRequest(
        auth_secret=current, kdf=kdf(), new_auth_secret=new, master_key=sealed()
    )


def test_password_change_ends_other_sessions(make_api: Callable[..., Api], alice: Account) -> None:
    others = [make_api(), make_api()]
    for api in others:
        api.token = api.login(alice.login_request()).token
    new_secret = os.urandom(32)
    request = _password_change(alice.auth_secret, new_secret)
    alice.api.change_password(request)

    for api in others:
        with pytest.raises(Unauthenticated):
            api.account()
    assert [s.id for s in alice.api.sessions().sessions] == [alice.session_id]

    bundle = alice.api.keys()
    assert bundle.kdf == request.kdf
    assert bundle.master_key == request.master_key
    assert make_api().prelogin(alice.email).kdf == request.kdf

    fresh = make_api()
    with pytest.raises(Unauthenticated):
        fresh.login(alice.login_request())
    assert fresh.login(alice.login_request(new_secret)).keys == bundle


def test_password_change_needs_the_current_password(
    make_api: Callable[..., Api], alice: Account
) -> None:
    other = make_api()
    other.token = other.login(alice.login_request()).token
    with pytest.raises(Unauthenticated) as caught:
        alice.api.change_password(_password_change(os.urandom(32), os.urandom(32)))
    assert caught.value.code == "invalid_credentials"
    # Nothing changed: the old secret still works and no session ended.
    assert other.account().user_id == alice.user_id
    assert alice.api.account().user_id == alice.user_id
    make_api().login(alice.login_request())


def test_password_change_refuses_weak_parameters(alice: Account) -> None:
    request = _password_change(alice.auth_secret, os.urandom(32))
    request = request.model_copy(update={"kdf": kdf(time_cost=1)})
    with pytest.raises(BadRequest) as caught:
        alice.api.change_password(request)
    assert caught.value.code == "weak_kdf"


# -- recovery -----------------------------------------------------------------------------


def test_recovery_needs_the_verifier(make_api: Callable[..., Api], alice: Account) -> None:
    api = make_api()
    bundle = api.recovery_keys(
        m.RecoveryProof(email=alice.email, recovery_verifier=alice.recovery_verifier)
    )
    assert bundle == alice.api.keys()
    for secret in (os.urandom(32), alice.auth_secret):
        with pytest.raises(Unauthenticated) as caught:
            api.recovery_keys(m.RecoveryProof(email=alice.email, recovery_verifier=secret))
        assert caught.value.code == "invalid_credentials"


def test_recovery_sets_a_new_password_and_ends_every_session(
    make_api: Callable[..., Api], alice: Account
) -> None:
    api = make_api()
    new_secret = os.urandom(32)
    request = m.RecoverRequest(
        email=alice.email,
        recovery_verifier=alice.recovery_verifier,
        kdf=kdf(),
        auth_secret=new_secret,
        master_key=sealed(),
    )
    wrong = request.model_copy(update={"recovery_verifier": os.urandom(32)})
    with pytest.raises(Unauthenticated):
        api.recover(wrong)
    assert alice.api.account().user_id == alice.user_id

    response = api.recover(request)
    assert response.keys.master_key == request.master_key
    with pytest.raises(Unauthenticated):
        alice.api.account()
    api.token = response.token
    assert [s.id for s in api.sessions().sessions] == [response.session_id]
    with pytest.raises(Unauthenticated):
        make_api().login(alice.login_request())
    make_api().login(alice.login_request(new_secret))


def test_accounts_are_independent(make_account: MakeAccount) -> None:
    one, two = make_account(), make_account()
    assert one.api.account().user_id == one.user_id
    assert two.api.account().user_id == two.user_id
    assert one.api.sessions().sessions[0].id == one.session_id
    with pytest.raises(NotFound) as caught:
        one.api.revoke_session(two.session_id)
    assert caught.value.code == "session_not_found"
    assert two.api.account().user_id == two.user_id


def _age_session(app: FastAPI, session_id: str, seconds: float) -> float:
    """Move the session's last_seen_at back; the time it now says."""
    ctx: Context = app.state.ctx
    with ctx.db.write() as db:
        session = db.get_one(t.Session, session_id)
        session.last_seen_at -= seconds
        return session.last_seen_at


def test_a_request_notes_when_the_session_was_last_seen(app: FastAPI, alice: Account) -> None:
    """About once a minute: an older last_seen_at is brought up to date by a request."""
    old = _age_session(app, alice.session_id, 3600)
    alice.api.account()
    (listed,) = alice.api.sessions().sessions
    assert listed.last_seen > old + 3000


def test_noting_last_seen_never_waits_for_writers(app: FastAPI, alice: Account) -> None:
    """With another writer of the process at work, a request goes on and leaves the note to
    a later one (on PostgreSQL there is no such wait to avoid: it writes the row)."""
    ctx: Context = app.state.ctx
    old = _age_session(app, alice.session_id, 3600)
    with ctx.db.write_if_free() as busy:
        # Our own bookkeeping write holds the process's writer lock, as any writer would.
        if ctx.db.is_sqlite:
            assert busy is not None
            with ctx.db.write_if_free() as skipped:
                assert skipped is None
            principal = accounts.authenticate(ctx, alice.api.token or "")
            assert principal.session_id == alice.session_id
    with ctx.db.read() as db:
        seen = db.get_one(t.Session, alice.session_id).last_seen_at
    assert seen == old or not ctx.db.is_sqlite  # not noted while the lock was taken...
    alice.api.account()
    (listed,) = alice.api.sessions().sessions
    assert listed.last_seen > old + 3000  # ...and noted by the next request
