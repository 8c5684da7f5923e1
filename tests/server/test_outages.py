"""When PostgreSQL or the object store cannot be reached: 503 with a stable code, /healthz
names what is down, clients retry with backoff, and nothing committed is lost.

The outages are real: each service is reached through a TCP forwarder that the test cuts
(every connection closed, the port refusing new ones) and then restores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.errors import ServiceUnavailable
from coffre.protocol import models as m
from coffre.server.app import create_app
from coffre.server.config import Settings
from tests.conftest import BASE
from tests.scaleout import SeaweedFS, TcpProxy
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, assert_error, fake_chunks, sealed
from tests.server.test_direct import s3_settings, send_direct


@pytest.fixture
def proxied_app(settings: Settings) -> Iterator[tuple[FastAPI, TcpProxy]]:
    """The app, reaching its PostgreSQL database through a forwarder."""
    head, _, rest = settings.database_url.partition("@127.0.0.1:5432/")
    assert rest, settings.database_url
    proxy = TcpProxy(5432)
    proxy.restore()
    app = create_app(replace(settings, database_url=f"{head}@127.0.0.1:{proxy.port}/{rest}"))
    yield app, proxy
    proxy.cut()
    app.state.ctx.db.dispose()


def _api(app: FastAPI, token: str | None = None, retry_for: float = 0) -> Api:
    return Api(BASE, token=token, transport=InProcessTransport(app), retry_for=retry_for)


def _retry_across(
    proxy: TcpProxy, call: Callable[[], object]
) -> tuple[list[object], list[BaseException]]:
    """Run ``call`` in a thread while the service is cut; restore it once the call has
    failed at least once (the client is retrying); the call's result or error."""
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(1.0)  # long enough for a first attempt to fail and a retry to wait
    proxy.restore()
    thread.join(60)
    return results, errors


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_down_is_a_503_and_nothing_committed_is_lost(
    proxied_app: tuple[FastAPI, TcpProxy], make_account: MakeAccount
) -> None:
    app, proxy = proxied_app
    alice = make_account(api=_api(app))
    folder = alice.mkdir()
    alice.upload(2500, parent_id=folder.id)
    before = alice.api.all_nodes()

    proxy.cut()
    assert_error(alice.raw("GET", "/v1/nodes"), 503, "database_unavailable")
    assert_error(
        alice.raw("POST", "/v1/nodes", content=alice.new_node().model_dump_json()),
        503,
        "database_unavailable",
    )
    health = alice.api.http.get("/healthz")
    assert health.status_code == 503
    assert health.json()["checks"]["blobs"] == "ok"
    assert health.json()["checks"]["database"].startswith("down: ")

    # A client retries with backoff, and gets its answer once the database is back.
    patient = _api(app, alice.api.token, retry_for=30)
    proxy.cut()
    results, errors = _retry_across(proxy, patient.all_nodes)
    assert not errors, errors
    assert results == [before]
    # A write that failed with database_unavailable changed nothing; it can be made again.
    assert patient.mkdir(alice.new_node()).parent_id == alice.root_id
    assert alice.api.http.get("/healthz").status_code == 200


@pytest.fixture
def s3_proxied(
    settings: Settings, request: pytest.FixtureRequest
) -> Iterator[tuple[FastAPI, TcpProxy]]:
    weed: SeaweedFS = request.getfixturevalue("seaweedfs")
    proxy = TcpProxy(weed.s3_port)
    proxy.restore()
    app = create_app(s3_settings(settings, weed, s3_endpoint=f"http://127.0.0.1:{proxy.port}"))
    yield app, proxy
    proxy.cut()
    app.state.ctx.db.dispose()


def test_the_object_store_down_is_a_503_and_nothing_stored_is_lost(
    s3_proxied: tuple[FastAPI, TcpProxy], make_account: MakeAccount
) -> None:
    app, proxy = s3_proxied
    alice: Account = make_account(api=_api(app))
    state = alice.start(3000)
    chunks = fake_chunks(state)
    send_direct(alice, state, chunks)
    record = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    assert record.version is not None
    pending = alice.start(2000)

    proxy.cut()
    assert_error(alice.raw("GET", f"/v1/uploads/{pending.id}"), 503, "storage_unavailable")
    with pytest.raises(ServiceUnavailable) as caught:
        alice.api.commit_upload(pending.id, m.CommitRequest(envelope=sealed()))
    assert caught.value.code == "storage_unavailable"
    health = alice.api.http.get("/healthz").json()
    assert health["checks"] == {"database": "ok", "blobs": "down: storage_unavailable"}
    # What only needs the database still works.
    assert [n.id for n in alice.api.children(alice.root_id)] == [record.id]

    patient = _api(app, alice.api.token, retry_for=30)
    results, errors = _retry_across(proxy, lambda: patient.get_chunks(record.version.id, 0, 3))  # type: ignore[union-attr]
    assert not errors, errors
    assert results == [b"".join(chunks)]
    # Received into a buffer: a body cut off by the outage is received again from the start.
    into = memoryview(bytearray(len(b"".join(chunks))))
    proxy.cut()
    lengths, errors = _retry_across(
        proxy,
        lambda: patient.get_chunks_into(record.version.id, 0, 3, into),  # type: ignore[union-attr]
    )
    assert not errors, errors
    assert lengths == [len(into)] and bytes(into) == b"".join(chunks)
    assert alice.api.http.get("/healthz").status_code == 200
