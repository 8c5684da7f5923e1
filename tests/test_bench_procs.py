"""The benchmarks' CPU accounting: a command's own CPU time, and a running process's."""

from __future__ import annotations

import subprocess
import sys

from bench.procs import cpu_seconds, run_timed

BURN = (
    "import sys, time\n"
    "while time.process_time() < 0.3:\n"
    "    pass\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)
"""Uses 0.3 s of CPU (its own clock, so however loaded the machine), then waits."""


def test_a_timed_command_reports_the_cpu_time_it_used() -> None:
    timed = run_timed([sys.executable, "-c", BURN], stdin=b"")
    assert timed.stdout == b"burnt\n"
    assert timed.cpu >= 0.3


def test_a_running_process_reports_the_cpu_time_it_has_used_so_far() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline() == b"burnt\n"
        used = cpu_seconds(proc.pid)
        proc.stdin.close()
    assert used >= 0.29  # counted in clock ticks of 10 ms


def test_a_process_that_is_gone_reports_none() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert cpu_seconds(proc.pid) == 0.0
