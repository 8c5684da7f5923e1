"""The cluster loses a machine, and users do not notice.

- A SeaweedFS volume server is killed while files are being read: every blob has a replica
  on the other one, and every file still downloads intact.
- An API process is killed while a file is being uploaded: the client's requests go to
  the other process (nginx skips the dead one; a request that was in flight on it is
  retried), and the upload completes.
- Two clients, each on its own API process, edit one folder at once: no update is lost, no
  name is there twice, and both processes serve the same change feed.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coffre.client import account
from coffre.client.api import Api
from coffre.client.download import Downloader
from coffre.client.drive import Drive, Entry
from coffre.client.upload import Uploader
from coffre.errors import Conflict
from coffre.protocol import models as m
from coffre.server.db import tables as t
from coffre.server.db.engine import Database
from tests.cluster.conftest import Entry as ClusterEntry
from tests.e2e.conftest import Cli
from tests.scaleout import Cluster

pytestmark = pytest.mark.cluster

PASSWORD = "a long and correct password"


@pytest.fixture
def coffre_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "coffre-home"
    monkeypatch.setenv("COFFRE_HOME", str(home))
    return home


def sign_up(url: str, email: str = "carol@example.org") -> Drive:
    api = Api(url, retry_for=30)
    response, keys = account.signup(api, email, PASSWORD)
    api.token = response.token
    return Drive(api, keys)


def log_in(url: str, email: str = "carol@example.org") -> Drive:
    api = Api(url, retry_for=30)
    response, keys = account.login(api, email, PASSWORD)
    api.token = response.token
    return Drive(api, keys)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def drive(server: ClusterEntry, coffre_home: Path) -> Iterator[Drive]:
    signed_up = sign_up(server.url)
    yield signed_up
    signed_up.api.close()


def test_reads_go_on_when_a_volume_server_is_lost(
    cluster: Cluster, drive: Drive, tmp_path: Path
) -> None:
    sources = []
    uploader = Uploader(drive)
    for i in range(6):
        path = tmp_path / f"file{i}.bin"
        path.write_bytes(os.urandom(3 * 1024 * 1024 + i * 1000))
        uploader.put(path, drive.root(), path.name)
        sources.append(path)
    entries = {e.name: e for e in drive.children(drive.root())}
    first_read = threading.Event()
    failures: list[BaseException] = []
    reads = 0

    def read_all() -> None:
        nonlocal reads
        downloader = Downloader(drive.api)
        try:
            for round_ in range(3):
                for source in sources:
                    entry = entries[source.name]
                    assert entry.record is not None and entry.record.version is not None
                    assert entry.version is not None
                    out = tmp_path / f"back-{round_}-{source.name}"
                    downloader.to_file(entry.record.version, entry.version, out)
                    assert _digest(out) == _digest(source), out
                    out.unlink()
                    reads += 1
                    first_read.set()
        except BaseException as exc:
            failures.append(exc)
            first_read.set()

    reader = threading.Thread(target=read_all)
    reader.start()
    assert first_read.wait(120)
    assert cluster.weed is not None
    cluster.weed.volume(0).kill()  # mid-way through the reads
    reader.join(300)
    assert not failures, failures
    assert reads == 3 * len(sources)
    # Read again, all of them, with the volume server still gone.
    for source in sources:
        entry = entries[source.name]
        assert entry.record is not None and entry.record.version is not None
        assert entry.version is not None
        out = tmp_path / f"after-{source.name}"
        Downloader(drive.api).to_file(entry.record.version, entry.version, out)
        assert filecmp.cmp(out, source, shallow=False)


def _uploads(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(t.Upload)) or 0)
    finally:
        db.dispose()


def test_an_upload_survives_the_loss_of_an_api_process(
    cluster: Cluster, cli: Cli, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(40 * 1024 * 1024 + 5))
    upload = cli.popen("put", str(source), "/", "--quiet")
    deadline = time.monotonic() + 120
    while _uploads(cluster.database_url) == 0:  # the upload has started
        assert upload.poll() is None, upload.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim = cluster.servers[0]
    victim.kill()
    _, err = upload.communicate(timeout=300)
    assert upload.returncode == 0, err.decode()
    back = tmp_path / "back.bin"
    cli.run("get", "big.bin", str(back))
    assert filecmp.cmp(back, source, shallow=False)
    assert _uploads(cluster.database_url) == 0


def test_a_request_in_flight_on_a_dying_process_is_retried(cluster: Cluster, drive: Drive) -> None:
    """Long polls wait on both processes (nginx alternates); one process dies: the poll it
    held fails (nginx answers 502), the client asks again, the other process answers."""
    head = drive.api.events(0).last
    results: list[m.EventList] = []
    polls = [
        threading.Thread(target=lambda: results.append(drive.api.events(head, wait=30)))
        for _ in range(2)
    ]
    for poll in polls:
        poll.start()
        time.sleep(0.3)  # let it reach its process before the next one starts
    cluster.servers[1].kill()
    made = drive.mkdir(drive.root(), "after the loss")
    for poll in polls:
        poll.join(90)
    assert [[e.node_id for e in r.events] for r in results] == [[made.id], [made.id]]


def _names(drive: Drive, folder: Entry) -> list[str]:
    return [e.name for e in drive.children(folder)]


def test_two_clients_on_two_processes_edit_one_folder(
    cluster: Cluster, server: ClusterEntry, coffre_home: Path, tmp_path: Path
) -> None:
    first, second = cluster.servers
    one = sign_up(first.url)
    other = log_in(second.url)
    try:
        shared = one.mkdir(one.root(), "shared")
        seen = {e.id for e in other.children(other.root())}
        assert shared.id in seen
        shared_there = other.child(other.root(), "shared")
        assert shared_there is not None

        def work(drive: Drive, folder: Entry, me: str) -> list[str]:
            """Folders of my own, renamed; files; and names both clients want."""
            made: list[str] = []
            uploader = Uploader(drive)
            for i in range(6):
                mine = drive.mkdir(folder, f"{me}-{i}")
                drive.move(mine, folder, f"{me}-{i}-renamed")
                made.append(f"{me}-{i}-renamed")
                path = tmp_path / f"{me}-{i}.txt"
                path.write_text(f"{me} {i}\n" * 100)
                uploader.put(path, folder, path.name)
                made.append(path.name)
                try:
                    drive.mkdir(folder, f"both-{i}")
                except Conflict as exc:
                    refused.append(exc.code)
                else:
                    made.append(f"both-{i}")
            return made

        refused: list[str] = []
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(work, one, shared, "one")
            b = pool.submit(work, other, shared_there, "other")
            made = a.result() + b.result()

        expected = sorted(set(made) | {f"both-{i}" for i in range(6)})
        for drive in (one, other):
            names = _names(drive, shared if drive is one else shared_there)
            assert len(names) == len(set(names)), "a name is there twice"
            assert sorted(names) == expected  # nothing lost
        assert sorted(made) == expected  # each "both" name was made by one client only
        assert refused == ["name_taken"] * 6  # and refused to the other

        # The change feed is the same from either process, and has no gap.
        feed_one, feed_other = one.api.events(0), other.api.events(0)
        assert feed_one == feed_other
        assert [e.seq for e in feed_one.events] == list(range(1, feed_one.last + 1))

        # A long poll on one process wakes for a change made through the other.
        waiting: list[m.EventList] = []
        poll = threading.Thread(
            target=lambda: waiting.append(other.api.events(feed_one.last, wait=30))
        )
        poll.start()
        late = one.mkdir(shared, "late")
        poll.join(60)
        assert waiting and [e.node_id for e in waiting[0].events] == [late.id]
    finally:
        one.api.close()
        other.api.close()
