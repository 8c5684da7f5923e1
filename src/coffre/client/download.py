"""Downloads: fetch and decrypt in parallel, write in order, release nothing unverified.

Workers fetch chunks and decrypt them (each chunk is authenticated before a byte of it is
used); the calling thread writes them in order and keeps the content hash. A file goes to
a hidden temporary name beside its destination and is renamed into place only when the
whole stream, its final chunk, its size and its hash have checked out; on any failure the
temporary file is removed, so nothing that looks complete is left behind (SECURITY.md
A5, A15). The number of chunks comes from the authenticated size, never from the server.
"""

from __future__ import annotations

import os
import secrets
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from coffre.client.api import Api
from coffre.client.direct import Direct, Storage, Urls
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.crypto._primitives import equal
from coffre.errors import IntegrityError, LocalError
from coffre.protocol import models as m

Progress = Callable[[int], None]
RANGE_BYTES = 4 * 1024 * 1024
"""Chunks fetched per request: consecutive chunks come together, to spare round trips."""
RANGE_CHUNKS = 64
SMALL_BATCH_FILES = 500
SMALL_BATCH_BYTES = 4 * 1024 * 1024
FILE_WRITERS = 8
INLINE_MAX = 64 * 1024 + 16
"""Ciphertext sizes up to which a server may keep a one-chunk content in its database."""


def _no_progress(_n: int) -> None:
    pass


class ChunkReader(Protocol):
    """Where encrypted chunks come from: the account's API, or a public link's."""

    def get_chunk(self, version_id: str, index: int) -> bytes: ...

    def get_chunks(self, version_id: str, first: int, count: int) -> bytes: ...

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]: ...


