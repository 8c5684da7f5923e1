"""Uploads (start, chunks, state, commit, cancel), small-file batches and chunk downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.deps import Caller, Ctx
from coffre.server.services import small_files as small
from coffre.server.services import transfers

router = APIRouter(prefix="/v1", tags=["transfers"])

ChunkIndex = Annotated[int, Path(ge=0, le=m.MAX_CHUNKS)]


@router.post("/uploads", status_code=201)
def start(ctx: Ctx, who: Caller, body: m.UploadRequest) -> m.UploadState:
    """Begin uploading a new file, or a new version of one (``node_id``)."""
    return transfers.start(ctx, who, body)


@router.get("/uploads/{upload_id}")
def state(ctx: Ctx, who: Caller, upload_id: Id) -> m.UploadState:
    """Which chunks the server holds: what a resumed upload still has to send."""
    return transfers.state(ctx, who, upload_id)


@router.put(
    "/uploads/{upload_id}/chunks/{index}",
    status_code=204,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_chunk(
    ctx: Ctx, who: Caller, upload_id: Id, index: ChunkIndex, request: Request
) -> Response:
    """One encrypted chunk, as raw bytes; sending a chunk again replaces it."""
    data = await request.body()
    await run_in_threadpool(transfers.put_chunk, ctx, who, upload_id, index, data)
    return Response(status_code=204)


@router.post("/uploads/{upload_id}/commit")
def commit(ctx: Ctx, who: Caller, upload_id: Id, body: m.CommitRequest) -> m.NodeRecord:
    """Make the version visible, once every chunk has arrived."""
    return transfers.commit(ctx, who, upload_id, body)


@router.delete("/uploads/{upload_id}", status_code=204)
def cancel(ctx: Ctx, who: Caller, upload_id: Id) -> Response:
    transfers.cancel(ctx, who, upload_id)
    return Response(status_code=204)


@router.post("/files/small", status_code=201)
def small_files(ctx: Ctx, who: Caller, body: m.SmallFilesRequest) -> m.SmallFilesResponse:
    """Create many one-chunk files at once (all or none)."""
    return small.small_files(ctx, who, body)


@router.get(
    "/versions/{version_id}/chunks/{index}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_chunk(ctx: Ctx, who: Caller, version_id: Id, index: ChunkIndex) -> Response:
    """One encrypted chunk of a version, as raw bytes."""
    data = await run_in_threadpool(transfers.read_chunk, ctx, who, version_id, index)
    return Response(content=data, media_type="application/octet-stream")
