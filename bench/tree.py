"""Listing and decrypting a whole account of many nodes.

The tree is built once through the API, in batches (bench/data.py). Each run then times
Drive.tree() in this process against the real server over a socket (every node fetched
and opened), the fetch alone (Api.all_nodes()) as its baseline, and ``coffre find`` as a
new process, end to end.
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

PATTERN = "*77.txt"  # about one file in a hundred


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
        f"process against coffre serve over loopback; coffre find '{PATTERN}' is a new "
        "process (start-up, session, tree, matching). The name search is the matching alone, "
        "in the benchmark's process, on the tree just opened.",
    )
    results.target(Target("tree.drive", "tree.fetch", limit=1.0))
    results.target(Target("tree.search", limit=0.2))
    results.target(Target("tree.find", "tree.drive"))
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
            for run in range(cfg.runs):
                start = time.perf_counter()
                records = api.all_nodes()
                fetched = time.perf_counter() - start
                results.add("tree.fetch", "Api.all_nodes() alone", "s", fetched, higher=False)
                start = time.perf_counter()
                whole = drive.tree()
                opened = time.perf_counter() - start
                results.add("tree.drive", "Drive.tree(): fetch and open", "s", opened, higher=False)
                if len(whole.entries) != nodes + 1 or len(records) != nodes + 1:
                    raise RuntimeError(f"the tree has {len(whole.entries) - 1} nodes, not {nodes}")
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
                    f"[tree] run {run + 1}/{cfg.runs}: Drive.tree() {opened:.2f} s, "
                    f"find {found.seconds:.2f} s ({matches} matches)",
                    file=sys.stderr,
                )
            if cfg.profile:
                cli.profiled(["find", PATTERN], cfg.results / "tree-find", "coffre find")
        finally:
            api.close()
