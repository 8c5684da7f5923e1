"""Uploads: read, hash, encrypt and send, overlapped, with memory bounded by the window.

One reader (the calling thread) reads the file in chunk-sized pieces in order; a pool of
workers hashes each piece, notes the hash in the upload journal, encrypts it (OpenSSL
releases the GIL) and PUTs it. At most ``window`` chunks are in flight, so memory stays
flat whatever the file size. An upload interrupted on either side resumes from the
journal: the file must be unchanged, and every chunk encrypted again must hash as it did
the first time, or the upload starts over under a new key (SECURITY.md A16).

Files of one chunk skip the three-step upload: they are sent many per request.
"""

from __future__ import annotations

import base64
import contextlib
import mimetypes
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coffre.client.batches import batched
from coffre.client.buffers import thread_buffer
from coffre.client.direct import Direct, Storage, Urls
from coffre.client.drive import Drive, Entry
from coffre.client.source import Source, Span
from coffre.client.state import Journal, find_journal
from coffre.crypto import account as ca
from coffre.crypto import nodes as cn
from coffre.crypto import shares
from coffre.crypto import stream as cs
from coffre.errors import Conflict, LocalError, NotFound
from coffre.protocol import models as m

Progress = Callable[[int], None]
SMALL_BATCH_FILES = 500
RANGE_BYTES = 8 * 1024 * 1024
"""Plaintext bytes sent per request: consecutive chunks go together, to spare round trips
and the server's work per request (a transaction and a folder fsync). Each worker encrypts
its range into a buffer it reuses, so a larger range costs memory once, not per range: 8
MiB against 4 was 231-291 against 196-229 MB/s side by side, for about 30 MiB more; 16 MiB
was no faster than 8 and took 60 MiB more."""
SMALL_BATCH_BYTES = 2 * 1024 * 1024


class ChunkChanged(LocalError):
    """A chunk to be encrypted again under a journal's key differs from the first time."""


def _no_progress(_n: int) -> None:
    pass


_TYPES = mimetypes.MimeTypes(filenames=())  # the built-in table: reading the system's is slow


