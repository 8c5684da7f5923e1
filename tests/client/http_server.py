"""A real HTTP server on a socket, in a thread, for the client's network paths: each test
gives the answer, which may misbehave as a server can."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Callable, Iterator

Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that refused the certificate, say: the test looks at the client

    answer: Answer
    connections = 0
    paths: list[str]
    bodies: list[tuple[str, bytes]]
    heads: list[dict[str, str]]
    reads_body = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.server.heads.append({k.lower(): v for k, v in self.headers.items()})
        self.server.answer(self)

    def do_PUT(self) -> None:
        if not self.server.reads_body:
            self.close_connection = True
            self.server.answer(self)  # at once, without reading what is being sent
            return
        length = int(self.headers["content-length"])
        self.server.bodies.append((self.headers["content-type"], self.rfile.read(length)))
        self.do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    server = Server(("127.0.0.1", 0), Handler)
    server.answer, server.paths, server.bodies, server.heads = answer, [], [], []
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def url(server: Server, prefix: str = "") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{prefix}"


def body(data: bytes, *, length: int | None = None, status: int = 200) -> Answer:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("content-length", str(len(data) if length is None else length))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def chunked(pieces: list[bytes]) -> Answer:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        for piece in pieces:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")

    return answer
