"""Two versions of the ``coffre`` command, side by side against one server: which one
downloads a large file faster.

A diagnostic for a change to the command line's download, where :mod:`bench.side_by_side`
(two servers, each with its own version) would also measure how two servers differ: here
one ``coffre serve`` (with the new tree's code) holds one uploaded file, and ``coffre get``
of it runs with each tree's code in turn (``PYTHONPATH``), alternating which goes first.

    python -m bench.command_side_by_side OLD_TREE NEW_TREE [--pairs 10] [--mib 1024]
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.coffre_runner import Cli, server
from bench.data import random_file
from bench.side_by_side import per_gib, source_dir, tree_pair_parser, wins


def run(trees: tuple[Path, Path], pairs: int, size: int) -> list[str]:
    names = ("old", "new")
    sources = dict(zip(names, (str(source_dir(tree)) for tree in trees), strict=True))
    speeds: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="coffre-command-side-by-side-") as tmp:
        work = Path(tmp)
        random_file(work / "source.bin", size)
        (work / "server").mkdir()
        with server(work / "server", {"PYTHONPATH": sources["new"]}) as srv:
            cli = Cli(srv, work / "home", "a@example.org")
            cli.signup()
            cli.run("put", "-q", str(work / "source.bin"), "/file")
            back = work / "back.bin"
            for i in range(pairs):
                line = []
                for name in names if i % 2 == 0 else names[::-1]:
                    cli.env["PYTHONPATH"] = sources[name]
                    got = cli.run("get", "-q", "/file", str(back))
                    back.unlink()
                    speeds[name].append(size / got.seconds / 1e6)
                    cpu[name].append(per_gib(got.client_cpu, size))
                    line.append(
                        f"{name} {speeds[name][-1]:6.1f} MB/s (command {cpu[name][-1]:.2f} s)"
                    )
                print(f"pair {i + 1}: " + " | ".join(line), flush=True)
    old, new = statistics.median(speeds["old"]), statistics.median(speeds["new"])
    return [
        f"get, median MB/s: old {old:.1f}, new {new:.1f} ({new / old - 1:+.1%});"
        f" new faster in {wins(speeds['old'], speeds['new'])} of {pairs} pairs",
        f"the command's CPU a GiB: old {statistics.median(cpu['old']):.2f} s,"
        f" new {statistics.median(cpu['new']):.2f} s",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = tree_pair_parser("bench.command_side_by_side", __doc__ or "", 10, "downloads")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.mib < 1:
        parser.error("--pairs and --mib must be at least 1")
    for line in run((args.old, args.new), args.pairs, args.mib << 20):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
