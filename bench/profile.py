"""py-spy profiles of the client and the server, summarised as small text files.

py-spy samples every thread that is not idle (waiting on a lock, a socket or a sleep)
RATE times a second, pausing the process for each sample, so a profiled run is slower
than a timed one and is never timed. The summary lists, over all samples, the functions
found at the top of the stack (own time: where the CPU went) and anywhere on it (total
time), and the busy samples per thread.
"""

from __future__ import annotations

import collections
import contextlib
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import BIN, interrupt, run_timed, tool

RATE = 100
TOP = 25
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")
# Top frames that mean the thread is waiting (on a lock, a queue, a socket, the event loop's
# poll), which py-spy does not always recognise as idle.
WAITS = (
    "Condition.wait ",
    "Queue.get ",
    "Event.wait ",
    "Semaphore.acquire ",
    "Thread._wait_for_tstate_lock ",
    "SyncStream.read ",
    "Runner.run ",
)
_THREAD = re.compile(r"^thread \(\d+\): (?P<name>.*)$")


@dataclass(slots=True)
class Session:
    """What a summary says besides the samples: what ran, and for how long."""

    title: str
    seconds: float = 0.0


def _argv(out: Path) -> list[str]:
    spy = [
        tool("py-spy"),
        "record",
        "--rate",
        str(RATE),
        "--format",
        "raw",
        "--threads",
        "--full-filenames",
    ]
    return [*spy, "--output", str(out)]


def record(
    argv: Sequence[str],
    out: Path,
    *,
    title: str,
    env: Mapping[str, str],
    stdin: bytes | None = None,
) -> float:
    """Run ``argv`` under py-spy; write the summary to ``out``.txt; return the wall time."""
    with tempfile.TemporaryDirectory(prefix="coffre-bench-spy-") as tmp:
        raw = Path(tmp) / "raw.txt"
        timed = run_timed([*_argv(raw), "--", *argv], env=env, stdin=stdin)
        _write(raw, out, Session(title, timed.seconds), " ".join(argv))
    return timed.seconds


@contextlib.contextmanager
def attached(pid: int, out: Path, *, title: str) -> Iterator[Session]:
    """Profile the running process ``pid`` for the duration of the block."""
    session = Session(title)
    with tempfile.TemporaryDirectory(prefix="coffre-bench-spy-") as tmp:
        raw = Path(tmp) / "raw.txt"
        proc = subprocess.Popen(
            [*_argv(raw), "--pid", str(pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)  # py-spy attaches before the first request is sent
            start = time.perf_counter()
            yield session
            session.seconds = time.perf_counter() - start
        finally:
            interrupt(proc)
        if raw.exists():
            _write(raw, out, session, f"py-spy record --pid {pid} (the coffre serve process)")


REPO = Path(__file__).resolve().parent.parent


def _scrub(text: str) -> str:
    """The same text without the paths of the machine it was taken on (the virtualenv's
    commands, the checkout, the temporary folder): the summaries are kept with the results.
    The virtualenv goes first: it may lie outside the checkout being measured."""
    for prefix, short in ((BIN, ""), (REPO, ""), (Path(tempfile.gettempdir()), "TMP/")):
        text = text.replace(f"{prefix}/", short)
    return text


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1].removeprefix(".11/").removeprefix(".12/")
    if "/bin/" in path:
        return "bin/" + path.rsplit("/", 1)[1]
    return _scrub(path)


def _func(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['func']} ({_short(match['file'])})"


def _thread(frame: str) -> str:
    match = _THREAD.match(frame)
    name = match["name"] if match else frame
    return re.sub(r"\d+", "N", name)


@dataclass(slots=True)
class Summary:
    samples: int = 0
    own: collections.Counter[str] = field(default_factory=collections.Counter)
    total: collections.Counter[str] = field(default_factory=collections.Counter)
    threads: collections.Counter[str] = field(default_factory=collections.Counter)
    lines: collections.Counter[str] = field(default_factory=collections.Counter)


def _line(frame: str) -> str:
    match = _FRAME.match(frame)
    return frame if match is None else frame.replace(match["file"], _short(match["file"]))


def summarize(raw: Path) -> Summary:
    """Per function: own and total samples; per thread; per line of Coffre's own code.

    The line of Coffre's code is the innermost Coffre frame of each sample: the call in
    Coffre that the time was spent under (an fsync, an encrypt, a query...).
    """
    out = Summary()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        out.samples += count
        out.threads[_thread(frames[0])] += count
        funcs = [_func(f) for f in frames[1:]]
        if funcs:
            out.own[funcs[-1]] += count
        for func in set(funcs):
            out.total[func] += count
        ours = [f for f in frames[1:] if "/coffre/" in f and "/bin/coffre" not in f]
        if ours:
            out.lines[_line(ours[-1])] += count
    return out


def _write(raw: Path, out: Path, session: Session, command: str) -> None:
    summary = summarize(raw)
    samples = max(summary.samples, 1)
    own, total, threads = summary.own, summary.total, summary.threads
    seconds = session.seconds
    busy = samples / (seconds * RATE) if seconds else 0.0
    lines = [
        f"# {session.title}",
        f"# {_scrub(command)}",
        f"# {seconds:.2f} s under py-spy at {RATE} Hz; {samples} busy samples "
        f"(on average {busy:.2f} threads not idle; py-spy counts some waits as busy, "
        "they are marked [waiting] below)",
        "",
        "samples per thread:",
    ]
    lines += [f"  {n:7d} {100 * n / samples:5.1f}%  {name}" for name, n in _top(threads)]
    lines += ["", f"top {TOP} by own time (the function on top of the stack):"]
    lines += [
        f"  {n:7d} {100 * n / samples:5.1f}%  {func}{_mark(func)}" for func, n in _top(own)[:TOP]
    ]
    lines += ["", f"top {TOP} by total time (the function anywhere on the stack):"]
    lines += [f"  {n:7d} {100 * n / samples:5.1f}%  {func}" for func, n in _top(total)[:TOP]]
    lines += ["", f"top {TOP} lines of Coffre's code (the innermost Coffre frame of a sample):"]
    lines += [
        f"  {n:7d} {100 * n / samples:5.1f}%  {where}" for where, n in _top(summary.lines)[:TOP]
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / (out.name + ".txt")).write_text("\n".join(lines) + "\n")


def _mark(func: str) -> str:
    if func.startswith("Runner.run "):
        return "  [event loop: uvloop's C code, waiting or doing I/O]"
    return "  [waiting]" if func.startswith(WAITS) else ""


def _top(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
