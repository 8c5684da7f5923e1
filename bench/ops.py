"""Many clients at once doing small operations: requests per second, latency, errors, memory.

Each client has its own account and its own connection, and goes round seven operations,
each a request, starting at a different one: list its folder, stat a file, create a
folder, rename a node, upload a small file (4 KiB, through the small-files call as
``coffre put`` sends small files, asking for no records back), download a small file (the
small-chunks call), read the change feed. Requests carry random bytes where envelopes and
chunks go (the server cannot tell): the clients spend no time on cryptography, so that the
server is what is measured.

Three phases per run, against one ``coffre serve``:

- ``saturated``: every client sends its next request as soon as the last one is answered
  (a closed loop): the most the server does, and the latency at that load. With N clients
  always waiting, the mean latency is N / throughput (Little's law).
- ``paced``: each client waits between requests (exponential, mean THINK seconds), as
  people and sync clients do: the latency at a load the server can carry.
- ``floor``: the same generator, the same number of clients, doing ``GET /`` against a bare
  uvicorn app (bench/sink.py): the most requests this machine and generator make, the
  baseline of the saturated rate, and the proof that the generator is not the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from tests.server.raw import new_id, new_version, sealed, signup_request

from bench import loadgen, peers
from bench.coffre_runner import server
from bench.config import MIB, Config
from bench.memory import PeakRss
from bench.stats import Results, Target
from coffre.protocol import models as m

T = TypeVar("T")
OPERATIONS = ("list", "stat", "mkdir", "rename", "upload", "download", "feed")
THINK = 1.0
SMALL = 4096
CHUNK_SIZE = 1 << 20
SEED_FILES = 4
SETUP_CONCURRENCY = 20
LIMITS = httpx.Limits(max_connections=1, keepalive_expiry=4.0)
"""One connection per client. A connection left idle is not reused after 4 s: uvicorn
closes idle connections after 5 s, and a request sent just as it does fails (a paced
client can think that long); browsers and HTTP libraries keep under the server's timeout
for this reason."""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(slots=True)
class Account:
    token: str
    root: str


@dataclass(slots=True)
class Client:
    """One client's connection and what it has made so far."""

    http: httpx.AsyncClient
    folder: str = ""
    files: list[tuple[str, str]] = field(default_factory=list)  # (node id, version id)
    made: list[str] = field(default_factory=list)
    cursor: int = 0


def _json(model: m.Model) -> str:
    return model.model_dump_json()


def _node(parent: str) -> m.NewNode:
    return m.NewNode(
        id=new_id(), parent_id=parent, key=sealed(), meta=sealed(96), name_tag=new_id()
    )


def _small_file(parent: str) -> tuple[m.SmallFilesRequest, str, str]:
    node = _node(parent)
    version = new_version(SMALL, CHUNK_SIZE)
    small = m.SmallFile(
        node=node, version=version, envelope=sealed(), data=os.urandom(version.size)
    )
    return m.SmallFilesRequest(files=[small]), node.id, version.id


async def _mkdir(c: Client, parent: str) -> str:
    node = _node(parent)
    loadgen.check(await c.http.post("/v1/nodes", content=_json(node)))
    return node.id


async def _upload(c: Client) -> None:
    request, node_id, version_id = _small_file(c.folder)
    # As coffre put sends it: no records wanted back.
    headers = {"prefer": "return=minimal"}
    loadgen.check(await c.http.post("/v1/files/small", content=_json(request), headers=headers))
    c.files.append((node_id, version_id))


async def _prepare(c: Client, root: str) -> None:
    """A fresh folder of its own with a few files in it, and the feed's current end.

    Untimed; a request the server turns away for the moment (503, as when its database is
    busy for too long) is sent again after a pause, as Coffre's client does."""
    c.folder = await _again(lambda: _mkdir(c, root))
    for _ in range(SEED_FILES):
        await _again(lambda: _upload(c))

    async def feed_end() -> int:
        answer = await c.http.get("/v1/events", params={"after": 0, "limit": 10_000})
        last: int = loadgen.check(answer).json()["last"]
        return last

    c.cursor = await _again(feed_end)


async def _again(call: Callable[[], Awaitable[T]], tries: int = 10) -> T:
    for attempt in range(tries):
        try:
            return await call()
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503 or attempt == tries - 1:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


