"""Where the CPU of a large put and get goes: by process, thread and library, kernel included.

A diagnostic, not one of ``python -m bench``'s benchmarks. py-spy (``--profile``) sees
Python only; this runs Linux's ``perf record -a`` (every CPU, cpu-clock samples) around a
``coffre put`` and a ``coffre get`` of one file against a ``coffre serve`` of its own, and
splits the samples of the server and of the command: by library (the kernel, libpython,
libc, libcrypto...), by thread (the server's event loop, the threads that spend most of
their time in Python, those that spend most of it in the kernel), and their top symbols.
Python 3.11 shows no Python frames to perf: "libpython" is all of the interpreter.

    python -m bench.perf_split [--mib 1024]

``perf`` comes from Debian's ``linux-perf``; it needs root or
``kernel.perf_event_paranoid`` at most 1 to sample every CPU. A summary of a run is kept as
``bench/results/history/2026-11-29-perf-big.txt`` (docs/performance.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.coffre_runner import Cli, server
from bench.data import random_file
from bench.procs import tool

FREQUENCY = 997
"""Samples a second on each CPU (a prime, off the timers' beat)."""

_LINE = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+[0-9a-f]+\s+(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class Sample:
    comm: str
    pid: int
    tid: int
    symbol: str
    library: str


def parse(lines: Iterable[str]) -> list[Sample]:
    """``perf script -F comm,pid,tid,ip,sym,dso -G`` lines as samples (others skipped)."""
    samples = []
    for line in lines:
        match = _LINE.match(line)
        if match is None:
            continue
        symbol, _, library = match["rest"].rpartition(" (")
        library = Path(library.rstrip(")")).name if library else "?"
        samples.append(
            Sample(match["comm"], int(match["pid"]), int(match["tid"]), symbol.strip(), library)
        )
    return samples


def _library(name: str) -> str:
    for short in ("kernel", "libpython", "libc.so", "libcrypto", "_rust", "libsqlite"):
        if short in name:
            return {"libc.so": "libc", "_rust": "cryptography (Rust)"}.get(short, short)
    return "other"


def _split(samples: Sequence[Sample], total: int) -> str:
    libraries = Counter(_library(s.library) for s in samples)
    return (
        ", ".join(f"{name} {count / len(samples):.0%}" for name, count in libraries.most_common(6))
        + f" ({len(samples) / total:.1%} of all samples)"
    )


def summary(samples: Sequence[Sample], server_pid: int, title: str) -> list[str]:
    """The lines for one transfer: idle, the server by thread group, the command."""
    total = len(samples)
    if not total:
        return [f"{title}: no samples"]
    lines = [
        f"{title}: {total:,} samples (about {total / FREQUENCY:.2f} CPU-seconds, idle included)"
    ]
    idle = sum(s.pid == 0 for s in samples)
    lines.append(f"  idle: {idle:,} ({idle / total:.1%})")
    serve = [s for s in samples if s.pid == server_pid]
    lines.append(f"  coffre serve: {len(serve):,}: {_split(serve, total)}")
    by_thread: dict[int, list[Sample]] = {}
    for s in serve:
        by_thread.setdefault(s.tid, []).append(s)
    groups: dict[str, list[Sample]] = {"event loop (main thread)": by_thread.pop(server_pid, [])}
    for thread in by_thread.values():
        kernel = sum(_library(s.library) == "kernel" for s in thread) / len(thread)
        name = "threads mostly in the kernel (I/O)" if kernel > 0.5 else "threads mostly in Python"
        groups.setdefault(name, []).extend(thread)
    for name, group in groups.items():
        if not group:
            continue
        count = len({s.tid for s in group})
        top = Counter(s.symbol for s in group).most_common(4)
        lines.append(
            f"    {name}, {count} thread{'s' * (count != 1)}: {len(group):,}"
            f" ({len(group) / max(1, len(serve)):.0%} of the server's); "
            + ", ".join(f"{symbol or '?'} {n}" for symbol, n in top)
        )
    commands = Counter(s.pid for s in samples if s.comm == "coffre" and s.pid != server_pid)
    if commands:
        pid, _ = commands.most_common(1)[0]
        command = [s for s in samples if s.pid == pid]
        lines.append(f"  the command: {len(command):,}: {_split(command, total)}")
    return lines


def _record(cli: Cli, args: Sequence[str], data: Path) -> list[Sample]:
    subprocess.run(
        ["perf", "record", "-a", "-F", str(FREQUENCY), "-o", str(data), "--",
         tool("coffre"), *args],
        env=cli.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    script = subprocess.run(
        ["perf", "script", "-i", str(data), "-F", "comm,pid,tid,ip,sym,dso", "-G"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return parse(script.stdout.splitlines())


def run(size: int) -> list[str]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="coffre-perf-") as tmp:
        work = Path(tmp)
        source = work / "source.bin"
        random_file(source, size)
        (work / "server").mkdir()
        with server(work / "server") as srv:
            cli = Cli(srv, work / "home", "perf@example.org")
            cli.signup()
            cli.run("put", "-q", str(source), "/warm-up")
            for what, args in (
                ("put", ["put", "-q", str(source), "/file"]),
                ("get", ["get", "-q", "/file", str(work / "back.bin")]),
            ):
                samples = _record(cli, args, work / f"{what}.data")
                lines += summary(samples, srv.pid, f"coffre {what}, {size / 2**20:.0f} MiB")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.perf_split", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    args = parser.parse_args(argv)
    if shutil.which("perf") is None:
        print("perf_split: perf is not installed (Debian: apt-get install linux-perf)")
        return 2
    for line in run(args.mib << 20):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
