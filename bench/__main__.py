"""``python -m bench [--quick] [--runs N] [--only NAME...] [--profile] [--json PATH]
[--chart PATH] [--compare EARLIER.json...]``.

Runs Coffre's benchmarks against the baselines named in each, measured in the same run, and
prints min / median / max of every metric and the ratio to its baseline. Benchmarks:

  limits   openssl speed aes-256-gcm vs Coffre's content cipher on the same block sizes;
           dd with conv=fdatasync (write) and with the file dropped from the cache (read)
  big      1 GiB up and down: coffre put/get vs curl -T into a bare uvicorn app, rclone
           crypt, nginx → curl for download; peak memory against a file a quarter the size
  small    10,000 files of 4 KiB up and down: coffre put/get vs rclone crypt
  login    coffre login end to end vs Argon2id alone
  tree     100,000 nodes: Drive.tree(), a name search in it, coffre find; vs fetching alone
  ops      100 clients at once doing mixed small operations for 60 s: requests/s, p50/p99
           latency, errors, server memory; vs the same generator against a bare uvicorn app
  parallel 8 uploads of 1 GiB at once: aggregate throughput and server memory, vs 8 curl -T
  cluster  PostgreSQL + SeaweedFS + two API processes behind nginx (scripts/cluster.py):
           1 GiB up and down with chunks straight to SeaweedFS, vs boto3 on the same
           SeaweedFS; 50 concurrent clients' small operations against one and two processes

Every benchmark also records the peak memory of the coffre commands, the server and its
own process over its whole duration. Each starts its own coffre serve (temporary data
folder, free port) and stops it, and removes its temporary folder, however it ends: once
every benchmark has run, where the disk has room, so that no benchmark measures just after
thousands of files were deleted.

Results go to bench/results/: NAME.txt (the table), NAME.json (every value), NAME.png (the
chart), where NAME is "bench" for a full run, "quick" for --quick, with "-only-..." for a
subset, unless --json / --chart say otherwise. --profile writes py-spy summaries there too.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench import (
    chart,
    cluster,
    limits,
    login,
    nginx,
    ops,
    parallel,
    peaks,
    peers,
    report,
    transfers,
    tree,
)
from bench.cleanup import remove_later
from bench.config import RESULTS, Config
from bench.procs import tool
from bench.stats import Results

Benchmark = Callable[[Config, Results, Path], None]
BENCHMARKS: dict[str, Benchmark] = {
    "limits": limits.limits,
    "big": transfers.big,
    "small": transfers.small,
    "login": login.login,
    "tree": tree.tree,
    "ops": ops.ops,
    "parallel": parallel.parallel,
    "cluster": cluster.cluster,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs, small sizes, short load: to develop"
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="runs per benchmark (default 5; ops and parallel at most 3; --quick: 2, 1)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", help="these benchmarks"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="where to write the results")
    parser.add_argument("--chart", type=Path, metavar="PATH", help="where to draw the chart")
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        default=[],
        metavar="EARLIER",
        help="earlier result files (JSON), drawn beside this run's in the chart",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timed runs, profile each coffre command once with py-spy "
        "(client and server) into --results",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results go")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    for path in args.compare:
        if not path.is_file():
            parser.error(f"--compare: {path} is not a file")
    name = "quick" if args.quick else "bench"
    if args.only:
        name += "-only-" + "-".join(args.only)
    args.json = args.json or args.results / f"{name}.json"
    args.chart = args.chart or args.results / f"{name}.png"
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every process and folder is cleaned up


def _compile_bytecode() -> None:
    """Compile Coffre's modules to bytecode, as installing a wheel does: an editable install
    compiles each module on first import, and not at all where PYTHONDONTWRITEBYTECODE is
    set, which would add tens of milliseconds of compiling to every command measured."""
    import coffre  # the installed package the coffre commands run

    compileall.compile_dir(Path(coffre.__file__).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    cfg = Config.make(
        quick=args.quick, runs=args.runs, profile=args.profile, results=args.results, tmp=args.tmp
    )
    needed = ["coffre", "rclone", "curl", "openssl", "dd"] + (["py-spy"] if cfg.profile else [])
    for program in needed:
        if shutil.which(tool(program)) is None:
            print(
                f"bench: {program} not found; run: pip install -e '.[dev,bench]'", file=sys.stderr
            )
            return 2
    _compile_bytecode()
    earlier = [chart.load(p) for p in args.compare]
    versions = {
        "rclone": peers.rclone_version(),
        "curl": peers.curl_version(),
        "nginx": nginx.version(),
        "openssl": peers.openssl_version(),
    }
    meta = report.machine(cfg, versions)
    results = Results()
    kept: list[Path] = []  # benchmarks' folders, removed at the end (bench/cleanup.py)
    try:
        for name in args.only or list(BENCHMARKS):
            work = Path(tempfile.mkdtemp(prefix=f"coffre-bench-{name}-", dir=cfg.tmp))
            peaks.reset()
            try:
                with peaks.harness():
                    BENCHMARKS[name](cfg, results, work)
                peaks.record(results, name)
            finally:
                if remove_later(work):
                    kept.append(work)
                else:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        for work in kept:
            shutil.rmtree(work, ignore_errors=True)
        report.finish(meta)
        if results.metrics:
            table = report.text(results, meta)
            print(table)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(report.to_json(results, meta) + "\n")
            args.json.with_suffix(".txt").write_text(table + "\n")
            chart.draw(json.loads(args.json.read_text()), earlier, args.chart)
            print(f"\nresults: {args.json}, {args.json.with_suffix('.txt')}, chart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
