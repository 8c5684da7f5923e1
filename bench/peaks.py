"""Peak memory of client and server throughout each benchmark, not only per transfer.

Each benchmark's servers are watched for their whole life by a thread that polls their
resident size (VmRSS) every 50 ms; every ``coffre`` command reports its own peak
(VmHWM, read while it runs: procs.run_timed), and every per-transfer server peak
(VmHWM, bench/memory.py) is folded in too, so that a spike between two polls still
counts. The benchmark's own
process (where in-process clients and load generators run) is watched as well.

``python -m bench`` resets the tracker before each benchmark and records its peaks after:
``NAME.peak_client``, ``NAME.peak_server``, ``NAME.peak_harness``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from bench.config import MIB
from bench.stats import Results

ROLES = {
    "client": "whole benchmark, peak RSS: coffre commands",
    "server": "whole benchmark, peak RSS: coffre serve",
    "harness": "whole benchmark, peak RSS: bench process",
}
INTERVAL = 0.05

_lock = threading.Lock()
_peaks: dict[str, int] = {}


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def note(role: str, rss: int) -> None:
    """Fold one measured peak (bytes) into ``role``'s peak for this benchmark."""
    with _lock:
        _peaks[role] = max(_peaks.get(role, 0), rss)


@contextlib.contextmanager
def watch(pid: int, role: str) -> Iterator[None]:
    """Poll ``pid``'s resident size for the duration of the block."""
    stop = threading.Event()

    def poll() -> None:
        while True:
            note(role, _rss(pid))
            if stop.wait(INTERVAL):
                return

    thread = threading.Thread(target=poll, name=f"peak-{role}-{pid}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def reset() -> None:
    with _lock:
        _peaks.clear()


def record(results: Results, benchmark: str) -> None:
    """Add this benchmark's peaks to ``results`` (one value per benchmark run)."""
    with _lock:
        peaks = dict(_peaks)
    for role, label in ROLES.items():
        if peaks.get(role):
            results.add(f"{benchmark}.peak_{role}", label, "MiB", peaks[role] / MIB, higher=False)


@contextlib.contextmanager
def harness() -> Iterator[None]:
    """Watch this very process (the benchmark's) as the ``harness`` role."""
    with watch(os.getpid(), "harness"):
        yield
