"""A buffer per thread, reused from one range of chunks to the next.

A transfer's workers each receive a range of chunks (downloads) or encrypt one (uploads)
into memory that was used for the range before: no new megabytes for the allocator to
hand out and take back at every range, so a transfer's memory stays flat whatever the
file's size. A worker is done with a range before it takes the next, so its buffer is
free again by then.
"""

from __future__ import annotations

import threading

_BUFFERS = threading.local()


def thread_buffer(size: int) -> memoryview:
    """This thread's buffer, grown to ``size`` bytes if it is smaller; a view of exactly
    ``size`` bytes, with whatever it held before."""
    buffer: bytearray | None = getattr(_BUFFERS, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _BUFFERS.buffer = bytearray(size)
    return memoryview(buffer)[:size]
