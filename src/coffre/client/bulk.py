"""Ranges of chunks over plain HTTP/1.1 connections, straight into and out of the caller's buffers.

httpx hands a response body over in 64 KiB pieces, each through several layers of Python
(h11's events, httpcore's and httpx's streams): receiving a GiB that way costs the client
about 0.9 s of CPU, holding the GIL that the download's other workers need to decrypt and
hash. The standard library's :mod:`http.client` reads a body with ``recv_into`` into a
buffer it is given: about 0.1 s for the same GiB; and it sends a body from the caller's
buffer as it is, where httpx's h11 joins it with the request's head first (a copy of every
byte uploaded). :class:`Bulk` is used for the requests where that matters: a GET of many
chunks (:meth:`coffre.client.api.Api.read_into`) and a PUT of many
(:meth:`coffre.client.api.Api.put_chunks`) to the API, and every chunk to and from an
object store with a presigned URL (:class:`coffre.client.direct.Storage`); everything else,
and every request to the API made through a transport other than the network (the tests'
in-process server), stays on httpx.

Connections are pooled (each request takes one, and gives it back once its answer has
been read whole) and dropped after :data:`coffre.client.api.KEEPALIVE_EXPIRY` seconds
idle, as httpx's are. Failures are raised as httpx's transport errors, so that the caller
retries them as it retries any other request.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

CONNECT_TIMEOUT = 10.0
"""Seconds to connect (and shake hands over TLS), as the API's httpx client allows: a
server that does not answer a connection attempt fails the request, to be retried, long
before the timeout of a read (which waits for a whole range)."""


@dataclass(frozen=True, slots=True)
class Received:
    """An answer: its status, the length of its body (more than the buffer if it did not
    fit: then only what fits was kept), and the body itself for an error (status >= 400)."""

    status: int
    length: int
    error_body: bytes = b""

    def response(self) -> httpx.Response:
        """The answer as httpx's, for the caller's retries and error reading."""
        return httpx.Response(self.status, content=self.error_body)


class Bulk:
    """A pool of HTTP/1.1 connections to one server, for GETs received into buffers and
    PUTs sent from them."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        keepalive: float,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._connect_timeout = min(connect_timeout, timeout)
        self._keepalive = keepalive
        self._headers = dict(headers or {})
        self._context: ssl.SSLContext | None = None
        self._idle: list[tuple[float, http.client.HTTPConnection]] = []
        self._closed = False
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        """An idle connection that has not expired, or a new one (connected)."""
        now = time.monotonic()
        with self._lock:
            expired = [c for since, c in self._idle if now - since > self._keepalive]
            self._idle = [(since, c) for since, c in self._idle if now - since <= self._keepalive]
            reused = self._idle.pop()[1] if self._idle else None
        for stale in expired:
            stale.close()
        if reused is not None:
            return reused
        connection: http.client.HTTPConnection
        if self._tls:
            if self._context is None:
                self._context = httpx.create_ssl_context()  # the CAs httpx trusts
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._connect_timeout, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(
                self._host, self._port, timeout=self._connect_timeout
            )
        try:
            connection.connect()  # the TCP connection and, for https, the TLS handshake
            connection.sock.settimeout(self._timeout)  # then each read and write
            # A request's last partial segment must not wait for the server's delayed ACK.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            connection.close()
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return connection

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append((time.monotonic(), connection))
                return
        connection.close()  # a request that was still going when the pool was closed

    def get_into(
        self, path: str, params: Mapping[str, Any], headers: Mapping[str, str], into: memoryview
    ) -> Received:
        """GET ``path`` with ``params`` and receive the body into ``into``."""
        return self._exchange("GET", path, params, headers, None, into)

    def put(
        self,
        path: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        body: bytes | memoryview,
    ) -> Received:
        """PUT ``body`` to ``path`` with ``params``; an answer's body is kept if it is an error."""
        return self._exchange("PUT", path, params, headers, body, memoryview(bytearray()))

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        body: bytes | memoryview | None,
        into: memoryview,
    ) -> Received:
        target = f"{self._prefix}{path}?{urlencode(params)}" if params else self._prefix + path
        head = self._headers | dict(headers)
        if body is not None:
            head["content-length"] = str(len(body))
            head["content-type"] = "application/octet-stream"
        connection = self._connection()
        try:
            try:
                connection.request(method, target, body=body, headers=head)
            except OSError:
                if body is None:
                    raise
                # The server may have answered before reading the whole body (a body too
                # large, an upload that is gone) and closed the connection: its answer,
                # if it can still be read, says why.
            answer = connection.getresponse()
            if answer.status >= 400:
                received = Received(answer.status, 0, answer.read())
            else:
                received = Received(answer.status, _read_into(answer, into))
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # ValueError: a malformed chunk size in a chunked body
            connection.close()
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from None
        if answer.isclosed() and not answer.will_close:
            self._give_back(connection)  # read whole: ready for the next request
        else:
            connection.close()
        return received

    def close(self) -> None:
        """Close the idle connections, and those in use as their requests end."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for _since, connection in idle:
            connection.close()


def _read_into(answer: http.client.HTTPResponse, into: memoryview) -> int:
    """Read the body into ``into``; its length, or more than ``len(into)`` if it is
    longer (then reading stops there, and the connection cannot be reused)."""
    received = 0
    while received < len(into):
        count = answer.readinto(into[received:])
        if not count:
            if answer.length:  # http.client reports a connection cut mid-body as the end
                raise http.client.IncompleteRead(b"", answer.length)
            return received
        received += count
    if answer.read(1):
        return received + 1
    return received
