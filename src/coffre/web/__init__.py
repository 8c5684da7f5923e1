"""The web client: static ES modules served by the server, with strict security headers.

Nothing here runs on the server but file serving: the client (``static/``) does all of its
cryptography in the browser (WebCrypto, and hash-wasm's Argon2id from ``node_modules``,
installed by ``npm ci`` in this folder and served at ``/vendor/hash-wasm/``). docs/web.md
describes it.

Routes:

- ``/`` and the client's own pages (``/files``, ``/rubbish``, ``/account``, ``/links``,
  ``/contacts``, ``/shared``, ``/login``, ``/signup``, ``/recover``, ``/s/LINK_ID``,
  ``/support``, ``/support/TICKET_ID``, ``/staff`` and below, ``/abuse``,
  ``/transparency``):
  ``static/index.html``; the client routes on the path;
- ``/web/...``: the client's modules, style sheet and worker;
- ``/vendor/hash-wasm/argon2.umd.min.js``: the one third-party file, from npm.

Every one of these answers carries a Content-Security-Policy that allows nothing from
another origin and no inline script, ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer`` (the referrer would otherwise carry a public link's path).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
HASH_WASM = HERE / "node_modules" / "hash-wasm" / "dist" / "argon2.umd.min.js"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",  # hash-wasm compiles its WebAssembly
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "frame-src 'self' blob:",
        "worker-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

_ENCODED = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_NAMES = frozenset(k for k, _ in _ENCODED)

PAGES = (
    "/",
    "/files",
    "/rubbish",
    "/account",
    "/links",
    "/contacts",
    "/shared",
    "/login",
    "/signup",
    "/recover",
    "/support",
    "/staff",
    "/abuse",
    "/transparency",
)
"""Paths (and, for /files, /shared and /s, the paths below them) that answer with the client."""

_PREFIXES = ("/web/", "/vendor/", "/files/", "/shared/", "/s/", "/support/", "/staff/")


def is_web_path(path: str) -> bool:
    return path in PAGES or path.startswith(_PREFIXES)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every answer on a web client path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
                message = {**message, "headers": headers + _ENCODED}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Static(StaticFiles):
    """Static files that browsers revalidate (ETag) instead of caching blindly."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["cache-control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Serve the web client from ``app``: its pages, its modules and hash-wasm."""
    index = STATIC / "index.html"

    def page() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers={"cache-control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/files/{folder_id}", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/support/{ticket_id}", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/staff/{rest:path}", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/shared/{share_id}", page, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/shared/{share_id}/{folder_id}", page, methods=["GET"], include_in_schema=False
    )
    # The client owns /s/LINK_ID: it goes first, ahead of any plain page a router added.
    app.add_api_route("/s/{link_id}", page, methods=["GET"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())

    def hash_wasm() -> Response:
        if not HASH_WASM.is_file():
            return PlainTextResponse(
                "hash-wasm is not installed: run `npm ci` in src/coffre/web (make does)",
                status_code=404,
            )
        return FileResponse(
            HASH_WASM, media_type="text/javascript", headers={"cache-control": "no-cache"}
        )

    app.add_api_route(
        "/vendor/hash-wasm/argon2.umd.min.js", hash_wasm, methods=["GET"], include_in_schema=False
    )
    app.mount("/web", _Static(directory=STATIC), name="web")
    app.add_middleware(SecurityHeaders)
