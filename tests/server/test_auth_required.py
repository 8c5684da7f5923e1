"""Every route but the sign-in ones needs a valid session token."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from coffre.client.api import Api
from tests.server.raw import ROUTES, Account, assert_error, concrete

PRIVATE = [(method, path) for method, path, private in ROUTES if private]
PUBLIC = [(method, path) for method, path, private in ROUTES if not private]


def _send(api: Api, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    content = b"\x00" * 32 if method == "PUT" else None
    body: dict[str, object] | None = {} if method in ("POST", "PATCH") else None
    return api.http.request(method, concrete(path), headers=headers, content=content, json=body)


def test_private_routes_need_a_token(make_api: Callable[..., Api], alice: Account) -> None:
    api = make_api()
    assert alice.api.token is not None
    cases = {
        "unauthenticated": [{}, {"authorization": "Basic dXNlcjpwdw=="}, {"authorization": ""}],
        "invalid_session": [
            {"authorization": "Bearer cfs_not-a-session"},
            {"authorization": f"Bearer {alice.api.token[:-2]}"},
        ],
    }
    for method, path in PRIVATE:
        for code, header_sets in cases.items():
            for headers in header_sets:
                response = _send(api, method, path, headers)
                assert_error(response, 401, code)
    # The session itself was never touched.
    assert alice.api.account().user_id == alice.user_id


def test_sign_in_routes_need_no_token(make_api: Callable[..., Api]) -> None:
    """They answer an empty body with 400 (the body is wrong), not 401."""
    api = make_api()
    for method, path in PUBLIC:
        if method == "POST":
            assert_error(_send(api, method, path, {}), 400, "invalid_request")


def test_a_revoked_token_is_refused_everywhere(
    make_api: Callable[..., Api], alice: Account
) -> None:
    token = alice.api.token
    assert token is not None
    alice.api.logout()
    api = make_api()
    for method, path in PRIVATE:
        response = _send(api, method, path, {"authorization": f"Bearer {token}"})
        assert_error(response, 401, "invalid_session")
