"""``python -m bench [--quick] [--runs N] [--json PATH] [--only NAME...] [--profile]``.

Runs Coffre's benchmarks against the peers named in each, measured in the same run, and
prints min / median / max of every metric and the ratio to its baseline. Benchmarks:

  big    1 GiB up and down: coffre put/get vs curl -T into a bare uvicorn app, rclone crypt
  small  10,000 files of 4 KiB up and down: coffre put/get vs rclone crypt
  login  coffre login end to end vs Argon2id alone
  tree   100,000 nodes: Drive.tree() and coffre find, vs fetching alone
  cluster  PostgreSQL + SeaweedFS + two API processes behind nginx (scripts/cluster.py):
         1 GiB up and down with chunks straight to SeaweedFS, vs boto3 on the same
         SeaweedFS; 50 concurrent clients' small operations against one and two processes

Each starts its own coffre serve (temporary data folder, free port) and stops it, and
removes its temporary folder, however it ends.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench import cluster, login, peers, report, transfers, tree
from bench.config import RESULTS, Config
from bench.procs import tool
from bench.stats import Results

Benchmark = Callable[[Config, Results, Path], None]
BENCHMARKS: dict[str, Benchmark] = {
    "big": transfers.big,
    "small": transfers.small,
    "login": login.login,
    "tree": tree.tree,
    "cluster": cluster.cluster,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="2 runs and small sizes")
    parser.add_argument("--runs", type=int, help="runs per benchmark (default 5; --quick: 2)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME", help="these benchmarks"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timed runs, profile each coffre command once with py-spy "
        "(client and server) into --results",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where profiles go")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every process and folder is cleaned up


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    cfg = Config.make(
        quick=args.quick, runs=args.runs, profile=args.profile, results=args.results, tmp=args.tmp
    )
    for needed in ("coffre", "rclone", "curl") + (("py-spy",) if cfg.profile else ()):
        if shutil.which(tool(needed)) is None:
            print(f"bench: {needed} not found; run: pip install -e '.[dev,bench]'", file=sys.stderr)
            return 2
    versions = {"rclone": peers.rclone_version(), "curl": peers.curl_version()}
    meta = report.machine(cfg, versions)
    results = Results()
    try:
        for name in args.only or list(BENCHMARKS):
            work = Path(tempfile.mkdtemp(prefix=f"coffre-bench-{name}-", dir=cfg.tmp))
            try:
                BENCHMARKS[name](cfg, results, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        report.finish(meta)
        if results.metrics:
            print(report.text(results, meta))
            if args.json:
                args.json.write_text(report.to_json(results, meta) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
