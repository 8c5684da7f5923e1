"""Whether a file's pages are in the page cache, for tests of what Coffre leaves there."""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path


def cached(path: Path) -> bool:
    """Whether any page of the file is in the page cache (mincore(2) on a mapping of it,
    which reads nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = path.stat().st_size
    vector = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
    with path.open("rb") as file:
        mapped = mmap.mmap(file.fileno(), size, access=mmap.ACCESS_COPY)
    try:
        start = ctypes.c_char.from_buffer(mapped)
        failed = libc.mincore(ctypes.byref(start), ctypes.c_size_t(size), vector)
        del start
    finally:
        mapped.close()
    if failed:
        raise OSError(ctypes.get_errno(), "mincore")
    return any(byte & 1 for byte in vector)


def drop(path: Path) -> None:
    """Let the file leave the page cache (it must be on disk: it is synced first)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
