"""coffre serve's HTTP protocol (coffre.server.http_protocol) under a real uvicorn on uvloop,
over real sockets: every body arrives whole and unmixed, however it is cut up on the wire,
pipelined, chunked or sent on many connections at once through the loop's one buffer."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn

from coffre.server.http_protocol import HEAD_READ_BYTES, READ_BYTES, CoffreHttpProtocol


class _Counting(CoffreHttpProtocol):
    read_sizes: list[int] = []  # noqa: RUF012 - the tests' record, shared on purpose

    def buffer_updated(self, nbytes: int) -> None:
        type(self).read_sizes.append(nbytes)
        super().buffer_updated(nbytes)


async def _digest_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers with the size, SHA-256 and the types of the pieces of the body it received."""
    assert scope["type"] == "http"
    digest, size, kinds = hashlib.sha256(), 0, set()
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        body = message.get("body", b"")
        kinds.add(type(body).__name__)
        digest.update(body)
        size += len(body)
        if not message.get("more_body", False):
            break
    answer = json.dumps(
        {"path": scope["path"], "size": size, "sha256": digest.hexdigest(), "kinds": sorted(kinds)}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = uvicorn.Config(
        _digest_app, loop="uvloop", http=_Counting, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    listener.close()


def _head(path: str, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return f"PUT {path} HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode()


def _answer(stream: Any) -> dict[str, Any]:
    status = stream.readline()
    assert status.startswith(b"HTTP/1.1 200"), status
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    answer: dict[str, Any] = json.loads(stream.read(length))
    return answer


def _expect(answer: dict[str, Any], path: str, body: bytes) -> None:
    assert answer["path"] == path
    assert answer["size"] == len(body)
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["kinds"] == ["bytes"]


def _chunked(path: str, pieces: list[bytes]) -> bytes:
    """A request whose body is these pieces in chunked transfer coding, the end included."""
    framed = b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces)
    return _head(path, None) + framed + b"0\r\n\r\n"


def _send_in_pieces(sock: socket.socket, data: bytes, piece: int) -> None:
    for at in range(0, len(data), piece):
        sock.sendall(data[at : at + piece])


@pytest.mark.parametrize("piece", [1_000, 65_536, 1 << 20])
def test_bodies_of_every_size_arrive_whole_on_one_connection(port: int, piece: int) -> None:
    sizes = [0, 1, READ_BYTES - 1, READ_BYTES, READ_BYTES + 1, 3 * READ_BYTES + 7, 3 << 20]
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        for n, size in enumerate(sizes):
            body = os.urandom(size)
            _send_in_pieces(sock, _head(f"/{n}", size) + body, piece)
            _expect(_answer(stream), f"/{n}", body)


def test_pipelined_requests_in_one_write_are_answered_in_order(port: int) -> None:
    bodies = [os.urandom(size) for size in (10, READ_BYTES + 3, 0, 70_000)]
    wire = b"".join(_head(f"/p{n}", len(body)) + body for n, body in enumerate(bodies))
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        sock.sendall(wire)
        for n, body in enumerate(bodies):
            _expect(_answer(stream), f"/p{n}", body)


def test_reads_are_small_while_no_body_is_arriving(port: int) -> None:
    """Every request a read holds is parsed, and waits for its answer, before reading
    pauses: many small pipelined requests are taken 64 KiB at a time, a body 1 MiB."""
    requests = 3_000
    wire = b"".join(_head(f"/h{n}", 0) for n in range(requests))  # about 130 KB
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        _Counting.read_sizes.clear()
        sock.sendall(wire)
        for n in range(requests):
            _expect(_answer(stream), f"/h{n}", b"")
        assert max(_Counting.read_sizes) <= HEAD_READ_BYTES
        body = os.urandom(8 << 20)
        sock.sendall(_head("/big", len(body)) + body)
        _expect(_answer(stream), "/big", body)
        assert max(_Counting.read_sizes) > HEAD_READ_BYTES


def test_a_chunked_body_arrives_whole(port: int) -> None:
    pieces = [os.urandom(size) for size in (5, READ_BYTES, 1, 100_000)]
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        _send_in_pieces(sock, _chunked("/chunked", pieces), 4_096)
        _expect(_answer(stream), "/chunked", b"".join(pieces))


def test_pieces_parsed_from_one_read_are_joined_in_order(port: int) -> None:
    """A hundred chunks of a chunked body in one write: the parser hands them on one after
    another before the application can take any, so each is joined onto the ones before."""
    pieces = [bytes([n]) * (n + 1) for n in range(100)]
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        sock.sendall(_chunked("/joined", pieces))
        _expect(_answer(stream), "/joined", b"".join(pieces))


def test_many_connections_at_once_keep_their_own_bytes(port: int) -> None:
    """Every connection's reads land in the loop's one buffer in turn: interleaved sends of
    different bytes must never mix."""
    failures: list[BaseException] = []
    reads_before = len(_Counting.read_sizes)

    def client(n: int) -> None:
        try:
            body = os.urandom((2 << 20) + n)
            with (
                socket.create_connection(("127.0.0.1", port)) as sock,
                sock.makefile("rb") as stream,
            ):
                for round_ in range(2):
                    _send_in_pieces(sock, _head(f"/c{n}-{round_}", len(body)) + body, 7_919)
                    _expect(_answer(stream), f"/c{n}-{round_}", body)
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    # uvloop read into the buffer (a plain protocol would have been handed bytes instead)
    assert len(_Counting.read_sizes) - reads_before >= 8 * 2 * (2 << 20) // READ_BYTES


def test_a_malformed_request_is_answered_400(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"PUT /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        assert stream.readline().startswith(b"HTTP/1.1 400")


def test_coffre_serve_runs_uvicorn_with_this_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from coffre.cli import server as serve_command

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    settings = SimpleNamespace(host="127.0.0.1", port=1, trusted_proxies=[])
    serve_command._run(_digest_app, settings, access_log=False)  # type: ignore[arg-type]
    assert seen["http"] is CoffreHttpProtocol
    assert seen["loop"] == "uvloop"


def test_pieces_waiting_for_the_application_are_joined_onto_a_bytearray() -> None:
    """Joining bytes to bytes would copy all that came before at every piece: a read of
    tiny chunks would cost the square of its length."""
    from coffre.server.http_protocol import _HttpToolsProtocol

    protocol = object.__new__(_HttpToolsProtocol)  # the parts on_body uses, and no others
    paused: list[bool] = []
    protocol.parser = SimpleNamespace(should_upgrade=lambda: False)  # type: ignore[assignment]
    protocol.flow = SimpleNamespace(pause_reading=lambda: paused.append(True))  # type: ignore[assignment]
    protocol.cycle = SimpleNamespace(  # type: ignore[assignment]
        body=bytearray(), response_complete=False, message_event=SimpleNamespace(set=lambda: None)
    )
    first = b"a" * 10
    protocol.on_body(first)
    assert protocol.cycle.body is first  # handed on as it is, if nothing else comes first
    for n in range(1, 1000):
        protocol.on_body(bytes([n % 256]))
        assert type(protocol.cycle.body) is bytearray
    assert bytes(protocol.cycle.body) == first + bytes(n % 256 for n in range(1, 1000))
    assert not paused
    protocol.on_body(b"x" * 70_000)
    assert paused  # past uvicorn's high-water mark, reading pauses
