"""What only the S3 store does: its bucket, presigned URLs' limits, an unreachable service."""

from __future__ import annotations

import os
import secrets
import time

import httpx
import pytest

from coffre.errors import ServiceUnavailable
from coffre.server.blobs import chunk_key
from coffre.server.blobs.s3 import S3BlobStore, S3Location, S3Options
from tests.scaleout import SeaweedFS
from tests.server.blobs.conftest import s3_options, s3_store


def content() -> str:
    return secrets.token_hex(16)


def test_the_bucket_is_created_when_missing(seaweedfs: SeaweedFS) -> None:
    bucket = f"fresh-{secrets.token_hex(4)}"
    store = S3BlobStore(S3Location(bucket, "p/"), s3_options(seaweedfs))
    store.check()  # creates it
    store.put(chunk_key(content(), 0), b"data")
    S3BlobStore(S3Location(bucket, "p/"), s3_options(seaweedfs)).check()  # there already


def test_the_location_is_parsed_from_the_url() -> None:
    assert S3Location.parse("s3://bucket/a/b/") == S3Location("bucket", "a/b/")
    assert S3Location.parse("s3://bucket") == S3Location("bucket", "")
    with pytest.raises(ValueError, match="no bucket"):
        S3Location.parse("s3:///x")


def test_an_unreachable_store_is_storage_unavailable() -> None:
    store = S3BlobStore(
        S3Location("coffre-test", "gone/"),
        S3Options(endpoint="http://127.0.0.1:9", access_key="k", secret_key="s"),
    )
    for action in (store.check, lambda: store.get(chunk_key(content(), 0))):
        with pytest.raises(ServiceUnavailable) as caught:
            action()
        assert caught.value.code == "storage_unavailable"


def test_wrong_credentials_are_storage_unavailable(seaweedfs: SeaweedFS) -> None:
    store = S3BlobStore(
        S3Location("coffre-test", "x/"), s3_options(seaweedfs, secret_key="not-the-secret")
    )
    with pytest.raises(ServiceUnavailable):
        store.put(chunk_key(content(), 0), b"data")


def test_a_put_url_is_for_one_length_once(seaweedfs: SeaweedFS) -> None:
    store = s3_store(seaweedfs)
    key = chunk_key(content(), 0)
    signed = store.presign_put(key, 100, 60)
    assert signed is not None
    assert httpx.put(signed.url, content=os.urandom(101), headers=signed.headers).status_code == 403
    assert not store.exists(key)
    data = os.urandom(100)
    assert httpx.put(signed.url, content=data, headers=signed.headers).status_code == 200
    # The chunk cannot be replaced through a URL: a committed chunk stays as it was.
    again = httpx.put(signed.url, content=os.urandom(100), headers=signed.headers)
    assert again.status_code == 412
    assert store.get(key) == data
    # Without the signed header, the signature does not hold.
    assert httpx.put(signed.url, content=data).status_code == 403


def test_a_url_is_for_its_key_only(seaweedfs: SeaweedFS) -> None:
    store = s3_store(seaweedfs)
    mine, other = chunk_key(content(), 0), chunk_key(content(), 0)
    store.put(mine, b"mine")
    store.put(other, b"other")
    signed = store.presign_get(mine, 60)
    assert signed is not None
    name_mine, name_other = store._key(mine), store._key(other)
    assert httpx.get(signed.url.replace(name_mine, name_other)).status_code == 403
    assert httpx.get(signed.url).content == b"mine"


def test_a_url_stops_working_when_it_expires(seaweedfs: SeaweedFS) -> None:
    store = s3_store(seaweedfs)
    key = chunk_key(content(), 0)
    store.put(key, b"data")
    signed = store.presign_get(key, 1)
    assert signed is not None
    time.sleep(2.1)
    assert httpx.get(signed.url).status_code == 403


def test_urls_name_the_public_endpoint(seaweedfs: SeaweedFS) -> None:
    store = S3BlobStore(
        S3Location("coffre-test", "pub/"),
        s3_options(seaweedfs, public_endpoint="https://storage.example.org"),
    )
    signed = store.presign_get(chunk_key(content(), 0), 60)
    assert signed is not None
    assert signed.url.startswith("https://storage.example.org/coffre-test/pub/")
