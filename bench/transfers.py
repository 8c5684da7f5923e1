"""Transfers: one large file, and many small ones, against curl and rclone crypt.

Each run does, in turn: ``coffre put``, the peers' uploads, ``coffre get``, the peers'
downloads, so that noise from the machine falls on all of them alike. Every download is
checked against the source (size each run, content on the first).
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import os
import shutil
import sys
from pathlib import Path

from bench import data, nginx, peers
from bench.coffre_runner import Cli, Measured, server
from bench.config import GIB, MIB, Config, size_label
from bench.stats import Results, Target

CORES = len(os.sched_getaffinity(0))
"""The cores this process may run on: the CPU ceilings below assume every one of them busy."""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _memory(results: Results, key: str, what: str, m: Measured) -> None:
    results.add(
        f"{key}.client_rss", f"{what}: client peak RSS", "MiB", m.client_rss / MIB, higher=False
    )
    results.add(
        f"{key}.server_rss", f"{what}: server peak RSS", "MiB", m.server_rss / MIB, higher=False
    )


def _cpu_per_gib(results: Results, key: str, label: str, cpu: float, size: int) -> None:
    results.add(f"{key}_cpu", f"{label}: CPU", "s/GiB", cpu * GIB / size, higher=False)


def _ceiling(results: Results, key: str, label: str, unit: str, work: float, cpu: float) -> float:
    """What a transfer would reach if its CPU time were its only bound and every core ran it
    (``work`` in the metric's unit per transfer, so MB or files): the most it can do on
    this machine without less CPU per byte or per file, whatever else overlaps."""
    value = work * CORES / cpu if cpu else 0.0
    results.add(f"{key}_ceiling", f"{label}: CPU ceiling, {CORES} cores", unit, value, higher=True)
    return value


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(16 << 20):
            h.update(piece)
    return h.hexdigest()


def big(cfg: Config, results: Results, work: Path) -> None:
    """One file of random bytes up and down."""
    size = cfg.big_bytes
    label = size_label(size)
    source_dir = work / "source"
    source = source_dir / "random.bin"
    data.random_file(source, size)
    digest = _sha256(source)
    results.note(
        "big",
        f"{label} of os.urandom in one file, written just before the runs (in the page cache). "
        "coffre serve and coffre get let what they have synced leave the page cache as they "
        "go; rclone's files stay in it. coffre get and the curl sinks fsync what they write "
        "(one sink also drops what is on disk from the cache, as coffre serve does); rclone "
        "does not; nginx serves the source file to curl -o /dev/null (sendfile, nothing "
        "written). Each run's file is deleted after it (untimed; its blobs are collected "
        "only if the disk runs short of room), and a file a quarter of the size goes up "
        "and down (untimed) to compare peak memory.",
    )
    # Memory must not grow with the file: compare with a file a quarter of the size, big
    # enough that the transfer window is full for most of it (at a sixteenth of 1 GiB the
    # client's peak is still climbing: 145 MiB at 64 MiB, 205 at 256 MiB, 225 at 1 GiB,
    # 230 at 2 GiB).
    small_size = max(MIB, size // 4)
    small_source = work / "source-small" / "random.bin"
    data.random_file(small_source, small_size)
    for key, baseline, ratio in (
        ("big.put", "big.curl", 0.9),
        ("big.put", "big.rclone_in", 2.0),
        ("big.put", "big.curl_nofsync", None),
        ("big.put", "big.curl_drop", None),
        ("big.put", "limits.dd_write", None),
        ("big.get", "big.rclone_out", 1.2),
        ("big.get", "big.nginx", None),
    ):
        results.target(Target(key, baseline, ratio=ratio))
    for key, baseline in (
        ("big.put_cpu", "big.curl_cpu"),
        ("big.put_cpu", "big.rclone_in_cpu"),
        ("big.get_cpu", "big.rclone_out_cpu"),
        ("big.put_ceiling", "big.curl"),
        ("big.put_ceiling", "big.rclone_in"),
        ("big.get_ceiling", "big.rclone_out"),
    ):
        results.target(Target(key, baseline))
    for key in ("big.put", "big.get"):
        for side in ("client", "server"):
            results.target(
                Target(f"{key}.{side}_rss", f"{key}_small.{side}_rss", ratio=1.25, stat="max")
            )
    rclone = peers.Rclone(work)
    dest = work / "dest"
    got = dest / "random.bin"
    web = contextlib.nullcontext() if nginx.binary() is None else nginx.serve(source_dir, work)
    if nginx.binary() is None:
        _log("[big] nginx is not installed: no loopback download baseline")

    def speed(key: str, label: str, seconds: float) -> float:
        value = size / seconds / 1e6
        results.add(key, label, "MB/s", value, higher=True)
        return value

    with (
        server(work) as srv,
        peers.sink(work) as sink,
        peers.sink(work, fsync=False) as sink_nofsync,
        peers.sink(work, drop_cache=True) as sink_drop,
        web as ngx,
    ):
        cli = Cli(srv, work / "home", "big@bench.invalid")
        cli.signup()
        for run in range(cfg.runs):
            up = cli.run("put", "-q", str(source), f"/big-{run}")
            put_speed = speed("big.put", f"coffre put, {label}", up.seconds)
            _memory(results, "big.put", "coffre put", up)
            t = peers.curl_put(sink, source)
            speed("big.curl", "curl -T → uvicorn sink, fsync", t.seconds)
            curl_cpu = t.cpu
            t = peers.curl_put(sink_nofsync, source)
            speed("big.curl_nofsync", "curl -T → uvicorn sink, no fsync", t.seconds)
            t = peers.curl_put(sink_drop, source)
            speed("big.curl_drop", "curl -T → uvicorn sink, fsync, drops cache", t.seconds)
            copied_in = rclone.copy_in(source_dir)
            speed("big.rclone_in", "rclone crypt copy in", copied_in.seconds)
            _cpu_per_gib(results, "big.put", "coffre put (command + server)", up.cpu, size)
            _cpu_per_gib(results, "big.put_client", "coffre put, the command", up.client_cpu, size)
            _cpu_per_gib(results, "big.put_server", "coffre put, the server", up.server_cpu, size)
            _cpu_per_gib(results, "big.curl", "curl -T + uvicorn sink, fsync", curl_cpu, size)
            _cpu_per_gib(results, "big.rclone_in", "rclone crypt copy in", copied_in.cpu, size)
            _ceiling(results, "big.put", "coffre put", "MB/s", size / 1e6, up.cpu)

            dest.mkdir()
            down = cli.run("get", "-q", f"/big-{run}", str(got))
            get_speed = speed("big.get", f"coffre get, {label}", down.seconds)
            _memory(results, "big.get", "coffre get", down)
            _check(got, size, digest if run == 0 else None)
            shutil.rmtree(dest)
            dest.mkdir()
            copied_out = rclone.copy_out(dest)
            speed("big.rclone_out", "rclone crypt copy out", copied_out.seconds)
            _cpu_per_gib(results, "big.get", "coffre get (command + server)", down.cpu, size)
            _cpu_per_gib(
                results, "big.get_client", "coffre get, the command", down.client_cpu, size
            )
            _cpu_per_gib(results, "big.get_server", "coffre get, the server", down.server_cpu, size)
            _cpu_per_gib(results, "big.rclone_out", "rclone crypt copy out", copied_out.cpu, size)
            _ceiling(results, "big.get", "coffre get", "MB/s", size / 1e6, down.cpu)
            _check(got, size, digest if run == 0 else None)
            shutil.rmtree(dest)
            rclone.wipe()
            if ngx is not None:
                t = nginx.curl_get(ngx, source.name)
                speed("big.nginx", "nginx (sendfile) → curl -o /dev/null", t.seconds)
            cli.remove(f"/big-{run}")

            # Untimed: the same both ways with a file a quarter of the size, for memory.
            small_label = size_label(small_size)
            up = cli.run("put", "-q", str(small_source), f"/big-small-{run}")
            _memory(results, "big.put_small", f"coffre put, {small_label}", up)
            dest.mkdir()
            down = cli.run("get", "-q", f"/big-small-{run}", str(got))
            _memory(results, "big.get_small", f"coffre get, {small_label}", down)
            shutil.rmtree(dest)
            cli.remove(f"/big-small-{run}")
            # What a run writes at most (Coffre's blobs, the copy got back, a sink's
            # file, rclone's), twice over, must stay free; else collect now, not later.
            srv.collect_if_short(8 * size)
            _log(f"[big] run {run + 1}/{cfg.runs}: put {put_speed:.0f}, get {get_speed:.0f} MB/s")
        if cfg.profile:
            out = cfg.results
            cli.profiled(
                ["put", "-q", str(source), "/big-p"], out / "big-put", f"coffre put {label}"
            )
            dest.mkdir()
            cli.profiled(["get", "-q", "/big-p", str(got)], out / "big-get", f"coffre get {label}")
            shutil.rmtree(dest)
            _log("[big] profiles written")


def _check(path: Path, size: int, digest: str | None) -> None:
    if path.stat().st_size != size or (digest is not None and _sha256(path) != digest):
        raise RuntimeError(f"{path}: the downloaded file differs from the source")


def small(cfg: Config, results: Results, work: Path) -> None:
    """Many small files of random bytes, as one folder, up and down."""
    count, size = cfg.small_count, cfg.small_bytes
    what = f"{count:,} files of {size_label(size)}"
    source = work / "small"
    data.random_files(source, count, size)
    results.note(
        "small",
        f"{what} of os.urandom in one folder, written just before the runs (in the page "
        "cache). coffre get fsyncs every file it writes; rclone does not. Each run writes "
        "into new folders (rclone's store, the local copies), and no local file is deleted "
        "until the runs are over (Coffre's folder is deleted on the server, untimed, where "
        "small files live in the database): right after many files are deleted, ext4 "
        "creates new ones several times slower for minutes (its inode allocator skips "
        "recently freed inodes), which slowed whichever command came next.",
    )
    results.target(Target("small.put", "small.rclone_in", ratio=1.5))
    results.target(Target("small.get", "small.rclone_out", ratio=1.5))
    for key, baseline in (
        ("small.put_cpu", "small.rclone_in_cpu"),
        ("small.get_cpu", "small.rclone_out_cpu"),
        ("small.put_ceiling", "small.rclone_in"),
        ("small.get_ceiling", "small.rclone_out"),
    ):
        results.target(Target(key, baseline))
    rclone = peers.Rclone(work)
    copies = work / "copies"  # every local copy, removed only at the end
    copies.mkdir()

    def rate(key: str, label: str, seconds: float) -> float:
        value = count / seconds
        results.add(key, label, "files/s", value, higher=True)
        return value

    def cpu(key: str, label: str, seconds: float) -> None:
        results.add(f"{key}_cpu", f"{label}: CPU", "us/file", seconds * 1e6 / count, higher=False)

    with server(work) as srv:
        cli = Cli(srv, work / "home", "small@bench.invalid")
        cli.signup()
        for run in range(cfg.runs):
            up = cli.run("put", "-q", str(source), f"/small-{run}")
            put_rate = rate("small.put", f"coffre put, {what}", up.seconds)
            _memory(results, "small.put", "coffre put (small files)", up)
            copied_in = rclone.copy_in(source, f"run-{run}")
            rate("small.rclone_in", "rclone crypt copy in", copied_in.seconds)
            cpu("small.put", "coffre put (command + server)", up.cpu)
            cpu("small.put_client", "coffre put, the command", up.client_cpu)
            cpu("small.put_server", "coffre put, the server", up.server_cpu)
            cpu("small.rclone_in", "rclone crypt copy in", copied_in.cpu)
            _ceiling(results, "small.put", "coffre put", "files/s", count, up.cpu)

            dest = copies / f"coffre-{run}"
            down = cli.run("get", "-q", f"/small-{run}", str(dest))
            get_rate = rate("small.get", f"coffre get, {what}", down.seconds)
            _memory(results, "small.get", "coffre get (small files)", down)
            _check_tree(source, dest, count, full=run == 0)
            dest = copies / f"rclone-{run}"
            dest.mkdir()
            copied_out = rclone.copy_out(dest, f"run-{run}")
            rate("small.rclone_out", "rclone crypt copy out", copied_out.seconds)
            cpu("small.get", "coffre get (command + server)", down.cpu)
            cpu("small.get_client", "coffre get, the command", down.client_cpu)
            cpu("small.get_server", "coffre get, the server", down.server_cpu)
            cpu("small.rclone_out", "rclone crypt copy out", copied_out.cpu)
            _ceiling(results, "small.get", "coffre get", "files/s", count, down.cpu)
            _check_tree(source, dest, count, full=run == 0)
            # Off the server only (its small files live in its database): no local file
            # is deleted, and the next run's listing is as small as this one's.
            cli.remove(f"/small-{run}")
            _log(
                f"[small] run {run + 1}/{cfg.runs}: put {put_rate:.0f} files/s, "
                f"get {get_rate:.0f} files/s"
            )
        if cfg.profile:
            out = cfg.results
            cli.profiled(
                ["put", "-q", str(source), "/small-p"], out / "small-put", f"coffre put {what}"
            )
            cli.profiled(
                ["get", "-q", "/small-p", str(copies / "profiled")],
                out / "small-get",
                f"coffre get {what}",
            )
            _log("[small] profiles written")
    shutil.rmtree(copies)
    rclone.wipe()


def _check_tree(source: Path, dest: Path, count: int, *, full: bool) -> None:
    names = sorted(p.name for p in dest.iterdir())
    if len(names) != count:
        raise RuntimeError(f"{dest}: {len(names)} files downloaded, not {count}")
    if full:
        _match, mismatch, errors = filecmp.cmpfiles(source, dest, names, shallow=False)
        if mismatch or errors:
            raise RuntimeError(
                f"{dest}: {len(mismatch) + len(errors)} files differ from the source"
            )
