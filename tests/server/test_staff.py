"""Staff: roles and 2FA guard every staff route; support codes; what staff can see."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from coffre.client import two_factor
from coffre.protocol import models as m
from coffre.server.db import tables as t
from coffre.server.staff import AdminCaller, account_facts
from tests.server.raw import ROUTES, Account, assert_error, concrete, new_id, sealed
from tests.server.staffing import ctx_of, make_staff, set_role

FACTS = {
    "user_id",
    "email",
    "role",
    "plan",
    "storage_used",
    "storage_quota",
    "transfer_used",
    "transfer_quota",
    "transfer_window",
    "sessions",
    "created",
    "two_factor",
    "strikes",
    "sharing_suspended",
}
# What the server holds that staff must never get: keys, envelopes, names, content.
SECRET_FIELDS = {
    "key",
    "keys",
    "envelope",
    "meta",
    "name_tag",
    "header",
    "master_key",
    "root_key",
    "identity_keys",
    "public_keys",
    "auth_hash",
    "recovery_hash",
    "kdf",
    "data",
    "token",
    "totp_secret",
    "secret",
}


def _staff_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1/staff")]


def test_staff_routes_need_the_role_and_2fa(app: FastAPI, alice: Account, bob: Account) -> None:
    for route in _staff_routes(app):
        for method in route.methods:
            response = alice.raw(method, concrete(route.path), json={})
            assert_error(response, 403)
            assert response.json()["error"]["code"] in ("staff_only", "admin_only"), route.path
    set_role(app, bob, "agent")
    assert_error(bob.raw("GET", "/v1/staff/me"), 403, "two_factor_required")
    make_staff(app, bob)
    me = bob.raw("GET", "/v1/staff/me").json()
    assert me["role"] == "agent" and me["two_factor"] is True


def test_a_support_code_opens_the_facts_once(app: FastAPI, alice: Account, bob: Account) -> None:
    make_staff(app, bob)
    alice.upload(5000)
    made = two_factor.support_code(alice.api)
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", made.code)
    assert time.time() < made.expires_at <= time.time() + 15 * 60
    with ctx_of(app).db.read() as db:  # stored hashed
        stored = db.scalars(select(t.SupportCode.code_hash)).all()
    assert len(stored) == 1 and made.code.replace("-", "").encode() not in stored[0]
    facts = bob.raw("POST", "/v1/staff/support-codes/verify", json={"code": made.code}).json()
    assert set(facts) == FACTS
    assert facts["user_id"] == alice.user_id and facts["plan"] == "free"
    assert facts["storage_used"] > 5000 and facts["sessions"] == 1
    assert facts["two_factor"] is False and facts["sharing_suspended"] is False
    again = bob.raw("POST", "/v1/staff/support-codes/verify", json={"code": made.code})
    assert_error(again, 404, "support_code_invalid")
    with ctx_of(app).db.read() as db:
        audit = db.execute(select(t.StaffAudit.action, t.StaffAudit.subject)).all()
    assert ("support_code", alice.user_id) in audit


def test_an_expired_support_code_opens_nothing(app: FastAPI, alice: Account, bob: Account) -> None:
    make_staff(app, bob)
    made = two_factor.support_code(alice.api)
    with ctx_of(app).db.write() as db:
        db.execute(update(t.SupportCode).values(expires_at=time.time() - 1))
    response = bob.raw("POST", "/v1/staff/support-codes/verify", json={"code": made.code})
    assert_error(response, 404, "support_code_invalid")


def test_guessing_support_codes_is_limited(app: FastAPI, alice: Account, bob: Account) -> None:
    make_staff(app, bob)
    made = two_factor.support_code(alice.api)
    wrong = "000-000-000" if made.code != "000-000-000" else "000-000-001"
    for _ in range(20):  # COFFRE_SUPPORT_CODE_ATTEMPTS
        response = bob.raw("POST", "/v1/staff/support-codes/verify", json={"code": wrong})
        assert_error(response, 404, "support_code_invalid")
    limited = bob.raw("POST", "/v1/staff/support-codes/verify", json={"code": made.code})
    assert_error(limited, 429, "too_many_requests")


def _walk(value: Any) -> list[str]:
    """Every key of every object inside a JSON value."""
    if isinstance(value, dict):
        return [k for k in value] + [k for v in value.values() for k in _walk(v)]
    if isinstance(value, list):
        return [k for v in value for k in _walk(v)]
    return []


def test_no_staff_route_returns_keys_names_or_content(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    """Walk every staff route with a staff token, on real data: no answer carries a key,
    an envelope, a name, a hash or any binary value the server holds; and no staff route
    declares a binary field in its schema."""
    make_staff(app, bob, "admin")
    node = alice.upload(3000)
    link_id = new_id()
    alice.api.create_link(
        m.LinkCreate(id=link_id, node_id=node.id, envelope=sealed(), auth=sealed(32))
    )
    report = alice.api.http.post(
        "/v1/abuse/reports",
        json={
            "reporter_name": "R",
            "reporter_email": "r@example.org",
            "link": link_id,
            "kind": "harm",
            "description": "harmful",
        },
    ).json()["id"]
    schema = app.openapi()
    for route in _staff_routes(app):
        for method in route.methods:
            operation = schema["paths"][route.path][method.lower()]
            assert "base64url" not in repr(operation.get("responses", {})), route.path
            path = (
                route.path.replace("{report_id}", report)
                .replace("{user_id}", alice.user_id)
                .replace("{ref}", new_id())
            )
            body: dict[str, object] = {"scope": "content"} if path.endswith("disable") else {}
            if path.endswith("verify"):
                body = {"code": two_factor.support_code(alice.api).code}
            response = bob.raw(method, path, json=body if method != "GET" else None)
            if response.status_code >= 400:
                continue
            data = response.json()
            assert not SECRET_FIELDS & set(_walk(data)), (route.path, data)
            text = response.text
            for node_id in (node.id, alice.root_id):
                assert node_id not in text, route.path


def test_staff_get_nothing_of_another_tree(app: FastAPI, alice: Account, bob: Account) -> None:
    """Every signed-in GET route of the API, called by an admin with the ids of another
    account's files, folders, versions and links: nothing of that account's tree comes
    back (no id, no sealed key, name or envelope)."""
    make_staff(app, bob, "admin")
    folder = alice.mkdir()
    node = alice.upload(2000, parent_id=folder.id)
    assert node.version is not None
    link_id = new_id()
    alice.api.create_link(
        m.LinkCreate(id=link_id, node_id=node.id, envelope=sealed(), auth=sealed(32))
    )
    record = alice.api.node(node.id).model_dump(mode="json")
    (version,) = [v.model_dump(mode="json") for v in alice.api.versions(node.id)]
    secrets = {node.id, folder.id, alice.root_id, node.version.id, record["key"], record["meta"]}
    secrets |= {version["envelope"], version["header"]}
    ids = {
        "{node_id}": node.id,
        "{version_id}": node.version.id,
        "{index}": "0",
        "{user_id}": alice.user_id,
        "{link_id}": link_id,
        "{session_id}": alice.session_id,
    }
    walked = 0
    for method, path, private in ROUTES:
        if method != "GET" or not private or path.startswith("/v1/staff"):
            continue
        concrete_path = path
        for name, value in ids.items():
            concrete_path = concrete_path.replace(name, value)
        response = bob.raw("GET", concrete(concrete_path), params={"first": 0, "count": 1})
        walked += 1
        if response.status_code < 400:
            leaked = [s for s in secrets if s in response.text]
            assert not leaked, (path, leaked)
        elif "{node_id}" in path or "{version_id}" in path:
            assert response.status_code == 404, (path, response.status_code)
    assert walked > 15
    # The owner's own routes, for comparison, do return them.
    assert record["key"] in alice.raw("GET", f"/v1/nodes/{node.id}").text


def test_account_facts_of_an_unknown_account(app: FastAPI, bob: Account) -> None:
    make_staff(app, bob)
    assert_error(bob.raw("GET", f"/v1/staff/accounts/{new_id()}"), 404, "account_not_found")
    with ctx_of(app).db.read() as db, pytest.raises(Exception, match="no such account"):
        account_facts(db, new_id())


def test_admin_caller_needs_the_admin_role(app: FastAPI, alice: Account, bob: Account) -> None:
    """AdminCaller (for routes only admins may use): agents are refused with admin_only."""

    @app.get("/v1/staff/test-admin-only")
    def admin_only(who: AdminCaller) -> dict[str, str]:
        return {"user_id": who.user_id}

    assert_error(alice.raw("GET", "/v1/staff/test-admin-only"), 403, "admin_only")
    make_staff(app, bob, "agent")
    assert_error(bob.raw("GET", "/v1/staff/test-admin-only"), 403, "admin_only")
    set_role(app, bob, "admin")
    assert bob.raw("GET", "/v1/staff/test-admin-only").json() == {"user_id": bob.user_id}
