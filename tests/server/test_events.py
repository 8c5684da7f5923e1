"""The change feed: every change once, in order, without gaps; and the long poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from coffre.client.api import Api
from coffre.protocol import models as m
from tests.server.raw import Account, sealed


def _kinds(events: list[m.Event]) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.node_id, e.parent_id) for e in events]


def test_every_change_is_in_the_feed_in_order(alice: Account) -> None:
    assert alice.api.events(0) == m.EventList(events=[], last=0)
    root = alice.root_id
    folder = alice.mkdir()
    state = alice.start(2000, parent_id=folder.id)
    alice.send_all(state)
    file = alice.api.commit_upload(state.id, m.CommitRequest(envelope=sealed()))
    file = alice.upload(100, node_id=file.id)
    other = alice.mkdir()
    alice.api.move(file.id, alice.move_request(other.id))
    alice.api.trash(folder.id)
    alice.api.restore(folder.id)
    (copy,) = alice.api.copy(alice.copy_request(file, folder.id))
    versions = alice.api.versions(file.id)
    alice.api.delete_version(versions[0].id)
    alice.api.trash(other.id)
    alice.api.delete(other.id)
    cancelled = alice.start(100)
    alice.api.cancel_upload(cancelled.id)  # uploads that never commit are no change

    feed = alice.api.events(0)
    assert _kinds(feed.events) == [
        ("node.created", folder.id, root),
        ("node.created", file.id, folder.id),
        ("version.added", file.id, folder.id),
        ("node.created", other.id, root),
        ("node.moved", file.id, other.id),
        ("node.trashed", folder.id, root),
        ("node.restored", folder.id, root),
        ("node.created", copy.id, folder.id),
        ("version.deleted", file.id, other.id),
        ("node.trashed", other.id, root),
        ("node.deleted", other.id, root),
    ]
    seqs = [e.seq for e in feed.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert feed.last == seqs[-1]
    times = [e.at for e in feed.events]
    assert times == sorted(times)

    # Reading on from any point gives the rest; from the head, nothing.
    for after in range(len(seqs) + 1):
        rest = alice.api.events(after)
        assert rest.events == feed.events[after:]
        assert rest.last == feed.last
    assert alice.api.events(feed.last + 100) == m.EventList(events=[], last=feed.last)
    page = alice.raw("GET", "/v1/events", params={"after": 2, "limit": 3}).json()
    assert [e["seq"] for e in page["events"]] == [3, 4, 5]
    assert page["last"] == 5


def test_a_small_file_batch_is_one_event_per_file(alice: Account) -> None:
    files = [alice.small_file(10) for _ in range(3)]
    alice.api.small_files(m.SmallFilesRequest(files=files))
    events = alice.api.events(0).events
    assert [e.kind for e in events] == ["node.created"] * 3
    assert {e.node_id for e in events} == {f.node.id for f in files if f.node}
    assert [e.seq for e in events] == [1, 2, 3]


def test_empty_rubbish_emits_a_deletion_per_trashed_node(alice: Account) -> None:
    folder = alice.mkdir()
    inner = alice.mkdir(folder.id)
    alice.api.trash(inner.id)
    alice.api.trash(folder.id)
    head = alice.api.events(0).last
    alice.api.empty_rubbish()
    events = alice.api.events(head).events
    assert {e.kind for e in events} == {"node.deleted"}
    assert folder.id in {e.node_id for e in events}
    assert [e.seq for e in events] == list(range(head + 1, head + 1 + len(events)))


def test_a_long_poll_returns_when_another_client_changes_something(
    make_api: Callable[..., Api], alice: Account
) -> None:
    other = make_api()
    other.token = other.login(alice.login_request()).token
    head = alice.api.events(0).last
    made: list[m.NodeRecord] = []

    def change() -> None:
        time.sleep(0.3)
        made.append(other.mkdir(alice.new_node()))

    thread = threading.Thread(target=change)
    started = time.monotonic()
    thread.start()
    try:
        feed = alice.api.events(head, wait=30)
    finally:
        thread.join()
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert [(e.kind, e.node_id) for e in feed.events] == [("node.created", made[0].id)]
    assert feed.last == head + 1


def test_a_long_poll_without_changes_waits_then_returns_nothing(alice: Account) -> None:
    alice.mkdir()
    started = time.monotonic()
    feed = alice.api.events(1, wait=0.6)
    assert time.monotonic() - started >= 0.5
    assert feed == m.EventList(events=[], last=1)
    # With news already there, a long poll does not wait.
    started = time.monotonic()
    assert len(alice.api.events(0, wait=30).events) == 1
    assert time.monotonic() - started < 5


def test_another_accounts_changes_do_not_wake_a_poll(alice: Account, bob: Account) -> None:
    def change() -> None:
        time.sleep(0.1)
        bob.mkdir()

    thread = threading.Thread(target=change)
    thread.start()
    try:
        feed = alice.api.events(0, wait=0.8)
    finally:
        thread.join()
    assert feed == m.EventList(events=[], last=0)
    assert len(bob.api.events(0).events) == 1
