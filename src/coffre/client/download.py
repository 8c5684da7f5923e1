"""Downloads: fetch and decrypt in parallel, release nothing unverified.

Workers fetch chunks and decrypt them (each chunk is authenticated before a byte of it is
used). Into a file, each worker writes its chunks at their offsets and starts their
writeback at once, so that writing overlaps fetching and the final fsync is short; to a
stream (``coffre cat``), the calling thread passes them on in order. The calling thread
keeps the content hash from the chunks' digests, in order. A file goes to a hidden
temporary name beside its destination and is renamed into place only when the whole
stream, its final chunk, its size and its hash have checked out and it is on disk; on any
failure the temporary file is removed, so nothing that looks complete is left behind
(SECURITY.md A5, A15). The number of chunks comes from the authenticated size, never from
the server.
"""

from __future__ import annotations

import os
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Protocol

from coffre import uncached
from coffre.client import disk
from coffre.client.api import Api
from coffre.client.batches import batched
from coffre.client.buffers import thread_buffer
from coffre.client.direct import Direct, Storage, Urls
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.crypto._primitives import equal
from coffre.errors import IntegrityError, LocalError
from coffre.protocol import models as m

Progress = Callable[[int], None]
RANGE_BYTES = 8 * 1024 * 1024
"""Chunks fetched per request: consecutive chunks come together, to spare round trips and
the server's work per request (its CPU per byte: 2.5 s/GiB at 8 MiB, 3.2 at 4 MiB). 16 MiB
halves it again but doubles the client's peak memory (each answer is read whole). A range
is decrypted and written chunk by chunk, so little more than its body is held at once."""
RANGE_CHUNKS = 64
DIRECT_STREAMS = 16
"""Chunks fetched at once straight from the object store: one request per chunk there, so
more of them in flight than ranges from the API."""
SETTLE_BEHIND = 32 * 1024 * 1024
"""A file being downloaded keeps at most about this much of itself in the page cache:
each chunk written lets the one this far behind it, on disk by then, leave the cache
(:func:`disk.settle`). Side by side, 1 GiB: 297-461 against 237-310 MB/s, with a third of
the system time, on a machine where new memory is costly (docs/performance-history.md)."""
SMALL_BATCH_FILES = 500
SMALL_BATCH_BYTES = 4 * 1024 * 1024
INLINE_MAX = 64 * 1024 + 16
"""Ciphertext sizes up to which a server may keep a one-chunk content in its database."""
_DECRYPTED = uncached.ThreadBuffers()
"""Each worker's page-aligned buffer that chunks written around the page cache are
decrypted into, reused from chunk to chunk."""


def _no_progress(_n: int) -> None:
    pass


class ChunkReader(Protocol):
    """Where encrypted chunks come from: the account's API, or a public link's."""

    def get_chunk(self, version_id: str, index: int) -> bytes: ...

    def get_chunks_into(self, version_id: str, first: int, count: int, into: memoryview) -> int:
        """Chunks ``first`` .. ``first + count - 1``, concatenated, received into ``into``;
        returns the answer's length (more than ``len(into)`` if it did not fit)."""
        ...

    def small_chunks(self, version_ids: list[str]) -> dict[str, bytes]: ...


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One authenticated chunk: its plaintext (None once a worker has written it to the
    file), its length and its digest."""

    plaintext: bytes | None
    length: int
    digest: bytes


Place = Callable[[int, bytes | memoryview], None]
"""Writes one chunk's plaintext (by its index) from the worker that decrypted it."""


