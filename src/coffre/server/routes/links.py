"""Public links: the owner's routes (create, list, revoke), the visitor's (no account),
and the page at /s/LINK_ID."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.deps import Caller, ClientIp, Ctx
from coffre.server.routes.transfers import (
    RANGE_CHUNKS,
    receive_chunk,
    receive_chunks,
    stream_chunks,
)
from coffre.server.services import links, transfers

router = APIRouter(tags=["links"])

LinkAuth = Annotated[
    str | None,
    Header(
        alias="X-Coffre-Link-Auth",
        description="HKDF-Expand(link key, 'coffre/v1 link-auth', 32), URL-safe base64",
    ),
]
ChunkIndex = Annotated[int, Path(ge=0, le=m.MAX_CHUNKS)]


def _auth(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


# -- owner ---------------------------------------------------------------------------------


@router.post("/v1/links", status_code=201)
def create(ctx: Ctx, who: Caller, body: m.LinkCreate) -> m.LinkInfo:
    """Make a link to a file or folder of one's own."""
    return links.create(ctx, who, body)


@router.get("/v1/links")
def list_links(ctx: Ctx, who: Caller) -> m.LinkList:
    return links.list_links(ctx, who)


@router.delete("/v1/links/{link_id}", status_code=204)
def revoke(ctx: Ctx, who: Caller, link_id: Id) -> Response:
    """Turn a link off for good."""
    links.revoke(ctx, who, link_id)
    return Response(status_code=204)


# -- visitor (no account) -------------------------------------------------------------------


@router.get("/v1/public/links/{link_id}")
def public(ctx: Ctx, link_id: Id) -> m.PublicLink:
    """A link's kind, expiry, and (password links) how to derive its key."""
    return links.public(ctx, link_id)


@router.get("/v1/public/links/{link_id}/root")
def root(ctx: Ctx, ip: ClientIp, link_id: Id, auth: LinkAuth = None) -> m.LinkRoot:
    """The linked node's record and its key sealed under the link key."""
    return links.root(ctx, link_id, _auth(auth), ip)


@router.get("/v1/public/links/{link_id}/nodes", response_model=m.NodeList)
def nodes(ctx: Ctx, ip: ClientIp, link_id: Id, auth: LinkAuth = None) -> Response:
    """Everything below a folder link's folder (outside the rubbish bin), parents first."""
    listing = links.nodes(ctx, link_id, _auth(auth), ip)
    return Response(listing.json(), media_type="application/json")


@router.get(
    "/v1/public/links/{link_id}/versions/{version_id}/chunks/{index}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def chunk(
    ctx: Ctx, ip: ClientIp, link_id: Id, version_id: Id, index: ChunkIndex, auth: LinkAuth = None
) -> Response:
    sources = await run_in_threadpool(
        links.chunk_source, ctx, link_id, _auth(auth), ip, [version_id]
    )
    source = sources[version_id]
    source.check_range(index, 1)
    data = await run_in_threadpool(transfers.load_chunk, ctx, source, index)
    await run_in_threadpool(links.charge, ctx, link_id, len(data), downloads=int(index == 0))
    return Response(content=data, media_type="application/octet-stream")


