"""Uploads (start, chunks, state, commit, cancel), small-file batches and chunk downloads."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from coffre.errors import BadRequest
from coffre.protocol import models as m
from coffre.protocol.types import Id
from coffre.server.context import Context, Principal
from coffre.server.deps import Caller, Ctx
from coffre.server.services import direct, transfers
from coffre.server.services import small_files as small

router = APIRouter(prefix="/v1", tags=["transfers"])

ChunkIndex = Annotated[int, Path(ge=0, le=m.MAX_CHUNKS)]
RANGE_CHUNKS = 64
"""At most this many chunks in one ranged GET."""
URL_CHUNKS = 1000
"""At most this many presigned URLs in one answer."""
WRITES_IN_FLIGHT = 1
"""Chunks of a request written at once whatever other requests hold (each is fsynced
before the answer, and a sync waits on the disk); beyond it, a request writes from the
spare bytes every request shares (:data:`SPARE_WRITE_BYTES`). What many uploads' ranges
hold at once is then bounded by the server, not by how many ranges the clients send:
eight 1 GiB uploads at once, each sending six ranges, took the server to a peak of 355
MiB with four a request and 16 MiB of spare, 277 MiB with one and 32 MiB, as fast
(docs/performance-history.md, "One shared allowance for chunk writes")."""
SPARE_WRITE_BYTES = 32 * 1024 * 1024
"""Beyond its first :data:`WRITES_IN_FLIGHT`, a request writes more of its chunks at once
while the server's chunks written so, by every request, make no more than this: one
upload's six ranges write up to 38 chunks at once (40 with four a request and 16 MiB);
many uploads at once hold no more than this beyond a chunk a range. A single 1 GiB
upload side by side, one a request and 32 MiB against four and 16: +2.6%, +1.5% and
+6.9% (three sets, 17 of 28 pairs). Before, eight chunks of a range at once against four:
medians 384 against 352 MB/s in six pairs, 370 against 353 in eight; the body of a range
received in 25 against 35 ms (docs/performance-history.md)."""
READ_AHEAD = 4
"""Chunks of a ranged GET read at once, ahead of the one being sent: the reads of a
range overlap one another on the disk, not only the sending. Eight 1 GiB downloads side
by side, 8 ranges at once: 4 against 1 ahead 481-620 against 370-568 MB/s (medians 546
and 497), 2 and 3 in between; at most 4 MiB a range held on the server."""
_CHUNK_IO = ThreadPoolExecutor(16, thread_name_prefix="coffre-chunk-io")
"""Threads that write received chunks and read chunks to send: handing a chunk to one
costs the event loop a third of what anyio's thread pool does (no cancel scope, no
capacity limiter), and the loop is what bounds a transfer."""


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
    await receive_chunk(ctx, who, upload_id, index, await request.body())
    return Response(status_code=204)


async def receive_chunk(
    ctx: Context, who: Principal, upload_id: str, index: int, data: bytes
) -> None:
    """Store one chunk and make it durable. The blob store, not the database, records
    which chunks arrived, so parallel chunk uploads never queue on the write lock."""
    target = await run_in_threadpool(transfers.chunk_target, ctx, who, upload_id)
    target.check_index(index)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_CHUNK_IO, transfers.store_chunk, ctx, target, index, [data])
    await _made_durable(ctx, target, [index])


async def _made_durable(ctx: Context, target: transfers.ChunkTarget, stored: list[int]) -> None:
    """Sync a request's chunks (written by now) while checking that their upload is still
    there (:func:`transfers.upload_alive`), and undo them if it is not: the check needs
    the chunks written, not synced, so the two overlap (1 GiB uploads side by side, two
    sets of eight: medians 298 against 282 and 305 against 284 MB/s, the check taking 5-7
    ms of each range before). The sync waits on the disk: on the chunk threads, not on
    the few that run request work (COFFRE_REQUEST_THREADS), which eight uploads' syncs
    would otherwise fill."""
    loop = asyncio.get_running_loop()
    synced = loop.run_in_executor(_CHUNK_IO, ctx.blobs.sync, target.content_id)
    try:
        alive = await run_in_threadpool(transfers.upload_alive, ctx, target)
    finally:
        await synced  # before anything is undone in the folder it syncs
    if not alive:
        await run_in_threadpool(transfers.chunks_orphaned, ctx, target, stored)


@router.put(
    "/uploads/{upload_id}/chunks",
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
async def put_chunks(
    ctx: Ctx,
    who: Caller,
    upload_id: Id,
    first: Annotated[int, Query(ge=0, le=m.MAX_CHUNKS)],
    request: Request,
) -> Response:
    """Consecutive chunks from ``first``, concatenated, as raw bytes (up to
    :data:`RANGE_BYTES`). Each is stored as soon as it has arrived, while the rest stream
    in; the body must end at a chunk boundary."""
    return await receive_chunks(ctx, who, upload_id, first, request)


async def receive_chunks(
    ctx: Context, who: Principal, upload_id: str, first: int, request: Request
) -> Response:
    """Store the consecutive chunks of a request's body, each as soon as it has arrived
    (together, where the blob store keeps a range's chunks in one file); answer once all
    of them are durable."""
    target = await run_in_threadpool(transfers.chunk_target, ctx, who, upload_id)
    target.check_index(first)
    writer = transfers.open_range(ctx, target, first)
    index, stored, extra = first, [], 0
    # A chunk is the pieces of the body it spans, written out as they are (no copy here:
    # the event loop is what bounds an upload).
    pieces: list[memoryview] = []
    want, filled = target.expected(first), 0
    writes: set[asyncio.Future[None]] = set()
    spared = 0  # spare bytes taken for the next chunk (see SPARE_WRITE_BYTES)
    loop = asyncio.get_running_loop()

    def written(done: set[asyncio.Future[None]]) -> None:
        writes.difference_update(done)
        failed = [error for future in done if (error := future.exception())]
        if failed:  # each retrieved; the first raised
            raise failed[0]

    body = _Body(request)
    try:
        try:
            async for piece in body.pieces():
                view = memoryview(piece)
                while view and index < target.chunk_count:
                    take = min(len(view), want - filled)
                    pieces.append(view[:take])
                    filled, view = filled + take, view[take:]
                    if filled < want:
                        break
                    write = loop.run_in_executor(
                        _CHUNK_IO, transfers.write_chunk, writer, target, index, pieces
                    )
                    if spared:
                        SPARE.give_when_done(write, spared)
                        spared = 0
                    writes.add(write)
                    stored.append(index)
                    index += 1
                    pieces, filled = [], 0
                    want = target.expected(index) if index < target.chunk_count else 0
                    # Room for the next chunk before any of it is read: spare bytes, or
                    # this request's own write to finish.
                    while len(writes) >= WRITES_IN_FLIGHT and not (want and SPARE.take(want)):
                        done, _ = await asyncio.wait(writes, return_when=asyncio.FIRST_COMPLETED)
                        written(done)
                    if len(writes) >= WRITES_IN_FLIGHT:
                        spared = want
                if view:
                    extra = len(view)  # past the last chunk of the upload
                    break
        finally:
            if spared:  # taken for a chunk that never came
                SPARE.give(spared)
            if writes:
                await asyncio.wait(writes)
        written(set(writes))
    except BaseException as exc:
        for future in writes:  # the other writes' errors, retrieved: this one is raised
            if future.done() and not future.cancelled():
                future.exception()
        await loop.run_in_executor(_CHUNK_IO, writer.abort)
        if isinstance(exc, OSError):  # a full disk: answered 507
            await body.drop_rest()
        raise
    # The whole chunks before a cut are kept: durably, as after a 204.
    await loop.run_in_executor(_CHUNK_IO, writer.close, len(stored))
    if filled or extra or index == first:
        if stored:
            await loop.run_in_executor(_CHUNK_IO, ctx.blobs.sync, target.content_id)
        raise BadRequest(
            "bad_chunk_length",
            f"the body must be whole chunks from {first}; {filled + extra} bytes left",
        )
    await _made_durable(ctx, target, stored)
    return Response(status_code=204)


class _Body:
    """A request's body as it arrives, knowing whether all of it has."""

    def __init__(self, request: Request) -> None:
        self._receive = request.receive
        self.ended = False

    async def pieces(self) -> AsyncIterator[bytes]:
        while not self.ended:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            self.ended = not message.get("more_body", False)
            if piece := message.get("body", b""):
                yield piece

    async def drop_rest(self) -> None:
        """Read, and drop, the rest of a body the server will not keep: an answer sent
        while the client is still sending is lost when the connection closes under it
        (the unread bytes make the kernel reset it), and the client would see a broken
        connection instead of the reason."""
        with contextlib.suppress(ClientDisconnect):
            async for _ in self.pieces():
                pass


@router.post("/uploads/{upload_id}/urls")
def upload_urls(ctx: Ctx, who: Caller, upload_id: Id, body: m.ChunkUrlsRequest) -> m.ChunkUrls:
    """Presigned PUT URLs for these chunks: send them straight to the object store.
    An empty list when the server keeps blobs itself: send them to the API instead."""
    return direct.upload_urls(ctx, who, upload_id, body.chunks)


@router.post("/uploads/{upload_id}/commit")
def commit(ctx: Ctx, who: Caller, upload_id: Id, body: m.CommitRequest) -> m.NodeRecord:
    """Make the version visible, once every chunk has arrived."""
    return transfers.commit(ctx, who, upload_id, body)


@router.delete("/uploads/{upload_id}", status_code=204)
def cancel(ctx: Ctx, who: Caller, upload_id: Id) -> Response:
    transfers.cancel(ctx, who, upload_id)
    return Response(status_code=204)


@router.post("/files/small", status_code=201, response_model=m.SmallFilesResponse)
def small_files(
    ctx: Ctx,
    who: Caller,
    body: m.SmallFilesRequest,
    prefer: Annotated[str | None, Header()] = None,
) -> m.SmallFilesResponse | Response:
    """Create many one-chunk files at once (all or none). With ``Prefer: return=minimal``
    (RFC 7240) the answer has no body: the records are neither built nor sent."""
    if not _wants_minimal(prefer):
        return small.small_files(ctx, who, body)
    small.store_small_files(ctx, who, body)
    return Response(status_code=201, headers={"Preference-Applied": "return=minimal"})


def _wants_minimal(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header (RFC 7240: preferences separated by commas, each
    ``token[=value]`` with parameters after semicolons) asks for ``return=minimal``."""
    if not prefer:
        return False
    for preference in prefer.split(","):
        token, _, value = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            return True
    return False


@router.get("/versions/{version_id}/urls")
def download_urls(
    ctx: Ctx,
    who: Caller,
    version_id: Id,
    first: Annotated[int, Query(ge=0, le=m.MAX_CHUNKS)] = 0,
    count: Annotated[int, Query(ge=1, le=URL_CHUNKS)] = 1,
) -> m.ChunkUrls:
    """Presigned GET URLs for chunks ``first`` to ``first + count - 1``, straight from the
    object store. An empty list when the chunks are to be fetched from the API."""
    return direct.download_urls(ctx, who, version_id, first, count)


@router.post("/versions/small")
def small_chunks(ctx: Ctx, who: Caller, body: m.SmallChunksRequest) -> m.SmallChunksResponse:
    """The single chunk of each of many one-chunk versions (small files), in one answer."""
    return transfers.read_small(ctx, who, body.versions)


@router.get(
    "/versions/{version_id}/chunks",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_chunks(
    ctx: Ctx,
    who: Caller,
    version_id: Id,
    first: Annotated[int, Query(ge=0, le=m.MAX_CHUNKS)],
    count: Annotated[int, Query(ge=1, le=RANGE_CHUNKS)],
) -> StreamingResponse:
    """Chunks ``first`` to ``first + count - 1``, concatenated, as raw bytes; the next
    chunks are read from storage while one is sent."""
    source = await run_in_threadpool(transfers.chunk_source, ctx, who, version_id)
    return await stream_chunks(ctx, source, first, count)


async def stream_chunks(
    ctx: Context, source: transfers.ChunkSource, first: int, count: int
) -> StreamingResponse:
    """Chunks of ``source`` concatenated, read up to :data:`READ_AHEAD` ahead of the one
    being sent.

    The answer's length is known from the stored chunks' sizes and announced: the body then
    goes out as it is, where chunked transfer coding would copy every chunk once more on
    the server (to frame it) and parse the framing on the client."""
    source.check_range(first, count)
    lengths = await run_in_threadpool(transfers.range_lengths, ctx, source, first, count)
    loop = asyncio.get_running_loop()
    end = first + count

    def load(index: int) -> asyncio.Future[bytes]:
        length = lengths[index - first]
        return loop.run_in_executor(_CHUNK_IO, transfers.load_chunk, ctx, source, index, length)

    ahead = deque(load(index) for index in range(first, min(first + READ_AHEAD, end)))
    try:
        await ahead[0]  # a chunk missing at the start is an error status, not a cut body
    except BaseException:
        _drop(ahead)
        raise

    async def body() -> AsyncIterator[bytes]:
        following = first + len(ahead)
        try:
            while ahead:
                current = await ahead.popleft()
                if following < end:
                    ahead.append(load(following))
                    following += 1
                yield current
        finally:  # the client went away, or a chunk was missing: nothing more to read
            _drop(ahead)

    return StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={"Content-Length": str(sum(lengths))},
    )


class Spare:
    """Bytes shared by every request, taken while a chunk beyond a request's first
    :data:`WRITES_IN_FLIGHT` is written and given back once it is (under a lock: a process
    may run more than one event loop, as the tests do)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.taken = limit, 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Take ``size`` bytes if they are there to take; whether they were."""
        with self._lock:
            if self.taken + size > self.limit:
                return False
            self.taken += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.taken -= size

    def give_when_done(self, write: asyncio.Future[None], size: int) -> None:
        """Give ``size`` bytes back once ``write`` is done, however it ends."""
        write.add_done_callback(lambda _: self.give(size))


SPARE = Spare(SPARE_WRITE_BYTES)


def _drop(loads: deque[asyncio.Future[bytes]]) -> None:
    """Let go of chunks read ahead that will not be sent (a read still running ends on its
    own; its result, or its error, is not waited for)."""
    for future in loads:
        future.cancel()
    loads.clear()


@router.get(
    "/versions/{version_id}/chunks/{index}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_chunk(ctx: Ctx, who: Caller, version_id: Id, index: ChunkIndex) -> Response:
    """One encrypted chunk of a version, as raw bytes."""
    data = await run_in_threadpool(transfers.read_chunk, ctx, who, version_id, index)
    return Response(content=data, media_type="application/octet-stream")