def _read_small(path: Path, limit: int) -> tuple[os.stat_result, bytes]:
    """A small file's status and up to ``limit`` bytes of it, with a plain descriptor (a
    buffered file object costs more than the few system calls it wraps)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        pieces: list[bytes] = []
        while limit > 0:
            piece = os.read(fd, limit)
            if not piece:
                break
            pieces.append(piece)
            limit -= len(piece)
            if len(pieces) == 1 and len(piece) == st.st_size:
                break  # all of it at the first read: no second call to find the end
    finally:
        os.close(fd)
    return st, pieces[0] if len(pieces) == 1 else b"".join(pieces)


def media_type(name: str) -> str:
    return _TYPES.guess_type(name, strict=False)[0] or "application/octet-stream"


def _file_identity(st: os.stat_result) -> dict[str, int]:
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }


@dataclass(frozen=True, slots=True)
class SmallJob:
    local: Path
    parent: Entry
    name: str
    existing: Entry | None


WORKERS = 6
"""Ranges of a large file an upload reads, hashes, encrypts and sends at once. Each waits
in turn for the server to make its chunks durable and answer, so more ranges in flight
overlap those waits: side by side (``python -m bench.side_by_side``, 1 GiB, an AMD EPYC),
six against four did 480 against 445 MB/s (8 of 8 pairs) and 469 against 440 (8 of 10),
with as much of the server's CPU a GiB; eight against six, 447 against 448 (2 of 8), with
0.14 s more of it. Each costs a buffer of one range for its plaintext and one for its
ciphertext (docs/performance-history.md, "Six upload workers")."""


class Uploader:
    def __init__(
        self,
        drive: Drive,
        *,
        chunk_size: int = cs.DEFAULT_CHUNK_SIZE,
        workers: int = WORKERS,
        window: int | None = None,
        progress: Progress | None = None,
        range_bytes: int | None = None,
    ) -> None:
        self.drive = drive
        self.range_bytes = RANGE_BYTES if range_bytes is None else range_bytes
        self.api = drive.api
        self.chunk_size = chunk_size
        self.workers = workers
        self.window = window or workers
        self.progress = progress or _no_progress

    # -- one file -------------------------------------------------------------------------

    def put(self, local: Path, parent: Entry, name: str, existing: Entry | None = None) -> None:
        """Upload ``local`` as ``name`` in ``parent`` (a new version if ``existing``)."""
        if existing is not None and existing.is_folder:
            raise Conflict("name_taken", f"{name}: a folder with this name is in the way")
        try:
            st = local.stat()
        except OSError as exc:
            raise LocalError.of(local, exc) from None
        if st.st_size <= self.chunk_size:
            self.put_small([SmallJob(local, parent, name, existing)])
        else:
            self._put_large(local, st, parent, name, existing)

    def _put_large(
        self, local: Path, st: os.stat_result, parent: Entry, name: str, existing: Entry | None
    ) -> None:
        where = {
            "server": self.api.base_url,
            "user": self.drive.keys.user_id.hex(),
            "local": str(local.resolve()),
            "parent": parent.id,
            "name": name,
        }
        identity = _file_identity(st)
        journal, state = self._resume(where, identity)
        if journal is None or state is None:
            journal, state = self._start(where, identity, parent, name, existing, st.st_size)
        header = journal.header()
        content_key = base64.b64decode(header["content_key"])
        content_id = bytes.fromhex(header["content_id"])
        cipher = cs.ContentCipher(content_key, content_id, header["chunk_size"])
        received = set(state.received)
        direct = None
        if state.direct:
            # The server keeps blobs in an object store: chunks go there, not to the API.
            upload_id = journal.upload_id
            todo = [i for i in range(state.chunk_count) if i not in received]
            direct = Direct(
                Urls(lambda indexes: self.api.upload_urls(upload_id, indexes), todo),
                Storage(retry_for=self.api.retry_for),
            )
        try:
            digests = self._send(local, journal, cipher, st.st_size, received, direct)
        finally:
            if direct is not None:
                direct.storage.close()
        if _file_identity(local.stat()) != identity:
            self._abandon(journal)
            raise LocalError(f"{local}: the file changed while it was being uploaded; try again")
        node_id = bytes.fromhex(header["node_id"])
        info = cn.VersionInfo(
            content_key=content_key,
            content_id=content_id,
            size=st.st_size,
            mtime_ms=st.st_mtime_ns // 1_000_000,
            media_type=media_type(name),
            content_hash=cs.content_hash(digests),
            chunk_size=cipher.chunk_size,
        )
        node_key = base64.b64decode(header["node_key"])
        version_id = bytes.fromhex(journal.upload_id)
        envelope = cn.seal_version(node_key, node_id, version_id, info)
        signature = shares.sign_version(
            self.drive.keys.identity, node_id, version_id, envelope, cipher.header.encode()
        )
        try:
            self.api.commit_upload(
                journal.upload_id, m.CommitRequest(envelope=envelope, signature=signature)
            )
        except (Conflict, NotFound) as exc:
            if exc.code == "upload_not_found" and self._committed(
                header["node_id"], journal.upload_id
            ):
                # A commit whose answer was lost (a server gone mid-answer), sent again.
                journal.delete()
                return
            # The name was taken or the folder went meanwhile: this upload can never
            # commit, so do not leave a journal that would resume it again and again.
            self._abandon(journal)
            raise
        journal.delete()

    def _committed(self, node_id: str, version_id: str) -> bool:
        """Whether the upload ``version_id`` is already a version of file ``node_id``."""
        try:
            return any(v.id == version_id for v in self.api.versions(node_id))
        except (Conflict, NotFound):
            return False

    def _resume(
        self, where: dict[str, Any], identity: dict[str, int]
    ) -> tuple[Journal | None, m.UploadState | None]:
        journal = find_journal(where)
        if journal is None:
            return None, None
        if journal.header().get("file") != identity:
            self._abandon(journal)
            return None, None
        try:
            return journal, self.api.upload_state(journal.upload_id)
        except NotFound:
            journal.delete()
            return None, None

    def _abandon(self, journal: Journal) -> None:
        with contextlib.suppress(NotFound):
            self.api.cancel_upload(journal.upload_id)
        journal.delete()

    def _start(
        self,
        where: dict[str, Any],
        identity: dict[str, int],
        parent: Entry,
        name: str,
        existing: Entry | None,
        size: int,
    ) -> tuple[Journal, m.UploadState]:
        content_key, content_id, version_id = ca.new_key(), ca.new_id(), ca.new_id()
        cipher = cs.ContentCipher(content_key, content_id, self.chunk_size)
        if existing is None:
            node, node_key = self.drive.new_node(parent, name, cn.Kind.FILE)
            node_id = node.id
        else:
            node, node_key, node_id = None, existing.key, existing.id
        request = m.UploadRequest(
            node=node,
            node_id=None if node else node_id,
            version=m.NewVersion(
                id=version_id.hex(),
                header=cipher.header.encode(),
                content_id=content_id.hex(),
                chunk_size=self.chunk_size,
                chunk_count=cs.chunk_count(size, self.chunk_size),
                size=cs.ciphertext_size(size, self.chunk_size),
            ),
        )
        # The journal is written before the server hears of the upload: no key is ever
        # used for chunks that a later run could not find again.
        journal = Journal.create(
            version_id.hex(),
            {
                **where,
                "file": identity,
                "content_key": base64.b64encode(content_key).decode(),
                "content_id": content_id.hex(),
                "chunk_size": self.chunk_size,
                "node_id": node_id,
                "node_key": base64.b64encode(node_key).decode(),
            },
        )
        try:
            state = self.api.start_upload(request)
        except BaseException:
            journal.delete()
            raise
        return journal, state

    def _put_run(
        self, upload_id: str, first: int, body: memoryview, sizes: list[int], direct: Direct | None
    ) -> None:
        """Send chunks ``first`` .. ``first + len(sizes) - 1``, encrypted and concatenated
        in ``body``."""
        if direct is not None:
            for offset, size in enumerate(sizes):
                if not direct.put(first + offset, body[:size]):
                    first, sizes = first + offset, sizes[offset:]
                    break  # the server offers no URL after all: the rest go to the API
                body = body[size:]
            else:
                return
        if len(sizes) == 1:
            self.api.put_chunk(upload_id, first, bytes(body))
        else:
            self.api.put_chunks(upload_id, first, body)

    def _send(
        self,
        local: Path,
        journal: Journal,
        cipher: cs.ContentCipher,
        size: int,
        received: set[int],
        direct: Direct | None = None,
    ) -> list[bytes]:
        """Read, hash, encrypt and send the chunks the server lacks; every chunk's digest."""
        n = cs.chunk_count(size, cipher.chunk_size)
        per_request = max(1, self.range_bytes // cipher.chunk_size)
        recorded = journal.chunk_hashes()
        digests: list[bytes] = [b""] * n
        slots = threading.BoundedSemaphore(self.window)
        failure: list[BaseException] = []

        def work(first: int, pieces: list[memoryview], span: Span) -> None:
            try:
                plain_bytes = sum(map(len, pieces))
                to_send: list[int] = []
                journal_lines: list[tuple[int, str]] = []
                for index, data in enumerate(pieces, start=first):
                    digest = cs.chunk_digest(data)
                    known = recorded.get(index)
                    if known is not None and known != digest.hex():
                        raise ChunkChanged(
                            f"{local}: chunk {index} differs from when it was first encrypted; "
                            "the upload was abandoned, run the command again to start over"
                        )
                    digests[index] = digest
                    if index not in received:
                        to_send.append(index)
                        if known is None:
                            journal_lines.append((index, digest.hex()))
                if journal_lines:
                    journal.record_chunks(journal_lines)
                # Encrypted into this worker's buffer, reused from range to range; a run of
                # consecutive chunks is one stretch of it, sent as it is.
                sealed = thread_buffer(sum(len(pieces[i - first]) + cs.TAG_SIZE for i in to_send))
                run: list[int] = []  # the sizes of the run's chunks
                run_start = start = end = 0
                for index in to_send:
                    if run and index != run_start + len(run):
                        self._put_run(journal.upload_id, run_start, sealed[start:end], run, direct)
                        run, start = [], end
                    if not run:
                        run_start = index
                    data = pieces[index - first]
                    size = len(data) + cs.TAG_SIZE
                    cipher.encrypt_chunk_into(
                        index, data, sealed[end : end + size], last=index == n - 1
                    )
                    run.append(size)
                    end += size
                    del data
                if run:
                    self._put_run(journal.upload_id, run_start, sealed[start:end], run, direct)
                self.progress(plain_bytes)
            except BaseException as exc:
                failure.append(exc)
            finally:
                del pieces
                span.release()
                slots.release()

        def done_before(index: int) -> bool:
            return index in received and index in recorded

        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="coffre-up")
        # One buffer for each range the workers hold, and one for the range being read.
        source = Source(
            local,
            largest=per_request * cipher.chunk_size,
            buffers=self.window + 1,
            chunk_size=cipher.chunk_size,
        )
        try:
            index = 0
            while index < n and not failure:
                if done_before(index):
                    digests[index] = bytes.fromhex(recorded[index])
                    self.progress(cs.chunk_plaintext_size(size, cipher.chunk_size, index))
                    index += 1
                    continue
                # A range: consecutive chunks still to hash or send.
                first, wants = index, list[int]()
                while index < n and len(wants) < per_request and not done_before(index):
                    wants.append(cs.chunk_plaintext_size(size, cipher.chunk_size, index))
                    index += 1
                span = source.read(first * cipher.chunk_size, sum(wants))
                if len(span.data) != sum(wants):
                    span.release()
                    failure.append(LocalError(f"{local}: the file shrank while it was being read"))
                    break
                pieces, offset = [], 0
                for want in wants:
                    pieces.append(span.data[offset : offset + want])
                    offset += want
                slots.acquire()
                pool.submit(work, first, pieces, span)
        finally:
            pool.shutdown(wait=True)
            source.close()
            journal.close()
        if failure:
            exc = failure[0]
            if isinstance(exc, ChunkChanged):
                self._abandon(journal)
            raise exc
        return digests

    # -- many small files -----------------------------------------------------------------

    def put_small(self, jobs: list[SmallJob]) -> None:
        """Upload one-chunk files, many per request: each batch is sealed while the one
        before is sent and stored (at most two batches in memory)."""
        with ThreadPoolExecutor(1, thread_name_prefix="coffre-small") as sender:
            sending: Future[None] | None = None
            for files in self._sealed_batches(jobs):
                request = m.SmallFilesRequest(files=files)
                if sending is not None:
                    sending.result()  # the batch before failed: stop here, with its error
                sending = sender.submit(self.api.store_small_files, request)
            if sending is not None:
                sending.result()

    def _sealed_batches(self, jobs: list[SmallJob]) -> Iterator[list[m.SmallFile]]:
        """The jobs sealed, in batches of at most SMALL_BATCH_FILES files and
        SMALL_BATCH_BYTES of content (or one file, if it is larger); each batch is sealed
        only when it is asked for."""
        return batched(
            self._sealed(jobs),
            lambda f: len(f.data) - cs.TAG_SIZE,
            SMALL_BATCH_FILES,
            SMALL_BATCH_BYTES,
        )

    def _sealed(self, jobs: list[SmallJob]) -> Iterator[m.SmallFile]:
        for job in jobs:
            small = self._small(job)
            self.progress(len(small.data) - cs.TAG_SIZE)
            yield small

    def _small(self, job: SmallJob) -> m.SmallFile:
        try:
            st, data = _read_small(job.local, self.chunk_size + 1)
        except OSError as exc:
            raise LocalError.of(job.local, exc) from None
        if len(data) > self.chunk_size:
            raise LocalError(f"{job.local}: the file grew while it was being read")
        content_key, content_id, version_id = ca.new_key(), ca.new_id(), ca.new_id()
        header, chunks = cs.encrypt_all(content_key, content_id, data, self.chunk_size)
        if job.existing is None:
            node, node_key = self.drive.new_node(job.parent, job.name, cn.Kind.FILE)
            node_id = node.id
        else:
            node, node_key, node_id = None, job.existing.key, job.existing.id
        info = cn.VersionInfo(
            content_key=content_key,
            content_id=content_id,
            size=len(data),
            mtime_ms=st.st_mtime_ns // 1_000_000,
            media_type=media_type(job.name),
            content_hash=cs.content_hash([cs.chunk_digest(data)]),
            chunk_size=self.chunk_size,
        )
        envelope = cn.seal_version(node_key, bytes.fromhex(node_id), version_id, info)
        signature = shares.sign_version(
            self.drive.keys.identity, bytes.fromhex(node_id), version_id, envelope, header
        )
        return m.SmallFile(
            node=node,
            node_id=None if node else node_id,
            version=m.NewVersion(
                id=version_id.hex(),
                header=header,
                content_id=content_id.hex(),
                chunk_size=self.chunk_size,
                chunk_count=1,
                size=len(chunks[0]),
            ),
            envelope=envelope,
            signature=signature,
            data=chunks[0],
        )