class Downloader:
    def __init__(
        self,
        api: ChunkReader,
        *,
        workers: int = 4,
        window: int | None = None,
        progress: Progress | None = None,
        range_bytes: int | None = None,
    ) -> None:
        self.range_bytes = RANGE_BYTES if range_bytes is None else range_bytes
        self.api = api
        self.workers = workers
        self.window = window or workers
        self.progress = progress or _no_progress
        self._direct_offered: bool | None = None

    def stream(
        self, record: m.VersionRecord, info: cn.VersionInfo, out: Callable[[bytes], object]
    ) -> None:
        """Pass the plaintext to ``out`` chunk by chunk, each after it is authenticated."""
        cipher = cs.ContentCipher.for_decryption(
            info.content_key, info.content_id, record.header, info.chunk_size
        )
        n = cs.chunk_count(info.size, cipher.chunk_size)
        per_request = max(1, min(RANGE_CHUNKS, self.range_bytes // cipher.chunk_size))
        direct = self._direct(record, n)

        def fetch(first: int) -> list[tuple[bytes, bytes]]:
            count = min(per_request, n - first)
            sizes = [
                cs.chunk_plaintext_size(info.size, cipher.chunk_size, i) + cs.TAG_SIZE
                for i in range(first, first + count)
            ]
            pieces = _from_storage(direct, first, count) if direct is not None else None
            if pieces is None:
                if count == 1:
                    data = self.api.get_chunk(record.id, first)
                else:
                    data = self.api.get_chunks(record.id, first, count)
                if len(data) != sum(sizes):
                    raise IntegrityError("file content")
                pieces, offset = [], 0
                for length in sizes:
                    pieces.append(data[offset : offset + length])
                    offset += length
            out = []
            for index, (length, piece) in enumerate(zip(sizes, pieces, strict=True), start=first):
                if len(piece) != length:
                    raise IntegrityError("file content")
                plaintext = cipher.decrypt_chunk(index, piece, last=index == n - 1)
                out.append((plaintext, cs.chunk_digest(plaintext)))
            return out

        digests: list[bytes] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="coffre-down") as pool:
            pending: deque[Future[list[tuple[bytes, bytes]]]] = deque()
            next_first = 0
            try:
                while next_first < n or pending:
                    while next_first < n and len(pending) < self.window:
                        pending.append(pool.submit(fetch, next_first))
                        next_first += per_request
                    for plaintext, digest in pending.popleft().result():
                        out(plaintext)
                        digests.append(digest)
                        self.progress(len(plaintext))
            finally:
                for future in pending:
                    future.cancel()
                if direct is not None:
                    direct.storage.close()
                    self._direct_offered = direct.urls.direct
        if not equal(cs.content_hash(digests), info.content_hash):
            raise IntegrityError("file content")

    def _direct(self, record: m.VersionRecord, n: int) -> Direct | None:
        """Presigned URLs for the file's chunks, if the server offers them (it does when
        its blobs are in an object store); once it has said no, it is not asked again.
        Contents small enough to be kept in the server's database come from the API."""
        api = self.api
        if not isinstance(api, Api) or self._direct_offered is False:
            return None
        if n < 2 and record.size <= INLINE_MAX:  # the server's size: only a hint here
            return None
        version_id = record.id
        urls = Urls(lambda wanted: api.download_urls(version_id, wanted[0], len(wanted)), range(n))
        return Direct(urls, Storage(retry_for=api.retry_for))

    def to_file(self, record: m.VersionRecord, info: cn.VersionInfo, dest: Path) -> None:
        """Write the version to ``dest``; nothing appears there unless all of it checks out."""
        write_verified(dest, info, lambda write: self.stream(record, info, write))

    def to_binary(self, record: m.VersionRecord, info: cn.VersionInfo, out: BinaryIO) -> None:
        self.stream(record, info, out.write)

    def small_files(self, jobs: list[SmallJob]) -> None:
        """Download many one-chunk files: their chunks come many per request, and the files
        are written (and fsynced) by several threads at once."""
        batches: list[list[SmallJob]] = [[]]
        total = 0
        for job in jobs:
            size = job.record.size
            if batches[-1] and (
                len(batches[-1]) >= SMALL_BATCH_FILES or total + size > SMALL_BATCH_BYTES
            ):
                batches.append([])
                total = 0
            batches[-1].append(job)
            total += size
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="coffre-fetch") as fetchers,
            ThreadPoolExecutor(FILE_WRITERS, thread_name_prefix="coffre-write") as writers,
        ):
            fetched = [fetchers.submit(self._fetch_small, b) for b in batches if b]
            written: list[Future[None]] = []
            for batch in fetched:
                written += [writers.submit(self._write_small, *pair) for pair in batch.result()]
            for done in written:
                done.result()

    def _fetch_small(self, batch: list[SmallJob]) -> list[tuple[SmallJob, bytes]]:
        chunks = self.api.small_chunks([job.record.id for job in batch])
        try:
            return [(job, chunks[job.record.id]) for job in batch]
        except KeyError:
            raise IntegrityError("the server's answer to POST /v1/versions/small") from None

    def _write_small(self, job: SmallJob, chunk: bytes) -> None:
        info = job.info
        if cs.chunk_count(info.size, info.chunk_size) != 1:
            raise IntegrityError("file content")
        plaintext = b"".join(
            cs.decrypt_all(info.content_key, info.content_id, job.record.header, [chunk])
        )
        if len(plaintext) != info.size or not equal(
            cs.content_hash([cs.chunk_digest(plaintext)]), info.content_hash
        ):
            raise IntegrityError("file content")
        write_verified(job.dest, info, lambda write: write(plaintext))
        self.progress(len(plaintext))


@dataclass(frozen=True, slots=True)
class SmallJob:
    record: m.VersionRecord
    info: cn.VersionInfo
    dest: Path


def write_verified(
    dest: Path, info: cn.VersionInfo, produce: Callable[[Callable[[bytes], object]], object]
) -> None:
    """Write what ``produce`` passes to its argument into a hidden temporary file beside
    ``dest``; rename it into place, with the version's modification time, only if
    ``produce`` returns (having verified everything); remove it otherwise."""
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.coffre-part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise LocalError(f"{dest}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            produce(f.write)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        mtime_ns = info.mtime_ms * 1_000_000
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _from_storage(direct: Direct, first: int, count: int) -> list[bytes] | None:
    """Chunks ``first`` .. ``first + count - 1`` from the object store; None if the server
    offers no URL for them (they come from the API then)."""
    pieces: list[bytes] = []
    for index in range(first, first + count):
        piece = direct.get(index)
        if piece is None:
            return None
        pieces.append(piece)
    return pieces
