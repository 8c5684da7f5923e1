"""Failed logins are limited per account and per client address (429 with Retry-After)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.errors import RateLimited, Unauthenticated
from coffre.protocol import models as m
from coffre.server.config import Settings
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, assert_error, wire

PER_ACCOUNT = 3
PER_ADDRESS = 5
WINDOW = 600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        login_failures_per_account=PER_ACCOUNT,
        login_failures_per_address=PER_ADDRESS,
        login_window=WINDOW,
    )


@pytest.fixture
def from_address(make_api: Callable[..., Api], app: FastAPI) -> Callable[[str], Api]:
    def make(ip: str) -> Api:
        return make_api(transport=InProcessTransport(app, client=(ip, 40000)))

    return make


def _fail(api: Api, email: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        api.login(m.LoginRequest(email=email, auth_secret=os.urandom(32)))
    assert caught.value.code == "invalid_credentials"


def test_an_account_is_locked_after_its_failures(
    alice: Account, from_address: Callable[[str], Api]
) -> None:
    api = from_address("10.0.0.1")
    for _ in range(PER_ACCOUNT):
        _fail(api, alice.email)
    # Now even the right secret is refused, from any address, with the time to wait.
    for ip in ("10.0.0.1", "10.0.0.2"):
        response = from_address(ip).http.post("/v1/auth/login", json=wire(alice.login_request()))
        assert_error(response, 429, "too_many_attempts")
        assert 0 < int(response.headers["retry-after"]) <= WINDOW + 1
    with pytest.raises(RateLimited):
        api.recovery_keys(
            m.RecoveryProof(email=alice.email, recovery_verifier=alice.recovery_verifier)
        )
    # The signed-in session is not affected.
    assert alice.api.account().user_id == alice.user_id


def test_other_accounts_are_not_locked(
    make_account: MakeAccount, from_address: Callable[[str], Api]
) -> None:
    locked, other = make_account(), make_account()
    api = from_address("10.0.0.3")
    for _ in range(PER_ACCOUNT):
        _fail(api, locked.email)
    with pytest.raises(RateLimited):
        api.login(locked.login_request())
    assert api.login(other.login_request()).keys.user_id == other.user_id


def test_a_success_clears_the_account_failures(
    alice: Account, from_address: Callable[[str], Api]
) -> None:
    api = from_address("10.0.0.4")
    for _ in range(PER_ACCOUNT - 1):
        _fail(api, alice.email)
    api.login(alice.login_request())
    for _ in range(PER_ACCOUNT - 1):
        _fail(api, alice.email)
    api.login(alice.login_request())


def test_an_address_is_locked_after_its_failures(
    make_account: MakeAccount, from_address: Callable[[str], Api]
) -> None:
    alice = make_account()
    noisy = from_address("192.0.2.7")
    for i in range(PER_ADDRESS):
        _fail(noisy, f"victim{i}@example.org")
    response = noisy.http.post("/v1/auth/login", json=wire(alice.login_request()))
    assert_error(response, 429, "too_many_attempts")
    assert 0 < int(response.headers["retry-after"]) <= WINDOW + 1
    with pytest.raises(RateLimited) as caught:
        noisy.login(m.LoginRequest(email="someone@example.org", auth_secret=os.urandom(32)))
    assert caught.value.code == "too_many_attempts"
    # Another address is not locked, and neither are the accounts tried.
    quiet = from_address("192.0.2.8")
    assert quiet.login(alice.login_request()).keys.user_id == alice.user_id
    _fail(quiet, "victim0@example.org")


def test_failed_password_changes_count(alice: Account, make_api: Callable[..., Api]) -> None:
    request = m.PasswordChangeRequest(
        auth_secret=os.urandom(32),
        kdf=alice.api.keys().kdf,
        new_auth_secret=os.urandom(32),
        master_key=os.urandom(80),
    )
    for _ in range(PER_ACCOUNT):
        with pytest.raises(Unauthenticated):
            alice.api.change_password(request)
    with pytest.raises(RateLimited):
        make_api().login(alice.login_request())
