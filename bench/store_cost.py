"""What storing an upload's chunks costs the server, in the layouts a blob folder can have.

A diagnostic, not one of ``python -m bench``'s benchmarks: it writes 1 GiB of ciphertext
chunks the way an upload's requests do (as many ranges of eight 1 MiB chunks at once as
``coffre put`` sends, :data:`coffre.client.upload.WORKERS`; each range's chunks written
on threads at once and made durable before the range is done), in each of these ways,
alternating, and prints the rate and the process's CPU (user and system) for each:

- ``ranges``: the server's own :class:`~coffre.server.blobs.local.LocalBlobStore`, a file a
  range (:meth:`~coffre.server.blobs.local.LocalBlobStore.open_range`): each chunk written
  at its offset with ``RWF_DSYNC`` by its own thread, then one ``fsync``, one rename and
  one folder sync a range. The layout in use.
- ``chunks``: the same store, a file a chunk (:meth:`~coffre.server.blobs.local.
  LocalBlobStore.store`: written, fsynced, dropped from the page cache, renamed into
  place), the folder synced once a range: the layout before, and still that of a chunk
  sent alone.
- ``direct``: a file a chunk, as ``chunks``, but copied into a page-aligned buffer and
  written with ``O_DIRECT`` (no page cache at all).
- ``cached`` (only with ``--cached``): as ``chunks`` but left in the page cache, to show
  what :mod:`coffre.server.blobs.local` drops its chunks from it for.

Every chunk holds bytes of its own (1 GiB of ``os.urandom``, made once before the rounds):
a store under a virtual disk may compress or deduplicate, and one chunk written 1,024
times would measure that instead of the disk.

Every round's folder stays until the last round has run: files deleted just before others
are created make the new ones slower on ext4 without a journal (docs/performance-history.md,
"The upload after a deletion"); a run started within minutes of deleting many files
(another run's, say) measures that too.

    python -m bench.store_cost FOLDER [--rounds 4] [--cached]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coffre import uncached
from coffre.client.upload import WORKERS
from coffre.crypto import stream as cs
from coffre.server.blobs.base import chunk_key
from coffre.server.blobs.local import LocalBlobStore
from coffre.server.blobs.local import _fsync_folder as fsync_folder

CHUNK = cs.DEFAULT_CHUNK_SIZE + cs.TAG_SIZE
"""A ciphertext chunk of the default size."""
CHUNKS = 1024
RANGE = 8
"""Chunks a range (the client's 8 MiB ranges)."""
RANGES_AT_ONCE = WORKERS
"""The client's upload workers (four before commit ``6d15a8c``)."""

Way = Callable[[Path, Sequence[bytes]], None]
"""Stores chunk ``i`` of ``data`` as its ``i``-th, for ``i`` in ``range(CHUNKS)``."""


def _ranges(store: Callable[[int], None], finish: Callable[[int], None]) -> None:
    """Store every chunk, a range's chunks at once and ``finish`` after each range, with
    :data:`RANGES_AT_ONCE` ranges at a time."""
    chunk_threads = ThreadPoolExecutor(RANGE * RANGES_AT_ONCE)

    def one_range(first: int) -> None:
        for done in [chunk_threads.submit(store, i) for i in range(first, first + RANGE)]:
            done.result()
        finish(first)

    with chunk_threads, ThreadPoolExecutor(RANGES_AT_ONCE) as ranges:
        list(ranges.map(one_range, range(0, CHUNKS, RANGE)))


def chunks(folder: Path, data: Sequence[bytes]) -> None:
    blobs = LocalBlobStore(folder)
    content_id = secrets.token_hex(16)
    _ranges(
        lambda i: blobs.store(chunk_key(content_id, i), [data[i]]),
        lambda _first: blobs.sync(content_id),
    )


def cached(folder: Path, data: Sequence[bytes]) -> None:
    content = folder / secrets.token_hex(16)
    content.mkdir()

    def store(i: int) -> None:
        tmp = content / f".{i}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data[i])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, content / str(i))

    _ranges(store, lambda _first: fsync_folder(content))


def ranges(folder: Path, data: Sequence[bytes]) -> None:
    blobs = LocalBlobStore(folder)
    content_id = secrets.token_hex(16)
    writers = {
        first: blobs.open_range(content_id, first, CHUNK) for first in range(0, CHUNKS, RANGE)
    }

    def finish(first: int) -> None:
        writers[first].close(RANGE)
        blobs.sync(content_id)

    _ranges(lambda i: writers[i - i % RANGE].write(i, [data[i]]), finish)


def direct(folder: Path, data: Sequence[bytes]) -> None:
    content = folder / secrets.token_hex(16)
    content.mkdir()
    buffers = threading.local()
    size = uncached.round_up(CHUNK)

    def store(i: int) -> None:
        buffer = getattr(buffers, "buffer", None)
        if buffer is None:
            buffer = buffers.buffer = uncached.aligned(size)
        buffer[:CHUNK] = data[i]  # the copy a server receiving the body would make
        tmp = content / f".{i}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o600)
        try:
            os.write(fd, memoryview(buffer)[:size])
            os.ftruncate(fd, CHUNK)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, content / str(i))

    _ranges(store, lambda _first: fsync_folder(content))


def measure(way: Way, folder: Path, data: Sequence[bytes]) -> tuple[float, float, float]:
    """MB/s, user and system CPU seconds of storing 1 GiB of chunks one way."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    way(folder, data)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (
        CHUNKS * CHUNK / elapsed / 1e6,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_cost", description=__doc__)
    parser.add_argument("folder", type=Path, help="where to write (on the disk measured)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--cached", action="store_true", help="also leave chunks cached")
    args = parser.parse_args()
    ways: dict[str, Way] = {"ranges": ranges, "chunks": chunks}
    if uncached.available():
        ways["direct"] = direct
    if args.cached:
        ways["cached"] = cached
    work = Path(args.folder) / f"store-cost-{secrets.token_hex(4)}"
    work.mkdir(parents=True)
    data = [os.urandom(CHUNK) for _ in range(CHUNKS)]
    try:
        for round_ in range(1, args.rounds + 1):
            for name, way in ways.items():
                rate, user, system = measure(way, work, data)
                print(
                    f"round {round_} {name:7} {rate:6,.0f} MB/s  "
                    f"CPU a GiB: user {user:.2f} s, system {system:.2f} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
