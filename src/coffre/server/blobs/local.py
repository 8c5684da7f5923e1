"""Blobs as files in a local folder: ``ROOT/ab/CONTENT_ID/``, holding a content's chunks as

- ``INDEX``: one chunk alone (a chunk sent on its own, or put), and
- ``FIRST-COUNT-SIZE``: the ``COUNT`` consecutive chunks from ``FIRST`` that one request
  sent (:meth:`LocalBlobStore.open_range`), chunk ``FIRST + k`` at offset ``k`` times
  ``SIZE`` rounded up to 4 KiB (so that each is read around the page cache on its own),
  each ``SIZE`` bytes but the last, which runs to the end of the file.

A file a range instead of a file a chunk: eight times fewer files to create, sync, rename
and delete for an upload's 8 MiB ranges, which costs the server a fifth less CPU a GiB to
store and is far less slowed by inodes freed just before (``python -m bench.store_cost``;
docs/performance-history.md). Where a chunk is in more than one file (sent again, alone or
in another range), the one alone is read first; they hold the same bytes, as the client
sends a chunk again only as it was (docs/crypto.md, section 7).

A put writes a temporary file beside the target, fsyncs it and renames it into place,
so a crash leaves either the old state or the whole new blob, never a torn one; then it
fsyncs the folder, so that the rename itself survives a crash. An upload's chunks are
stored without that last step and their folder synced once per request (:meth:`store`,
:meth:`sync`); a range's chunks are each written with ``RWF_DSYNC`` (on the disk as the
rest of the range arrives) into a temporary file, renamed into place once the request's
last chunk is in.

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
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coffre import uncached
from coffre.server.blobs.base import Buffer, Presigned, RangeWriter

_IOV_MAX = 1024
"""Pieces per writev: Linux takes at most this many."""
_RWF_DSYNC: int = getattr(os, "RWF_DSYNC", 0)
_STALE = 3600
"""Seconds after which a temporary file in a content's folder is taken for a crash's."""
_PLACES_KEPT = 256
"""Contents whose chunks' places :meth:`LocalBlobStore.get` remembers (a hint: a place
that is gone, or a chunk not found in it, is looked up again)."""


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_cached(fd: int, offset: int = 0, length: int = 0) -> None:
    """Let the kernel drop synced pages of a file (all of it by default) from its cache
    (where it can)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _views(pieces: Sequence[Buffer]) -> list[memoryview]:
    return [memoryview(piece) for piece in pieces if len(piece)]


def _advance(left: list[memoryview], written: int) -> None:
    """Drop what was written from ``left``; a piece written in part stays, cut."""
    while written:
        if written >= len(left[0]):
            written -= len(left.pop(0))
        else:
            left[0], written = left[0][written:], 0


def _write_all(fd: int, pieces: Sequence[Buffer]) -> None:
    """Write every piece, in order, in as few system calls as the kernel allows."""
    left = _views(pieces)
    while left:
        _advance(left, os.writev(fd, left[:_IOV_MAX]))


def _write_all_at(fd: int, pieces: Sequence[Buffer], offset: int) -> None:
    """Write every piece, in order, from ``offset``, each call's bytes on the disk when it
    returns (``RWF_DSYNC``, or an ``fdatasync`` where there is none)."""
    left = _views(pieces)
    while left:
        written = os.pwritev(fd, left[:_IOV_MAX], offset, _RWF_DSYNC)
        _advance(left, written)
        offset += written
    if not _RWF_DSYNC:
        getattr(os, "fdatasync", os.fsync)(fd)  # macOS has no fdatasync


def _left_by_a_crash(path: Path) -> bool:
    """Whether ``path`` is a temporary file no write has touched for :data:`_STALE`
    seconds: one a server stopped while it wrote it left behind."""
    if not (path.name.startswith(".") and path.name.endswith(".tmp")):
        return False
    try:
        return time.time() - path.stat().st_mtime > _STALE
    except FileNotFoundError:
        return False