class _DirectPlace:
    """Writes each chunk around the page cache (the file is open with ``O_DIRECT``): from
    the worker's page-aligned buffer, where it was decrypted, padded to a whole block (the
    file is cut to its size once every chunk is written). A download keeps nothing of
    the file in the page cache, and takes none of its memory. If the file system refuses
    after all, the file is written the ordinary way from then on (``fallback``)."""

    def __init__(self, fd: int, chunk_size: int, fallback: Place) -> None:
        self.fd, self.chunk_size, self.fallback = fd, chunk_size, fallback
        self.direct = True

    def __call__(self, index: int, plaintext: bytes | memoryview) -> None:
        if self.direct and isinstance(plaintext, memoryview):
            length = len(plaintext)
            padded = memoryview(plaintext.obj)[: uncached.round_up(length)]
            padded[length:] = bytes(len(padded) - length)
            try:
                uncached.write_at(self.fd, padded, index * self.chunk_size)
                return
            except uncached.Refused:
                self.direct = False
                uncached.buffered_writes(self.fd)
        self.fallback(index, plaintext)


class Downloader:
    def __init__(
        self,
        api: ChunkReader,
        *,
        workers: int = 4,
        window: int | None = None,
        progress: Progress | None = None,
        range_bytes: int | None = None,
        range_workers: int | None = None,
    ) -> None:
        """``workers`` requests at once (batches of small files, or ranges of a large
        file unless ``range_workers`` says how many of those), ``window`` ranges fetched
        ahead of the one a stream is written from."""
        self.range_bytes = RANGE_BYTES if range_bytes is None else range_bytes
        self.api = api
        self.workers = workers
        self.range_workers = range_workers or workers
        self.window = window or self.range_workers
        self.progress = progress or _no_progress
        self._direct_offered: bool | None = None

    def stream(
        self, record: m.VersionRecord, info: cn.VersionInfo, out: Callable[[bytes], object]
    ) -> None:
        """Pass the plaintext to ``out`` chunk by chunk, in order, each after it is
        authenticated."""
        self._run(record, info, None, out)

    def _run(
        self,
        record: m.VersionRecord,
        info: cn.VersionInfo,
        place: Place | None,
        out: Callable[[bytes], object] | None,
        *,
        aligned: bool = False,
    ) -> None:
        """Fetch and decrypt every chunk in workers; each chunk's plaintext goes to
        ``place`` in its worker if given (decrypted into the worker's page-aligned buffer
        if ``aligned``), else to ``out`` in order in this thread. The content hash is
        checked last, from the chunks' digests in order."""
        cipher = cs.ContentCipher.for_decryption(
            info.content_key, info.content_id, record.header, info.chunk_size
        )
        n = cs.chunk_count(info.size, cipher.chunk_size)
        per_request = max(1, min(RANGE_CHUNKS, self.range_bytes // cipher.chunk_size))
        direct = self._direct(record, n)
        workers, window = self.range_workers, self.window
        if direct is not None:
            # The store answers one chunk per request: more requests in flight instead.
            per_request = 1
            workers = window = max(workers, DIRECT_STREAMS)

        def fetch(first: int) -> list[_Chunk]:
            count = min(per_request, n - first)
            chunks = []
            into = memoryview(_DECRYPTED.get(cipher.chunk_size)) if aligned else None
            for index, plaintext in self._fetch_range(
                record.id, info, cipher, direct, first, count, into
            ):
                digest = cs.chunk_digest(plaintext)
                if place is None:
                    assert isinstance(plaintext, bytes)  # held: not decrypted into a buffer
                    chunks.append(_Chunk(plaintext, len(plaintext), digest))
                else:
                    place(index, plaintext)
                    chunks.append(_Chunk(None, len(plaintext), digest))
            return chunks

        digests: list[bytes] = []
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="coffre-down") as pool:
                pending: deque[Future[list[_Chunk]]] = deque()
                next_first = 0
                try:
                    while next_first < n or pending:
                        while next_first < n and len(pending) < window:
                            pending.append(pool.submit(fetch, next_first))
                            next_first += per_request
                        for chunk in pending.popleft().result():
                            if out is not None and chunk.plaintext is not None:
                                out(chunk.plaintext)
                            digests.append(chunk.digest)
                            self.progress(chunk.length)
                finally:
                    for future in pending:
                        future.cancel()
        finally:
            if direct is not None:  # once the workers are done with its connections
                direct.storage.close()
                self._direct_offered = direct.urls.direct
        if not equal(cs.content_hash(digests), info.content_hash):
            raise IntegrityError("file content")

    def _fetch_range(
        self,
        version_id: str,
        info: cn.VersionInfo,
        cipher: cs.ContentCipher,
        direct: Direct | None,
        first: int,
        count: int,
        into: memoryview | None = None,
    ) -> Iterator[tuple[int, bytes | memoryview]]:
        """Chunks ``first`` .. ``first + count - 1``, each index with its authenticated
        plaintext (decrypted into ``into`` if given: a view of it, valid until the next
        chunk); the answer's length is checked before anything is decrypted."""
        n = cs.chunk_count(info.size, cipher.chunk_size)
        sizes = [
            cs.chunk_plaintext_size(info.size, cipher.chunk_size, i) + cs.TAG_SIZE
            for i in range(first, first + count)
        ]
        expected = sum(sizes)
        # Received into this worker's buffer, reused from range to range: memory stays
        # flat, where a new buffer per range left the allocator holding more and more as a
        # large download went on.
        buffer = thread_buffer(expected)
        data: bytes | memoryview = buffer
        length = _from_storage(direct, first, sizes, buffer) if direct is not None else None
        if length is None:
            if count == 1:
                data = self.api.get_chunk(version_id, first)
                length = len(data)
            else:
                length = self.api.get_chunks_into(version_id, first, count, buffer)
        if length != expected:
            raise IntegrityError("file content")
        for index, piece in enumerate(_cut(data, sizes), start=first):
            if into is None:
                yield index, cipher.decrypt_chunk(index, piece, last=index == n - 1)
            else:
                length = cipher.decrypt_chunk_into(index, piece, into, last=index == n - 1)
                yield index, into[:length]

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
        # Asked now (the first batch of URLs is needed anyway): how the chunks are fetched,
        # one per request from the store or in ranges from the API, depends on the answer.
        if urls.get(0) is None:
            self._direct_offered = False
            return None
        return Direct(urls, Storage(retry_for=api.retry_for))

    def to_file(self, record: m.VersionRecord, info: cn.VersionInfo, dest: Path) -> None:
        """Write the version to ``dest``; nothing appears there unless all of it checks out.

        Workers write their chunks straight into the temporary file, at their offsets,
        start their writeback, and let chunks written well before leave the page cache;
        what a failure leaves there is removed with the file."""
        chunk_size = info.chunk_size
        behind = max(1, SETTLE_BEHIND // chunk_size)

        def produce(fd: int) -> None:
            os.ftruncate(fd, info.size)

            def place(index: int, plaintext: bytes | memoryview) -> None:
                _pwrite_all(fd, plaintext, index * chunk_size)
                disk.start_writeback(fd, index * chunk_size, len(plaintext))
                if index >= behind:  # written by now, or settling it changes nothing
                    disk.settle(fd, (index - behind) * chunk_size, chunk_size)

            if chunk_size % uncached.ALIGN or not uncached.direct_writes(fd):
                self._run(record, info, place, None)
                return
            uncached.reserve(fd, info.size)  # the workers' writes then overlap on the disk
            self._run(record, info, _DirectPlace(fd, chunk_size, place), None, aligned=True)
            os.ftruncate(fd, info.size)  # the last chunk went out padded to a whole block

        write_verified(dest, info, produce)

    def to_binary(self, record: m.VersionRecord, info: cn.VersionInfo, out: BinaryIO) -> None:
        self.stream(record, info, out.write)

    def small_files(self, jobs: Iterable[SmallJob]) -> None:
        """Download many one-chunk files: their chunks come many per request. One thread
        makes every change to the files: it decrypts and writes a batch's files under
        temporary names, and, once another thread has made them durable together, renames
        them into place before it writes the batch after next.

        One thread, because each system call hands the interpreter's lock to any thread
        waiting for it: with two writers and the renames on the syncing thread, the three
        handed it back and forth at every call (twelve futex calls a file). Side by side,
        10,000 files of 4 KiB, two sets of eight alternating pairs: 5,310 against 4,988 and
        5,264 against 5,036 files/s (medians), the client's system time 0.61 against 0.78 s
        in both, its user time 5-10% less (docs/performance-history.md); eight writers had been
        slower than two.
        """
        batches = batched(jobs, lambda job: job.record.size, SMALL_BATCH_FILES, SMALL_BATCH_BYTES)
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="coffre-fetch") as fetchers,
            ThreadPoolExecutor(1, thread_name_prefix="coffre-write") as writer,
            ThreadPoolExecutor(1, thread_name_prefix="coffre-sync") as syncer,
        ):
            # Memory is bounded whatever the number of files: at most one batch per fetcher
            # is fetched ahead, and a batch is handed to the writer only once the one two
            # before it is in place.
            fetched = deque(
                fetchers.submit(self._fetch_small, b) for b in islice(batches, self.workers)
            )
            synced: list[Future[list[_Staged]]] = []
            renamed: list[Future[None]] = []
            try:
                while fetched:
                    pairs = fetched.popleft().result()
                    if renamed and renamed[-1].exception() is not None:
                        break  # a batch failed: fetch and write no more
                    fetched.extend(
                        fetchers.submit(self._fetch_small, b) for b in islice(batches, 1)
                    )
                    staged = writer.submit(self._stage_many, pairs)
                    synced.append(syncer.submit(_sync_batch, staged))
                    if len(synced) >= 2:
                        # Queued behind this batch's writing: the one before is synced by
                        # the time the writer gets to it.
                        renamed.append(writer.submit(_rename_batch, synced[-2], self.progress))
                else:
                    if synced:
                        renamed.append(writer.submit(_rename_batch, synced[-1], self.progress))
            finally:
                for future in fetched:
                    future.cancel()
                for batch in synced[len(renamed) :]:
                    _discard(batch)  # written, never to be renamed: its files go
                for done in renamed:
                    done.exception()  # wait: every batch cleans up after itself
            for done in renamed:
                done.result()

    def _fetch_small(self, batch: list[SmallJob]) -> list[tuple[SmallJob, bytes]]:
        chunks = self.api.small_chunks([job.record.id for job in batch])
        try:
            return [(job, chunks[job.record.id]) for job in batch]
        except KeyError:
            raise IntegrityError("the server's answer to POST /v1/versions/small") from None

    def _stage_many(self, pairs: list[tuple[SmallJob, bytes]]) -> list[_Staged]:
        """:meth:`_stage_small` for each file; if one fails, the others' temporary files
        are removed before its error is raised."""
        staged: list[_Staged] = []
        try:
            for job, chunk in pairs:
                staged.append(self._stage_small(job, chunk))
        except BaseException:
            _remove(staged)
            raise
        return staged

    def _stage_small(self, job: SmallJob, chunk: bytes) -> _Staged:
        """Decrypt and verify one small file and write it to its temporary file (not yet
        durable, not yet in place)."""
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
        tmp = _write_temporary(job.dest, info, lambda fd: _pwrite_all(fd, plaintext, 0))
        return _Staged(tmp, job.dest, len(plaintext))


