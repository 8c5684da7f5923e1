"""Formatting for people: sizes, times, tables, progress bars on standard error."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(n: int) -> str:
    size = float(n)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def local_time(seconds: float) -> str:
    """A moment in local time to the minute; one this system cannot represent (a file's
    modification time, a link's expiry: numbers another device or the server chose) is
    shown as its number of seconds instead of failing the command."""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return f"@{seconds:.0f}"


def table(rows: list[list[str]], *, right: frozenset[int] = frozenset()) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        click.echo("  ".join(cells).rstrip())


def warn(message: str) -> None:
    click.echo(f"coffre: {message}", err=True)


def shows_progress(quiet: bool) -> bool:
    """Whether :func:`progress` draws a bar (so whether its total is worth counting)."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress(total: int, label: str, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar with throughput on standard error, when it is a terminal."""
    if not shows_progress(quiet):
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
