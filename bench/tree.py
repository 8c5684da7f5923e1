"""Listing and decrypting a whole account of many nodes.

The tree is built once through the API, in batches (bench/data.py). Each run then times,
in this process against the real server over a socket: Drive.tree() with no kept copy
(every node fetched and opened), the fetch alone (Api.all_nodes()) as its baseline, and
Drive.tree() from a kept copy (client/tree_copy.py) after a few changes were made (the
changes fetched and opened, the rest read back from the copy); then ``coffre find`` as a
new process, end to end, which keeps its own copy the same way.
"""

from __future__ import annotations

import fnmatch
import sys
import time
from pathlib import Path

from bench import data
from bench.coffre_runner import PASSWORD, Cli, server
from bench.config import Config
from bench.stats import Results, Target
from coffre.client import account
from coffre.client.api import Api
from coffre.client.drive import Drive, Tree
from coffre.client.tree_copy import TreeCopy

PATTERN = "*77.txt"  # about one file in a hundred
CHANGES = 10  # folders made before each run: what the kept copy has to catch up with


def search(whole: Tree, pattern: str) -> list[str]:
    """Paths of the nodes whose name matches ``pattern``: what ``coffre find`` does once it
    has the opened tree (coffre.cli.files.find)."""
    return [
        "/" + rel + ("/" if entry.is_folder else "")
        for rel, entry in whole.walk(whole.root)
        if fnmatch.fnmatchcase(entry.name, pattern)
    ]


def tree(cfg: Config, results: Results, work: Path) -> None:
    nodes = cfg.tree_nodes
    results.note(
        "tree",
        f"{nodes:,} nodes (one in ten a folder, ten sub-folders a folder; the rest files of "
        f"{data.FILE_BYTES} bytes) in one account; Drive.tree() runs in the benchmark's "
        "process against coffre serve over loopback, first with no kept copy (every node "
        "fetched and opened), then from the copy a Drive keeps (client/tree_copy.py), after "
        f"{CHANGES} folders were made since: those are fetched and opened, the rest read back "
        f"from the copy. coffre find '{PATTERN}' is a new process (start-up, session, tree "
        "from its own kept copy, matching). The name search is the matching alone, in the "
        "benchmark's process, on the tree just opened.",
    )
    results.target(Target("tree.kept", "tree.drive", limit=1.0))
    results.target(Target("tree.drive", "tree.fetch"))
    results.target(Target("tree.search", limit=0.2))
    results.target(Target("tree.find", "tree.kept"))
    with server(work) as srv:
        email = "tree@bench.invalid"
        cli = Cli(srv, work / "home", email)
        cli.signup()
        api = Api(srv.url)
        try:
            response, keys = account.login(api, email, PASSWORD)
            api.token = response.token
            drive = Drive(api, keys)
            folders_s, files_s = data.build_tree(drive, nodes)
            seconds = folders_s + files_s
            results.add(
                "tree.build",
                "building it through the API, in batches",
                "nodes/s",
                nodes / seconds,
                higher=True,
            )
            print(
                f"[tree] {nodes:,} nodes built in {seconds:.1f} s "
                f"(folders {folders_s:.1f} s, files {files_s:.1f} s)",
                file=sys.stderr,
            )
            copy = TreeCopy(work / "kept-tree.bin", keys.master_key, keys.user_id)
            Drive(api, keys, copy).tree()  # kept, untimed
            cli.run("find", PATTERN)  # the command line keeps its own
            changes = drive.mkdir(drive.root(), "changes")
            expected = nodes + 2
            for run in range(cfg.runs):
                start = time.perf_counter()
                records = api.all_nodes()
                fetched = time.perf_counter() - start
                results.add("tree.fetch", "Api.all_nodes() alone", "s", fetched, higher=False)
                start = time.perf_counter()
                whole = drive.tree()
                opened = time.perf_counter() - start
                results.add(
                    "tree.drive",
                    "Drive.tree(), no kept copy: fetch and open",
                    "s",
                    opened,
                    higher=False,
                )
                for i in range(CHANGES):
                    drive.mkdir(changes, f"run-{run}-{i}")
                expected += CHANGES
                start = time.perf_counter()
                caught_up = Drive(api, keys, copy).tree()
                kept = time.perf_counter() - start
                results.add(
                    "tree.kept",
                    f"Drive.tree() from the kept copy, {CHANGES} changes since",
                    "s",
                    kept,
                    higher=False,
                )
                if {
                    len(caught_up.entries),
                    len(whole.entries) + CHANGES,
                    len(records) + CHANGES,
                } != {expected}:
                    raise RuntimeError(
                        f"the tree has {len(caught_up.entries) - 1} nodes, not {expected - 1}"
                    )
                del caught_up
                start = time.perf_counter()
                hits = search(whole, PATTERN)
                searched = time.perf_counter() - start
                results.add(
                    "tree.search",
                    "name search in the opened tree (as coffre find)",
                    "s",
                    searched,
                    higher=False,
                )
                del whole, records
                found = cli.run("find", PATTERN)
                results.add(
                    "tree.find", "coffre find, end to end", "s", found.seconds, higher=False
                )
                matches = found.stdout.count(b"\n")
                if matches == 0 or matches != len(hits):
                    raise RuntimeError(f"coffre find found {matches}, the search {len(hits)}")
                print(
                    f"[tree] run {run + 1}/{cfg.runs}: Drive.tree() {opened:.2f} s, from the "
                    f"kept copy {kept:.2f} s, find {found.seconds:.2f} s ({matches} matches)",
                    file=sys.stderr,
                )
            if cfg.profile:
                cli.profiled(["find", PATTERN], cfg.results / "tree-find", "coffre find")
        finally:
            api.close()
