"""Coffre as users run it: a ``coffre serve`` process and the ``coffre`` command line.

The server gets its own data folder and port; the command line its own COFFRE_HOME.
Nothing in the caller's environment that starts with COFFRE_ reaches either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import peaks, profile
from bench.memory import PeakRss
from bench.procs import Timed, cpu_seconds, free_port, run_timed, service, tool

PASSWORD = "bench password, not a secret"
PASSWORD_LINE = (PASSWORD + "\n").encode()
TIB = 1 << 40


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    data: Path
    process: subprocess.Popen[bytes]
    env: Mapping[str, str] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def collect(self) -> None:
        """One garbage-collection pass (``coffre worker --once``, untimed): blobs of what
        was deleted go, so that the disk does not fill up over many large runs."""
        run_timed([tool("coffre"), "worker", "--once", "--data", str(self.data)], env=self.env)

    def collect_if_short(self, room: int) -> bool:
        """Collect (:meth:`collect`) only if the data folder's file system has less than
        ``room`` bytes free. What is not collected goes with the benchmark's temporary
        folder, once every benchmark has run (``bench/__main__.py``).

        Deleting a run's thousand chunk files just before the next run's upload slows
        that upload on an ext4 without a journal, as these machines' is: for 60 s to
        6 minutes after a deletion, allocating an inode skips each recently deleted
        one, looking up its inode-table block (``recently_deleted`` in the kernel's
        ``fs/ext4/ialloc.c``, checked only when the file system has no journal). One
        file a run, as the curl sink and rclone crypt write, does not feel it; 1,024 do
        (docs/performance-history.md, "The upload after a deletion")."""
        if shutil.disk_usage(self.data).free >= room:
            return False
        self.collect()
        return True


@contextlib.contextmanager
def server(work: Path, settings: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``coffre serve`` on a free port with its data in ``work``/server-data.

    The quota is raised out of the way and garbage collection is off, so that no
    background pass lands inside a timed transfer.
    """
    data = work / "server-data"
    port = free_port()
    env = _clean_env(COFFRE_STORAGE_QUOTA=str(TIB), COFFRE_GC_INTERVAL="0", **(settings or {}))
    url = f"http://127.0.0.1:{port}"
    argv = [tool("coffre"), "serve", "--port", str(port), "--data", str(data)]
    with (
        service(argv, log=work / "server.log", ready_url=url + "/healthz", env=env) as proc,
        peaks.watch(proc.pid, "server"),
    ):
        yield Server(url, data, proc, env)


@dataclass(frozen=True, slots=True)
class Measured:
    """A timed command, with the peak RSS of the client and of the server during it, and
    the CPU time each used (seconds of user and system time, every thread)."""

    seconds: float
    client_rss: int
    server_rss: int
    stdout: bytes
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def cpu(self) -> float:
        """The command's and the server's CPU time together."""
        return self.client_cpu + self.server_cpu


class Cli:
    """The ``coffre`` command with its own COFFRE_HOME, talking to one server."""

    def __init__(self, srv: Server, home: Path, email: str) -> None:
        self.server = srv
        self.home = home
        self.email = email
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.env = _clean_env(COFFRE_HOME=str(home), COFFRE_SERVER=srv.url)

    def run(self, *args: str, stdin: bytes | None = None) -> Measured:
        """Run ``coffre ARGS``; time it and measure both processes' peak memory."""
        before = cpu_seconds(self.server.pid)
        with PeakRss(self.server.pid) as server_peak:
            timed: Timed = run_timed([tool("coffre"), *args], env=self.env, stdin=stdin)
        server_cpu = cpu_seconds(self.server.pid) - before
        peaks.note("client", timed.max_rss)
        peaks.note("server", server_peak.bytes)
        return Measured(
            timed.seconds, timed.max_rss, server_peak.bytes, timed.stdout, timed.cpu, server_cpu
        )

    def profiled(
        self, args: Sequence[str], out: Path, title: str, *, stdin: bytes | None = None
    ) -> float:
        """Run ``coffre ARGS`` once under py-spy, with the server under another py-spy.

        Writes ``out``-client.txt and ``out``-server.txt; returns the (slowed) wall time.
        """
        server_out = out.with_name(out.name + "-server")
        with profile.attached(self.server.pid, server_out, title=f"{title}: server"):
            seconds = profile.record(
                [tool("coffre"), *args],
                out.with_name(out.name + "-client"),
                title=f"{title}: client",
                env=self.env,
                stdin=stdin,
            )
        return seconds

    def remove(self, path: str) -> None:
        """Delete ``path`` for good (rm, then empty the bin), so that each run starts alike."""
        self.run("rm", "-r", path)
        self.run("rubbish", "empty")

    def signup(self) -> None:
        self.run("signup", self.email, "--password-stdin", stdin=PASSWORD_LINE)

    def login(self) -> Measured:
        return self.run("login", self.email, "--password-stdin", stdin=PASSWORD_LINE)

    def profiled_login(self, out: Path) -> float:
        args = ["login", self.email, "--password-stdin"]
        return self.profiled(args, out, "coffre login", stdin=PASSWORD_LINE)
