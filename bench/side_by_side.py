"""Two versions of Coffre, side by side: which one moves a large file faster.

A diagnostic, not one of ``python -m bench``'s benchmarks. Two ``coffre serve`` processes
run at once, each with the code of its own source tree (``PYTHONPATH``), and the same
``coffre put`` (and, with ``--get``, ``coffre get``) of one file, run with the same
version's code, goes to each in turn,
alternating which goes first, so that load from elsewhere on the machine falls on both
alike. Halfway, both servers are replaced and the two versions change places: two servers
side by side have differed by more than a change under test, in either direction, from
one set of pairs to the next (docs/performance-history.md, "One sync a range"), so a
version must win on both to have won.

    python -m bench.side_by_side OLD_TREE NEW_TREE [--pairs 8] [--mib 1024] [--get]

Each tree is a checkout's root (with ``src/coffre``) or its ``src``; the ``coffre`` command
is this checkout's entry point, importing each version's package. Uploads are kept until
the end unless the disk runs short (then collected, as ``big`` does); everything goes with
the temporary folder. For a change to the command's download alone,
:mod:`bench.command_side_by_side` takes the two servers out of the comparison.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.coffre_runner import Cli, server
from bench.config import GIB
from bench.data import random_file

ROOM_PAIRS = 2
"""Collect a server's deleted blobs once the disk has room for fewer than this many more
pairs of uploads."""


@dataclass
class Tally:
    """One version's measurements: MB/s and the server's CPU seconds a GiB, per transfer,
    and per half (which server it ran on)."""

    name: str
    put: list[float] = field(default_factory=list)
    put_cpu: list[float] = field(default_factory=list)
    get: list[float] = field(default_factory=list)
    get_cpu: list[float] = field(default_factory=list)
    by_half: dict[int, list[float]] = field(default_factory=dict)

    def add_put(self, half: int, mbs: float, cpu_per_gib: float) -> None:
        self.put.append(mbs)
        self.put_cpu.append(cpu_per_gib)
        self.by_half.setdefault(half, []).append(mbs)

    def add_get(self, mbs: float, cpu_per_gib: float) -> None:
        self.get.append(mbs)
        self.get_cpu.append(cpu_per_gib)


def per_gib(cpu_seconds: float, size: int) -> float:
    """CPU seconds spent on ``size`` bytes, as seconds a GiB."""
    return cpu_seconds * GIB / size


def source_dir(tree: Path) -> Path:
    """The folder that holds the ``coffre`` package of a checkout (its root or ``src``)."""
    for candidate in (tree / "src", tree):
        if (candidate / "coffre" / "__init__.py").is_file():
            return candidate.resolve()
    raise SystemExit(f"side_by_side: no coffre package in {tree} or {tree / 'src'}")


def wins(first: Sequence[float], second: Sequence[float]) -> int:
    """Pairs in which ``second`` was faster than ``first``."""
    return sum(b > a for a, b in zip(first, second, strict=True))


def summary(old: Tally, new: Tally) -> list[str]:
    """The verdict's lines: medians, pairs won, and each half on its own."""

    def median(values: Sequence[float]) -> float:
        return statistics.median(values) if values else float("nan")

    lines = [
        f"put, median MB/s: {old.name} {median(old.put):.1f}, {new.name} {median(new.put):.1f}"
        f" ({median(new.put) / median(old.put) - 1:+.1%});"
        f" {new.name} faster in {wins(old.put, new.put)} of {len(new.put)} pairs",
        f"server CPU a GiB, put: {old.name} {median(old.put_cpu):.2f} s,"
        f" {new.name} {median(new.put_cpu):.2f} s",
    ]
    for half in sorted(new.by_half):
        o, n = old.by_half[half], new.by_half[half]
        lines.append(
            f"  half {half + 1} ({new.name} on server {'BA'[half % 2]}):"
            f" {median(o):.1f} against {median(n):.1f} MB/s, {wins(o, n)} of {len(n)}"
        )
    if new.get:
        lines.append(
            f"get, median MB/s: {old.name} {median(old.get):.1f}, {new.name} {median(new.get):.1f};"
            f" {new.name} faster in {wins(old.get, new.get)} of {len(new.get)} pairs"
        )
        lines.append(
            f"server CPU a GiB, get: {old.name} {median(old.get_cpu):.2f} s,"
            f" {new.name} {median(new.get_cpu):.2f} s"
        )
    return lines


