"""Buffers that uploaded chunks are received into, kept for the chunks that follow.

A fresh buffer of a MiB is page-faulted in, page by page, as the body is copied into it:
that costs the server several times the copy itself (about 1.0 against 0.2 s of CPU per
GiB received, measured on the benchmark machine). Buffers are given back once their chunk
is written, and taken again for the next chunk of the same size; at most ``keep_bytes``
of them wait, so memory stays bounded. Every buffer is filled whole before it is used.
"""

from __future__ import annotations

import threading


class BufferPool:
    def __init__(self, keep_bytes: int) -> None:
        self.keep_bytes = keep_bytes
        self._free: dict[int, list[bytearray]] = {}
        self._kept = 0
        self._lock = threading.Lock()  # several event loops may share it (in-process clients)

    def take(self, size: int) -> bytearray:
        """A buffer of ``size`` bytes, with whatever it held before."""
        with self._lock:
            stack = self._free.get(size)
            if stack:
                self._kept -= size
                buffer = stack.pop()
                if not stack:
                    del self._free[size]
                return buffer
        return bytearray(size)

    def give(self, buffer: bytearray) -> None:
        """Keep ``buffer`` for a later :meth:`take`, if there is room; it must not be used
        by the caller any more."""
        size = len(buffer)
        with self._lock:
            if self._kept + size <= self.keep_bytes:
                self._free.setdefault(size, []).append(buffer)
                self._kept += size

    @property
    def kept(self) -> int:
        """Bytes of buffers waiting to be taken."""
        return self._kept
