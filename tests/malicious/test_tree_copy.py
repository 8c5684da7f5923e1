"""The server attacks the kept copy of the tree through the change feed.

The client keeps what it opened (client/tree_copy.py) and asks the feed what changed since.
The feed is the server's word: each test plays a server that lies in it, or in the records
it names, and shows that the client opens nothing it would not open from a full listing
(A7-A9), and that a feed that went back makes it list everything again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from coffre.client.drive import Drive
from coffre.client.tree_copy import TreeCopy
from coffre.errors import IntegrityError
from tests.client.helpers import same_tree
from tests.malicious.conftest import Victim
from tests.malicious.harness import Exchange, flip_b64, json_response

_LISTING = r"/v1/nodes"


@pytest.fixture
def kept(victim: Victim, tmp_path: Path) -> Drive:
    keys = victim.drive.keys
    copy = TreeCopy(tmp_path / "tree.bin", keys.master_key, keys.user_id)
    drive = Drive(victim.api, keys, copy)
    docs = drive.mkdir(drive.root(), "Docs")
    victim.upload("a.txt", b"alpha " * 20, docs)
    drive.tree()  # kept
    victim.server.forget()
    return drive


def test_a_changed_record_is_opened_like_any_other(victim: Victim, kept: Drive) -> None:
    """A7/A8: the record the feed names comes back altered: the tree does not open."""
    moved = kept.mkdir(kept.root(), "Moved")
    docs = kept.resolve("Docs")

    def flip_name(body: Any, _: Exchange) -> Any:
        body["meta"] = flip_b64(body["meta"], 60)
        return body

    victim.server.on_json("GET", rf"/v1/nodes/{moved.id}", flip_name)
    with pytest.raises(IntegrityError):
        kept.tree()
    victim.server.clear()

    def elsewhere(body: Any, _: Exchange) -> Any:
        body["parent_id"] = docs.id  # moved into Docs, with envelopes sealed for the root
        return body

    victim.server.on_json("GET", rf"/v1/nodes/{moved.id}", elsewhere)
    with pytest.raises(IntegrityError):
        kept.tree()


def test_a_made_up_change_is_refused(victim: Victim, kept: Drive) -> None:
    """A9: the feed names a node the account never made, and the server answers for it
    with a record of its own making: it does not open."""
    docs = kept.resolve("Docs")
    a = kept.resolve("Docs/a.txt")
    invented = os.urandom(16).hex()

    fake = kept.api.events(after=1 << 62).last + 1

    def add_event(body: Any, exchange: Exchange) -> Any:
        """One made-up event after the real ones, and a feed that stays consistent with it."""
        if int(exchange.query["after"][0]) < fake:
            event = {"seq": fake, "kind": "node.created", "at": 0.0}
            body["events"].append(event | {"node_id": invented, "parent_id": docs.id})
        body["last"] = fake
        return body

    record = json.loads(kept.api.node(a.id).model_dump_json())
    record["id"] = invented  # a.txt's envelopes, under another id
    victim.server.on_json("GET", r"/v1/events", add_event)
    victim.server.answer("GET", rf"/v1/nodes/{invented}", lambda _: json_response(record))
    with pytest.raises(IntegrityError):
        kept.tree()
    assert victim.server.requests("GET", rf"/v1/nodes/{invented}")  # fetched, then refused


def test_a_feed_that_went_back_means_a_full_listing(victim: Victim, kept: Drive) -> None:
    """A13 in part: a feed whose position is behind the copy's (a server restored from an
    older state, or lying) is not trusted to name what changed: the client lists again."""

    def back_to_zero(body: Any, _: Exchange) -> Any:
        return {"events": [], "last": 0}

    kept.mkdir(kept.root(), "after")
    victim.server.on_json("GET", r"/v1/events", back_to_zero, times=1)
    tree = kept.tree()
    assert victim.server.requests("GET", _LISTING)  # listed everything again
    same_tree(tree, kept.list_tree())
    assert "after" in {e.name for e in tree.entries.values()}
