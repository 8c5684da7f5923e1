"""Fixtures for the HTTP API tests: accounts made of raw requests, the blob folder, and
both databases (every test here runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.client.api import Api
from coffre.server.config import Settings
from tests.server.raw import Account, signup_request

_numbers = itertools.count(1)
MakeAccount = Callable[..., Account]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every API test runs on both databases: SQLite (embedded), PostgreSQL (scale-out)."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def make_account(make_api: Callable[..., Api]) -> MakeAccount:
    def make(email: str | None = None, *, api: Api | None = None) -> Account:
        email = email or f"raw{next(_numbers)}@example.org"
        auth_secret, recovery_verifier = os.urandom(32), os.urandom(32)
        api = api or make_api()
        request = signup_request(email, auth_secret, recovery_verifier)
        response = api.signup(request)
        api.token = response.token
        return Account(
            email=email,
            auth_secret=auth_secret,
            recovery_verifier=recovery_verifier,
            user_id=request.user_id,
            root_id=request.root_id,
            session_id=response.session_id,
            api=api,
        )

    return make


@pytest.fixture
def alice(make_account: MakeAccount) -> Account:
    return make_account()


@pytest.fixture
def bob(make_account: MakeAccount) -> Account:
    return make_account()


@pytest.fixture
def blob_dir(settings: Settings) -> Path:
    return Path(settings.resolved_blobs)
