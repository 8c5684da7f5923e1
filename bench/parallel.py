"""Several large uploads at once: aggregate throughput, and the server's memory under them.

N ``coffre put`` processes (each its own account and COFFRE_HOME) upload the same source
file (random bytes, in the page cache) at the same moment; the baseline is N ``curl -T``
of the same file into the bare uvicorn sink at once (bench/sink.py, fsync). Aggregate
throughput is N x size over the time from the first start to the last end.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import data, peers
from bench.coffre_runner import Cli, Measured, server
from bench.config import MIB, Config, size_label
from bench.memory import PeakRss
from bench.stats import Results, Target


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parallel(cfg: Config, results: Results, work: Path) -> None:
    count, size = cfg.parallel_uploads, cfg.parallel_bytes
    label = size_label(size)
    source = work / "source" / "random.bin"
    data.random_file(source, size)
    results.note(
        "parallel",
        f"{count} uploads of {label} at once: {count} coffre put processes (each its own "
        "account), against "
        f"{count} curl -T into the bare uvicorn sink (fsync) at once; one source file of "
        "os.urandom in the page cache. Aggregate: all bytes over the time from the first "
        "start to the last end. Each run's files are deleted after it (untimed); their "
        "blobs are collected only if the disk runs short of room.",
    )
    results.target(Target("parallel.put", "parallel.curl", ratio=0.9))
    results.target(Target("parallel.server_rss", limit=300, stat="max"))
    results.target(Target("parallel.client_rss", limit=300, stat="max"))
    total = count * size
    with server(work) as srv, peers.sink(work) as sink, ThreadPoolExecutor(count) as pool:
        clis = [Cli(srv, work / f"home-{i}", f"parallel-{i}@bench.invalid") for i in range(count)]
        for cli in clis:
            cli.signup()
        for run in range(cfg.heavy_runs):
            with PeakRss(srv.pid) as peak:
                start = time.perf_counter()
                dest = f"/par-{run}"
                done: list[Measured] = list(
                    pool.map(lambda c, d=dest: c.run("put", "-q", str(source), d), clis)
                )
                seconds = time.perf_counter() - start
            put = total / seconds / 1e6
            results.add("parallel.put", f"{count} x coffre put at once", "MB/s", put, higher=True)
            results.add(
                "parallel.server_rss",
                "coffre serve peak RSS",
                "MiB",
                peak.bytes / MIB,
                higher=False,
            )
            results.add(
                "parallel.client_rss",
                "coffre put peak RSS (largest of the processes)",
                "MiB",
                max(m.client_rss for m in done) / MIB,
                higher=False,
            )
            start = time.perf_counter()
            list(pool.map(lambda i: peers.curl_put(sink, source, name=f"up-{i}.bin"), range(count)))
            curl = total / (time.perf_counter() - start) / 1e6
            results.add(
                "parallel.curl",
                f"{count} x curl -T → uvicorn sink at once",
                "MB/s",
                curl,
                higher=True,
            )
            for cli in clis:
                cli.remove(f"/par-{run}")
            # A run's blobs and the sink's files, twice over, must stay free.
            srv.collect_if_short(4 * total)
            _log(
                f"[parallel] run {run + 1}/{cfg.heavy_runs}: coffre {put:.0f} MB/s, curl "
                f"{curl:.0f} MB/s; server peak {peak.bytes / MIB:.0f} MiB"
            )
        if cfg.profile:
            from bench import profile

            with profile.attached(
                srv.pid, cfg.results / "parallel-server", title=f"{count} x coffre put: server"
            ):
                list(pool.map(lambda c: c.run("put", "-q", str(source), "/par-p"), clis))
            _log("[parallel] profile written")
