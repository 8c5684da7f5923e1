"""Blobs in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW...).

``COFFRE_BLOBS=s3://BUCKET/PREFIX``: every chunk is one object, ``PREFIX/CONTENT_ID/INDEX``.
An object is written whole or not at all (S3 semantics), so nothing here locks. Blobs
above ``multipart_bytes`` are written in parts (multipart upload), each retried on its own.

The endpoint and credentials come from the settings (``COFFRE_S3_*``), else from the
variables the AWS tools read (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``), else from boto3's own chain (configuration
files, instance roles). The bucket is created if it does not exist.

Presigned URLs let clients move chunks without the API: a PUT URL is signed for exactly
one key, one length, and ``If-None-Match: *`` (a chunk cannot be replaced through it, on
stores that honour conditional writes); a GET URL for one key. Both expire.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from coffre.server.blobs.base import (
    Buffer,
    ChunkByChunk,
    Presigned,
    RangeWriter,
    storage_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("coffre.server.blobs")

T = TypeVar("T")
MIN_PART = 5 * 1024 * 1024
"""S3's smallest multipart part (but the last)."""
_DELETE_BATCH = 1000
"""Keys per DeleteObjects request: S3's maximum."""
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where blobs go: a bucket and a key prefix (empty, or ending with ``/``)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}")
        prefix = prefix.strip("/")
        return cls(bucket, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach the store; empty values fall back to the AWS variables, then boto3."""

    endpoint: str = ""
    public_endpoint: str = ""
    access_key: str = ""
    secret_key: str = ""
    region: str = ""
    multipart_bytes: int = 8 * 1024 * 1024

    def resolved_endpoint(self) -> str | None:
        return (
            self.endpoint
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )

    def resolved_region(self) -> str:
        return (
            self.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )


def _client(options: S3Options, endpoint: str | None) -> S3Client:
    config = Config(
        region_name=options.resolved_region(),
        signature_version="s3v4",
        # Other S3 services than AWS are addressed by path (http://host/bucket/key).
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=64,
        tcp_keepalive=True,
        # Checksums only where the API requires them: not every S3 service knows the
        # newer trailing-checksum encoding.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=options.access_key or None,
        aws_secret_access_key=options.secret_key or None,
        config=config,
    )
    return client


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    def __init__(self, location: S3Location, options: S3Options | None = None) -> None:
        self.location = location
        self.options = options or S3Options()
        self.part_size = max(MIN_PART, self.options.multipart_bytes)
        endpoint = self.options.resolved_endpoint()
        self.endpoint = endpoint or "AWS"
        self._s3 = _client(self.options, endpoint)
        public = self.options.public_endpoint or endpoint
        self._signer = self._s3 if public == endpoint else _client(self.options, public)
        self._bucket_ready = False

    # -- plumbing -------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        content_id, _, index = key.partition("/")
        if not content_id.isalnum() or not index.isdigit():
            raise ValueError(f"bad blob key {key!r}")
        return self.location.prefix + key

    def _content_prefix(self, content_id: str) -> str:
        if not content_id.isalnum():
            raise ValueError(f"bad content id {content_id!r}")
        return f"{self.location.prefix}{content_id}/"

    def _call(self, what: str, fn: Callable[..., T], /, **params: Any) -> T:
        """Run one S3 request; an unreachable or failing store becomes a 503."""
        try:
            return fn(Bucket=self.location.bucket, **params)
        except ClientError as exc:
            code = _error_code(exc)
            if code in _MISSING:
                raise KeyError(params.get("Key", "")) from None
            log.warning("S3 %s failed: %s", what, exc)
            raise storage_unavailable(f"{what}: {code or 'error'}") from None
        except BotoCoreError as exc:
            log.warning("S3 %s failed: %s", what, exc)
            raise storage_unavailable(f"{what}: {type(exc).__name__}") from None

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (once per process)."""
        if self._bucket_ready:
            return
        try:
            self._call("head bucket", self._s3.head_bucket)
        except KeyError:
            params: dict[str, Any] = {}
            region = self.options.resolved_region()
            if region != "us-east-1" and self.endpoint == "AWS":
                params["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self._s3.create_bucket(Bucket=self.location.bucket, **params)
                log.info("created bucket %s", self.location.bucket)
            except ClientError as exc:
                if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise storage_unavailable(f"create bucket: {_error_code(exc)}") from None
            except BotoCoreError as exc:
                raise storage_unavailable(f"create bucket: {type(exc).__name__}") from None
        self._bucket_ready = True

    # -- the interface --------------------------------------------------------------------

    def put(self, key: str, data: bytes | bytearray) -> None:
        name = self._key(key)
        if len(data) <= self.part_size:
            self._call("put", self._s3.put_object, Key=name, Body=data)
            return
        self._put_multipart(name, memoryview(data))

    def store(self, key: str, pieces: Sequence[Buffer]) -> None:
        self.put(key, b"".join(pieces))

    def open_range(self, content_id: str, first: int, size: int) -> RangeWriter:
        return ChunkByChunk(self, content_id)  # an object a chunk

    def sync(self, content_id: str) -> None:
        pass  # an object is durable once its PUT has been answered

    def _put_multipart(self, name: str, data: memoryview) -> None:
        upload = self._call("start multipart", self._s3.create_multipart_upload, Key=name)
        upload_id = upload["UploadId"]
        try:
            parts = []
            for number, offset in enumerate(range(0, len(data), self.part_size), start=1):
                part = self._call(
                    "put part",
                    self._s3.upload_part,
                    Key=name,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=bytes(data[offset : offset + self.part_size]),
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            self._call(
                "finish multipart",
                self._s3.complete_multipart_upload,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            try:
                self._s3.abort_multipart_upload(
                    Bucket=self.location.bucket, Key=name, UploadId=upload_id
                )
            except (ClientError, BotoCoreError):
                log.warning("could not abort the multipart upload of %s", name)
            raise

    def get(self, key: str) -> bytes:
        answer = self._call("get", self._s3.get_object, Key=self._key(key))
        try:
            return answer["Body"].read()
        except BotoCoreError as exc:
            raise storage_unavailable(f"get: {type(exc).__name__}") from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(KeyError):  # already gone
            self._call("delete", self._s3.delete_object, Key=self._key(key))

    def delete_many(self, keys: Iterable[str]) -> None:
        batch: list[str] = []
        for key in keys:
            batch.append(self._key(key))
            if len(batch) == _DELETE_BATCH:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, names: list[str]) -> None:
        answer = self._call(
            "delete",
            self._s3.delete_objects,
            Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
        )
        failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
        if failed:
            raise storage_unavailable(f"delete: {failed[0].get('Code', 'error')}")

    def exists(self, key: str) -> bool:
        try:
            self._call("head", self._s3.head_object, Key=self._key(key))
        except KeyError:
            return False
        return True

    def _listing(self, content_id: str) -> Iterator[tuple[int, int]]:
        prefix = self._content_prefix(content_id)
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Prefix": prefix}
            if token:
                params["ContinuationToken"] = token
            page = self._call("list", self._s3.list_objects_v2, **params)
            for item in page.get("Contents", []):
                index = item.get("Key", "")[len(prefix) :]
                if index.isdigit():
                    yield int(index), int(item.get("Size", 0))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def chunks(self, content_id: str) -> set[int]:
        return {index for index, _ in self._listing(content_id)}

    def chunk_sizes(self, content_id: str) -> dict[int, int]:
        return dict(self._listing(content_id))

    def range_sizes(self, content_id: str, first: int, count: int) -> dict[int, int]:
        # One listing (a thousand keys a request) costs less than a HEAD per chunk.
        return {i: n for i, n in self._listing(content_id) if first <= i < first + count}

    def check(self) -> None:
        self._bucket_ready = False
        self.ensure_bucket()

    def presign_put(self, key: str, size: int, expires: int) -> Presigned | None:
        url = self._signer.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.location.bucket,
                "Key": self._key(key),
                "ContentLength": size,
                "IfNoneMatch": "*",
            },
            ExpiresIn=expires,
        )
        return Presigned(url, {"if-none-match": "*"})

    def presign_get(self, key: str, expires: int) -> Presigned | None:
        url = self._signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.location.bucket, "Key": self._key(key)},
            ExpiresIn=expires,
        )
        return Presigned(url)

    def __str__(self) -> str:
        return f"{self.location} at {self.endpoint}"
