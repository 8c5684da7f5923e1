"""When the benchmarks delete what they wrote: as late as the disk allows.

Removing a benchmark's folder deletes thousands of files (chunks, small files, copies),
and on an ext4 without a journal, as these machines' is, files are created several times
slower for one to six minutes after a deletion: allocating an inode skips every inode
deleted in the last 60 seconds (360 while the block recording the deletion is not yet
written back), reading its inode-table block for each (``recently_deleted`` in the
kernel's ``fs/ext4/ialloc.c``; docs/performance.md, "Before `small`"). The next
benchmark would measure that, so each finished benchmark's folder stays until every
benchmark has run, while the disk has room.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.config import GIB

KEEP_FREE = 40 * GIB
"""Free disk below which a benchmark's folder is removed at once, not at the end."""


def remove_later(work: Path) -> bool:
    """Whether to keep a finished benchmark's folder until every benchmark has run."""
    return shutil.disk_usage(work).free >= KEEP_FREE