@dataclass(frozen=True, slots=True)
class SmallJob:
    record: m.VersionRecord
    info: cn.VersionInfo
    dest: Path


@dataclass(frozen=True, slots=True)
class _Staged:
    """A small file written and verified under its temporary name, not yet durable."""

    tmp: Path
    dest: Path
    size: int


def write_verified(dest: Path, info: cn.VersionInfo, produce: Callable[[int], object]) -> None:
    """Have ``produce`` write into a hidden temporary file beside ``dest`` (its argument is
    the file's descriptor); rename it into place, with the version's modification time and
    once it is on disk, only if ``produce`` returns (having verified everything); remove it
    otherwise."""
    tmp = _write_temporary(dest, info, produce, durable=True)
    try:
        os.replace(tmp, dest)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise LocalError.of(dest, exc) from None
        raise


def _write_temporary(
    dest: Path, info: cn.VersionInfo, produce: Callable[[int], object], *, durable: bool = False
) -> Path:
    """A hidden temporary file beside ``dest`` that ``produce`` has written (given its
    descriptor), with the version's mode and modification time, fsynced if ``durable``;
    on any failure it is removed."""
    tmp = _temporary_name(dest)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise LocalError.of(dest, exc) from None
    try:
        try:
            produce(fd)
            _finish_metadata(fd, info)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the local disk's: full, gone read-only, failing
            raise LocalError.of(dest, exc) from None
        raise
    return tmp


