"""Getting downloaded files onto the disk sooner, and many at once.

Two Linux system calls that Python's ``os`` lacks, through ctypes (which releases the GIL
around them), each with a portable fallback:

- :func:`start_writeback`: ``sync_file_range(SYNC_FILE_RANGE_WRITE)`` asks the kernel to
  start writing a range of a file's dirty pages now, without waiting for it. A large
  download calls it as it goes, so that the disk works while the network does and the
  fsync at the end has little left to write. Only a hint: the fsync is what makes the file
  durable; elsewhere it does nothing.
- :func:`settle`: ``sync_file_range`` that waits for a range's writeback, then
  ``posix_fadvise(DONTNEED)``: a large download lets what is on disk leave the page cache
  as it goes, so that it holds a few dozen MiB of the file rather than all of it, and the
  next chunks reuse the pages just freed. On a virtual machine whose host backs memory
  only when it is first touched (and takes freed memory back), new pages cost several
  times what writing them does (docs/performance-history.md). Only a hint, like the one above.
- :func:`sync_files`: makes files durable together. ``syncfs`` once per filesystem commits
  all of them in one journal transaction, where an fsync per file commits one each;
  elsewhere, an fsync per file.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

_SYNC_FILE_RANGE_WAIT_BEFORE = 1
_SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE_WAIT_AFTER = 4
_SETTLE = _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WRITE | _SYNC_FILE_RANGE_WAIT_AFTER


def _libc_call(name: str, *argtypes: type) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_sync_file_range = _libc_call(
    "sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint
)
_syncfs = _libc_call("syncfs", ctypes.c_int)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``length`` bytes of the file from ``offset`` to disk; do not wait."""
    if _sync_file_range is not None and length > 0:
        # A failure here changes nothing: the final fsync writes, and reports, everything.
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def settle(fd: int, offset: int, length: int) -> None:
    """Wait until ``length`` bytes of the file from ``offset`` are written to disk, then let
    them leave the page cache (not durable yet: the file's fsync still has its metadata
    to commit, and reports any error)."""
    if (
        _sync_file_range is not None
        and length > 0
        and _sync_file_range(fd, offset, length, _SETTLE) == 0
    ):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def sync_files(paths: Iterable[Path]) -> None:
    """Make the data and metadata of these files durable (raises OSError if not)."""
    paths = list(paths)
    if _syncfs is None:
        for path in paths:
            _fsync_path(path)
        return
    # One syncfs per filesystem writes and commits every file on it.
    parents = {path.parent for path in paths}
    folders = {os.stat(parent).st_dev: parent for parent in parents}
    for folder in folders.values():
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, os.strerror(errno), str(folder))
        finally:
            os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
