"""The download baseline: Debian's nginx serving a folder over loopback, fetched with curl.

nginx runs in the foreground with a configuration of its own (a free port on 127.0.0.1,
sendfile on, every path inside the work folder) and is stopped by its process id. It is
the ceiling for serving bytes here: no encryption, no database, the kernel copying pages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Timed, free_port, run_timed, service

CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def binary() -> str | None:
    """nginx from PATH or Debian's place for it; None where it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


@dataclass(frozen=True, slots=True)
class Nginx:
    url: str
    root: Path


def _config(root: Path, port: int, state: Path) -> str:
    # Started as root, nginx's workers switch to "nobody", who cannot read a private
    # temporary folder: keep them as the user who started it.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {state}/body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /ready {{ return 200; }}
    }}
}}
"""


@contextlib.contextmanager
def serve(root: Path, work: Path) -> Iterator[Nginx]:
    """nginx serving ``root`` on a free port, its state in ``work``/nginx."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError("nginx is not installed")
    state = work / "nginx"
    state.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = state / "nginx.conf"
    conf.write_text(_config(root, port, state))
    url = f"http://127.0.0.1:{port}"
    argv = [exe, "-p", str(state), "-c", str(conf), "-e", str(state / "error.log")]
    with service(argv, log=state / "stdout.log", ready_url=url + "/ready"):
        yield Nginx(url, root)


def curl_get(server: Nginx, name: str) -> Timed:
    """``curl -o /dev/null`` of one file: loopback download with nothing written."""
    return run_timed(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail",
            "--output",
            os.devnull,
            f"{server.url}/{name}",
        ]
    )


def version() -> str:
    exe = binary()
    if exe is None:
        return "not installed"
    out = subprocess.run([exe, "-v"], capture_output=True, check=False, timeout=30)
    return (out.stderr or out.stdout).decode().strip().removeprefix("nginx version: ")
