"""Processes the benchmarks start: timed runs with their peak memory, and services.

Every process started here is stopped by the code that started it, on success and on
failure alike: timed commands are killed when they overrun, services are context managers
that send SIGTERM, then SIGKILL to the process they started (never by name).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
PYTHON = sys.executable


class CommandFailed(RuntimeError):
    pass


def tool(name: str) -> str:
    """A command from the virtualenv if it is there (coffre, rclone, py-spy), else PATH's."""
    local = BIN / name
    return str(local) if local.exists() else name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Timed:
    """One finished command: wall time from spawn to exit, its peak RSS in bytes, and the
    CPU time (user and system, every thread, and any child it waited for) it used."""

    seconds: float
    max_rss: int
    stdout: bytes
    cpu: float = 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) a running process has used so far, from
    ``/proc/PID/stat``, in seconds (to the clock tick, 10 ms); 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # The command's name (field 2) is in parentheses and may hold spaces: the
            # fields counted from the last ")" on. utime and stime are fields 14 and 15.
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, ValueError, IndexError):
        return 0.0


def run_timed(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 1800,
    on_start: Callable[[int], None] | None = None,
) -> Timed:
    """Run ``argv`` to completion; time it and measure its peak RSS (see ``_wait``).

    Output goes to temporary files (nothing blocks on a pipe); standard error is shown if
    the command fails. ``stdin`` is a few bytes at most (a password).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else None,
        )
        try:
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(stdin or b"")
                proc.stdin.close()
            if on_start is not None:
                on_start(proc.pid)
            status, peak, end, cpu = _wait(proc, start + timeout)
        except BaseException:
            _kill(proc)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode(errors="replace").strip()[-2000:]
            raise CommandFailed(f"{' '.join(argv)} exited {proc.returncode}: {message}")
        out.seek(0)
        return Timed(end - start, peak, out.read(), cpu)


PEAK_POLL = 0.02


def _hwm(pid: int) -> int:
    """The process's own peak RSS so far (VmHWM), in bytes; 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, int, float, float]:
    """Wait for ``proc`` with a deadline (a pidfd becomes readable at exit): its exit status,
    peak RSS, the time it ended and its CPU time (wait4's user and system time).

    The peak is the child's VmHWM, read every PEAK_POLL seconds while it runs (it only
    grows, so the last reading misses at most the last few milliseconds). The kernel's
    figure at exit (wait4's ru_maxrss) is no use here: a child spawned with vfork, as
    subprocess does, starts from the parent's peak, and this process holds a large one
    after the benchmarks that run clients in it.
    """
    fd = os.pidfd_open(proc.pid)
    peak = 0
    try:
        while True:
            peak = max(peak, _hwm(proc.pid))
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{proc.args!r} did not finish in time")
            ready, _, _ = select.select([fd], [], [], min(left, PEAK_POLL))
            if ready:
                break
        end = time.perf_counter()
        _pid, status, rusage = os.wait4(proc.pid, 0)
        cpu = rusage.ru_utime + rusage.ru_stime
        return status, peak or rusage.ru_maxrss * 1024, end, cpu
    finally:
        os.close(fd)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
            proc.wait(10)


@contextlib.contextmanager
def service(
    argv: Sequence[str],
    *,
    log: Path,
    ready_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a long-running process, wait until ``ready_url`` answers 200, stop it after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )
    try:
        _wait_ready(proc, ready_url, log, timeout)
        yield proc
    finally:
        stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CommandFailed(f"{proc.args!r} exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise CommandFailed(f"{proc.args!r} did not become ready:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: only this process, by its id."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(grace)


def interrupt(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGINT (how py-spy is told to write its profile), then ``stop`` if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            stop(proc)
