"""Real processes: a ``coffre serve`` on a free port, and the ``coffre`` CLI as users run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

COFFRE = str(Path(sys.executable).parent / "coffre")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    data: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "COFFRE_MIN_CHUNK_SIZE": "1024"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [COFFRE, "serve", "--port", str(self.port), "--data", str(self.data), *self.extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"coffre serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"coffre serve did not become ready:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server-data", free_port(), tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


@dataclass
class Cli:
    """Runs ``coffre`` with its own COFFRE_HOME, against one server."""

    home: Path
    server: Server
    env: dict[str, str] = field(default_factory=dict)

    def environ(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("COFFRE_") and k not in ("PYTEST_CURRENT_TEST",)
        }
        env.update(COFFRE_HOME=str(self.home), COFFRE_SERVER=self.server.url, **self.env, **extra)
        return env

    def run(
        self, *args: str, input: str | bytes | None = None, check: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[bytes]:
        data = input.encode() if isinstance(input, str) else input
        result = subprocess.run(
            [COFFRE, *args],
            input=data,
            capture_output=True,
            env=self.environ(**extra),
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"coffre {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stderr.decode(errors='replace')}"
            )
        return result

    def out(self, *args: str, **kw: str) -> str:
        return self.run(*args, **kw).stdout.decode()

    def popen(self, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [COFFRE, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.environ(**extra),
        )


PASSWORD = "a long and correct password"


@pytest.fixture
def cli(tmp_path: Path, server: Server) -> Cli:
    client = Cli(tmp_path / "home", server)
    client.run("signup", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
    return client
