"""The cluster: transfers with the API processes out of the data path, and small operations
with 50 concurrent clients against one and two API processes.

It starts the cluster of scripts/cluster.py (a fresh PostgreSQL database, SeaweedFS with
two volume servers and replication, two ``coffre serve`` behind nginx) and stops it after.

- ``cluster.put`` / ``cluster.get``: ``coffre put`` / ``coffre get`` of one file through
  nginx (chunks go straight to SeaweedFS with presigned URLs), against boto3 moving the same
  bytes to and from the same SeaweedFS (``upload_file`` / ``download_file``, bench/s3peer.py).
- ``cluster.ops1`` / ``cluster.ops2``: 50 clients at once, each its own account, each doing
  create folder, rename it, list its parent, over and over; first all against one API
  process, then spread over both. The ratio of the two shows how the API scales (on this
  machine the processes share two cores with PostgreSQL, SeaweedFS and the clients).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from scripts.cluster import Cluster

from bench import data
from bench.coffre_runner import TIB, Cli, Server
from bench.config import Config, size_label
from bench.procs import PYTHON, run_timed, tool
from bench.stats import Results, Target
from coffre.protocol import models as m

CLIENTS = 50
OPS_PER_CLIENT = 20
"""Each client's rounds (a round: create, rename, list); the loop is bounded in count."""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(16 << 20):
            h.update(piece)
    return h.hexdigest()


def cluster(cfg: Config, results: Results, work: Path) -> None:
    problem = Cluster.unavailable()
    if problem:
        raise RuntimeError(f"the cluster benchmark cannot run here: {problem}")
    running = Cluster(
        work / "cluster",
        extra_env={"COFFRE_STORAGE_QUOTA": str(TIB), "COFFRE_GC_INTERVAL": "0"},
    )
    running.start()
    try:
        _transfers(cfg, results, work, running)
        _small_ops(cfg, results, running)
    finally:
        running.stop()


def _transfers(cfg: Config, results: Results, work: Path, running: Cluster) -> None:
    size = cfg.big_bytes
    label = size_label(size)
    source = work / "source" / "random.bin"
    source.parent.mkdir()
    data.random_file(source, size)
    digest = _sha256(source)
    results.note(
        "cluster",
        f"{label} of os.urandom in one file (in the page cache), through nginx to two API "
        "processes; chunks (1 MiB) go straight to SeaweedFS (two volume servers, every blob "
        "on both) with presigned URLs. The peer is boto3 upload_file / download_file of the "
        "same file to the same SeaweedFS. coffre get and the peer's get fsync the file.",
    )
    results.target(Target("cluster.put", "cluster.boto3_put", ratio=0.8))
    results.target(Target("cluster.get", "cluster.boto3_get", ratio=0.8))
    assert running.nginx is not None
    front = Server(running.url, work, running.servers[0].process)  # type: ignore[arg-type]
    cli = Cli(front, work / "home", "cluster@bench.invalid")
    cli.signup()
    peer_env = {**os.environ, **running.env}
    dest = work / "dest"

    def speed(key: str, what: str, seconds: float) -> float:
        value = size / seconds / 1e6
        results.add(key, what, "MB/s", value, higher=True)
        return value

    def peer(*args: str) -> float:
        argv = [PYTHON, "-m", "bench.s3peer", *args]
        return run_timed(argv, env=peer_env).seconds

    for run in range(cfg.runs):
        up = cli.run("put", "-q", str(source), f"/big-{run}")
        put = speed("cluster.put", f"coffre put via the cluster, {label}", up.seconds)
        speed(
            "cluster.boto3_put",
            "boto3 upload_file to SeaweedFS",
            peer("put", str(source), "coffre", f"peer/{run}"),
        )
        dest.mkdir()
        got = dest / "random.bin"
        down = cli.run("get", "-q", f"/big-{run}", str(got))
        get = speed("cluster.get", f"coffre get via the cluster, {label}", down.seconds)
        _check(got, size, digest if run == 0 else None)
        got.unlink()
        speed(
            "cluster.boto3_get",
            "boto3 download_file from SeaweedFS, fsync",
            peer("get", "coffre", f"peer/{run}", str(got)),
        )
        _check(got, size, digest if run == 0 else None)
        shutil.rmtree(dest)
        # Untimed: delete both copies, and collect the blobs, so that the disk stays flat.
        cli.remove(f"/big-{run}")
        subprocess.run(
            [tool("coffre"), "worker", "--once", "--data", str(work / "worker")],
            env=peer_env,
            check=True,
            capture_output=True,
        )
        _delete_peer_object(running, f"peer/{run}")
        _log(f"[cluster] run {run + 1}/{cfg.runs}: put {put:.0f}, get {get:.0f} MB/s")


