"""A malicious server for tests: rewrite what the real server answers, tamper with what it keeps.

The tests in this folder play the server's part against the real client library
(SECURITY.md, attacks A1-A16). They have two tools, one per place an attacker can stand:

- :class:`MaliciousTransport`, an ``httpx.BaseTransport`` wrapped around the in-process
  transport (:class:`coffre.client.inprocess.InProcessTransport`). Every request the client
  sends is recorded in :attr:`MaliciousTransport.sent`, so a test can show what left the
  client (no auth secret before a downgrade is refused, no chunk fetched before a commitment
  check, no chunk re-encrypted under an old key). Rules rewrite answers on the way back::

      server.on_json("POST", "/v1/auth/login", lambda body, x: tampered(body))
      server.on_bytes("GET", r"/v1/versions/\\w+/chunks/3", lambda data, x: flip(data, 0))
      server.answer("PUT", r"/v1/uploads/\\w+/chunks/\\d+", lambda x: httpx.Response(503))

  A rule matches a method and a regular expression that must match the whole URL path;
  it sees an :class:`Exchange` (the request and the path's match). ``on_json`` and
  ``on_bytes`` rewrite the real server's answer; ``answer`` replaces it, and the real server
  is not asked at all (``answer`` may also raise an ``httpx.TransportError`` to play a
  network failure). Rules apply in the order they were added, ``times`` limits how often
  one fires, and :meth:`MaliciousTransport.clear` removes them all.

- :class:`ServerStore`, the server's state at rest as an operator with a shell sees it: rows
  of the metadata database (``app.state.ctx.db``, tables in
  :mod:`coffre.server.db.tables`) and the blob files of the local blob store
  (``ROOT/ab/CONTENT_ID/INDEX`` or ``FIRST-COUNT-SIZE``, :mod:`coffre.server.blobs.local`).

And small byte helpers: :func:`flip` (one bit of a byte string) and :func:`flip_b64` (the
same inside a base64 JSON field).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from coffre.server.blobs import LocalBlobStore
from coffre.server.context import Context
from coffre.server.db import tables as t
from tests import blob_files

Row = TypeVar("Row", bound=t.Base)


# -- bytes --------------------------------------------------------------------------------


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    """``data`` with one bit of byte ``index`` (negative counts from the end) inverted."""
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def b64(data: bytes) -> str:
    """Bytes as the wire carries them (URL-safe base64, padded: docs/api.md)."""
    return base64.urlsafe_b64encode(data).decode()


def unb64(text: str) -> bytes:
    """A base64 field from the wire, in either alphabet, padded or not."""
    text = text.replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flip_b64(text: str, index: int, bit: int = 0) -> str:
    """A base64 field with one bit of its decoded bytes inverted."""
    return b64(flip(unb64(text), index, bit))


# -- the wire -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One request as the client sent it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Sent({self.method} {self.path})"


@dataclass(frozen=True, slots=True)
class Exchange:
    """What a rule sees: the client's request and the match of its path."""

    request: httpx.Request
    match: re.Match[str]

    def group(self, name: str) -> str:
        return self.match.group(name)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.url.query.decode())


JsonRewrite = Callable[[Any, Exchange], Any]
BytesRewrite = Callable[[bytes, Exchange], bytes]
Answer = Callable[[Exchange], httpx.Response]


@dataclass(slots=True)
class _Rule:
    method: str
    pattern: re.Pattern[str]
    kind: str  # "json", "bytes" or "answer"
    fn: Callable[..., Any]
    times: int | None
    fired: int = 0

    def matches(self, request: httpx.Request) -> re.Match[str] | None:
        if request.method != self.method or (self.times is not None and self.fired >= self.times):
            return None
        return self.pattern.fullmatch(request.url.path)


_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


