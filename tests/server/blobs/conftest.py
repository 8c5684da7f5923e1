"""Blob stores under test: the local folder and S3 on a real SeaweedFS."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.server.blobs import BlobStore, LocalBlobStore
from coffre.server.blobs.s3 import S3BlobStore, S3Location, S3Options
from tests.scaleout import SeaweedFS

MakeStore = Callable[[str], BlobStore]
MULTIPART = 5 * 1024 * 1024


def s3_options(weed: SeaweedFS, **changes: object) -> S3Options:
    env = weed.env
    values: dict[str, object] = {
        "endpoint": env["AWS_ENDPOINT_URL"],
        "access_key": env["AWS_ACCESS_KEY_ID"],
        "secret_key": env["AWS_SECRET_ACCESS_KEY"],
        "multipart_bytes": MULTIPART,
    }
    values.update(changes)
    return S3Options(**values)  # type: ignore[arg-type]


def s3_store(
    weed: SeaweedFS, prefix: str | None = None, bucket: str = "coffre-test"
) -> S3BlobStore:
    store = S3BlobStore(S3Location(bucket, f"{prefix or secrets.token_hex(6)}/"), s3_options(weed))
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """Stores of the kind under test; the same ``name`` gives the same store."""
    if request.param == "local":
        return lambda name: LocalBlobStore(tmp_path / name)
    weed: SeaweedFS = request.getfixturevalue("seaweedfs")
    run = secrets.token_hex(4)
    return lambda name: s3_store(weed, f"{run}-{name}")


@pytest.fixture
def store(make_store: MakeStore) -> BlobStore:
    return make_store("blobs")
