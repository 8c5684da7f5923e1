"""The page cache in tests: whether a file's pages are in it, letting a file leave it,
and a file system that refuses to go around it."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
from pathlib import Path

import pytest


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


def refuse_direct_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Have ``os.open`` refuse ``O_DIRECT`` as some file systems do (``EINVAL``)."""
    real_open = os.open

    def refusing(path: str, flags: int, *args: int) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
