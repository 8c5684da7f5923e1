"""Fixtures for the malicious-server suite: a victim whose every request crosses the harness.

``victim`` is a signed-up account whose client (``victim.api``, ``victim.drive``) talks to
the real in-process server through a :class:`~tests.malicious.harness.MaliciousTransport`;
``victim.store`` is the server's database and blob folder. Uploads go through the same
client, with 1 KiB chunks (the test server's smallest), so files of a few KiB have several.

Signing up costs an Argon2id derivation and uploads cost fsyncs, so this folder overrides
the shared ``app`` and ``user`` fixtures: one account is signed up once per session on a
template server, and every test starts its own server on a copy of a template's data folder
(database and blobs). A module whose tests all need the same files builds them once with
:func:`stock` and overrides ``server_template`` to start from that copy instead. Each test
still gets a server and an account of its own, to tamper with as it likes.
``make_user`` signs up further accounts as usual.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from fastapi import FastAPI

from coffre.client import account, download, upload
from coffre.client.account import AccountKeys
from coffre.client.api import Api
from coffre.client.download import Downloader
from coffre.client.drive import Drive, Entry
from coffre.client.inprocess import InProcessTransport
from coffre.client.upload import Uploader
from coffre.server.app import create_app
from coffre.server.config import Settings
from tests.conftest import BASE, User
from tests.malicious.harness import MaliciousTransport, ServerStore

CHUNK = 1024
PASSWORD = "correct horse battery staple"
T = TypeVar("T")


@dataclass(frozen=True)
class Template:
    """A server data folder holding one signed-up account, and that account's secrets."""

    data_dir: Path
    email: str
    token: str
    keys: AccountKeys


def server_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, gc_interval=0, min_chunk_size=CHUNK)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    data_dir = tmp_path_factory.mktemp("template") / "server"
    app = create_app(server_settings(data_dir))
    transport = InProcessTransport(app)
    with Api(BASE, transport=transport, retry_for=0) as api:
        response, keys = account.signup(api, "victim@example.org", PASSWORD)
    app.state.ctx.db.dispose()  # the last connection closes: the WAL is checkpointed
    return Template(data_dir, keys.email, response.token, keys)


@pytest.fixture
def server_template(template: Template) -> Path:
    """The data folder this test's server starts from (a copy of it)."""
    return template.data_dir


@pytest.fixture
def app(server_template: Path, tmp_path: Path) -> Iterator[FastAPI]:
    """A server of the test's own, started on a copy of ``server_template``."""
    data_dir = tmp_path / "server"
    shutil.copytree(server_template, data_dir)
    application = create_app(server_settings(data_dir))
    yield application
    application.state.ctx.db.dispose()


@pytest.fixture
def user(app: FastAPI, template: Template, make_api: Callable[..., Api]) -> User:
    """The template's account, signed in (with an honest transport) on this test's server."""
    api = make_api(template.token)
    return User(template.email, PASSWORD, api, template.keys, Drive(api, template.keys))


@pytest.fixture(autouse=True)
def one_chunk_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client moves one chunk per request here, so that rules can name a chunk by its
    path; tests/malicious/test_ranges.py plays the server on ranged transfers."""
    monkeypatch.setattr(upload, "RANGE_BYTES", 0)
    monkeypatch.setattr(download, "RANGE_BYTES", 0)


@pytest.fixture(autouse=True)
def coffre_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Upload journals and sessions go to a folder of the test's own."""
    home = tmp_path / "coffre-home"
    monkeypatch.setenv("COFFRE_HOME", str(home))
    return home


@dataclass
class Victim:
    user: User
    server: MaliciousTransport
    api: Api
    drive: Drive
    store: ServerStore
    files: Path
    downloads: Path

    def write(self, name: str, data: bytes, *, mtime_ns: int | None = None) -> Path:
        path = self.files / name
        path.write_bytes(data)
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))
        return path

    def upload(
        self,
        name: str,
        data: bytes,
        parent: Entry | None = None,
        *,
        existing: Entry | None = None,
        mtime_ns: int | None = None,
    ) -> Entry:
        """Upload ``data`` as ``name`` (a new version of ``existing`` if given)."""
        parent = parent or self.drive.root()
        local = self.write(name, data, mtime_ns=mtime_ns)
        Uploader(self.drive, chunk_size=CHUNK, workers=2).put(local, parent, name, existing)
        entry = self.drive.child(parent, name)
        assert entry is not None and entry.size == len(data)
        return entry

    def download(self, entry: Entry, name: str = "out.bin") -> Path:
        """Download ``entry``'s current version into the (otherwise empty) downloads folder."""
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        dest = self.downloads / name
        Downloader(self.api, workers=2).to_file(entry.record.version, entry.version, dest)
        return dest

    def leftovers(self) -> list[str]:
        """Whatever a download left in the downloads folder."""
        return sorted(p.name for p in self.downloads.iterdir())


def open_victim(
    app: FastAPI, user: User, api: Api, server: MaliciousTransport, root: Path
) -> Victim:
    files, downloads = root / "files", root / "downloads"
    files.mkdir(parents=True)
    downloads.mkdir()
    return Victim(user, server, api, Drive(api, user.keys), ServerStore(app), files, downloads)


@pytest.fixture
def store(app: FastAPI) -> ServerStore:
    return ServerStore(app)


@pytest.fixture
def victim(user: User, app: FastAPI, make_api: Callable[..., Api], tmp_path: Path) -> Victim:
    server = MaliciousTransport(InProcessTransport(app))
    return open_victim(app, user, make_api(user.api.token, transport=server), server, tmp_path)


def stock(template: Template, root: Path, populate: Callable[[Victim], T]) -> tuple[Path, T]:
    """A new template: a copy of ``template`` in which ``populate(victim)`` has run.

    Returns the data folder (for a ``server_template`` override) and what ``populate``
    returned (entries, plaintexts), valid in every copy since ids and keys are the same.
    """
    data_dir = root / "server"
    shutil.copytree(template.data_dir, data_dir)
    app = create_app(server_settings(data_dir))
    server = MaliciousTransport(InProcessTransport(app))
    with (
        pytest.MonkeyPatch.context() as mp,
        Api(BASE, token=template.token, transport=server) as api,
    ):
        mp.setenv("COFFRE_HOME", str(root / "coffre-home"))
        user = User(template.email, PASSWORD, api, template.keys, Drive(api, template.keys))
        result = populate(open_victim(app, user, api, server, root))
    app.state.ctx.db.dispose()
    return data_dir, result
