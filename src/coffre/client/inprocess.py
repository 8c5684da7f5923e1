"""A synchronous httpx transport that calls an ASGI app in the same process.

httpx's own ``ASGITransport`` serves only async clients; this one runs the app on an event
loop in a helper thread (an anyio blocking portal), so the synchronous client library can
talk to a server without a socket. Tests use it; it also suits embedding.
"""

from __future__ import annotations

from typing import Any

import anyio.from_thread
import httpx


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._asgi = httpx.ASGITransport(app=app, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            async_request = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(async_request)
            content = b"".join([part async for part in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)
