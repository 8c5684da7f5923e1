"""The upload baseline's server: a bare ASGI app that streams a request body to disk.

Run as its own process on uvicorn with uvloop and httptools (the loop and parser
``coffre serve`` uses)::

    python -m bench.sink --port PORT --dir DIR [--no-fsync | --drop-cache]

``PUT /NAME`` writes the body to DIR/NAME as it arrives and, unless --no-fsync, fsyncs
the file before answering 201, as Coffre's server does with every chunk it stores. With
--drop-cache it also lets each 8 MiB leave the page cache once it is on disk, as Coffre's
server drops each chunk it has synced: on a machine where new memory is costly, that is
most of the difference (docs/performance-history.md). ``GET /`` answers 200 (readiness).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from coffre.client import disk

DROP_EVERY = 8 * 1024 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]


class Sink:
    def __init__(self, folder: Path, *, fsync: bool, drop_cache: bool = False) -> None:
        self.folder = folder
        self.fsync = fsync
        self.drop_cache = drop_cache

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "PUT":
            name = os.path.basename(scope["path"]) or "body"
            fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                more, written, dropped = True, 0, 0
                while more:
                    message: Message = await receive()
                    body = message.get("body", b"")
                    view = memoryview(body)
                    while view:
                        n = os.write(fd, view)
                        view, written = view[n:], written + n
                    if self.drop_cache and written - dropped >= DROP_EVERY:
                        disk.settle(fd, dropped, written - dropped)
                        dropped = written
                    more = message.get("more_body", False)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            status = 201
        else:
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--drop-cache", action="store_true")
    args = parser.parse_args()
    uvicorn.run(
        Sink(args.dir, fsync=not args.no_fsync, drop_cache=args.drop_cache),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()