def _temporary_name(dest: Path) -> Path:
    """A hidden name beside ``dest`` for its copy being written: ``.NAME.TOKEN.coffre-part``,
    with NAME cut so that the whole fits in a file name's 255 bytes (a file may have a
    name of 255 bytes itself)."""
    room = NAME_BYTES - len(b"..") - 8 - len(_PART)
    stem = os.fsencode(dest.name)[:room]
    token = secrets.token_hex(4).encode()
    return dest.parent / os.fsdecode(b"." + stem + b"." + token + _PART)


NAME_BYTES = 255
"""The longest file name most file systems take (NAME_MAX), and the longest a node's may be
(crypto.nodes.MAX_NAME_BYTES)."""
_PART = b".coffre-part"


def _finish_metadata(fd: int, info: cn.VersionInfo) -> None:
    """The mode a new file gets (under the umask) and the version's modification time."""
    os.fchmod(fd, 0o666 & ~_UMASK)
    mtime_ns = info.mtime_ms * 1_000_000
    os.utime(fd, ns=(mtime_ns, mtime_ns))


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _sync_batch(staged: Future[list[_Staged]]) -> list[_Staged]:
    """Make a batch of small files durable together (if they were all written: otherwise
    the writer has removed them and its error is raised)."""
    ready = staged.result()
    try:
        disk.sync_files([s.tmp for s in ready])
    except BaseException as exc:
        _remove(ready)
        if isinstance(exc, OSError) and ready:
            raise LocalError.of(ready[0].dest.parent, exc) from None
        raise
    return ready