@router.get(
    "/v1/public/links/{link_id}/versions/{version_id}/chunks",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def chunks(
    ctx: Ctx,
    ip: ClientIp,
    link_id: Id,
    version_id: Id,
    first: Annotated[int, Query(ge=0, le=m.MAX_CHUNKS)],
    count: Annotated[int, Query(ge=1, le=RANGE_CHUNKS)],
    auth: LinkAuth = None,
) -> StreamingResponse:
    sources = await run_in_threadpool(
        links.chunk_source, ctx, link_id, _auth(auth), ip, [version_id]
    )
    source = sources[version_id]
    source.check_range(first, count)
    # Charged before the answer starts: the whole range, at the full chunk size.
    nbytes = count * (source.size // max(source.chunk_count, 1) + 16)
    await run_in_threadpool(links.charge, ctx, link_id, nbytes, downloads=int(first == 0))
    return await stream_chunks(ctx, source, first, count)


@router.post("/v1/public/links/{link_id}/versions/small")
def small(
    ctx: Ctx, ip: ClientIp, link_id: Id, body: m.SmallChunksRequest, auth: LinkAuth = None
) -> m.SmallChunksResponse:
    """The single chunk of many one-chunk versions reachable through the link."""
    wanted = list(dict.fromkeys(body.versions))
    sources = links.chunk_source(ctx, link_id, _auth(auth), ip, wanted)
    answer = transfers.small_chunks(ctx, sources)
    links.charge(ctx, link_id, sum(s.size for s in sources.values()), downloads=len(sources))
    return answer


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A Coffre link</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Someone shared a file or folder with you</h1>
<p>It is end-to-end encrypted: the key is in the part of the link after <code>#</code>,
which your browser never sends to this server.</p>
<p>To download and decrypt it, use the Coffre command line (no account needed):</p>
<pre>coffre link get 'THE WHOLE LINK, WITH ITS #KEY' [WHERE]</pre>
<p>For a link protected by a password, add <code>--password-stdin</code> or answer the prompt.</p>
</main></body></html>
"""


@router.get("/s/{link_id}", include_in_schema=False)
def page(link_id: str) -> HTMLResponse:
    """The page a link opens: how to fetch it (the web client will decrypt it here)."""
    del link_id
    return HTMLResponse(_PAGE, headers={"Referrer-Policy": "no-referrer"})


# -- upload-only links (file requests) -------------------------------------------------------


@router.post("/v1/public/links/{link_id}/uploads", status_code=201)
def request_start(
    ctx: Ctx, ip: ClientIp, link_id: Id, body: m.UploadRequest, auth: LinkAuth = None
) -> m.UploadState:
    """Begin uploading a new file into an upload-only link's folder."""
    who = links.dropbox(ctx, link_id, _auth(auth), ip)
    return transfers.start(ctx, who, body)


@router.get("/v1/public/links/{link_id}/uploads/{upload_id}")
def request_state(
    ctx: Ctx, ip: ClientIp, link_id: Id, upload_id: Id, auth: LinkAuth = None
) -> m.UploadState:
    return transfers.state(ctx, links.dropbox(ctx, link_id, _auth(auth), ip), upload_id)


@router.put("/v1/public/links/{link_id}/uploads/{upload_id}/chunks/{index}", status_code=204)
async def request_chunk(
    ctx: Ctx,
    ip: ClientIp,
    link_id: Id,
    upload_id: Id,
    index: ChunkIndex,
    request: Request,
    auth: LinkAuth = None,
) -> Response:
    who = await run_in_threadpool(links.dropbox, ctx, link_id, _auth(auth), ip)
    await receive_chunk(ctx, who, upload_id, index, await request.body())
    return Response(status_code=204)


@router.put("/v1/public/links/{link_id}/uploads/{upload_id}/chunks", status_code=204)
async def request_chunks(
    ctx: Ctx,
    ip: ClientIp,
    link_id: Id,
    upload_id: Id,
    first: Annotated[int, Query(ge=0, le=m.MAX_CHUNKS)],
    request: Request,
    auth: LinkAuth = None,
) -> Response:
    who = await run_in_threadpool(links.dropbox, ctx, link_id, _auth(auth), ip)
    return await receive_chunks(ctx, who, upload_id, first, request)


@router.post("/v1/public/links/{link_id}/uploads/{upload_id}/commit")
def request_commit(
    ctx: Ctx,
    ip: ClientIp,
    link_id: Id,
    upload_id: Id,
    body: m.CommitRequest,
    auth: LinkAuth = None,
) -> m.UploadState:
    """Make the file visible to the folder's owner (the visitor is told nothing of it)."""
    who = links.dropbox(ctx, link_id, _auth(auth), ip)
    state = transfers.state(ctx, who, upload_id)
    transfers.commit(ctx, who, upload_id, body)
    return state
