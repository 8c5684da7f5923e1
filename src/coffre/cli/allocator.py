"""The command's memory allocator, tuned for moving files chunk by chunk.

A transfer reads, encrypts or decrypts, and sends or writes buffers of one to four MiB,
freed as soon as they are used. glibc's malloc gives buffers of that size back to the
kernel as they are freed (unmapped, or trimmed off the top of a thread's heap), so every
chunk is page-faulted in afresh: a 256 MiB upload took 70,000 page faults, 46,000 with the
settings below. They are process-wide, so the command sets them for its own process only,
at start-up; the library leaves the allocator of a program that embeds it alone.
"""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_FROM = 32 * 1024 * 1024  # buffers below this come from the heap, and are reused
_KEEP_FREED = 64 * 1024 * 1024  # free memory kept at the top of the heap before trimming


def keep_freed_buffers() -> None:
    """Have malloc keep freed chunk-sized buffers for the next chunk; where there is no
    glibc, nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)
    mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED)