@dataclass
class MaliciousTransport(httpx.BaseTransport):
    """Forwards to ``inner`` (the real server), recording requests and rewriting answers."""

    inner: httpx.BaseTransport
    sent: list[Sent] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- rules ----------------------------------------------------------------------------

    def _add(
        self, method: str, path: str, kind: str, fn: Callable[..., Any], times: int | None
    ) -> None:
        with self._lock:
            self._rules.append(_Rule(method, re.compile(path), kind, fn, times))

    def on_json(self, method: str, path: str, fn: JsonRewrite, *, times: int | None = None) -> None:
        """Rewrite the JSON body of successful answers; ``fn(body, exchange)`` returns it."""
        self._add(method, path, "json", fn, times)

    def on_bytes(
        self, method: str, path: str, fn: BytesRewrite, *, times: int | None = None
    ) -> None:
        """Rewrite the raw body of successful answers (an encrypted chunk, say)."""
        self._add(method, path, "bytes", fn, times)

    def answer(self, method: str, path: str, fn: Answer, *, times: int | None = None) -> None:
        """Answer with ``fn(exchange)`` instead of the real server (which never hears of it)."""
        self._add(method, path, "answer", fn, times)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    # -- what was sent --------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[Sent]:
        """Recorded requests, optionally those of one method whose path matches ``path``."""
        with self._lock:
            sent = list(self.sent)
        return [
            s
            for s in sent
            if (method is None or s.method == method)
            and (path is None or re.fullmatch(path, s.path))
        ]

    def forget(self) -> None:
        with self._lock:
            self.sent.clear()

    # -- httpx ----------------------------------------------------------------------------

    def _pick(self, request: httpx.Request) -> list[tuple[_Rule, re.Match[str]]]:
        picked: list[tuple[_Rule, re.Match[str]]] = []
        with self._lock:
            for rule in self._rules:
                match = rule.matches(request)
                if match is not None:
                    rule.fired += 1
                    picked.append((rule, match))
        return picked

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            self.sent.append(
                Sent(
                    request.method,
                    request.url.path,
                    parse_qs(request.url.query.decode()),
                    body,
                )
            )
        picked = self._pick(request)
        for rule, match in picked:
            if rule.kind == "answer":
                response: httpx.Response = rule.fn(Exchange(request, match))
                response.request = request
                return response
        response = self.inner.handle_request(request)
        content = response.read()
        status = response.status_code
        changed = False
        for rule, match in picked:
            if status >= 400:
                break
            exchange = Exchange(request, match)
            if rule.kind == "json":
                content = json.dumps(rule.fn(json.loads(content), exchange)).encode()
                changed = True
            elif rule.kind == "bytes":
                content = rule.fn(content, exchange)
                changed = True
        if not changed:
            return response
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS]
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self.inner.close()


def json_response(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


# -- the server's disks -------------------------------------------------------------------


class ServerStore:
    """The database rows and blob files of the in-process server ``app``."""

    def __init__(self, app: FastAPI) -> None:
        self.ctx: Context = app.state.ctx
        blobs = self.ctx.blobs
        assert isinstance(blobs, LocalBlobStore)
        self.blobs = blobs

    @property
    def data_dir(self) -> Path:
        return self.ctx.settings.data_dir

    # -- rows -----------------------------------------------------------------------------

    def row(self, table: type[Row], ident: object, /) -> Row:
        """A detached copy of one row, by primary key."""
        with self.ctx.db.read() as db:
            found = db.get(table, ident)
            assert found is not None, f"no {table.__name__} {ident!r}"
            db.expunge(found)
            return found

    def rows(self, table: type[Row], **where: object) -> list[Row]:
        with self.ctx.db.read() as db:
            query = select(table).filter_by(**where)
            found = list(db.scalars(query).all())
            for r in found:
                db.expunge(r)
            return found

    def update(self, table: type[Row], ident: object, /, **values: object) -> None:
        """Set columns of one row, as an operator with SQL access would."""
        with self.ctx.db.write() as db:
            found = db.get(table, ident)
            assert found is not None, f"no {table.__name__} {ident!r}"
            for name, value in values.items():
                assert hasattr(found, name), f"{table.__name__} has no column {name}"
                setattr(found, name, value)

    def insert(self, *rows: t.Base) -> None:
        with self.ctx.db.write() as db:
            for r in rows:
                db.add(r)
                db.flush()

    def swap(self, table: type[Row], key_a: object, key_b: object, *columns: str) -> None:
        """Exchange ``columns`` between two rows."""
        a, b = self.row(table, key_a), self.row(table, key_b)
        self.update(table, key_a, **{c: getattr(b, c) for c in columns})
        self.update(table, key_b, **{c: getattr(a, c) for c in columns})

    def version(self, version_id: str) -> t.Version:
        return self.row(t.Version, version_id)

    def content(self, version_id: str) -> t.Content:
        return self.row(t.Content, self.version(version_id).content_id)

    # -- blobs ----------------------------------------------------------------------------

    def chunk(self, content_id: str, index: int) -> bytes:
        return blob_files.read_chunk(self.blobs.root, content_id, index)

    def write_chunk(self, content_id: str, index: int, data: bytes) -> None:
        """Overwrite the chunk's bytes in place, as a disk-level attacker would."""
        blob_files.write_chunk(self.blobs.root, content_id, index, data)

    def files_at_rest(self) -> Iterator[Path]:
        """Every regular file under the server's data folder (database, WAL, blobs)."""
        for path in sorted(self.data_dir.rglob("*")):
            if path.is_file():
                yield path