def run(trees: tuple[Path, Path], pairs: int, size: int, get: bool) -> list[str]:
    tallies = (Tally("old"), Tally("new"))
    sources = tuple(str(source_dir(tree)) for tree in trees)
    with tempfile.TemporaryDirectory(prefix="coffre-side-by-side-") as tmp:
        work = Path(tmp)
        source = work / "source.bin"
        random_file(source, size)
        done = 0
        for half in range(2):
            # Half 0: old on server A, new on B; half 1 the other way round.
            versions = (0, 1) if half == 0 else (1, 0)
            count = pairs // 2 if half == 0 else pairs - pairs // 2
            folders = [work / f"half{half}-{label}" for label in "AB"]
            for folder in folders:
                folder.mkdir()
            with (
                server(folders[0], {"PYTHONPATH": sources[versions[0]]}) as a,
                server(folders[1], {"PYTHONPATH": sources[versions[1]]}) as b,
            ):
                clis = [
                    Cli(srv, folder / "home", f"{label}@example.org")
                    for srv, folder, label in ((a, folders[0], "a"), (b, folders[1], "b"))
                ]
                for slot, cli in enumerate(clis):  # each version's command too
                    cli.env["PYTHONPATH"] = sources[versions[slot]]
                for cli in clis:
                    cli.signup()
                for i in range(count):
                    order = (0, 1) if i % 2 == 0 else (1, 0)
                    line = []
                    for slot in order:
                        cli, tally = clis[slot], tallies[versions[slot]]
                        put = cli.run("put", "-q", str(source), f"/f{i}")
                        mbs = size / put.seconds / 1e6
                        tally.add_put(half, mbs, per_gib(put.server_cpu, size))
                        note = f"{tally.name} {mbs:6.1f} MB/s (server {put.server_cpu:.2f} s)"
                        if get:
                            back = work / "back.bin"
                            got = cli.run("get", "-q", f"/f{i}", str(back))
                            back.unlink()
                            tally.add_get(size / got.seconds / 1e6, per_gib(got.server_cpu, size))
                            note += f", get {tally.get[-1]:6.1f} (server {got.server_cpu:.2f} s)"
                        line.append(note)
                        if shutil.disk_usage(work).free < ROOM_PAIRS * 2 * size:
                            cli.remove(f"/f{i}")
                            cli.server.collect()
                    print(f"pair {done + i + 1}: " + " | ".join(line), flush=True)
                done += count
    return summary(*tallies)


def tree_pair_parser(module: str, doc: str, pairs: int, what: str) -> argparse.ArgumentParser:
    """The arguments every side-by-side tool takes: the two trees, how many pairs of
    ``what`` (``pairs`` by default), and the file's size."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=doc.partition("\n\n")[0]
    )
    parser.add_argument("old", type=Path, help="the tree of the version before")
    parser.add_argument("new", type=Path, help="the tree of the version after")
    parser.add_argument(
        "--pairs", type=int, default=pairs, help=f"pairs of {what} (default {pairs})"
    )
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = tree_pair_parser("bench.side_by_side", __doc__ or "", 8, "uploads")
    parser.add_argument("--get", action="store_true", help="download each upload back too")
    args = parser.parse_args(argv)
    if args.pairs < 2 or args.mib < 1:
        parser.error("--pairs must be at least 2 (one a half) and --mib at least 1")
    trees = (args.old, args.new)
    for line in run(trees, args.pairs, args.mib << 20, args.get):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
