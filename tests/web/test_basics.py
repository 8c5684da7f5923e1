"""The web client's crypto against the known-answer vectors, its security headers, and
the account pages: signup, login (a wrong password too), logout, the public-link page."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, Server
from tests.web.conftest import Web, new_web

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_vectors_in_the_browser(web: Web) -> None:
    """Every case of tests/vectors/*.json, through the JS modules, in Chromium."""
    names = ("kdf", "envelope", "account", "nodes", "stream", "links", "shares", "ed25519")
    vectors = {n: json.loads((VECTORS / f"{n}.json").read_text(encoding="utf-8")) for n in names}
    web.goto("/login")
    script = (Path(__file__).parent / "vectors.js").read_text(encoding="utf-8")
    result = web.page.evaluate(script, vectors)
    assert result["failures"] == []
    assert result["checks"] > 100


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/files",
        "/login",
        "/links",
        "/contacts",
        "/shared",
        "/shared/0123456789abcdef0123456789abcdef",
        "/s/abc",
        "/web/app/main.js",
        "/web/style.css",
    ],
)
def test_security_headers(server: Server, path: str) -> None:
    response = httpx.get(server.url + path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_client_is_self_contained(server: Server) -> None:
    page = httpx.get(server.url + "/").text
    assert '<script type="module" src="/web/app/main.js"></script>' in page
    assert "http://" not in page and "https://" not in page
    assert "<style" not in page and " style=" not in page and " on" not in page.split("<body")[1]
    vendor = httpx.get(server.url + "/vendor/hash-wasm/argon2.umd.min.js")
    assert vendor.status_code == 200 and "argon2id" in vendor.text
    assert "javascript" in vendor.headers["content-type"]
    # the API and its documentation are where they were, without the client's CSP
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
    assert httpx.get(server.url + "/openapi.json").status_code == 200
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


def test_signup_logout_login(web: Web) -> None:
    page = web.page
    web.goto("/login")
    web.shot("login")
    email = web.signup()
    assert page.get_by_text("Save your recovery key now").is_visible()
    web.shot("account-welcome")
    web.files()
    assert page.get_by_text("This folder is empty.").is_visible()
    web.shot("files-empty")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in to Coffre").wait_for()

    # a wrong password: a clear error, and the password field gets the focus back
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Wrong email or password.").wait_for()
    assert page.evaluate("document.activeElement.id") == "password"
    web.shot("login-wrong-password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My files").wait_for()
    # the password never went to the server: no request body carried it
    # (the server gets an Argon2id-derived secret; see test_password_stays_in_the_browser)


def test_password_stays_in_the_browser(web: Web) -> None:
    bodies: list[bytes] = []
    web.page.on("request", lambda r: bodies.append(r.post_data_buffer or b""))
    web.signup(password="a password only the browser knows")
    assert bodies
    assert not any(b"a password only the browser knows" in body for body in bodies)


def test_session_survives_a_reload(web: Web) -> None:
    web.signup()
    web.files()
    web.page.reload()
    web.page.get_by_role("heading", name="My files").wait_for()


def test_public_link_page_without_an_account(web: Web) -> None:
    """A fresh context (no account): /s/ID#KEY for a link that does not exist says so, and
    the key in the fragment is never sent (tests/web/test_links.py opens real links)."""
    fresh = new_web(web.context.browser, web.server)  # type: ignore[arg-type]
    try:
        fresh.goto("/s/0123456789abcdef0123456789abcdef#c2VjcmV0LWtleQ")
        fresh.page.get_by_role("heading", name="This link does not exist").wait_for()
        assert not any("c2VjcmV0LWtleQ" in url.split("#")[0] for url in fresh.requests)
        fresh.goto("/s/not-a-link")
        fresh.page.get_by_role("heading", name="This link does not exist").wait_for()
    finally:
        fresh.context.close()


def test_keyboard_order_on_login(web: Web) -> None:
    web.goto("/login")
    page = web.page
    page.get_by_label("Email").wait_for()
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Log in"
