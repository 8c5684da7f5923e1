"""Chunks straight to and from the object store, with presigned URLs from the API.

When the server keeps blobs in S3, it hands out short-lived URLs (``POST
/v1/uploads/{id}/urls``, ``GET /v1/versions/{id}/urls``) and the chunks bypass the API
processes. Nothing about trust changes: what comes back from storage is decrypted and
authenticated like what the API returns (a chunk that was swapped or altered fails its
tag), and the server checks every chunk's presence and size at commit. The session token
never goes to storage: presigned requests use an HTTP client of their own.

URLs are fetched ahead in batches and again when they are about to expire (or when the
store refuses one as expired). Requests to storage are retried with backoff, like those
to the API, when the store cannot be reached or answers 5xx.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

import httpx

from coffre.client.api import KEEPALIVE_EXPIRY, USER_AGENT
from coffre.client.bulk import Bulk, Received
from coffre.errors import ConnectionFailed, IntegrityError, NotFound, ServiceUnavailable
from coffre.protocol import models as m

URL_BATCH = 256
"""Chunk URLs asked for at once."""
_EXPIRY_MARGIN = 30.0
"""Seconds before a URL's expiry at which it is no longer used but asked for again."""


class UrlExpired(Exception):
    """The store refused a presigned URL (expired, or its signature no longer holds)."""


class Storage:
    """Presigned requests to the object store: no session token, retries with backoff.

    They go over :class:`coffre.client.bulk.Bulk` connections, a pool per store address:
    a chunk is received straight into the caller's buffer and sent from it as it is."""

    def __init__(self, *, retry_for: float = 20.0, timeout: float = 120.0) -> None:
        self.retry_for = retry_for
        self._timeout = timeout
        self._pools: dict[str, Bulk] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _pool(self, url: str) -> tuple[Bulk, str]:
        """The connections to ``url``'s store, and the request target within it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            pool = self._pools.get(origin)
            if pool is None:
                try:
                    pool = Bulk(
                        origin,
                        timeout=self._timeout,
                        keepalive=KEEPALIVE_EXPIRY,
                        headers={"user-agent": USER_AGENT},
                    )
                except ValueError:  # not an http(s) URL with a host
                    raise IntegrityError("the server's presigned URLs") from None
                self._pools[origin] = pool
        return pool, target

    def _exchange(
        self, url: m.ChunkUrl, body: bytes | memoryview | None, into: memoryview
    ) -> Received:
        """PUT ``body``, or GET into ``into`` if there is none; until the store answers
        below 500 or ``retry_for`` seconds have gone."""
        pool, target = self._pool(url.url)
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                if body is None:
                    answer = pool.get_into(target, {}, url.headers, into)
                else:
                    answer = pool.put(target, {}, url.headers, body)
            except httpx.TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise ConnectionFailed(
                        f"cannot reach the object store ({type(exc).__name__})"
                    ) from None
            else:
                if answer.status < 500 or time.monotonic() + delay > deadline:
                    return answer
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, 5.0)

    def put(self, url: m.ChunkUrl, data: bytes | memoryview) -> None:
        answer = self._exchange(url, data, memoryview(bytearray()))
        # 412: the chunk is there already (a PUT repeated after its answer was lost); the
        # server checks its size at commit, and readers check its content.
        if answer.status < 300 or answer.status == 412:
            return
        self._fail(answer.status, "storing a chunk")

    def get_into(self, url: m.ChunkUrl, into: memoryview) -> int:
        """Receive a chunk into ``into``; its length (more than ``len(into)`` if it is
        longer: then only what fits was kept)."""
        answer = self._exchange(url, None, into)
        if answer.status == 200:
            return answer.length
        if answer.status == 404:
            raise NotFound("chunk_missing", "the object store has lost a chunk of this file")
        self._fail(answer.status, "reading a chunk")

    @staticmethod
    def _fail(status: int, what: str) -> NoReturn:
        if status in (400, 403):
            raise UrlExpired(f"{what}: the object store answered {status}")
        if status >= 500:
            raise ServiceUnavailable("unavailable", f"{what}: the object store answered {status}")
        raise IntegrityError(f"the object store's answer ({status}) to {what}")


class Urls:
    """Presigned URLs for a set of chunks, fetched ahead in batches, renewed near expiry.

    ``fetch`` asks the API for the URLs of some chunk indexes. An empty answer means the
    server wants these chunks through the API: :meth:`get` then returns None.
    """

    def __init__(
        self,
        fetch: Callable[[list[int]], m.ChunkUrls],
        indexes: Sequence[int],
        *,
        batch: int = URL_BATCH,
    ) -> None:
        self._fetch = fetch
        self._order = list(indexes)
        self._position = {index: i for i, index in enumerate(self._order)}
        self._batch = batch
        self._lock = threading.Lock()
        self._urls: dict[int, tuple[m.ChunkUrl, float]] = {}
        self.direct: bool | None = None

    def get(self, index: int) -> m.ChunkUrl | None:
        with self._lock:
            if self.direct is False:
                return None
            found = self._urls.get(index)
            if found is None or found[1] - _EXPIRY_MARGIN < time.time():
                self._load(index)
                found = self._urls.get(index)
            if found is None:
                return None
            return found[0]

    def forget(self, index: int) -> None:
        """Drop a URL the store refused; the next :meth:`get` asks for a new one."""
        with self._lock:
            self._urls.pop(index, None)

    def _load(self, index: int) -> None:
        start = self._position.get(index)
        wanted = [index] if start is None else self._order[start : start + self._batch]
        answer = self._fetch(wanted)
        if not answer.urls:
            self.direct = False
            return
        self.direct = True
        expected = set(wanted)
        for url in answer.urls:
            if url.index not in expected:
                raise IntegrityError("the server's presigned URLs")
            self._urls[url.index] = (url, answer.expires)


def with_fresh_url(urls: Urls, index: int, action: Callable[[m.ChunkUrl], object]) -> bool:
    """Run ``action`` on chunk ``index``'s URL, once more with a new URL if the store
    refused the first as expired; False if the server offers no URL (use the API)."""
    for attempt in range(2):
        url = urls.get(index)
        if url is None:
            return False
        try:
            action(url)
        except UrlExpired as exc:
            urls.forget(index)
            if attempt:
                raise ServiceUnavailable("unavailable", f"{exc}, twice") from None
        else:
            return True
    return True


@dataclass(frozen=True, slots=True)
class Direct:
    """One file's chunks through presigned URLs: the URLs, and the client that uses them."""

    urls: Urls
    storage: Storage

    def put(self, index: int, data: bytes | memoryview) -> bool:
        """Store chunk ``index``; False if the server offers no URL (send it to the API)."""
        return with_fresh_url(self.urls, index, lambda url: self.storage.put(url, data))

    def get_into(self, index: int, into: memoryview) -> int | None:
        """Receive chunk ``index`` into ``into``; its length (see
        :meth:`Storage.get_into`), or None if the server offers no URL (fetch it from the
        API)."""
        found: list[int] = []
        if not with_fresh_url(
            self.urls, index, lambda url: found.append(self.storage.get_into(url, into))
        ):
            return None
        return found[-1]
