"""The tree: nodes, children, moves, copies, the rubbish bin and versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.answer import answer, created
from coffre.server.deps import Caller, Ctx
from coffre.server.services import thumbnails, tree

router = APIRouter(prefix="/v1", tags=["tree"])


@router.get(
    "/nodes",
    response_model=m.NodeList,
    responses={200: {"content": {m.NODES_MEDIA_TYPE: {}}}},
)
def all_nodes(
    ctx: Ctx,
    who: Caller,
    request: Request,
    after: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=tree.PAGE_LIMIT)] = 10_000,
) -> Response:
    """Every node of the account, rubbish included, a page at a time (in id order): JSON, or
    the binary listing for a client that accepts ``application/x-coffre-nodes``."""
    listing = tree.all_nodes(ctx, who, after, limit)
    vary = {"vary": "accept"}
    if m.NODES_MEDIA_TYPE in request.headers.get("accept", ""):
        return Response(listing.binary(), media_type=m.NODES_MEDIA_TYPE, headers=vary)
    return Response(listing.json(), media_type="application/json", headers=vary)


@router.post("/nodes", status_code=201, response_model=m.NodeRecord)
async def mkdir(ctx: Ctx, who: Caller, body: m.NewNode) -> Response:
    """Create a folder."""
    return await created(tree.mkdir, ctx, who, body)


@router.post("/nodes/copy", status_code=201)
def copy(ctx: Ctx, who: Caller, body: m.CopyRequest) -> m.NodeList:
    """Create copies whose versions share existing contents (parents before children)."""
    return tree.copy(ctx, who, body)


@router.get("/nodes/{node_id}", response_model=m.NodeRecord)
async def get(ctx: Ctx, who: Caller, node_id: Id) -> Response:
    return await answer(tree.get, ctx, who, node_id)


@router.get("/nodes/{node_id}/children", response_model=m.NodeList)
async def children(
    ctx: Ctx, who: Caller, node_id: Id, name_tag: Annotated[Id | None, Query()] = None
) -> Response:
    """A folder's children outside the rubbish bin; ``name_tag`` picks one by name."""
    return await answer(tree.children, ctx, who, node_id, name_tag)


@router.patch("/nodes/{node_id}", response_model=m.NodeRecord)
async def move(ctx: Ctx, who: Caller, node_id: Id, body: m.MoveNode) -> Response:
    """Move and/or rename."""
    return await answer(tree.move, ctx, who, node_id, body)


@router.post("/nodes/{node_id}/trash")
def trash(ctx: Ctx, who: Caller, node_id: Id) -> m.NodeRecord:
    return tree.trash(ctx, who, node_id)


@router.post("/nodes/{node_id}/restore")
def restore(ctx: Ctx, who: Caller, node_id: Id) -> m.NodeRecord:
    return tree.restore(ctx, who, node_id)


@router.delete("/nodes/{node_id}", status_code=204)
def delete(ctx: Ctx, who: Caller, node_id: Id) -> Response:
    """Delete for good (only from the rubbish bin)."""
    tree.delete(ctx, who, node_id)
    return Response(status_code=204)


@router.get("/rubbish")
def rubbish(ctx: Ctx, who: Caller) -> m.NodeList:
    return tree.rubbish(ctx, who)


@router.post("/rubbish/empty", status_code=204)
def empty_rubbish(ctx: Ctx, who: Caller) -> Response:
    tree.empty_rubbish(ctx, who)
    return Response(status_code=204)


@router.get("/nodes/{node_id}/versions")
def versions(ctx: Ctx, who: Caller, node_id: Id) -> m.VersionList:
    return tree.versions(ctx, who, node_id)


@router.put("/versions/{version_id}/signature", status_code=204)
def sign_version(ctx: Ctx, who: Caller, version_id: Id, body: m.VersionSignature) -> Response:
    """Replace a version's writer signature with the owner's own."""
    tree.sign_version(ctx, who, version_id, body.signature)
    return Response(status_code=204)


@router.put("/versions/{version_id}/thumbnail", status_code=204)
async def put_thumbnail(ctx: Ctx, who: Caller, version_id: Id, request: Request) -> Response:
    """Store a version's sealed thumbnail (docs/crypto.md); needs write access to the file."""
    sealed = await request.body()
    await run_in_threadpool(thumbnails.put, ctx, who, version_id, sealed)
    return Response(status_code=204)


@router.get(
    "/versions/{version_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_thumbnail(ctx: Ctx, who: Caller, version_id: Id) -> Response:
    """A version's sealed thumbnail."""
    return Response(
        thumbnails.get(ctx, who, version_id),
        media_type="application/octet-stream",
        headers={"cache-control": "private, no-store"},
    )


@router.delete("/versions/{version_id}", status_code=204)
def delete_version(ctx: Ctx, who: Caller, version_id: Id) -> Response:
    tree.delete_version(ctx, who, version_id)
    return Response(status_code=204)
