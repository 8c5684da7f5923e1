"""A load generator: many HTTP clients at once in one asyncio loop (uvloop), each with its
own connection (httpx.AsyncClient), each doing its operations one after the other.

Every request's latency is kept (per operation), every failure counted (a transport error
or an answer of 400 or more); the generator's own CPU time is measured, so that the output
can say whether it, and not the server, was the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop


@dataclass(slots=True)
class Tally:
    """What one phase measured: latencies (seconds) per operation, failures, CPU."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    generator_cpu: float = 0.0
    """CPU seconds the generator's process used per second of the phase (1.0 = one core)."""
    server_cpu: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def all(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(what)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, interpolated ("inclusive" method)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(tally: Tally, name: str, call: Awaitable[None]) -> None:
    """Await ``call`` (a coroutine not yet started) and keep its latency, or count its failure."""
    start = time.perf_counter()
    try:
        await call
    except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:  # failed, or a bad answer
        tally.error(f"{name}: {exc!r}"[:300])
        return
    tally.latencies.setdefault(name, []).append(time.perf_counter() - start)


def check(answer: httpx.Response) -> httpx.Response:
    if answer.status_code >= 400:
        raise httpx.HTTPStatusError(
            f"{answer.request.method} {answer.request.url.path} answered "
            f"{answer.status_code}: {answer.text[:200]}",
            request=answer.request,
            response=answer,
        )
    return answer


ClientLoop = Callable[[Tally, float, random.Random], Awaitable[None]]
"""One client's work: given the tally, the phase's deadline (perf_counter) and its own
random source, do operations until the deadline."""
Prepare = Callable[[contextlib.AsyncExitStack], Awaitable[Sequence[ClientLoop]]]
"""Untimed set-up, in the phase's loop: open the clients' connections (registered on the
exit stack, closed after the phase), make their accounts and data; return the clients."""


def run_phase(prepare: Prepare, seconds: float, *, server_pid: int | None = None) -> Tally:
    """Prepare the clients, then run them all at once for ``seconds`` and measure that."""
    tally = Tally()

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            clients = await prepare(stack)
            cpu, server_cpu = _cpu_self(), cpu_of(server_pid) if server_pid else 0.0
            start = time.perf_counter()
            deadline = start + seconds
            await asyncio.gather(
                *(loop(tally, deadline, random.Random(i)) for i, loop in enumerate(clients))
            )
            tally.seconds = time.perf_counter() - start
            tally.generator_cpu = (_cpu_self() - cpu) / tally.seconds
            if server_pid:
                tally.server_cpu = (cpu_of(server_pid) - server_cpu) / tally.seconds

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    return tally
