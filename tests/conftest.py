"""Shared fixtures: a real server app in-process, accounts, drives.

In-process tests talk to the ASGI app through :class:`InProcessTransport`, the same client
code the CLI uses; end-to-end tests (tests/e2e) start real ``coffre serve`` processes.

The server's database is SQLite unless a test folder overrides ``database_url``
(tests/server runs every test on SQLite and on PostgreSQL). PostgreSQL and SeaweedFS are
real: a database of this session's on the local PostgreSQL, and ``weed`` processes on
loopback ports (tests/scaleout.py). Where either cannot run, the tests that need it are
skipped, saying why, unless ``COFFRE_REQUIRE_SCALEOUT=1`` (as in CI), which fails them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from coffre.client import account
from coffre.client.account import AccountKeys
from coffre.client.api import Api
from coffre.client.drive import Drive
from coffre.client.inprocess import InProcessTransport
from coffre.server.app import create_app
from coffre.server.config import Settings
from tests import scaleout

BASE = "http://coffre.test"
_emails = itertools.count(1)


@pytest.fixture
def database_url() -> str:
    """The server's database: empty for SQLite in the data folder."""
    return ""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "server",
        gc_interval=0,
        min_chunk_size=1024,
        database_url=database_url,
    )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this session's on the local PostgreSQL, migrated; dropped at the end."""
    yield from scaleout.session_database()


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    scaleout.empty_database(postgres_database)
    return postgres_database


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[scaleout.SeaweedFS]:
    """SeaweedFS (master, one volume server, filer with S3) for this session."""
    yield from scaleout.session_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.ctx.db.dispose()


@pytest.fixture
def make_api(app: FastAPI) -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(token: str | None = None, *, transport: object | None = None) -> Api:
        api = Api(BASE, token=token, transport=transport or InProcessTransport(app), retry_for=0)  # type: ignore[arg-type]
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()
        transport = api.http._transport
        transport.close()


@dataclass
class User:
    email: str
    password: str
    api: Api
    keys: AccountKeys
    drive: Drive


@pytest.fixture
def make_user(make_api: Callable[..., Api]) -> Callable[..., User]:
    def make(email: str | None = None, password: str = "correct horse battery staple") -> User:
        email = email or f"user{next(_emails)}@example.org"
        api = make_api()
        response, keys = account.signup(api, email, password)
        api.token = response.token
        return User(email, password, api, keys, Drive(api, keys))

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()