async def _operate(c: Client, name: str, rng: random.Random) -> None:
    if name == "list":
        loadgen.check(await c.http.get(f"/v1/nodes/{c.folder}/children"))
    elif name == "stat":
        loadgen.check(await c.http.get(f"/v1/nodes/{rng.choice(c.files)[0]}"))
    elif name == "mkdir":
        c.made.append(await _mkdir(c, c.folder))
    elif name == "rename":
        target = rng.choice(c.made) if c.made else rng.choice(c.files)[0]
        move = m.MoveNode(parent_id=c.folder, key=sealed(), meta=sealed(96), name_tag=new_id())
        loadgen.check(await c.http.patch(f"/v1/nodes/{target}", content=_json(move)))
    elif name == "upload":
        await _upload(c)
    elif name == "download":
        version = rng.choice(c.files)[1]
        answer = loadgen.check(
            await c.http.post("/v1/versions/small", content=f'{{"versions":["{version}"]}}')
        )
        if len(answer.json()["chunks"]) != 1:
            raise httpx.DecodingError("the small-chunks answer lacks the chunk asked for")
    else:
        answer = loadgen.check(await c.http.get("/v1/events", params={"after": c.cursor}))
        c.cursor = answer.json()["last"]


def _signups(url: str, count: int) -> list[Account]:
    accounts = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(count):
            request = signup_request(f"{new_id()}@bench.invalid", os.urandom(32), os.urandom(32))
            answer = http.post(
                "/v1/auth/signup",
                content=request.model_dump_json(),
                headers={"content-type": "application/json"},
            )
            answer.raise_for_status()
            accounts.append(Account(answer.json()["token"], request.root_id))
    return accounts


def _coffre_phase(
    url: str, accounts: Sequence[Account], seconds: float, think: float, pid: int
) -> loadgen.Tally:
    async def prepare(stack: contextlib.AsyncExitStack) -> list[loadgen.ClientLoop]:
        clients: list[Client] = []
        for account in accounts:
            headers = {
                "authorization": f"Bearer {account.token}",
                "content-type": "application/json",
            }
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=LIMITS)
            )
            clients.append(Client(http))
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def ready(c: Client, root: str) -> None:
            async with gate:
                await _prepare(c, root)

        await asyncio.gather(*(ready(c, a.root) for c, a in zip(clients, accounts, strict=True)))
        return [_loop(c, i, think) for i, c in enumerate(clients)]

    return loadgen.run_phase(prepare, seconds, server_pid=pid)


def _loop(c: Client, index: int, think: float) -> loadgen.ClientLoop:
    async def loop(tally: loadgen.Tally, deadline: float, rng: random.Random) -> None:
        step = index
        if think:  # spread the first requests over one think time
            await asyncio.sleep(rng.uniform(0, think))
        while time.perf_counter() < deadline:
            name = OPERATIONS[step % len(OPERATIONS)]
            step += 1
            await loadgen.timed(tally, name, _operate(c, name, rng))
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))

    return loop


def _floor_phase(url: str, clients: int, seconds: float, pid: int) -> loadgen.Tally:
    async def prepare(stack: contextlib.AsyncExitStack) -> list[loadgen.ClientLoop]:
        loops: list[loadgen.ClientLoop] = []
        for _ in range(clients):
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=60, limits=LIMITS)
            )
            loops.append(_floor_loop(http))
        return loops

    return loadgen.run_phase(prepare, seconds, server_pid=pid)


def _floor_loop(http: httpx.AsyncClient) -> loadgen.ClientLoop:
    async def loop(tally: loadgen.Tally, deadline: float, _rng: random.Random) -> None:
        async def get() -> None:
            loadgen.check(await http.get("/"))

        while time.perf_counter() < deadline:
            await loadgen.timed(tally, "get", get())

    return loop


def _ms(seconds: float) -> float:
    return seconds * 1000


