"""Thumbnails over HTTP: stored and read back as sent, bounded in size, gone with their
version. Who may store and read them is in test_access_matrix.py; that the client refuses
a changed or moved one is in tests/malicious/test_tree.py."""

from __future__ import annotations

import os

import pytest

from coffre.errors import NotFound, PayloadTooLarge
from coffre.server.services.thumbnails import MAX_SEALED_BYTES
from tests.server.raw import Account


def test_stored_replaced_and_read(alice: Account) -> None:
    file = alice.upload(200_000)
    assert file.version is not None
    version_id = file.version.id
    assert alice.api.get_thumbnail(version_id) is None
    first, second = os.urandom(5000), os.urandom(6000)
    alice.api.put_thumbnail(version_id, first)
    assert alice.api.get_thumbnail(version_id) == first
    alice.api.put_thumbnail(version_id, second)
    assert alice.api.get_thumbnail(version_id) == second
    response = alice.raw("GET", f"/v1/versions/{version_id}/thumbnail")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["cache-control"] == "private, no-store"


def test_bounded_by_a_limit_and_by_the_file(alice: Account) -> None:
    big = alice.upload(200_000)
    assert big.version is not None
    with pytest.raises(PayloadTooLarge) as caught:
        alice.api.put_thumbnail(big.version.id, os.urandom(MAX_SEALED_BYTES + 1))
    assert caught.value.code == "thumbnail_too_large"
    alice.api.put_thumbnail(big.version.id, os.urandom(MAX_SEALED_BYTES))
    # Thumbnails are not counted in the quota, so none may be larger than its file.
    small = alice.upload(100)
    assert small.version is not None
    with pytest.raises(PayloadTooLarge) as caught:
        alice.api.put_thumbnail(small.version.id, os.urandom(4000))
    assert caught.value.code == "thumbnail_too_large"


def test_gone_with_its_version(alice: Account) -> None:
    file = alice.upload(1000)
    assert file.version is not None
    alice.api.put_thumbnail(file.version.id, os.urandom(100))
    alice.api.trash(file.id)
    alice.api.empty_rubbish()
    with pytest.raises(NotFound) as caught:
        alice.api.get_thumbnail(file.version.id)
    assert caught.value.code == "version_not_found"


def test_unknown_version(alice: Account) -> None:
    with pytest.raises(NotFound) as caught:
        alice.api.put_thumbnail("0" * 32, b"x" * 100)
    assert caught.value.code == "version_not_found"
