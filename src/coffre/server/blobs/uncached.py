"""Reading a whole file around the page cache (``O_DIRECT``), where the system allows it.

A chunk sent to a download is read once. Read the ordinary way, the kernel first reads it
into the page cache, taking a megabyte of memory for it, then copies it out; on a virtual
machine whose host backs memory only when it is first touched (and takes freed memory
back), finding those pages costs more than the copy: reading 1 GiB that is not cached took
2.2 s of system time here, against 0.04 s with ``O_DIRECT`` (docs/performance.md). With
``O_DIRECT`` the disk writes straight into a buffer of the reading thread's, page-aligned
and reused for every read, and one copy out of it makes the bytes that are sent.

The kernel keeps ``O_DIRECT`` coherent with the page cache: dirty pages of the file are
written back before it reads. Where a file system refuses ``O_DIRECT`` (``EINVAL``: tmpfs
on older kernels, some network file systems) or the system has none, :func:`read` says
so by returning ``None``, and the caller reads the ordinary way.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading

_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
ALIGN = 4096
"""Offsets, lengths and the buffer's address are multiples of this: the logical block
size of disks is 512 or 4096 bytes."""
LARGEST = 64 * 1024 * 1024
"""Larger files are read the ordinary way, so that no thread keeps a larger buffer."""

_local = threading.local()


def _buffer(size: int) -> memoryview:
    """This thread's aligned buffer, of at least ``size`` bytes (grown as needed)."""
    held: mmap.mmap | None = getattr(_local, "buffer", None)
    if held is None or len(held) < size:
        held = mmap.mmap(-1, size)  # anonymous mappings start on a page boundary
        _local.buffer = held
    return memoryview(held)


def _round_up(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def available() -> bool:
    return bool(_O_DIRECT) and hasattr(os, "preadv")


def read(path: str | os.PathLike[str]) -> bytes | None:
    """The whole file, read with ``O_DIRECT``; ``None`` where that is not possible (the
    system or the file system does not take it, or the file is larger than
    :data:`LARGEST` or changed size while it was read). Raises ``OSError`` as ``open`` and
    ``read`` do otherwise (``FileNotFoundError`` for a missing file)."""
    if not available():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | _O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return None
        raise
    try:
        size = os.fstat(fd).st_size
        if size > LARGEST:
            return None
        # One block more than the file holds: a read that fills it means the file grew.
        want = _round_up(size + 1)
        with _buffer(want) as view:
            got = 0
            while got < want:
                n = os.preadv(fd, [view[got:want]], got)
                got += n
                if n == 0 or got % ALIGN:
                    break  # the end of the file: only there is a read short of a block
            if got != size:
                return None
            return bytes(view[:got])
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return None
        raise
    finally:
        os.close(fd)
