"""Blobs as files in a local folder: ``ROOT/ab/CONTENT_ID/INDEX``.

A put writes a temporary file beside the target, fsyncs it and renames it into place,
so a crash leaves either the old state or the whole new blob, never a torn one; then it
fsyncs the folder, so that the rename itself survives a crash. An upload's chunks are
stored without that last step and their folder synced once per request (:meth:`store`,
:meth:`sync`).

A blob, once on disk, leaves the page cache (``POSIX_FADV_DONTNEED``), as object stores
that write with ``O_DIRECT`` keep uploads out of it: chunks are written once and seldom
read soon after, and the memory they would hold serves the database and the next chunks
better. The next chunk's write then takes pages just freed rather than new ones, which
on a virtual machine whose host backs memory only when it is first touched (and takes
freed memory back) is most of the server's CPU for an upload (docs/performance-history.md). For
the same reason a blob is read around the page cache (:mod:`coffre.uncached`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from coffre import uncached
from coffre.server.blobs.base import Buffer, Presigned

_IOV_MAX = 1024
"""Pieces per writev: Linux takes at most this many."""


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_cached(fd: int) -> None:
    """Let the kernel drop a synced file's pages from its cache (where it can)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _write_all(fd: int, pieces: Sequence[Buffer]) -> None:
    """Write every piece, in order, in as few system calls as the kernel allows."""
    left = [memoryview(piece) for piece in pieces if len(piece)]
    while left:
        written = os.writev(fd, left[:_IOV_MAX])
        while written:  # drop what was written; a piece written in part stays, cut
            if written >= len(left[0]):
                written -= len(left.pop(0))
            else:
                left[0], written = left[0][written:], 0


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._making = threading.Lock()

    def _folder(self, content_id: str) -> Path:
        """A content's folder (an id that could name another path is refused)."""
        if not content_id.isalnum():
            raise ValueError(f"bad content id {content_id!r}")
        return self.root / content_id[:2] / content_id

    def _path(self, key: str) -> Path:
        content_id, _, index = key.partition("/")
        if not content_id.isalnum() or not index.isdigit():
            raise ValueError(f"bad blob key {key!r}")
        return self._folder(content_id) / index

    def put(self, key: str, data: bytes) -> None:
        self.store(key, [data])
        self.sync(key.partition("/")[0])

    def store(self, key: str, pieces: Sequence[Buffer]) -> None:
        """Write the pieces as one blob and fsync it, then rename it into place; the
        rename is made durable by :meth:`sync`, once for all the chunks of a request."""
        path = self._path(key)
        if not path.parent.is_dir():
            self._make_folder(path.parent)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, pieces)
            os.fsync(fd)
            _drop_cached(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)

    def sync(self, content_id: str) -> None:
        """Make the renames of every blob stored for ``content_id`` durable: fsync its folder."""
        folder = self._folder(content_id)
        with self._making:
            pass  # a folder another thread is creating is durable once it lets go
        _fsync_folder(folder)

    def _make_folder(self, folder: Path) -> None:
        """Create a content's folder (and its parent) durably: a chunk stored in a folder
        that a crash forgets is lost with it. Under a lock that :meth:`sync` waits for, so
        that no request is answered while the folder it wrote into is not yet durable."""
        with self._making:
            for level in (folder.parent, folder):
                try:
                    level.mkdir(mode=0o700)
                except FileExistsError:
                    continue
                _fsync_folder(level.parent)

    def get(self, key: str) -> bytes:
        """The blob, read around the page cache where the file system allows it (see
        :mod:`coffre.uncached`)."""
        path = self._path(key)
        try:
            data = uncached.read_file(path)
            return path.read_bytes() if data is None else data
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def chunks(self, content_id: str) -> set[int]:
        try:
            names = os.listdir(self._folder(content_id))
        except FileNotFoundError:
            return set()
        return {int(name) for name in names if name.isdigit()}

    def chunk_sizes(self, content_id: str) -> dict[int, int]:
        return self._sizes(content_id, self.chunks(content_id))

    def range_sizes(self, content_id: str, first: int, count: int) -> dict[int, int]:
        return self._sizes(content_id, range(first, first + count))

    def _sizes(self, content_id: str, indexes: Iterable[int]) -> dict[int, int]:
        """The sizes of those of these chunks that are stored, by index."""
        folder = self._folder(content_id)
        sizes: dict[int, int] = {}
        for index in indexes:
            with contextlib.suppress(FileNotFoundError):
                sizes[index] = os.stat(folder / str(index)).st_size
        return sizes

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"blob folder {self.root} is not writable")

    def presign_put(self, key: str, size: int, expires: int) -> Presigned | None:
        return None  # chunks go through the API

    def presign_get(self, key: str, expires: int) -> Presigned | None:
        return None

    def __str__(self) -> str:
        return str(self.root)
