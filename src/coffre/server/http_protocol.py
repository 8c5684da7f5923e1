"""The HTTP protocol ``coffre serve`` runs: uvicorn's httptools protocol, with three of the
four copies it makes of every byte of a request body gone.

Out of the box each byte of a body is copied four times in the event loop, after the
kernel's copy out of the socket: into a new ``bytes`` for each read (uvloop, for a plain
``asyncio.Protocol``), into another for each piece of body the parser finds (httptools),
onto the request's ``bytearray`` (uvicorn), and out of it into the ``bytes`` the
application receives (uvicorn). The event loop is what bounds an upload, and those copies
were a seventh of the server's CPU for one (``memmove``, in ``perf``; see
docs/performance.md). Here:

- reads go into one buffer of the event loop's, reused for every read of every
  connection, up to 1 MiB at a time while a body is arriving and 64 KiB otherwise
  (``asyncio.BufferedProtocol``; uvloop honours it only in a protocol that is not also
  an ``asyncio.Protocol``, so uvicorn's protocol is wrapped, not extended): the parser
  copies out of it all that it hands on (the URL, the headers, the pieces of body), and
  the buffer is filled again only after the parser has returned;
- a piece of body that arrives while the request holds none is kept as the parser made
  it, and reaches the application as that same object (uvicorn's ``bytes()`` of a
  ``bytes`` is the object itself); pieces that arrive before the application takes the
  first are joined onto a ``bytearray`` by uvicorn, as before.

What is left is the parser's copy of each piece. Nothing else about the protocol changes:
the parser, keep-alive, pipelining, flow control and every answer are uvicorn's.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEAD_READ_BYTES = 64 * 1024
"""The most one read takes from a connection while no request body is arriving: requests'
heads, and requests without a body. A read is parsed whole before reading pauses, and each
pipelined request it holds costs its memory until answered: no more of them at once than
with uvicorn's own protocol (whose reads are up to 256 KiB)."""
READ_BYTES = 1024 * 1024
"""The most one read takes from a connection while a request body is arriving (uvloop reads
at most 256 KiB into a buffer of its own for a plain protocol). 1 GiB uploads side by
side: 1 MiB against 256 KiB, 475 against 454 MB/s (6 of 8 pairs) with 0.19 s less of the
server's CPU a GiB; 4 MiB against 1 MiB, no difference (docs/performance-history.md,
"Request bodies without copies")."""

_buffers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, memoryview] = (
    weakref.WeakKeyDictionary()
)


def _loop_buffer(loop: asyncio.AbstractEventLoop) -> memoryview:
    """The read buffer of an event loop: its callbacks run one at a time, and a read's
    bytes are all parsed (and what is kept of them, copied) before the next read."""
    buffer = _buffers.get(loop)
    if buffer is None:
        buffer = _buffers[loop] = memoryview(bytearray(READ_BYTES))
    return buffer


class _HttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, handing request bodies on without copying them again
    (see the module)."""

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            held = cast(bytes | bytearray, cycle.body)  # bytes, where set below
            if held and isinstance(held, bytes):
                # Appended to from here on: onto a bytearray, as uvicorn's own, since
                # joining bytes to bytes copies all that came before at every piece (one
                # read can hold thousands of pieces of a chunked body).
                cycle.body = bytearray(held)
            super().on_body(body)  # joined onto what is waiting; or dropped, as uvicorn does
            return
        # uvicorn's type says bytearray: it only appends to it, and makes bytes of it.
        cycle.body = body  # type: ignore[assignment]
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()


class CoffreHttpProtocol(asyncio.BufferedProtocol):
    """What the event loop talks to for each connection: it reads into the loop's buffer
    and hands each read to uvicorn's protocol, which does the rest (the transport is
    uvicorn's to use as before: it writes answers and pauses and resumes reading)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.http = _HttpToolsProtocol(
            config=config, server_state=server_state, app_state=app_state, _loop=_loop
        )
        self._buffer = _loop_buffer(self.http.loop)
        self._head_buffer = self._buffer[:HEAD_READ_BYTES]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.http.connection_lost(exc)

    def eof_received(self) -> None:
        self.http.eof_received()

    def pause_writing(self) -> None:
        self.http.pause_writing()

    def resume_writing(self) -> None:
        self.http.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        cycle = self.http.cycle  # the newest request; None before the first
        if cycle is not None and cycle.more_body and not cycle.response_complete:
            return self._buffer  # its body is arriving
        return self._head_buffer

    def buffer_updated(self, nbytes: int) -> None:
        # httptools parses any buffer; uvicorn's type says bytes. Both buffers start at
        # the same place.
        self.http.data_received(self._buffer[:nbytes])  # type: ignore[arg-type]
