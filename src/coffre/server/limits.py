"""Request-size bounds, enforced before a handler reads a body.

A chunk upload may carry up to the largest chunk (plus its tag), a ranged chunk upload up to
``max_range_bytes`` (or one largest chunk, if that is more); every other request up to
``max_json_bytes``. A declared Content-Length over the bound is refused at once with 413;
a body streamed without one is counted as it arrives and cut off the same way.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CHUNK_ROUTE = re.compile(r"^/v1/(?:public/links/[0-9a-f]{32}/)?uploads/[0-9a-f]{32}/chunks/\d+$")
_RANGE_ROUTE = re.compile(r"^/v1/(?:public/links/[0-9a-f]{32}/)?uploads/[0-9a-f]{32}/chunks$")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the bound. It is an HTTPException
    so that FastAPI's body parsing lets it through as it is (413), rather than as a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, json_limit: int, chunk_limit: int, range_limit: int
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.chunk_limit = chunk_limit
        self.range_limit = range_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if _CHUNK_ROUTE.match(path):
            limit = self.chunk_limit
        elif _RANGE_ROUTE.match(path):
            limit = self.range_limit
        else:
            limit = self.json_limit
        declared: int | None = None
        streamed = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _refuse(send, limit)
                    return
            elif name == b"transfer-encoding":
                streamed = True
        if not streamed:
            # The server delivers no more than the declared length, and a request with
            # neither header has no body (RFC 9112, 6.3): nothing to count, no wrappers.
            # A Transfer-Encoding overrides any Content-Length, so such a body is counted.
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": {"code": "too_large", "message": f"request body over {limit} bytes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
