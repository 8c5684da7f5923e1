"""``GET /v1/nodes`` as the binary listing (``application/x-coffre-nodes``, docs/api.md):
the same records and cursors as the JSON listing, which stays the default."""

from __future__ import annotations

from typing import Any

from coffre.client import listing
from coffre.protocol import models as m
from tests.server.raw import Account, assert_error

BINARY = {"accept": m.NODES_MEDIA_TYPE}


def _small_tree(alice: Account) -> None:
    """Folders, files with versions (one of them twice), one in the bin."""
    folder = alice.mkdir()
    alice.mkdir(folder.id)
    file = alice.upload(10, parent_id=folder.id)
    alice.upload(20, node_id=file.id)
    alice.api.small_files(m.SmallFilesRequest(files=[alice.small_file(5)]))
    alice.api.trash(alice.upload(10).id)


def _pages(alice: Account, limit: int, headers: dict[str, str]) -> list[Any]:
    answers, after = [], None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        answer = alice.raw("GET", "/v1/nodes", params=params, headers=headers)
        assert answer.status_code == 200
        answers.append(answer)
        after = (
            listing.page_cursor(answer.content)
            if headers
            else m.NodeList.model_validate_json(answer.content).cursor
        )
        if after is None:
            return answers


def test_binary_listing_holds_the_json_records_page_by_page(alice: Account) -> None:
    _small_tree(alice)
    for limit in (2, 50_000):
        json_pages = _pages(alice, limit, {})
        binary_pages = _pages(alice, limit, BINARY)
        assert len(json_pages) == len(binary_pages) == (4 if limit == 2 else 1)  # 6 nodes: 2+2+2+0
        for as_json, as_binary in zip(json_pages, binary_pages, strict=True):
            expected = m.NodeList.model_validate_json(as_json.content)
            assert [n.record() for n in listing.decode(as_binary.content)] == expected.nodes
            assert listing.page_cursor(as_binary.content) == expected.cursor
            assert as_binary.headers["content-type"] == m.NODES_MEDIA_TYPE
            assert as_binary.headers["vary"] == as_json.headers["vary"] == "accept"
            assert as_json.headers["content-type"] == "application/json"
    # What was listed is what the records say: a trashed file, a file's second version.
    records = alice.api.all_nodes()
    assert len(records) == 6
    assert sum(r.trashed is not None for r in records) == 1
    assert sorted(r.version.number for r in records if r.version) == [1, 1, 2]


def test_all_nodes_pages_through_the_binary_listing(alice: Account) -> None:
    _small_tree(alice)
    whole = alice.api.all_nodes()
    paged = alice.api.all_nodes(page=3)
    assert paged == whole and list(paged) == list(whole)
    assert [r.id for r in whole] == sorted(r.id for r in whole)
    assert whole[0] == alice.api.node(whole[0].id)
    assert whole[1:3] == [alice.api.node(r.id) for r in list(whole)[1:3]]
    requests = [
        alice.raw("GET", "/v1/nodes", params={"limit": 3}, headers=BINARY),
        alice.raw("GET", "/v1/nodes", params={"limit": 50_000}, headers=BINARY),
    ]
    assert [len(listing.decode(r.content)) for r in requests] == [3, 6]


def test_binary_listing_refuses_bad_queries_in_json(alice: Account) -> None:
    for params in ({"limit": 0}, {"limit": 50_001}, {"after": "xyz"}):
        assert_error(
            alice.raw("GET", "/v1/nodes", params=params, headers=BINARY), 400, "invalid_request"
        )
    answer = alice.api.http.get("/v1/nodes", headers=BINARY)
    assert_error(answer, 401)


def test_binary_listing_is_the_callers_own(alice: Account, bob: Account) -> None:
    _small_tree(alice)
    mine = listing.decode(bob.raw("GET", "/v1/nodes", headers=BINARY).content)
    assert [n.id for n in mine] == [bob.root_id]
