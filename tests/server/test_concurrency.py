"""Several API processes on one database never corrupt it.

Two apps on the same database (each with its own connection pool, as two ``coffre serve``
processes have) take concurrent requests from many threads. Whatever the interleaving:
names stay unique in a folder, the change feed has no gap and no duplicate, the tree has
no cycle, counters lose no increment and the quota holds. On PostgreSQL this rests on row
locks and constraints (READ COMMITTED), on SQLite on its single writer.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from fastapi import FastAPI

from coffre.client.api import Api
from coffre.client.inprocess import InProcessTransport
from coffre.errors import ApiError, Conflict, QuotaExceeded
from coffre.protocol import models as m
from coffre.server.app import create_app
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db.engine import normalize_url
from coffre.server.db.listen import FeedListener
from coffre.server.services import quotas
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, new_id

THREADS = 8

# FastAPI builds a route's request models on its first request, silencing a pydantic
# warning with warnings.catch_warnings(), which is not thread-safe: when two in-process
# apps get their first requests on several threads at once (as here, and never in a
# server, where one event-loop thread matches routes), the warning can slip through.
pytestmark = pytest.mark.filterwarnings(
    "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
)


@pytest.fixture
def second_app(settings: Settings) -> Iterator[FastAPI]:
    """Another server process on the same database and blobs."""
    application = create_app(settings)
    yield application
    application.state.ctx.db.dispose()


@pytest.fixture
def twin(alice: Account, second_app: FastAPI, make_api: Callable[..., Api]) -> Account:
    """Alice, signed in through the second process too."""
    api = make_api(alice.api.token, transport=InProcessTransport(second_app))
    return replace(alice, api=api)


def run_all(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls on many threads at once; their results or API errors, in order."""

    def one(call: Callable[[], object]) -> object:
        try:
            return call()
        except ApiError as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, calls))


def test_one_name_one_entry(alice: Account, twin: Account) -> None:
    folder = alice.mkdir()
    tags = [new_id() for _ in range(4)]
    calls: list[Callable[[], object]] = [
        (lambda who=who, tag=tag: who.mkdir(folder.id, tag))
        for tag in tags
        for who in (alice, twin, alice, twin)
    ]
    results = run_all(calls)
    made = [r for r in results if isinstance(r, m.NodeRecord)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == len(tags)
    assert {r.name_tag for r in made} == set(tags)
    assert len(refused) == len(results) - len(tags)
    assert {r.code for r in refused} <= {"name_taken"}
    children = alice.api.children(folder.id)
    assert sorted(c.name_tag or "" for c in children) == sorted(tags)


def test_the_feed_has_no_gap_and_is_the_same_from_both(alice: Account, twin: Account) -> None:
    calls: list[Callable[[], object]] = [
        (lambda who=who: who.mkdir()) for who in (alice, twin) * 12
    ]
    assert all(isinstance(r, m.NodeRecord) for r in run_all(calls))
    one, other = alice.api.events(0), twin.api.events(0)
    assert one == other
    assert [e.seq for e in one.events] == list(range(1, 25))
    assert {e.node_id for e in one.events} == {n.id for n in alice.api.children(alice.root_id)}


def test_crossed_moves_never_make_a_cycle(alice: Account, twin: Account) -> None:
    for _ in range(5):
        a, b = alice.mkdir(), alice.mkdir()
        run_all(
            [
                lambda a=a, b=b: alice.api.move(a.id, alice.move_request(b.id)),
                lambda a=a, b=b: twin.api.move(b.id, twin.move_request(a.id)),
            ]
        )
    nodes = {n.id: n for n in alice.api.all_nodes()}
    for node in nodes.values():
        seen, current = set(), node
        while current.parent_id is not None:
            assert current.id not in seen, "a cycle"
            seen.add(current.id)
            current = nodes[current.parent_id]
        assert current.id == alice.root_id


def test_the_quota_holds_and_no_byte_is_miscounted(
    alice: Account, twin: Account, app: FastAPI
) -> None:
    ctx: Context = app.state.ctx
    size = 3000  # 3048 bytes of ciphertext each, in 1 KiB chunks
    with ctx.db.write() as db:
        from coffre.server.db import tables as t

        db.get_one(t.User, alice.user_id).storage_quota = 10 * 3048
    states = [(who, who.start(size)) for who in (alice, twin) * 5]
    for who, state in states:
        who.send_all(state)
    # Reservations let 10 uploads start; now 16 more files race for the same room.
    extra = [
        (lambda who=who: who.api.small_files(m.SmallFilesRequest(files=[who.small_file(900)])))
        for who in (alice, twin) * 8
    ]
    commits = [
        (
            lambda who=who, state=state: who.api.commit_upload(
                state.id, m.CommitRequest(envelope=alice.new_node().key)
            )
        )
        for who, state in states
    ]
    results = run_all(commits + extra)
    assert all(isinstance(r, m.NodeRecord) for r in results[: len(commits)]), results
    assert all(isinstance(r, QuotaExceeded) for r in results[len(commits) :]), results
    usage = alice.api.usage()
    assert usage.storage_used == 10 * 3048 <= usage.storage_quota
    assert quotas.recount(ctx) == 0  # the running count is the true one


@pytest.fixture
def many(make_account: MakeAccount) -> list[Account]:
    return [make_account() for _ in range(4)]


def test_accounts_go_on_in_parallel(many: list[Account], second_app: FastAPI) -> None:
    """Writers of different accounts do not wait on each other's locks for long: every one
    of many concurrent writes succeeds, and each account's count is its own."""
    calls: list[Callable[[], object]] = []
    for account in many:
        calls += [(lambda a=account: a.upload(1500)) for _ in range(3)]
        calls += [(lambda a=account: a.mkdir()) for _ in range(3)]
    results = run_all(calls)
    assert all(isinstance(r, m.NodeRecord) for r in results), results
    for account in many:
        assert account.api.usage().storage_used == 3 * (1500 + 2 * 16)
        assert account.api.events(0).last == 6


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_changes_wake_the_other_processes_through_postgresql(
    alice: Account, settings: Settings
) -> None:
    """Each committed change to a feed is announced (NOTIFY) to every listening process."""
    heard: queue.Queue[str] = queue.Queue()
    listener = FeedListener(normalize_url(settings.database_url), heard.put)
    listener.start()
    try:
        assert listener.connected.wait(30)
        alice.mkdir()
        assert heard.get(timeout=30) == alice.user_id
        # A change that is refused (rolled back) announces nothing.
        taken = alice.mkdir()
        assert heard.get(timeout=30) == alice.user_id
        with pytest.raises(Conflict):
            alice.mkdir(name_tag=taken.name_tag)
        alice.api.trash(taken.id)
        assert heard.get(timeout=30) == alice.user_id
        assert heard.empty()
    finally:
        listener.stop()
