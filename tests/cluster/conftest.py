"""One cluster for this folder's tests: PostgreSQL (a fresh database), SeaweedFS with two
volume servers and replication, two ``coffre serve`` processes, nginx in front.

It is started once (scripts/cluster.py) and stopped at the end. Between tests the database
is emptied: the API processes keep nothing of their own, so each test starts as on a new
installation. A test that stops or kills a part restores it before the next test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scripts.cluster import wait_for

from tests import scaleout
from tests.e2e.conftest import PASSWORD, Cli
from tests.scaleout import Cluster

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scaleout.need(Cluster.unavailable())
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Entry:
    """The cluster as the e2e tests see a server: one URL (nginx's); stopping it stops the
    load balancer, as an outage of the service's front door would."""

    cluster: Cluster

    @property
    def url(self) -> str:
        return self.cluster.url

    def stop(self) -> None:
        assert self.cluster.nginx is not None
        self.cluster.nginx.stop()


@pytest.fixture
def server(cluster: Cluster) -> Iterator[Entry]:
    scaleout.empty_database(cluster.database_url)
    for api in cluster.servers:
        if api.process is None or api.process.poll() is not None:
            api.start()
    weed = cluster.weed
    assert weed is not None
    lost = [p for p in weed.processes if p.process is None or p.process.poll() is not None]
    for process in lost:
        process.start()
    if lost:  # writable again once the master has heard from every volume server
        wait_for("SeaweedFS", weed._writable, 120, weed.root / "master.log")
    yield Entry(cluster)
    nginx = cluster.nginx
    assert nginx is not None
    if nginx.process is None or nginx.process.poll() is not None:
        nginx.start()


@pytest.fixture
def cli(tmp_path: Path, server: Entry) -> Cli:
    client = Cli(tmp_path / "home", server)  # type: ignore[arg-type]
    client.run("signup", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
    return client
