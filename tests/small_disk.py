"""A small file system of its own (a tmpfs), for the tests of a full disk: a real ENOSPC
from the kernel, not an error made up in the code under test.

Mounting needs root (CI runs as root); elsewhere :func:`small_disk` skips the test, or with
``COFFRE_REQUIRE_SCALEOUT=1`` fails it, as the other tests of real components do.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.scaleout import need

PAGE = 4096


def _run_or_skip(command: list[str], failure: str) -> None:
    """Run ``command``; where it fails, skip the test (or fail it, see :func:`need`),
    saying ``failure`` and what the command said."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    need(None if done.returncode == 0 else f"{failure}: {done.stderr.strip()}")


@contextlib.contextmanager
def small_disk(where: Path, size: int = 8 << 20) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes mounted at ``where`` (made if need be), unmounted after."""
    where.mkdir(parents=True, exist_ok=True)
    _run_or_skip(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "coffre-test", str(where)],
        "cannot mount a tmpfs",
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], capture_output=True, check=False)


@contextlib.contextmanager
def small_ext4(where: Path, size: int = 16 << 20) -> Iterator[Path]:
    """An ext4 file system of ``size`` bytes, in an image file beside ``where``, mounted at
    ``where`` through a loop device, unmounted after: for what ext4 does and a tmpfs does
    not (a failed ``fallocate`` keeps what it allocated)."""
    image = where.with_name(where.name + ".img")
    where.mkdir(parents=True, exist_ok=True)
    with image.open("wb") as out:
        out.truncate(size)
    _run_or_skip(["mkfs.ext4", "-q", "-F", str(image)], "cannot make an ext4")
    _run_or_skip(["mount", "-o", "loop", str(image), str(where)], "cannot mount an ext4")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, check=False)
        image.unlink(missing_ok=True)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes (rounded down to whole pages) of the disk's free space
    with one file; deleting the file gives the space back."""
    filler = disk / "filler"
    with filler.open("ab") as out:
        out.write(b"\0" * max(0, free_bytes(disk) - leave // PAGE * PAGE))
    assert free_bytes(disk) <= leave
    return filler
