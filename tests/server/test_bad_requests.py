"""Bad input is a 4xx with a JSON error body and a stable code, never a 500."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from coffre.protocol import models as m
from coffre.server.config import Settings
from tests.conftest import BASE
from tests.server.raw import Account, assert_error, new_id, new_version, sealed, wire

JSON_LIMIT = 16 * 1024
MAX_CHUNK = 4096
CHUNK_LIMIT = MAX_CHUNK + 16


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, max_chunk_size=MAX_CHUNK, max_json_bytes=JSON_LIMIT)


def wire_secret(size: int = 32) -> str:
    return wire_bytes(b"\x01" * size)


def wire_bytes(value: bytes) -> str:
    """``value`` as the wire encodes binary fields today (whatever the base64 flavour)."""
    encoded = json.loads(m.CommitRequest.model_construct(envelope=value).model_dump_json())
    assert isinstance(encoded["envelope"], str)
    return str(encoded["envelope"])


def _node(alice: Account, **changes: Any) -> dict[str, Any]:
    body = wire(alice.new_node())
    body.update(changes)
    return body


def _upload(alice: Account, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"node": wire(alice.new_node()), "version": wire(new_version(100))}
    body["version"].update(changes)
    return body


# -- malformed bodies ---------------------------------------------------------------------


_MALFORMED = [
    b"",
    b"{",
    b'{"id": ',
    b"[1, 2",
    b"nul",
    b"\xff\xfe\x00{}",
    b'{"a": 1} trailing',
    b"[" * 5000 + b"]" * 5000,
    b'{"n": ' + b"9" * 5000 + b"}",
]


def test_malformed_json_is_a_400(alice: Account) -> None:
    for content in _MALFORMED:
        for path in ("/v1/nodes", "/v1/uploads", "/v1/nodes/copy", "/v1/files/small"):
            response = alice.raw(
                "POST", path, content=content, headers={"content-type": "application/json"}
            )
            assert_error(response, 400)
        response = alice.api.http.post(
            "/v1/auth/login", content=content, headers={"content-type": "application/json"}
        )
        assert_error(response, 400)


def test_wrong_json_types_and_shapes_are_refused(alice: Account) -> None:
    root = alice.root_id
    cases: list[tuple[str, str, Any]] = [
        ("POST", "/v1/nodes", None),
        ("POST", "/v1/nodes", []),
        ("POST", "/v1/nodes", "a string"),
        ("POST", "/v1/nodes", 12),
        ("POST", "/v1/nodes", {}),
        ("POST", "/v1/nodes", _node(alice, id=5)),
        ("POST", "/v1/nodes", _node(alice, id=None)),
        ("POST", "/v1/nodes", _node(alice, id="A" * 32)),
        ("POST", "/v1/nodes", _node(alice, id=new_id()[:31])),
        ("POST", "/v1/nodes", _node(alice, parent_id=[root])),
        ("POST", "/v1/nodes", _node(alice, name_tag={"tag": 1})),
        ("POST", "/v1/nodes", _node(alice, key=123)),
        ("POST", "/v1/nodes", _node(alice, extra="field")),
        ("POST", "/v1/nodes", {k: v for k, v in _node(alice).items() if k != "meta"}),
        ("POST", "/v1/uploads", _upload(alice, chunk_size="big")),
        ("POST", "/v1/uploads", _upload(alice, chunk_size=1024.5)),
        ("POST", "/v1/uploads", _upload(alice, chunk_size=10**30)),
        ("POST", "/v1/uploads", _upload(alice, chunk_count=0)),
        ("POST", "/v1/uploads", _upload(alice, chunk_count=-1)),
        ("POST", "/v1/uploads", _upload(alice, size=15)),
        ("POST", "/v1/uploads", _upload(alice, size=True)),
        ("POST", "/v1/uploads", {"version": wire(new_version(100))}),
        ("POST", "/v1/uploads", {**_upload(alice), "node_id": new_id()}),
        ("POST", "/v1/nodes/copy", {"nodes": []}),
        ("POST", "/v1/nodes/copy", {"nodes": [{}]}),
        ("POST", "/v1/files/small", {"files": []}),
        ("POST", "/v1/uploads/" + new_id() + "/commit", {"envelope": None}),
        ("PATCH", f"/v1/nodes/{new_id()}", {"parent_id": root}),
        ("POST", "/v1/auth/login", {"email": "not-an-email", "auth_secret": wire_secret()}),
        ("POST", "/v1/auth/login", {"email": "a@b.c", "auth_secret": 42}),
        ("POST", "/v1/auth/login", {"email": ["a@b.c"], "auth_secret": wire_secret()}),
        ("POST", "/v1/auth/prelogin", {"email": "x" * 300 + "@example.org"}),
        ("POST", "/v1/auth/prelogin", {"email": "two@at@signs"}),
    ]
    for method, path, body in cases:
        response = alice.raw(method, path, content=json.dumps(body).encode())
        assert_error(response, 400, "invalid_request")
        assert "Traceback" not in response.text


@pytest.mark.parametrize("expires", ["NaN", "Infinity", "1e400", "253402300800"])
def test_an_expiry_that_is_no_moment_is_refused(alice: Account, expires: str) -> None:
    """NaN and infinity (Python's JSON reads both, and 1e400 as infinity) are no number: a
    link whose expiry was NaN was created and never expired (NaN <= now is false). Nor is
    a moment after the year 9999, which no client could show."""
    node = alice.upload(100)
    body = (
        f'{{"id": "{new_id()}", "node_id": "{node.id}", "envelope": "{"A" * 108}", '
        f'"auth": "{"A" * 43}", "expires": {expires}}}'
    )
    assert_error(alice.raw("POST", "/v1/links", content=body.encode()), 400, "invalid_request")
    assert alice.raw("GET", "/v1/links").json()["links"] == []


def test_bad_base64_is_a_400(alice: Account) -> None:
    for value in (
        "*" * 108,
        "not base64 at all!",
        "%%%%" * 30,
        "QUJD" * 25 + "=Q==",
        "QUJD\x00" * 25,
        "   ",
    ):
        for field in ("key", "meta"):
            response = alice.raw("POST", "/v1/nodes", json=_node(alice, **{field: value}))
            assert_error(response, 400, "invalid_request")
        response = alice.api.http.post(
            "/v1/auth/login", json={"email": alice.email, "auth_secret": value}
        )
        assert_error(response, 400, "invalid_request")
    assert alice.api.children(alice.root_id) == []


def test_binary_fields_of_the_wrong_length_are_refused(alice: Account) -> None:
    for field, size in (("key", 60), ("key", 4097), ("meta", 0)):
        response = alice.raw(
            "POST", "/v1/nodes", json=_node(alice, **{field: wire_bytes(b"k" * size)})
        )
        assert_error(response, 400, "invalid_request")
    for size in (31, 33):
        response = alice.api.http.post(
            "/v1/auth/login", json={"email": alice.email, "auth_secret": wire_secret(size)}
        )
        assert_error(response, 400, "invalid_request")
    response = alice.raw("POST", "/v1/uploads", json=_upload(alice, header=wire_bytes(b"h" * 36)))
    assert_error(response, 400, "invalid_request")


def test_bad_ids_and_parameters_in_the_url(alice: Account) -> None:
    good = new_id()
    cases = [
        ("GET", "/v1/nodes/xyz"),
        ("GET", f"/v1/nodes/{good.upper()}"),
        ("GET", f"/v1/nodes/{good}0"),
        ("GET", f"/v1/nodes/{quote(good[:31] + 'g')}"),
        ("GET", "/v1/nodes/%00%01"),
        ("GET", "/v1/nodes/xyz/children"),
        ("GET", f"/v1/nodes/{good}/children?name_tag=zz"),
        ("PATCH", "/v1/nodes/xyz"),
        ("DELETE", "/v1/nodes/xyz"),
        ("POST", "/v1/nodes/1/trash"),
        ("POST", "/v1/nodes/1/restore"),
        ("GET", "/v1/nodes/xyz/versions"),
        ("DELETE", "/v1/versions/xyz"),
        ("DELETE", "/v1/sessions/xyz"),
        ("GET", "/v1/uploads/xyz"),
        ("POST", "/v1/uploads/xyz/commit"),
        ("DELETE", "/v1/uploads/xyz"),
        ("PUT", "/v1/uploads/xyz/chunks/0"),
        ("PUT", f"/v1/uploads/{good}/chunks/-1"),
        ("PUT", f"/v1/uploads/{good}/chunks/abc"),
        ("PUT", f"/v1/uploads/{good}/chunks/1.5"),
        ("PUT", f"/v1/uploads/{good}/chunks/{(1 << 22) + 1}"),
        ("PUT", f"/v1/uploads/{good}/chunks/{10**30}"),
        ("GET", f"/v1/versions/{good}/chunks/-1"),
        ("GET", "/v1/versions/xyz/chunks/0"),
        ("GET", "/v1/nodes?limit=0"),
        ("GET", "/v1/nodes?limit=abc"),
        ("GET", "/v1/nodes?limit=1000000"),
        ("GET", "/v1/nodes?after=xyz"),
        ("GET", "/v1/events?after=-1"),
        ("GET", "/v1/events?after=abc"),
        ("GET", "/v1/events?wait=61"),
        ("GET", "/v1/events?wait=-1"),
        ("GET", "/v1/events?wait=nan"),
        ("GET", "/v1/events?limit=0"),
    ]
    for method, path in cases:
        content = b"\x00" * 32 if method == "PUT" else None
        body = wire(alice.move_request(alice.root_id)) if method == "PATCH" else None
        if method == "POST" and path.endswith("/commit"):
            body = {"envelope": wire_bytes(sealed())}
        response = alice.raw(method, path, content=content, json=body)
        assert_error(response, 400, "invalid_request")


# -- oversize bodies ----------------------------------------------------------------------


def _padded_node(alice: Account, size: int) -> bytes:
    body = json.dumps(_node(alice)).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_declared_oversize_json_body_is_refused(alice: Account) -> None:
    fits = alice.raw("POST", "/v1/nodes", content=_padded_node(alice, JSON_LIMIT))
    assert fits.status_code == 201, fits.text
    for path in ("/v1/nodes", "/v1/auth/login", "/v1/files/small", "/v1/nope"):
        response = alice.raw("POST", path, content=_padded_node(alice, JSON_LIMIT + 1))
        assert_error(response, 413, "too_large")
    assert len(alice.api.children(alice.root_id)) == 1


def test_a_declared_oversize_chunk_is_refused(alice: Account) -> None:
    state = alice.start(3 * MAX_CHUNK, chunk_size=MAX_CHUNK)
    path = f"/v1/uploads/{state.id}/chunks/0"
    response = alice.raw("PUT", path, content=b"\x00" * (CHUNK_LIMIT + 1))
    assert_error(response, 413, "too_large")
    # A chunk at the limit goes through; JSON routes keep their own (smaller) limit.
    assert alice.raw("PUT", path, content=b"\x00" * CHUNK_LIMIT).status_code == 204
    assert alice.api.upload_state(state.id).received == [0]


def _streamed(
    app: FastAPI,
    method: str,
    path: str,
    token: str,
    parts: list[bytes],
    claimed_length: int | None = None,
) -> httpx.Response:
    """A request whose body is sent in parts (chunked encoding), with no Content-Length
    unless ``claimed_length`` gives one beside the Transfer-Encoding."""

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            request = client.build_request(
                method,
                path,
                content=body(),
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
            assert "content-length" not in request.headers
            if claimed_length is not None:
                request.headers["content-length"] = str(claimed_length)
            return await client.send(request)

    return asyncio.run(send())


def test_a_streamed_oversize_json_body_is_refused(app: FastAPI, alice: Account) -> None:
    assert alice.api.token is not None
    whole = _padded_node(alice, JSON_LIMIT)
    fits = _streamed(app, "POST", "/v1/nodes", alice.api.token, [whole[:1000], whole[1000:]])
    assert fits.status_code == 201, fits.text
    big = _padded_node(alice, 4 * JSON_LIMIT)
    parts = [big[i : i + 1000] for i in range(0, len(big), 1000)]
    response = _streamed(app, "POST", "/v1/nodes", alice.api.token, parts)
    assert_error(response, 413, "too_large")
    assert len(alice.api.children(alice.root_id)) == 1


def test_a_small_content_length_beside_chunked_encoding_is_not_believed(
    app: FastAPI, alice: Account
) -> None:
    """Transfer-Encoding overrides Content-Length: the body is counted all the same."""
    assert alice.api.token is not None
    big = _padded_node(alice, 4 * JSON_LIMIT)
    parts = [big[i : i + 1000] for i in range(0, len(big), 1000)]
    response = _streamed(app, "POST", "/v1/nodes", alice.api.token, parts, claimed_length=10)
    assert_error(response, 413, "too_large")
    assert alice.api.children(alice.root_id) == []


def test_a_streamed_oversize_chunk_is_refused(app: FastAPI, alice: Account) -> None:
    assert alice.api.token is not None
    state = alice.start(3 * MAX_CHUNK, chunk_size=MAX_CHUNK)
    path = f"/v1/uploads/{state.id}/chunks/0"
    parts = [b"\x00" * 1000] * 5
    response = _streamed(app, "PUT", path, alice.api.token, parts)
    assert_error(response, 413, "too_large")
    assert alice.api.upload_state(state.id).received == []
    response = _streamed(app, "PUT", path, alice.api.token, [b"\x00" * 4000, b"\x00" * 112])
    assert response.status_code == 204, response.text
    assert alice.api.upload_state(state.id).received == [0]


# -- random input -------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from([new_id(), "QUJD" * 20, "a@b.c"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["id", "parent_id", "key", "meta", "name_tag", "email", "version", "node", "nodes"]
            )
            | st.text(max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
_BODY_ROUTES = [
    ("POST", "/v1/auth/prelogin"),
    ("POST", "/v1/auth/signup"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/recover/keys"),
    ("POST", "/v1/auth/recover"),
    ("POST", "/v1/account/password"),
    ("POST", "/v1/nodes"),
    ("POST", "/v1/nodes/copy"),
    ("PATCH", "/v1/nodes/{node_id}"),
    ("POST", "/v1/uploads"),
    ("POST", "/v1/uploads/{upload_id}/commit"),
    ("POST", "/v1/files/small"),
]


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(_BODY_ROUTES), body=_json)
def test_random_json_never_breaks_the_server(
    alice: Account, route: tuple[str, str], body: object
) -> None:
    method, path = route
    path = path.replace("{node_id}", alice.root_id).replace("{upload_id}", new_id())
    response = alice.raw(method, path, content=json.dumps(body).encode())
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error(response, response.status_code)


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(segment=st.text(min_size=1, max_size=40))
def test_random_path_segments_never_break_the_server(alice: Account, segment: str) -> None:
    quoted = quote(segment, safe="")
    for path in (f"/v1/nodes/{quoted}", f"/v1/uploads/{new_id()}/chunks/{quoted}"):
        for method in ("GET", "PUT", "DELETE"):
            response = alice.raw(method, path)
            assert response.status_code < 500, response.text
            if response.status_code >= 400:  # not e.g. a redirect for a trailing slash
                assert_error(response, response.status_code)


# -- numbers past what a database column holds ---------------------------------------------

_HUGE = [(1 << 63), 10**30, -(1 << 63) - 1]
_PATH_PARAM = re.compile(r"\{([^}]+)\}")


def _integer_queries(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """Every route with an integer query parameter: (method, path, those parameters)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            names = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("schema", {}).get("type") == "integer"
            ]
            if names:
                found.append((method.upper(), path, names))
    return found


def test_integer_queries_past_64_bits_are_refused(app: FastAPI, alice: Account) -> None:
    """A number no database column holds is a 400 before it reaches a query (GET
    /v1/events?after=2**63 was an internal error: SQLite cannot bind it)."""
    routes = _integer_queries(app)
    assert ("GET", "/v1/events", ["after", "limit"]) in [
        (method, path, [n for n in names if n in ("after", "limit")])
        for method, path, names in routes
    ]
    for method, path, names in routes:
        concrete = _PATH_PARAM.sub(lambda _: alice.root_id, path)
        for name in names:
            for value in _HUGE:
                response = alice.raw(method, concrete, params={name: str(value)})
                assert response.status_code < 500, (method, path, name, response.text)
                assert_error(response, response.status_code)
