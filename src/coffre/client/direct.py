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

import httpx

from coffre.client.api import _SOCKET_OPTIONS, USER_AGENT
from coffre.errors import ConnectionFailed, IntegrityError, NotFound, ServiceUnavailable
from coffre.protocol import models as m

URL_BATCH = 256
"""Chunk URLs asked for at once."""
_EXPIRY_MARGIN = 30.0
"""Seconds before a URL's expiry at which it is no longer used but asked for again."""


class UrlExpired(Exception):
    """The store refused a presigned URL (expired, or its signature no longer holds)."""


class Storage:
    """Presigned requests to the object store: no session token, retries with backoff."""

    def __init__(self, *, retry_for: float = 20.0, connections: int = 16) -> None:
        self.retry_for = retry_for
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.Client(
            transport=httpx.HTTPTransport(limits=limits, socket_options=_SOCKET_OPTIONS),
            timeout=httpx.Timeout(120.0, connect=10.0),
            limits=limits,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, url: m.ChunkUrl, content: bytes | None) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                response = self.http.request(method, url.url, headers=url.headers, content=content)
            except httpx.TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise ConnectionFailed(
                        f"cannot reach the object store ({type(exc).__name__})"
                    ) from None
            else:
                if response.status_code < 500 or time.monotonic() + delay > deadline:
                    return response
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, 5.0)

    def put(self, url: m.ChunkUrl, data: bytes) -> None:
        response = self._request("PUT", url, data)
        # 412: the chunk is there already (a PUT repeated after its answer was lost); the
        # server checks its size at commit, and readers check its content.
        if response.status_code < 300 or response.status_code == 412:
            return
        self._fail(response, "storing a chunk")

    def get(self, url: m.ChunkUrl) -> bytes:
        response = self._request("GET", url, None)
        if response.status_code == 200:
            return response.content
        if response.status_code == 404:
            raise NotFound("chunk_missing", "the object store has lost a chunk of this file")
        self._fail(response, "reading a chunk")

    @staticmethod
    def _fail(response: httpx.Response, what: str) -> NoReturn:
        if response.status_code in (400, 403):
            raise UrlExpired(f"{what}: the object store answered {response.status_code}")
        if response.status_code >= 500:
            raise ServiceUnavailable(
                "unavailable", f"{what}: the object store answered {response.status_code}"
            )
        raise IntegrityError(f"the object store's answer ({response.status_code}) to {what}")


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

    def put(self, index: int, data: bytes) -> bool:
        """Store chunk ``index``; False if the server offers no URL (send it to the API)."""
        return with_fresh_url(self.urls, index, lambda url: self.storage.put(url, data))

    def get(self, index: int) -> bytes | None:
        """Chunk ``index``; None if the server offers no URL (fetch it from the API)."""
        found: list[bytes] = []
        if not with_fresh_url(self.urls, index, lambda url: found.append(self.storage.get(url))):
            return None
        return found[-1]