def _rename_batch(synced: Future[list[_Staged]], progress: Progress) -> None:
    """Rename a synced batch's files into place: none of them if the batch failed to be
    written or synced; if a rename fails, the files not renamed yet are removed."""
    ready = synced.result()
    try:
        for s in ready:
            try:
                os.replace(s.tmp, s.dest)
            except OSError as exc:
                raise LocalError.of(s.dest, exc) from None
            progress(s.size)
    except BaseException:
        _remove(ready)
        raise


def _discard(synced: Future[list[_Staged]]) -> None:
    """Remove the temporary files of a batch that will not be renamed into place."""
    if synced.exception() is None:
        _remove(synced.result())


def _remove(staged: list[_Staged]) -> None:
    for s in staged:
        s.tmp.unlink(missing_ok=True)  # gone already if it was renamed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _cut(data: bytes | memoryview, sizes: list[int]) -> Iterator[memoryview]:
    """``data`` in pieces of these sizes, one at a time: views, not copies (AES-GCM reads
    its ciphertext from a view)."""
    view = memoryview(data)
    offset = 0
    for length in sizes:
        yield view[offset : offset + length]
        offset += length


def _from_storage(direct: Direct, first: int, sizes: list[int], into: memoryview) -> int | None:
    """Receive chunks ``first`` .. ``first + len(sizes) - 1`` from the object store into
    ``into``, one after the other; their length, or None if the server offers no URL for
    them (they come from the API then)."""
    offset = 0
    for index, size in enumerate(sizes, start=first):
        length = direct.get_into(index, into[offset : offset + size])
        if length is None:
            return None
        if length != size:
            raise IntegrityError("file content")
        offset += size
    return offset