def _delete_peer_object(running: Cluster, key: str) -> None:
    assert running.weed is not None
    running.weed.client().delete_object(Bucket="coffre", Key=key)  # type: ignore[attr-defined]


def _check(path: Path, size: int, digest: str | None) -> None:
    if path.stat().st_size != size or (digest is not None and _sha256(path) != digest):
        raise RuntimeError(f"{path}: the downloaded file differs from the source")


# -- small operations ---------------------------------------------------------------------


def _small_ops(cfg: Config, results: Results, running: Cluster) -> None:
    from tests.server.raw import new_id, sealed, signup_request

    rounds = OPS_PER_CLIENT if cfg.runs >= 5 else OPS_PER_CLIENT // 2
    results.note(
        "cluster.ops",
        f"{CLIENTS} clients at once (asyncio, one connection each, each its own account), "
        f"each {rounds} rounds of: create a folder, rename it, list its parent (3 requests). "
        "One process: every client on API process 0; two: half on each. Requests carry "
        "random bytes where envelopes go (the server cannot tell): the clients spend no "
        "time on cryptography.",
    )
    results.target(Target("cluster.ops2", "cluster.ops1"))
    urls = [s.url for s in running.servers]

    def signup(url: str) -> tuple[str, str]:
        request = signup_request(f"{new_id()}@bench.invalid", os.urandom(32), os.urandom(32))
        answer = httpx.post(
            f"{url}/v1/auth/signup",
            content=request.model_dump_json(),
            headers={"content-type": "application/json"},
        )
        answer.raise_for_status()
        return answer.json()["token"], request.root_id

    accounts = [signup(urls[0]) for _ in range(CLIENTS)]

    async def client(url: str, token: str, root: str) -> None:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:

            async def mkdir(parent: str) -> str:
                node = m.NewNode(
                    id=new_id(), parent_id=parent, key=sealed(), meta=sealed(96), name_tag=new_id()
                )
                (await http.post("/v1/nodes", content=node.model_dump_json())).raise_for_status()
                return node.id

            # A folder of this burst's own: every burst lists folders that grow alike.
            folder = await mkdir(root)
            for _ in range(rounds):
                made = await mkdir(folder)
                move = m.MoveNode(
                    parent_id=folder, key=sealed(), meta=sealed(96), name_tag=new_id()
                )
                answer = await http.patch(f"/v1/nodes/{made}", content=move.model_dump_json())
                answer.raise_for_status()
                (await http.get(f"/v1/nodes/{folder}/children")).raise_for_status()

    async def burst(processes: int) -> float:
        start = time.perf_counter()
        await asyncio.gather(
            *(client(urls[i % processes], token, root) for i, (token, root) in enumerate(accounts))
        )
        return time.perf_counter() - start

    requests = CLIENTS * (rounds * 3 + 1)
    for run in range(cfg.runs):
        for processes in (1, 2):
            seconds = asyncio.run(burst(processes))
            rate = requests / seconds
            what = "one API process" if processes == 1 else "two API processes"
            results.add(
                f"cluster.ops{processes}",
                f"{CLIENTS} clients: create/rename/list, {what}",
                "req/s",
                rate,
                higher=True,
            )
            _log(f"[cluster] run {run + 1}/{cfg.runs}: {processes} process(es), {rate:.0f} req/s")
