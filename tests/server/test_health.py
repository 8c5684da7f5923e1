"""Readiness, the landing page, the OpenAPI schema, unknown routes."""

from __future__ import annotations

import json
from collections.abc import Callable

from coffre import __version__
from coffre.client.api import Api
from tests.server.raw import ROUTES, assert_error


def test_healthz_reports_each_backend(make_api: Callable[..., Api]) -> None:
    response = make_api().http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "checks": {"database": "ok", "blobs": "ok"},
    }


def test_landing_page_is_html(make_api: Callable[..., Api]) -> None:
    response = make_api().http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Coffre" in response.text


def test_openapi_schema_lists_every_route(make_api: Callable[..., Api]) -> None:
    response = make_api().http.get("/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Coffre"
    assert schema["info"]["version"] == __version__
    documented = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    assert documented == {(path, method) for method, path, _ in ROUTES}
    for ops in schema["paths"].values():
        for op in ops.values():
            assert op["responses"], op
    chunk_put = schema["paths"]["/v1/uploads/{upload_id}/chunks/{index}"]["put"]
    assert "application/octet-stream" in chunk_put["requestBody"]["content"]


def test_unknown_route_is_a_json_404(make_api: Callable[..., Api]) -> None:
    http = make_api().http
    assert_error(http.get("/no/such/thing"), 404, "not_found")
    assert_error(http.post("/v1/nope", json={}), 404, "not_found")


def test_wrong_method_is_a_json_405(make_api: Callable[..., Api]) -> None:
    assert_error(make_api().http.delete("/healthz"), 405, "method_not_allowed")


def test_routes_answering_json_they_build_keep_their_documented_models(
    make_api: Callable[..., Api],
) -> None:
    """The hot routes write their models to JSON themselves (coffre.server.answer); the
    schema still names what they answer, and with which status."""
    schema = json.loads(make_api().http.get("/openapi.json").content)
    paths = schema["paths"]

    def model(path: str, method: str, status: str) -> str:
        content = paths[path][method]["responses"][status]["content"]
        ref: str = content["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]

    assert model("/v1/nodes", "post", "201") == "NodeRecord"
    assert model("/v1/nodes/{node_id}", "get", "200") == "NodeRecord"
    assert model("/v1/nodes/{node_id}", "patch", "200") == "NodeRecord"
    assert model("/v1/nodes/{node_id}/children", "get", "200") == "NodeList"
    assert model("/v1/events", "get", "200") == "EventList"
