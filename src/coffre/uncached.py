"""Reading and writing files around the page cache (``O_DIRECT``), where the system
allows it; shared by the server (chunks it sends) and the client (files it uploads and
downloads).

Read the ordinary way, a file goes first into the page cache, which takes memory for it,
then is copied out. Bytes that are read once and sent gain nothing from the cache, and on
a virtual machine whose host backs memory only when it is first touched (and takes freed
memory back), finding those pages costs more than the copy: reading 1 GiB that was not
cached took 2.2 s of system time here, against 0.04 s with ``O_DIRECT``
(docs/performance-history.md). With ``O_DIRECT`` the disk writes straight into a page-aligned
buffer of the reader's, reused from read to read.

The kernel keeps ``O_DIRECT`` coherent with the page cache (dirty pages of the file are
written back before it reads). Where there is no ``O_DIRECT``, or the file system refuses
it (``EINVAL``: tmpfs on older kernels, some network file systems), :func:`open_direct`
and :func:`read_file` return ``None``, :func:`direct_writes` ``False``, and the caller
reads or writes the ordinary way.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import mmap
import os
import threading
from collections.abc import Callable
from typing import cast

_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
ALIGN = 4096
"""Offsets, lengths and buffers' addresses are multiples of this: disks' logical blocks
are 512 or 4096 bytes."""
LARGEST = 64 * 1024 * 1024
""":func:`read_file` reads larger files the ordinary way: no thread keeps a larger buffer."""


class Refused(Exception):
    """The file system refused a direct read or write after all: do it the ordinary way."""


def available() -> bool:
    return bool(_O_DIRECT) and hasattr(os, "preadv")


def round_up(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`ALIGN`."""
    return -(-n // ALIGN) * ALIGN


def aligned(size: int) -> mmap.mmap:
    """A new buffer of ``round_up(size)`` bytes at a page boundary (an anonymous mapping)."""
    return mmap.mmap(-1, max(round_up(size), ALIGN))


def open_direct(path: str | os.PathLike[str]) -> int | None:
    """A descriptor of ``path`` open for direct reads, or ``None`` where there are none.
    Raises ``OSError`` as ``open`` does otherwise."""
    if not available():
        return None
    try:
        return os.open(path, os.O_RDONLY | _O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return None
        raise


def direct_writes(fd: int) -> bool:
    """Have the writes to ``fd`` go around the page cache from now on (``O_DIRECT`` set on
    the open file); whether they do."""
    if not available():
        return False
    import fcntl  # not on every system, and only needed here

    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | _O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    return True


def buffered_writes(fd: int) -> None:
    """Undo :func:`direct_writes`."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)


def reserve(fd: int, size: int) -> None:
    """Allocate the blocks of a file about to be written directly (and empty so far), up to
    ``size`` rounded up to a whole block, before any is written. On ext4 a direct write
    into a hole holds the file's lock until the disk has the bytes, so writers at different
    offsets go one at a time; into blocks already allocated they go at once.

    Linux's ``fallocate`` itself, not ``posix_fallocate``, which on a file system that
    cannot allocate ahead writes into every block instead: there the file is left to be
    allocated as it is written. Where there is not room for all of it, ``OSError``
    (``ENOSPC``) now, before anything is fetched, and the file is cut to nothing: ext4
    keeps what a failed ``fallocate`` allocated before it ran out."""
    allocate = _fallocate()
    if allocate is None or size <= 0:
        return
    while True:
        if allocate(fd, 0, 0, round_up(size)) == 0:
            return
        error = ctypes.get_errno()
        if error != errno.EINTR:  # a signal: try again, as Python's own calls do (PEP 475)
            break
    if error in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
        return
    os.ftruncate(fd, 0)
    raise OSError(error, os.strerror(error))


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    """libc's ``fallocate(fd, mode, offset, length)`` with 64-bit offsets, where there is one."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


def write_at(fd: int, view: memoryview, offset: int) -> None:
    """Write all of ``view`` (aligned, of a multiple of :data:`ALIGN` bytes) at ``offset``
    (a multiple of :data:`ALIGN`). Raises :class:`Refused` if the file system will not
    write directly after all."""
    try:
        while view:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise Refused from None
        raise


def read_into(fd: int, view: memoryview, offset: int) -> int:
    """Read from ``offset`` (a multiple of :data:`ALIGN`) into ``view`` (aligned, of a
    multiple of :data:`ALIGN` bytes) until it is full or the file ends; the bytes read.
    Raises :class:`Refused` if the file system will not read directly after all."""
    got, want = 0, len(view)
    try:
        while got < want:
            n = os.preadv(fd, [view[got:]], offset + got)
            got += n
            if n == 0 or got % ALIGN:
                break  # the end of the file: only there is a read short of a block
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise Refused from None
        raise
    return got


class ThreadBuffers:
    """One aligned buffer per thread, grown as needed and reused from call to call. Each
    use keeps its own instance, so that two pieces of code on one thread never share a
    buffer."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, size: int) -> mmap.mmap:
        """This thread's buffer, of at least ``size`` bytes (rounded up to a block)."""
        held: mmap.mmap | None = getattr(self._local, "buffer", None)
        if held is None or len(held) < size:
            held = self._local.buffer = aligned(size)
        return held


_READS = ThreadBuffers()


def read_file(path: str | os.PathLike[str]) -> bytes | None:
    """The whole file, read directly into a buffer of the calling thread's and copied out;
    ``None`` where that is not possible (no direct reads here or on that file system, a
    file larger than :data:`LARGEST`, or one that changed size while it was read). Raises
    ``OSError`` as ``open`` and ``read`` do otherwise (``FileNotFoundError``...)."""
    fd = open_direct(path)
    if fd is None:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > LARGEST:
            return None
        # One byte more than the file holds: a read that gets it means the file grew.
        view = _read_direct(fd, 0, size + 1)
        return bytes(view) if view is not None and len(view) == size else None
    finally:
        os.close(fd)


def read_at(path: str | os.PathLike[str], offset: int, length: int) -> bytes | None:
    """``length`` bytes of the file from ``offset`` (a multiple of :data:`ALIGN`), read
    directly into a buffer of the calling thread's and copied out; fewer where the file
    ends before. ``None`` where that is not possible (as :func:`read_file`)."""
    if offset % ALIGN:
        raise ValueError(f"offset {offset} is not a multiple of {ALIGN}")
    if length > LARGEST:
        return None
    fd = open_direct(path)
    if fd is None:
        return None
    try:
        view = _read_direct(fd, offset, length)
        return None if view is None else bytes(view[:length])
    finally:
        os.close(fd)


def _read_direct(fd: int, offset: int, length: int) -> memoryview | None:
    """What a direct read of at least ``length`` bytes from ``offset`` got (up to the next
    block, or to the end of the file), in the calling thread's buffer; ``None`` if the
    file system refused it."""
    view = memoryview(_READS.get(length))[: round_up(length)]
    try:
        return view[: read_into(fd, view, offset)]
    except Refused:
        return None
