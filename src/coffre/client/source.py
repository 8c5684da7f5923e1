"""A file being uploaded, read range by range into buffers that are reused.

The reader (one thread) reads each range of consecutive chunks into a buffer from a small
pool and hands the range's chunks to a worker as views of it; the worker gives the buffer
back once it has hashed and encrypted them. No new megabytes per chunk, and the buffers
are page-aligned, so that where the system allows it the file is read around the page
cache (:mod:`coffre.uncached`): a file read once to be uploaded gains nothing from being
cached, and reading into the cache's new pages can cost more than the upload's encryption.
Where direct reads are refused, or chunks do not start on a block boundary, the same
buffers are filled the ordinary way.
"""

from __future__ import annotations

import os
import queue
from dataclasses import dataclass
from pathlib import Path

from coffre import uncached


@dataclass(slots=True)
class Span:
    """Bytes of the file read into a buffer of the pool; :meth:`release` gives it back."""

    source: Source
    buffer: memoryview
    data: memoryview

    def release(self) -> None:
        """Give the buffer back; views of it must not be used after this."""
        self.source._give_back(self.buffer)


class Source:
    def __init__(self, path: Path, *, largest: int, buffers: int, chunk_size: int) -> None:
        """Open ``path`` to read spans of at most ``largest`` bytes, at most ``buffers`` of
        them held at once; spans start at multiples of ``chunk_size``. Raises ``OSError``
        as ``open`` does."""
        self.path = path
        self._largest = uncached.round_up(largest)
        self._direct: int | None = None
        if chunk_size % uncached.ALIGN == 0:
            self._direct = uncached.open_direct(path)
        self._file = open(path, "rb", buffering=0) if self._direct is None else None  # noqa: SIM115
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._unmade = buffers

    def read(self, offset: int, length: int) -> Span:
        """``length`` bytes from ``offset``, or fewer where the file ends; waits for a
        buffer if every one is held."""
        if length > self._largest:
            raise ValueError(f"a span of {length} bytes is larger than {self._largest}")
        buffer = self._take()
        try:
            got = self._read_into(buffer[: uncached.round_up(length)], offset)
        except BaseException:
            self._give_back(buffer)
            raise
        return Span(self, buffer, buffer[: min(got, length)])

    def _take(self) -> memoryview:
        if self._unmade and self._free.empty():
            self._unmade -= 1
            return memoryview(uncached.aligned(self._largest))
        return self._free.get()

    def _give_back(self, buffer: memoryview) -> None:
        self._free.put(buffer)

    def _read_into(self, view: memoryview, offset: int) -> int:
        if self._direct is not None:
            try:
                return uncached.read_into(self._direct, view, offset)
            except uncached.Refused:
                os.close(self._direct)
                self._direct = None
                self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115
        assert self._file is not None
        self._file.seek(offset)
        got = 0
        while got < len(view):
            n = self._file.readinto(view[got:])
            if not n:
                break
            got += n
        return got

    def close(self) -> None:
        if self._direct is not None:
            os.close(self._direct)
            self._direct = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
