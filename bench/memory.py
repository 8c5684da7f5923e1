"""Peak resident memory of a running process, per transfer.

A long-running process (the server) has its peak (VmHWM) reset before each transfer by
writing 5 to /proc/PID/clear_refs, and read after it. Where that is refused, a thread
polls the resident size (VmRSS) instead, which can miss a short spike between polls.
A command run to completion gets its own VmHWM, polled while it runs (procs.run_timed).
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

MIB = 1 << 20


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS; False if the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """``with PeakRss(pid) as peak: ...`` then ``peak.bytes``: the peak RSS inside the block."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.bytes = 0
        self._hwm = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRss:
        self._hwm = reset_peak(self.pid)
        if not self._hwm:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.bytes = max(self.bytes, _status_kib(self.pid, "VmRSS") * 1024)
            except (OSError, LookupError):
                return

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        try:
            key = "VmHWM" if self._hwm else "VmRSS"
            self.bytes = max(self.bytes, _status_kib(self.pid, key) * 1024)
        except (OSError, LookupError):
            pass