@dataclass(frozen=True, slots=True, order=True)
class _Range:
    """A file of consecutive chunks: its name says which, and how large each is."""

    first: int
    count: int
    size: int

    @property
    def name(self) -> str:
        return f"{self.first}-{self.count}-{self.size}"

    @property
    def stride(self) -> int:
        return uncached.round_up(self.size)

    def overlaps(self, low: int, high: int) -> bool:
        """Whether the range holds any of chunks ``low`` .. ``high - 1``."""
        return self.first < high and low < self.first + self.count

    @classmethod
    def parse(cls, name: str) -> _Range | None:
        parts = name.split("-")
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            return None
        first, count, size = map(int, parts)
        return cls(first, count, size) if count else None

    def lengths(self, file_size: int) -> dict[int, int]:
        """Each chunk's length in a file of ``file_size`` bytes (the last runs to its end;
        a chunk the file does not reach is not there)."""
        found: dict[int, int] = {}
        for k in range(self.count):
            length = min(self.size, file_size - k * self.stride)
            if length < 0 or (length < self.size and k < self.count - 1):
                break  # cut short: not a file this store wrote
            found[self.first + k] = length
        return found


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a chunk is: a file of its own (offset 0), or a range's file."""

    name: str
    offset: int
    length: int


class _RangeFile:
    """A request's consecutive chunks, written into one temporary file as they arrive and
    renamed to their range's name once the request ends (:class:`RangeWriter`)."""

    def __init__(self, store: LocalBlobStore, content_id: str, first: int, size: int) -> None:
        self.store, self.content_id = store, content_id
        self.folder = store._folder(content_id)
        self.first, self.size, self.stride = first, size, uncached.round_up(size)
        self.tmp = self.folder / f".{first}-{secrets.token_hex(6)}.tmp"
        self._fd: int | None = None
        self._opening = threading.Lock()

    def _open(self) -> int:
        with self._opening:
            if self._fd is None:
                if not self.folder.is_dir():
                    self.store._make_folder(self.folder)
                self._fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            return self._fd

    def write(self, index: int, pieces: Sequence[Buffer]) -> None:
        if index < self.first:
            raise ValueError(f"chunk {index} is before the range's first, {self.first}")
        fd = self._open()
        offset = (index - self.first) * self.stride
        _write_all_at(fd, pieces, offset)
        _drop_cached(fd, offset, sum(map(len, pieces)))

    def close(self, written: int) -> None:
        if not written:
            self.abort()
            return
        fd = self._fd
        assert fd is not None, "chunks written into no file"
        self._fd = None
        try:
            os.fsync(fd)  # the file's size; its bytes are on the disk already
        except BaseException:
            os.close(fd)
            self.tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(self.tmp, self.folder / _Range(self.first, written, self.size).name)
        self.store._forget(self.content_id)

    def abort(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            self.tmp.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._making = threading.Lock()
        self._places: dict[str, dict[int, _Place]] = {}
        self._places_lock = threading.Lock()

    def _folder(self, content_id: str) -> Path:
        """A content's folder (an id that could name another path is refused)."""
        if not content_id.isalnum():
            raise ValueError(f"bad content id {content_id!r}")
        return self.root / content_id[:2] / content_id

    @staticmethod
    def _split(key: str) -> tuple[str, int]:
        content_id, _, index = key.partition("/")
        if not content_id.isalnum() or not index.isdigit():
            raise ValueError(f"bad blob key {key!r}")
        return content_id, int(index)

    def _path(self, key: str) -> Path:
        content_id, index = self._split(key)
        return self._folder(content_id) / str(index)

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
        self._forget(key.partition("/")[0])

    def open_range(self, content_id: str, first: int, size: int) -> RangeWriter:
        """A file for the range's chunks (see the module's docstring); the folder is
        made, and the file opened, with the first chunk."""
        if first < 0 or size < 0:
            raise ValueError(f"bad range from {first} of {size}-byte chunks")
        return _RangeFile(self, content_id, first, size)

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

    # -- where each chunk is ----------------------------------------------------------------

    def _layout(self, content_id: str, wanted: range | None = None) -> dict[int, _Place]:
        """Where each stored chunk of a content is (those in ``wanted``, if given), read
        from its folder: a chunk alone before one in a range, a later range before an
        earlier one. Only the files that hold a wanted chunk are looked at."""
        folder = self._folder(content_id)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return {}
        low, high = (wanted.start, wanted.stop) if wanted is not None else (0, 1 << 62)
        places: dict[int, _Place] = {}
        ranges = sorted(
            (r, name)
            for name in names
            if (r := _Range.parse(name)) is not None and r.overlaps(low, high)
        )
        for r, name in ranges:
            try:
                file_size = os.stat(folder / name).st_size
            except FileNotFoundError:
                continue
            for index, length in r.lengths(file_size).items():
                if low <= index < high:
                    places[index] = _Place(name, (index - r.first) * r.stride, length)
        for name in names:
            if name.isdigit() and low <= int(name) < high:
                with contextlib.suppress(FileNotFoundError):
                    places[int(name)] = _Place(name, 0, os.stat(folder / name).st_size)
        return places

    def _forget(self, content_id: str) -> None:
        with self._places_lock:
            self._places.pop(content_id, None)

    def _remembered(self, content_id: str, index: int) -> _Place | None:
        with self._places_lock:
            return self._places.get(content_id, {}).get(index)

    def _look_up(self, content_id: str, index: int) -> _Place | None:
        """Where chunk ``index`` is, from the folder; every chunk's place is remembered."""
        places = self._layout(content_id)
        with self._places_lock:
            if len(self._places) >= _PLACES_KEPT:
                self._places.clear()
            self._places[content_id] = places
        return places.get(index)

    @staticmethod
    def _read(folder: Path, place: _Place | None) -> bytes | None:
        """The chunk at ``place``; ``None`` if there is none, or its file is gone or
        shorter than the place says (changed since it was found)."""
        if place is None:
            return None
        path = folder / place.name
        try:
            data = uncached.read_at(path, place.offset, place.length)
            if data is None:
                with path.open("rb") as f:
                    f.seek(place.offset)
                    data = f.read(place.length)
        except FileNotFoundError:
            return None
        return data if len(data) == place.length else None

    def get(self, key: str) -> bytes:
        """The blob, read around the page cache where the file system allows it (see
        :mod:`coffre.uncached`): from where it was last found (a download reads every
        chunk of a content), or a file of its own, or wherever its folder says."""
        content_id, index = self._split(key)
        folder = self._folder(content_id)
        place = self._remembered(content_id, index)
        if place is None:
            alone = folder / str(index)
            with contextlib.suppress(FileNotFoundError):
                data = uncached.read_file(alone)
                return alone.read_bytes() if data is None else data
            place = self._look_up(content_id, index)
        data = self._read(folder, place)
        if data is None:  # gone or changed since it was found: look again
            data = self._read(folder, self._look_up(content_id, index))
        if data is None:
            raise KeyError(key)
        return data

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove these chunks: the files of their own, and every range holding one; then
        each content's folder, if that left it empty."""
        by_content: dict[str, set[int]] = {}
        for key in keys:
            content_id, index = self._split(key)
            by_content.setdefault(content_id, set()).add(index)
        for content_id, indexes in by_content.items():
            folder = self._folder(content_id)
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in names:
                r = _Range.parse(name)
                held = (
                    int(name) in indexes
                    if name.isdigit()
                    else r is not None and any(r.overlaps(i, i + 1) for i in indexes)
                )
                if held or _left_by_a_crash(folder / name):
                    (folder / name).unlink(missing_ok=True)
            self._forget(content_id)
            with contextlib.suppress(OSError):
                folder.rmdir()

    def exists(self, key: str) -> bool:
        content_id, index = self._split(key)
        return index in self._layout(content_id, range(index, index + 1))

    def chunks(self, content_id: str) -> set[int]:
        return set(self._layout(content_id))

    def chunk_sizes(self, content_id: str) -> dict[int, int]:
        return {index: place.length for index, place in self._layout(content_id).items()}

    def range_sizes(self, content_id: str, first: int, count: int) -> dict[int, int]:
        wanted = range(first, first + count)
        return {index: place.length for index, place in self._layout(content_id, wanted).items()}

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"blob folder {self.root} is not writable")

    def presign_put(self, key: str, size: int, expires: int) -> Presigned | None:
        return None  # chunks go through the API

    def presign_get(self, key: str, expires: int) -> Presigned | None:
        return None

    def __str__(self) -> str:
        return str(self.root)
