"""Ranges received into the caller's buffer over plain HTTP/1.1 (coffre.client.bulk).

A real HTTP server on a socket plays the API, and misbehaves as a server can: answers
longer than asked, errors, a connection cut in the middle of a body.
"""

from __future__ import annotations

import datetime
import gc
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coffre.client.api import Api
from coffre.client.bulk import Bulk
from coffre.errors import ConnectionFailed, NotFound, PayloadTooLarge
from tests.client.http_server import Server, body, chunked, serving, url


def bulk(server: Server, prefix: str = "", keepalive: float = 30.0) -> Bulk:
    return Bulk(url(server, prefix), timeout=10.0, keepalive=keepalive)


def test_a_body_is_received_into_the_buffer_and_the_connection_kept() -> None:
    data = bytes(range(256)) * 40
    with serving(body(data)) as server:
        reader = bulk(server, "/api/")
        buffer = bytearray(len(data))
        for first in (0, 8):
            got = reader.get_into("/v1/x", {"first": first}, {}, memoryview(buffer))
            assert (got.status, got.length, bytes(buffer)) == (200, len(data), data)
        reader.close()
    assert server.paths == ["/api/v1/x?first=0", "/api/v1/x?first=8"]
    assert server.connections == 1


def test_a_chunked_body_is_received_whole() -> None:
    pieces = [b"a" * 1000, b"b" * 3, b"c" * 5000]
    with serving(chunked(pieces)) as server:
        reader = bulk(server)
        buffer = bytearray(6003)
        got = reader.get_into("/r", {}, {}, memoryview(buffer))
        reader.get_into("/r", {}, {}, memoryview(buffer))
        reader.close()
    assert got.length == 6003 and bytes(buffer) == b"".join(pieces)
    assert server.connections == 1


def test_a_body_longer_than_the_buffer_says_so_and_the_connection_goes() -> None:
    with serving(body(b"x" * 100)) as server:
        reader = bulk(server)
        buffer = bytearray(60)
        assert reader.get_into("/r", {}, {}, memoryview(buffer)).length > 60
        assert reader.get_into("/r", {}, {}, memoryview(buffer)).length > 60
        reader.close()
    assert server.connections == 2  # the rest of the first body was never read


def test_a_short_body_is_its_length() -> None:
    with serving(body(b"x" * 10)) as server:
        reader = bulk(server)
        got = reader.get_into("/r", {}, {}, memoryview(bytearray(60)))
        reader.close()
    assert got.length == 10


def test_an_error_comes_back_with_its_body() -> None:
    error = json.dumps({"error": {"code": "version_not_found", "message": "no such version"}})
    with serving(body(error.encode(), status=404)) as server:
        reader = bulk(server)
        got = reader.get_into("/r", {}, {}, memoryview(bytearray(10)))
        reader.close()
        api = Api(url(server), retry_for=0)
        with pytest.raises(NotFound) as raised:
            api.read_into("/r", {}, memoryview(bytearray(10)))
        api.close()
    assert (got.status, got.error_body) == (404, error.encode())
    assert raised.value.code == "version_not_found"


def test_a_body_cut_short_is_a_transport_error_and_is_retried() -> None:
    data = b"y" * 5000
    calls: list[int] = []

    def flaky(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            body(data[:100], length=len(data))(handler)
            handler.close_connection = True  # the connection goes mid-body
        else:
            body(data)(handler)

    with serving(flaky) as server:
        reader = bulk(server)
        with pytest.raises(httpx.ReadError):
            reader.get_into("/r", {}, {}, memoryview(bytearray(len(data))))
        reader.close()
        calls.clear()
        api = Api(url(server), retry_for=5)
        buffer = bytearray(len(data))
        assert api.read_into("/r", {}, memoryview(buffer)) == len(data)
        api.close()
    assert bytes(buffer) == data and len(calls) == 2


@pytest.mark.parametrize("cut", [b"", b"zz\r\n", b"5\r\nab"])
def test_a_chunked_body_cut_short_is_a_transport_error(cut: bytes) -> None:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"3\r\nabc\r\n" + cut)
        handler.close_connection = True

    with serving(answer) as server:
        reader = bulk(server)
        with pytest.raises(httpx.ReadError):
            reader.get_into("/r", {}, {}, memoryview(bytearray(10)))
        reader.close()


