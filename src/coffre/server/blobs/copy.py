"""Copy every blob the database refers to from one store into another (a folder into S3).

The database says what to copy: every content not kept inline, and every unfinished
upload. For each, the chunks the source has and the target lacks (or holds with another
size) are copied; so a copy can be stopped and run again, and a second run copies only
what was written since. Blobs are immutable once written, so the copy never races a
writer: reads and writes go on against the source while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from coffre.server.blobs.base import BlobStore, chunk_key
from coffre.server.db import tables as t
from coffre.server.db.engine import Database

_PAGE = 1000


@dataclass
class CopyReport:
    contents: int = 0
    copied: int = 0
    """Chunks copied."""
    present: int = 0
    """Chunks the target had already."""
    bytes: int = 0
    missing: int = 0
    """Contents the source has no chunk of (already moved, or lost)."""


def _contents(db: Database) -> Iterator[str]:
    """Content ids of every content with blobs, then of every unfinished upload."""
    for column, condition in (
        (t.Content.id, t.Content.inline.is_(None)),
        (t.Upload.content_id, None),
    ):
        after = ""
        while True:
            query = select(column).where(column > after).order_by(column).limit(_PAGE)
            if condition is not None:
                query = query.where(condition)
            with db.read() as session:
                ids = list(session.scalars(query))
            yield from ids
            if len(ids) < _PAGE:
                break
            after = ids[-1]


def copy_blobs(
    db: Database,
    source: BlobStore,
    target: BlobStore,
    *,
    workers: int = 8,
    progress: Callable[[CopyReport], None] | None = None,
) -> CopyReport:
    report = CopyReport()
    lock = threading.Lock()

    def one(content_id: str) -> None:
        have = source.chunk_sizes(content_id)
        there = target.chunk_sizes(content_id) if have else {}
        copied = present = size = 0
        for index, length in sorted(have.items()):
            if there.get(index) == length:
                present += 1
                continue
            key = chunk_key(content_id, index)
            target.put(key, source.get(key))
            copied += 1
            size += length
        with lock:
            report.contents += 1
            report.copied += copied
            report.present += present
            report.bytes += size
            report.missing += not have
            if progress is not None:
                progress(report)

    with ThreadPoolExecutor(workers, thread_name_prefix="coffre-copy") as pool:
        page: list[str] = []
        for content_id in _contents(db):
            page.append(content_id)
            if len(page) == _PAGE:
                list(pool.map(one, page))  # a page at a time: memory stays flat
                page = []
        list(pool.map(one, page))
    return report