def ops(cfg: Config, results: Results, work: Path) -> None:
    clients, seconds = cfg.ops_clients, cfg.ops_seconds
    floor_seconds = max(3.0, seconds / 6)
    results.note(
        "ops",
        f"{clients} clients at once, each its own account and connection (httpx.AsyncClient "
        "on one uvloop, in the benchmark's process), going round: list a folder, stat, "
        "mkdir, rename, upload 4 KiB (small-files call), download it (small-chunks call), "
        f"read the change feed. Saturated: {seconds:g} s, each client's next request as soon "
        f"as the last is answered; paced: {seconds:g} s, each client waiting a random time "
        f"(exponential, mean {THINK:g} s) between requests; floor: {floor_seconds:g} s of "
        "GET / against a bare uvicorn app with the same generator. Latency: from sending a "
        "request to having its whole answer, in the generator. CPU: seconds of CPU a "
        "second (1.0 = one core) over the phase.",
    )
    results.target(Target("ops.rps", "ops.floor_rps"))
    results.target(Target("ops.p99", limit=100))
    results.target(Target("ops.paced_p99", limit=100))
    results.target(Target("ops.errors", limit=1, stat="max"))
    results.target(Target("ops.server_rss", limit=300, stat="max"))
    with server(work) as srv, peers.sink(work) as sink:
        accounts = _signups(srv.url, clients)
        for run in range(cfg.heavy_runs):
            with PeakRss(srv.pid) as peak:
                busy = _coffre_phase(srv.url, accounts, seconds, 0.0, srv.pid)
                paced = _coffre_phase(srv.url, accounts, seconds, THINK, srv.pid)
            _record(results, "", "saturated", busy)
            _record(results, "paced_", "paced", paced)
            results.add(
                "ops.errors",
                "failed requests (both phases)",
                "count",
                busy.errors + paced.errors,
                higher=False,
            )
            results.add(
                "ops.server_rss",
                "coffre serve peak RSS (both phases)",
                "MiB",
                peak.bytes / MIB,
                higher=False,
            )
            floor = _floor_phase(sink.url, clients, floor_seconds, sink.process.pid)
            results.add(
                "ops.floor_rps",
                "floor: GET / on a bare uvicorn app",
                "req/s",
                floor.rate,
                higher=True,
            )
            results.add(
                "ops.floor_generator_cpu",
                "floor: generator CPU",
                "cores",
                floor.generator_cpu,
                higher=False,
            )
            for op in OPERATIONS:
                results.add(
                    f"ops.p99_{op}",
                    f"saturated: p99 of {op}",
                    "ms",
                    _ms(loadgen.percentile(busy.latencies.get(op, []), 0.99)),
                    higher=False,
                )
            _log(
                f"[ops] run {run + 1}/{cfg.heavy_runs}: saturated {busy.rate:.0f} req/s, "
                f"p50 {_ms(loadgen.percentile(busy.all(), 0.5)):.0f} ms, "
                f"p99 {_ms(loadgen.percentile(busy.all(), 0.99)):.0f} ms; paced "
                f"{paced.rate:.0f} req/s, p99 {_ms(loadgen.percentile(paced.all(), 0.99)):.0f} "
                f"ms; floor {floor.rate:.0f} req/s; errors {busy.errors + paced.errors}; "
                f"generator CPU {busy.generator_cpu:.2f} / floor {floor.generator_cpu:.2f} "
                f"cores; server CPU {busy.server_cpu:.2f} cores; server peak "
                f"{peak.bytes / MIB:.0f} MiB"
            )
            for error in busy.first_errors + paced.first_errors:
                _log(f"[ops]   {error}")
        if cfg.profile:
            from bench import profile

            try:
                with profile.attached(
                    srv.pid,
                    cfg.results / "ops-server",
                    title=f"{clients} clients, saturated: server",
                ):
                    _coffre_phase(srv.url, accounts, min(seconds, 20.0), 0.0, srv.pid)
            except httpx.HTTPError as exc:  # the profiler slows the server: note, go on
                _log(f"[ops] the profiled phase failed: {exc}")
            else:
                _log("[ops] profile written")


def _record(results: Results, key: str, what: str, tally: loadgen.Tally) -> None:
    every = tally.all()
    results.add(f"ops.{key}rps", f"{what}: requests", "req/s", tally.rate, higher=True)
    results.add(
        f"ops.{key}p50",
        f"{what}: p50 latency",
        "ms",
        _ms(loadgen.percentile(every, 0.5)),
        higher=False,
    )
    results.add(
        f"ops.{key}p99",
        f"{what}: p99 latency",
        "ms",
        _ms(loadgen.percentile(every, 0.99)),
        higher=False,
    )
    results.add(
        f"ops.{key}generator_cpu",
        f"{what}: generator CPU",
        "cores",
        tally.generator_cpu,
        higher=False,
    )
    results.add(
        f"ops.{key}server_cpu", f"{what}: coffre serve CPU", "cores", tally.server_cpu, higher=False
    )