def test_a_body_is_sent_from_the_callers_buffer_on_a_kept_connection() -> None:
    def stored(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(204)
        handler.end_headers()

    buffer = bytearray(b"ab" * 50_000)
    with serving(stored) as server:
        reader = bulk(server)
        for first in (0, 4):
            got = reader.put("/v1/u", {"first": first}, {"x-a": "1"}, memoryview(buffer)[2:])
            assert (got.status, got.length) == (204, 0)
        reader.close()
        api = Api(url(server), retry_for=0)
        api.put_chunks("0" * 32, 8, memoryview(buffer)[:10])
        api.close()
    assert server.paths == [
        "/v1/u?first=0",
        "/v1/u?first=4",
        f"/v1/uploads/{'0' * 32}/chunks?first=8",
    ]
    assert server.bodies == [("application/octet-stream", bytes(buffer[2:]))] * 2 + [
        ("application/octet-stream", b"ab" * 5)
    ]
    assert server.connections == 2  # the Bulk's one, and the Api's


def test_a_refused_put_raises_the_servers_error() -> None:
    error = json.dumps({"error": {"code": "upload_not_found", "message": "gone"}}).encode()
    with serving(body(error, status=404)) as server:
        api = Api(url(server), retry_for=0)
        with pytest.raises(NotFound) as raised:
            api.put_chunks("0" * 32, 0, b"xyz")
        api.close()
    assert raised.value.code == "upload_not_found"
    assert server.bodies == [("application/octet-stream", b"xyz")]


def test_an_answer_sent_before_the_body_was_read_is_the_error() -> None:
    """A server may refuse a body before reading it (too large) and close the connection
    while the client is still sending: the client reports the server's answer, not a
    broken connection."""
    error = json.dumps({"error": {"code": "too_large", "message": "request body over"}})
    with serving(body(error.encode(), status=413)) as server:
        server.reads_body = False
        api = Api(url(server), retry_for=0)
        with pytest.raises(PayloadTooLarge) as raised:
            api.put_chunks("0" * 32, 0, memoryview(bytearray(64 << 20)))
        api.close()
    assert raised.value.code == "too_large"


def test_an_idle_connection_past_its_time_is_not_reused() -> None:
    with serving(body(b"z")) as server:
        reader = bulk(server, keepalive=0.0)
        buffer = memoryview(bytearray(1))
        reader.get_into("/r", {}, {}, buffer)
        reader.get_into("/r", {}, {}, buffer)
        reader.close()
    assert server.connections == 2


def test_a_request_going_when_the_pool_closes_closes_its_connection() -> None:
    """Nothing is left open (the warnings of a socket closed by the garbage collector are
    errors here)."""
    with serving(body(b"late")) as server:
        reader = bulk(server)
        reader.close()
        buffer = bytearray(4)
        assert reader.get_into("/r", {}, {}, memoryview(buffer)).length == 4
        del reader
        gc.collect()
    assert bytes(buffer) == b"late"


def test_a_refused_connection_is_a_connect_error() -> None:
    with serving(body(b"")) as server:
        address = url(server)
    reader = Bulk(address, timeout=5.0, keepalive=1.0)
    with pytest.raises(httpx.ConnectError):
        reader.get_into("/r", {}, {}, memoryview(bytearray(1)))
    api = Api(address, retry_for=0)
    with pytest.raises(ConnectionFailed):
        api.read_into("/r", {}, memoryview(bytearray(1)))
    api.close()


def test_only_http_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Bulk("ftp://example.com", timeout=1.0, keepalive=1.0)


def _self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1 that no CA vouches for, and the
    certificate's file (for a client told to trust it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coffre test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


def test_over_tls_a_certificate_nobody_vouches_for_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges over https are verified like every other request (httpx's CAs, or the file
    SSL_CERT_FILE names): a server in the middle with a certificate of its own gets no
    request through, and the same server is reached once its certificate is trusted."""
    context, cert_file = _self_signed(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with serving(body(b"secret range"), tls=context) as server:
        address = f"https://127.0.0.1:{server.server_address[1]}"
        refused = Bulk(address, timeout=5.0, keepalive=1.0)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            refused.get_into("/r", {}, {}, memoryview(bytearray(12)))
        refused.close()
        assert server.paths == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        trusted = Bulk(address, timeout=5.0, keepalive=1.0)
        buffer = bytearray(12)
        got = trusted.get_into("/r", {}, {}, memoryview(buffer))
        trusted.close()
    assert (got.status, bytes(buffer)) == (200, b"secret range")


def _listening_but_full() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose queue of connections nobody accepts is full: the kernel
    drops further connection attempts, which then hang as with an unreachable host."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    fillers: list[socket.socket] = []
    while True:
        filler = socket.socket()
        filler.settimeout(0.5)
        try:
            filler.connect(listener.getsockname())
        except OSError:  # this one hung: the queue is full
            filler.close()
            return listener, fillers
        fillers.append(filler)


def test_a_connection_that_hangs_gives_up_after_the_connect_timeout() -> None:
    listener, fillers = _listening_but_full()
    host, port = listener.getsockname()
    reader = Bulk(f"http://{host}:{port}", timeout=60.0, keepalive=1.0, connect_timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(httpx.ConnectError):
            reader.get_into("/r", {}, {}, memoryview(bytearray(1)))
    finally:
        for s in [listener, *fillers]:
            s.close()
    assert time.monotonic() - started < 30  # not the read timeout: 60 s


def test_a_server_that_never_answers_times_out_reading() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    host, port = listener.getsockname()
    reader = Bulk(f"http://{host}:{port}", timeout=0.5, keepalive=1.0, connect_timeout=10.0)
    try:
        with pytest.raises(httpx.ReadError, match="timed out"):
            reader.get_into("/r", {}, {}, memoryview(bytearray(1)))
    finally:
        thread.join()
        for s in [listener, *accepted]:
            s.close()
