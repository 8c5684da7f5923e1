"""Account flows of the library: signup, login, password change, recovery."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client import account
from coffre.client.account import AccountKeys
from coffre.client.api import Api
from coffre.client.drive import Drive
from coffre.crypto.account import decode_recovery_key, encode_recovery_key
from coffre.crypto.identity import STATEMENT_SIZE
from coffre.errors import Conflict, Unauthenticated, UsageError
from tests.client.helpers import fetch, put
from tests.conftest import User

LocalFile = Callable[..., Path]


def _same_keys(a: AccountKeys, b: AccountKeys) -> None:
    assert (a.user_id, a.email, a.master_key, a.root_id, a.root_key) == (
        b.user_id,
        b.email,
        b.master_key,
        b.root_id,
        b.root_key,
    )
    assert a.identity.publish()[:STATEMENT_SIZE] == b.identity.publish()[:STATEMENT_SIZE]
    assert "keys hidden" in repr(a) and a.master_key.hex() not in repr(a)


def _login(make_api: Callable[..., Api], email: str, password: str) -> tuple[Api, AccountKeys]:
    api = make_api()
    response, keys = account.login(api, email, password)
    api.token = response.token
    return api, keys


def _refused(make_api: Callable[..., Api], email: str, password: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        account.login(make_api(), email, password)
    assert caught.value.code == "invalid_credentials"


def test_signup_then_login_elsewhere_gives_the_same_keys(
    user: User, make_api: Callable[..., Api], local: LocalFile
) -> None:
    put(user.drive, local(data=b"written by the first client"), user.drive.root(), "note")
    api, keys = _login(make_api, user.email.upper(), user.password)
    _same_keys(keys, user.keys)
    other = Drive(api, keys)
    assert fetch(other, other.resolve("note")) == b"written by the first client"
    assert len(api.sessions().sessions) == 2
    _refused(make_api, user.email, user.password + "!")
    _refused(make_api, "nobody@example.org", user.password)
    with pytest.raises(Conflict) as caught:
        account.signup(make_api(), user.email, "another password")
    assert caught.value.code == "email_taken"


def test_change_password(user: User, make_api: Callable[..., Api], local: LocalFile) -> None:
    put(user.drive, local(data=b"still readable"), user.drive.root(), "f")
    elsewhere, _ = _login(make_api, user.email, user.password)
    account.change_password(user.api, user.keys, user.password, "a new password")

    with pytest.raises(Unauthenticated):  # other sessions ended
        elsewhere.account()
    assert user.api.account().email == user.email  # this one goes on

    _refused(make_api, user.email, user.password)
    api, keys = _login(make_api, user.email, "a new password")
    _same_keys(keys, user.keys)
    assert fetch(Drive(api, keys), Drive(api, keys).resolve("f")) == b"still readable"


def test_change_password_needs_the_current_one(user: User, make_api: Callable[..., Api]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        account.change_password(user.api, user.keys, "not the password", "new one")
    assert caught.value.code == "invalid_credentials"
    _login(make_api, user.email, user.password)


def test_recovery_with_the_recovery_key(
    user: User, make_api: Callable[..., Api], local: LocalFile
) -> None:
    put(user.drive, local(data=b"recovered"), user.drive.root(), "f")
    key = encode_recovery_key(user.keys.master_key)
    api = make_api()
    response, keys = account.recover(api, user.email, key.upper(), "after recovery")
    _same_keys(keys, user.keys)
    api.token = response.token
    assert fetch(Drive(api, keys), Drive(api, keys).resolve("f")) == b"recovered"

    with pytest.raises(Unauthenticated):  # every earlier session ended
        user.api.account()
    _refused(make_api, user.email, user.password)
    _, again = _login(make_api, user.email, "after recovery")
    _same_keys(again, user.keys)


def _typo(key: str) -> str:
    """``key`` with one letter mistyped (one that the checksum catches)."""
    for letter in "abcdefghijklmnopqrstuvwxyz234567":
        typo = key[:7] + letter + key[8:]
        try:
            decode_recovery_key(typo)
        except UsageError:
            return typo
    raise AssertionError("no typo found")


def test_a_wrong_recovery_key_is_refused(user: User, make_api: Callable[..., Api]) -> None:
    someone_elses = encode_recovery_key(os.urandom(32))
    with pytest.raises(Unauthenticated) as caught:
        account.recover(make_api(), user.email, someone_elses, "hijacked")
    assert caught.value.code == "invalid_credentials"

    key = encode_recovery_key(user.keys.master_key)
    typo = _typo(key)
    for bad in (typo, key[:-5], "not a key at all", ""):
        with pytest.raises(UsageError):
            account.recover(make_api(), user.email, bad, "hijacked")
    with pytest.raises(Unauthenticated):
        account.recover(make_api(), "someone@example.org", key, "hijacked")
    # Nothing changed: the password and the session still work.
    assert user.api.account().email == user.email
    _login(make_api, user.email, user.password)
