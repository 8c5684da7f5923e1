"""Support tickets through the HTTP API: the customer's side, anonymous filing, the staff
desk (states, notes, merge, search, audit, timers), attachments, limits and refusals."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from coffre.client.api import Api
from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.mail import outbox
from coffre.server.support import inbound
from tests.server.conftest import MakeAccount
from tests.server.raw import Account, assert_error

HOUR = 3600.0


def _ctx(app: FastAPI) -> Context:
    ctx: Context = app.state.ctx
    return ctx


def make_staff(
    app: FastAPI, account: Account, role: str = "agent", two_factor: bool = True
) -> Account:
    """Give an account a staff role (and two-factor authentication) in the database."""
    with _ctx(app).db.write() as db:
        db.execute(
            update(t.User)
            .where(t.User.id == account.user_id)
            .values(role=role, totp_secret=os.urandom(20) if two_factor else None)
        )
    return account


@pytest.fixture
def agent(app: FastAPI, make_account: MakeAccount) -> Account:
    return make_staff(app, make_account())


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def ticket_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "technical",
        "subject": "Sync stops at 99%",
        "message": "My laptop stops syncing at 99%.",
    }
    body.update(changes)
    return body


def file(account: Account, **changes: Any) -> dict[str, Any]:
    created = ok(account.raw("POST", "/v1/support/tickets", json=ticket_body(**changes)), 201)
    ticket: dict[str, Any] = created["ticket"]
    assert created.get("token") is None
    return ticket


def anonymous(make_api: Callable[..., Api]) -> httpx.Client:
    return make_api().http


def outbox_mail(app: FastAPI) -> list[str]:
    return [p.read_text() for p in outbox.pending(_ctx(app).settings)]


def test_file_show_reply_close(app: FastAPI, alice: Account) -> None:
    ticket = file(alice)
    assert ticket["state"] == "new" and ticket["priority"] == "normal"
    assert ticket["number"] == 1 and ticket["email"] == alice.email
    assert [m["kind"] for m in ticket["messages"]] == ["customer"]
    # The acknowledgement is in the outbox, tagged with the ticket's number.
    mails = outbox_mail(app)
    assert any(alice.email in m and "[Coffre #1]" in m for m in mails)

    listed = ok(alice.raw("GET", "/v1/support/tickets"))["tickets"]
    assert [x["id"] for x in listed] == [ticket["id"]]
    by_number = ok(alice.raw("GET", "/v1/support/tickets/1"))
    assert by_number["id"] == ticket["id"]

    after = ok(
        alice.raw(
            "POST", f"/v1/support/tickets/{ticket['id']}/replies", json={"message": "Still."}
        ),
        201,
    )
    assert [m["body"] for m in after["messages"]] == ["My laptop stops syncing at 99%.", "Still."]
    closed = ok(
        alice.raw("POST", f"/v1/support/tickets/{ticket['id']}/state", json={"state": "closed"})
    )
    assert closed["state"] == "closed"
    refused = alice.raw(
        "POST", f"/v1/support/tickets/{ticket['id']}/replies", json={"message": "Again"}
    )
    assert_error(refused, 409, "ticket_closed")


def test_staff_reply_note_and_states(app: FastAPI, alice: Account, agent: Account) -> None:
    ticket = file(alice)
    path = f"/v1/staff/tickets/{ticket['id']}"
    ok(agent.raw("POST", f"{path}/notes", json={"message": "Probably the 2.1 bug."}), 201)
    answered = ok(agent.raw("POST", f"{path}/replies", json={"message": "Update to 2.2."}), 201)
    assert answered["state"] == "pending"
    assert answered["first_response"] is not None
    assert [m["kind"] for m in answered["messages"]] == ["customer", "note", "staff"]
    assert answered["account"]["email"] == alice.email
    # Seeing the account's facts is a look at the account, logged as any other.
    with _ctx(app).db.read() as db:
        looks = db.execute(
            select(t.StaffAudit.staff_id, t.StaffAudit.subject).where(
                t.StaffAudit.action == "view_account"
            )
        ).all()
    assert (agent.user_id, alice.user_id) in [tuple(row) for row in looks]

    # The customer sees the answer, never the note.
    seen = ok(alice.raw("GET", f"/v1/support/tickets/{ticket['id']}"))
    assert [m["body"] for m in seen["messages"]] == [
        "My laptop stops syncing at 99%.",
        "Update to 2.2.",
    ]
    assert "2.1 bug" not in str(seen)
    assert seen["messages"][1]["author"] == "Coffre support"  # not the agent's address
    # ... and gets it by email.
    assert any("Update to 2.2." in m and alice.email in m for m in outbox_mail(app))

    # The customer writes again: the ticket opens again.
    again = ok(
        alice.raw("POST", f"/v1/support/tickets/{ticket['id']}/replies", json={"message": "Ok"}),
        201,
    )
    assert again["state"] == "open"
    called = ok(
        agent.raw("POST", f"{path}/notes", json={"message": "Called back.", "call": True}), 201
    )
    assert (called["messages"][-1]["kind"], called["messages"][-1]["via"]) == ("note", "phone")
    solved = ok(agent.raw("PATCH", path, json={"state": "solved", "priority": "high"}))
    assert (solved["state"], solved["priority"]) == ("solved", "high")
    trail = ok(agent.raw("GET", f"{path}/audit"))["entries"]
    actions = [(e["action"], e["detail"]) for e in trail]
    assert actions[0] == ("filed", "technical by cli")
    assert ("note", "") in actions and ("reply", "") in actions and ("call", "") in actions
    assert ("state", "new -> pending") in actions
    assert ("state", "pending -> open") in actions
    assert ("state", "open -> solved") in actions
    assert ("priority", "normal -> high") in actions
    assert all(e["actor"] for e in trail)


def test_a_customer_never_reaches_another_customers_ticket(
    alice: Account, bob: Account, agent: Account
) -> None:
    ticket = file(alice, attachments=[{"name": "log.txt", "data": _b64(b"secret log")}])
    attachment = ticket["messages"][0]["attachments"][0]["id"]
    base = f"/v1/support/tickets/{ticket['id']}"
    for ref in (ticket["id"], str(ticket["number"])):
        assert_error(bob.raw("GET", f"/v1/support/tickets/{ref}"), 404, "ticket_not_found")
    assert_error(bob.raw("POST", f"{base}/replies", json={"message": "x"}), 404, "ticket_not_found")
    assert_error(
        bob.raw("POST", f"{base}/state", json={"state": "closed"}), 404, "ticket_not_found"
    )
    assert_error(bob.raw("GET", f"{base}/attachments/{attachment}"), 404, "ticket_not_found")
    assert ok(bob.raw("GET", "/v1/support/tickets"))["tickets"] == []
    # A wrong access token does not open it either.
    assert_error(
        bob.raw("GET", base, headers={"x-coffre-ticket-token": "guess"}), 404, "ticket_not_found"
    )
    # Nor is staff's attachment route open to customers.
    assert_error(
        bob.raw("GET", f"/v1/staff/tickets/{ticket['id']}/attachments/{attachment}"),
        403,
        "staff_only",
    )


def test_staff_routes_need_the_role_and_two_factor(
    app: FastAPI, alice: Account, make_account: MakeAccount
) -> None:
    ticket = file(alice)
    for method, path in [
        ("GET", "/v1/staff/tickets"),
        ("GET", f"/v1/staff/tickets/{ticket['id']}"),
        ("GET", f"/v1/staff/tickets/{ticket['id']}/audit"),
        ("GET", "/v1/staff/canned"),
    ]:
        assert_error(alice.raw(method, path), 403, "staff_only")
    assert_error(
        alice.raw("POST", f"/v1/staff/tickets/{ticket['id']}/replies", json={"message": "hi"}),
        403,
        "staff_only",
    )
    no_2fa = make_staff(app, make_account(), two_factor=False)
    assert_error(no_2fa.raw("GET", "/v1/staff/tickets"), 403, "two_factor_required")
    admin = make_staff(app, make_account(), role="admin")
    assert ok(admin.raw("GET", "/v1/staff/tickets"))["tickets"][0]["id"] == ticket["id"]


def test_anonymous_ticket_with_its_token(
    app: FastAPI, make_api: Callable[..., Api], agent: Account
) -> None:
    http = anonymous(make_api)
    assert_error(http.post("/v1/support/tickets", json=ticket_body()), 400, "email_required")
    created = ok(
        http.post("/v1/support/tickets", json=ticket_body(email="Visitor@Example.org")), 201
    )
    token, ticket = created["token"], created["ticket"]
    assert token and ticket["email"] == "visitor@example.org"
    path = f"/v1/support/tickets/{ticket['id']}"
    assert_error(http.get(path), 404, "ticket_not_found")
    assert_error(
        http.get(path, headers={"x-coffre-ticket-token": token[:-1]}), 404, "ticket_not_found"
    )
    header = {"x-coffre-ticket-token": token}
    assert ok(http.get(path, headers=header))["subject"] == "Sync stops at 99%"
    ok(agent.raw("POST", f"/v1/staff/tickets/{ticket['id']}/replies", json={"message": "Hi"}), 201)
    replied = ok(http.post(f"{path}/replies", json={"message": "Thanks"}, headers=header), 201)
    assert [m["kind"] for m in replied["messages"]] == ["customer", "staff", "customer"]
    # The list of one's tickets is for accounts.
    assert_error(http.get("/v1/support/tickets"), 401, "unauthenticated")
    # Only the token's hash is stored.
    with _ctx(app).db.read() as db:
        row = db.get(t.SupportTicket, ticket["id"])
        assert row is not None and row.token_hash is not None
        assert token.encode() not in row.token_hash


def test_anonymous_filing_is_rate_limited(app: FastAPI, make_api: Callable[..., Api]) -> None:
    ctx = _ctx(app)
    ctx.settings = dataclasses.replace(
        ctx.settings, support_filings_per_address=2, support_filings_per_ip=3
    )
    http = anonymous(make_api)
    for _ in range(2):
        ok(http.post("/v1/support/tickets", json=ticket_body(email="a@example.org")), 201)
    refused = http.post("/v1/support/tickets", json=ticket_body(email="a@example.org"))
    assert_error(refused, 429, "too_many_requests")
    assert int(refused.headers["retry-after"]) > 0
    # Another address may file, until the client's address has filed its share.
    ok(http.post("/v1/support/tickets", json=ticket_body(email="b@example.org")), 201)
    refused = http.post("/v1/support/tickets", json=ticket_body(email="c@example.org"))
    assert_error(refused, 429, "too_many_requests")


def test_cross_site_forms_are_refused(make_api: Callable[..., Api], alice: Account) -> None:
    http = anonymous(make_api)
    form = "category=technical&subject=x&message=y&email=a%40example.org"
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        response = http.post(
            "/v1/support/tickets", content=form, headers={"content-type": content_type}
        )
        assert_error(response, 403, "cross_site_request")
    # JSON from another site's page (a browser names the Origin) is refused too.
    foreign = http.post(
        "/v1/support/tickets",
        json=ticket_body(email="a@example.org"),
        headers={"origin": "https://evil.example"},
    )
    assert_error(foreign, 403, "cross_site_request")
    assert_error(
        http.post(
            "/v1/support/tickets",
            json=ticket_body(email="a@example.org"),
            headers={"origin": "null"},
        ),
        403,
        "cross_site_request",
    )
    marked = http.post(
        "/v1/support/tickets",
        json=ticket_body(email="a@example.org"),
        headers={"sec-fetch-site": "cross-site"},
    )
    assert_error(marked, 403, "cross_site_request")
    # The site's own pages may.
    own = http.post(
        "/v1/support/tickets",
        json=ticket_body(email="a@example.org"),
        headers={"origin": "http://coffre.test"},
    )
    ok(own, 201)
    ticket = file(alice)
    response = alice.raw(
        "POST",
        f"/v1/support/tickets/{ticket['id']}/replies",
        content="message=hello",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 403, "cross_site_request")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_attachments_limits_and_download_headers(
    app: FastAPI, alice: Account, agent: Account
) -> None:
    ctx = _ctx(app)
    ctx.settings = dataclasses.replace(ctx.settings, support_attachment_bytes=1000)
    too_big = alice.raw(
        "POST",
        "/v1/support/tickets",
        json=ticket_body(attachments=[{"name": "big.bin", "data": _b64(os.urandom(1001))}]),
    )
    assert_error(too_big, 413, "attachment_too_large")
    too_many = alice.raw(
        "POST",
        "/v1/support/tickets",
        json=ticket_body(attachments=[{"name": f"{i}.txt", "data": _b64(b"x")} for i in range(6)]),
    )
    assert_error(too_many, 400, "invalid_request")
    page = b"<html><script>alert(1)</script></html>"
    ticket = file(
        alice,
        attachments=[
            {"name": '../../evil".html', "type": "text/html", "data": _b64(page)},
            {"name": "résumé.txt", "type": "text/plain", "data": _b64(b"hello")},
        ],
    )
    infos = ticket["messages"][0]["attachments"]
    assert [a["name"] for a in infos] == ["evil_.html", "résumé.txt"]
    assert [a["size"] for a in infos] == [len(page), 5]
    for account, base in [
        (agent, f"/v1/staff/tickets/{ticket['id']}"),
        (alice, f"/v1/support/tickets/{ticket['id']}"),
    ]:
        response = account.raw("GET", f"{base}/attachments/{infos[0]['id']}")
        assert response.status_code == 200
        assert response.content == page
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert 'filename="evil_.html"' in response.headers["content-disposition"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        utf8 = account.raw("GET", f"{base}/attachments/{infos[1]['id']}")
        assert "filename*=UTF-8''r%C3%A9sum%C3%A9.txt" in utf8.headers["content-disposition"]
    # An attachment of an internal note is staff's only.
    noted = ok(
        agent.raw(
            "POST",
            f"/v1/staff/tickets/{ticket['id']}/notes",
            json={"message": "trace", "attachments": [{"name": "t.txt", "data": _b64(b"t")}]},
        ),
        201,
    )
    note_file = noted["messages"][-1]["attachments"][0]["id"]
    assert_error(
        alice.raw("GET", f"/v1/support/tickets/{ticket['id']}/attachments/{note_file}"),
        404,
        "attachment_not_found",
    )


def test_queue_filters_search_and_breaches(
    app: FastAPI, alice: Account, bob: Account, agent: Account
) -> None:
    one = file(alice, category="billing", subject="Invoice", message="Charged twice in May")
    two = file(bob, category="technical", subject="Upload", message="It fails with 503")
    three = file(bob, category="abuse", subject="A link", message="A link shares my photos")

    def queue(**params: Any) -> list[int]:
        answer = ok(agent.raw("GET", "/v1/staff/tickets", params=params))
        return sorted(x["number"] for x in answer["tickets"])

    assert queue() == [1, 2, 3]
    assert queue(category="billing") == [1]
    assert queue(q="twice") == [1]  # in a message's text
    assert queue(q="UPLOAD") == [2]  # in a subject, whatever the case
    assert queue(q=bob.email) == [2, 3]
    assert queue(q="#3") == [3]
    assert queue(q="100%") == []  # LIKE's wildcards are plain characters
    ok(agent.raw("PATCH", f"/v1/staff/tickets/{two['id']}", json={"assignee_id": agent.user_id}))
    assert queue(assignee="me") == [2]
    assert queue(assignee=agent.user_id) == [2]
    assert queue(assignee="none") == [1, 3]
    ok(agent.raw("PATCH", f"/v1/staff/tickets/{three['id']}", json={"state": "solved"}))
    assert queue(state="solved") == [3]
    assert queue(state="active") == [1, 2]
    assert queue(breached="true") == []

    # Filed 9 hours ago: past the first-response target of a technical ticket (8 h), not
    # past a billing ticket's (24 h).
    with _ctx(app).db.write() as db:
        db.execute(
            update(t.SupportTicket)
            .where(t.SupportTicket.id.in_([one["id"], two["id"]]))
            .values(created_at=t.SupportTicket.created_at - 9 * HOUR)
        )
    assert queue(breached="true") == [2]
    tickets = {x["number"]: x for x in ok(agent.raw("GET", "/v1/staff/tickets"))["tickets"]}
    assert tickets[2]["timers"]["first_response_breached"] is True
    assert tickets[2]["timers"]["resolution_breached"] is False
    assert tickets[1]["timers"]["first_response_breached"] is False
    # Answering late does not clear the flag; the target was missed.
    ok(agent.raw("POST", f"/v1/staff/tickets/{two['id']}/replies", json={"message": "On it"}), 201)
    view = ok(agent.raw("GET", f"/v1/staff/tickets/{two['id']}"))
    assert view["timers"]["first_response_breached"] is True
    # Targets are settings.
    ctx = _ctx(app)
    ctx.settings = dataclasses.replace(ctx.settings, support_targets="technical=10/72")
    assert queue(breached="true") == []
    bad = agent.raw("GET", "/v1/staff/tickets", params={"state": "lost"})
    assert_error(bad, 400, "invalid_request")


def test_assignment_is_to_staff_only(alice: Account, bob: Account, agent: Account) -> None:
    ticket = file(alice)
    path = f"/v1/staff/tickets/{ticket['id']}"
    assert_error(agent.raw("PATCH", path, json={"assignee_id": bob.user_id}), 400, "not_staff")
    assigned = ok(agent.raw("PATCH", path, json={"assignee_id": agent.user_id}))
    assert (assigned["assignee_id"], assigned["assignee"]) == (agent.user_id, agent.email)
    # Other fields leave the assignment alone; an explicit null removes it.
    assert ok(agent.raw("PATCH", path, json={"priority": "low"}))["assignee_id"] == agent.user_id
    assert ok(agent.raw("PATCH", path, json={"assignee_id": None}))["assignee_id"] is None
    details = [e["detail"] for e in ok(agent.raw("GET", f"{path}/audit"))["entries"]]
    assert f"nobody -> {agent.email}" in details and f"{agent.email} -> nobody" in details
    # The agents to choose from: staff accounts only.
    agents = ok(agent.raw("GET", "/v1/staff/agents"))["agents"]
    assert {a["email"] for a in agents} == {agent.email}
    assert agents[0] == {"id": agent.user_id, "email": agent.email, "role": "agent"}


def test_merge(alice: Account, agent: Account) -> None:
    first = file(alice, subject="Can't log in", message="Since this morning")
    second = file(alice, subject="Still can't log in", message="Please help")
    merged = ok(
        agent.raw("POST", f"/v1/staff/tickets/{second['id']}/merge", json={"into": first["id"]})
    )
    assert merged["id"] == first["id"]
    bodies = [m["body"] for m in merged["messages"]]
    assert bodies[:2] == ["Since this morning", "Please help"]
    assert merged["messages"][-1]["kind"] == "note" and "#2" in bodies[-1]
    old = ok(agent.raw("GET", f"/v1/staff/tickets/{second['id']}"))
    assert (old["state"], old["merged_into"], old["messages"]) == ("closed", first["id"], [])
    refused = alice.raw(
        "POST", f"/v1/support/tickets/{second['id']}/replies", json={"message": "?"}
    )
    assert_error(refused, 409, "ticket_merged")
    assert_error(
        agent.raw("POST", f"/v1/staff/tickets/{first['id']}/merge", json={"into": first["id"]}),
        400,
        "merge_self",
    )
    assert_error(
        agent.raw("POST", f"/v1/staff/tickets/{second['id']}/merge", json={"into": first["id"]}),
        409,
        "ticket_merged",
    )
    trail = ok(agent.raw("GET", f"/v1/staff/tickets/{first['id']}/audit"))["entries"]
    assert ("merge", "#2 merged into this") in [(e["action"], e["detail"]) for e in trail]


def test_canned_replies(alice: Account, agent: Account) -> None:
    assert_error(alice.raw("GET", "/v1/staff/canned"), 403, "staff_only")
    made = ok(agent.raw("POST", "/v1/staff/canned", json={"title": "Hi", "body": "Hello!"}), 201)
    dup = agent.raw("POST", "/v1/staff/canned", json={"title": "Hi", "body": "Again"})
    assert_error(dup, 409, "canned_exists")
    changed = ok(
        agent.raw("PUT", f"/v1/staff/canned/{made['id']}", json={"title": "Hi", "body": "Hey"})
    )
    assert changed["body"] == "Hey"
    assert [r["title"] for r in ok(agent.raw("GET", "/v1/staff/canned"))["replies"]] == ["Hi"]
    ok(agent.raw("DELETE", f"/v1/staff/canned/{made['id']}"), 204)
    assert_error(agent.raw("DELETE", f"/v1/staff/canned/{made['id']}"), 404, "canned_not_found")
    assert ok(agent.raw("GET", "/v1/staff/canned"))["replies"] == []


def test_mail_threading_hooks(app: FastAPI, alice: Account, agent: Account) -> None:
    ctx = _ctx(app)
    ticket = file(alice)
    ok(agent.raw("POST", f"/v1/staff/tickets/{ticket['id']}/replies", json={"message": "Hi"}), 201)
    with ctx.db.read() as db:
        sent = db.scalars(
            select(t.SupportMessage.mail_id).where(t.SupportMessage.kind == "staff")
        ).all()
    assert sent and sent[0]
    assert inbound.find_by_message_id(ctx.db, ["<unknown@x>", sent[0]]) == ticket["id"]
    assert inbound.find_by_message_id(ctx.db, ["<unknown@x>"]) is None
    assert inbound.find_by_subject_tag(ctx.db, "Re: [Coffre #1] Sync") == ticket["id"]
    assert inbound.find_by_subject_tag(ctx.db, "[Coffre #99]") is None
    assert inbound.find_by_token(ctx.db, ticket["id"]) == ticket["id"]

    inbound.add_customer_reply(
        ctx, ticket["id"], alice.email, "Thanks!", "<r1@mail>", [("a.txt", "text/plain", b"a")]
    )
    inbound.add_customer_reply(ctx, ticket["id"], alice.email, "Thanks!", "<r1@mail>", [])
    view = ok(alice.raw("GET", f"/v1/support/tickets/{ticket['id']}"))
    assert view["state"] == "open"
    assert [m["via"] for m in view["messages"]] == ["cli", "cli", "email"]  # once only
    assert view["messages"][-1]["attachments"][0]["name"] == "a.txt"
    with ctx.db.read() as db:
        assert inbound.find_by_message_id(db, ["<r1@mail>"]) == ticket["id"]

    new_id = inbound.new_ticket_from_mail(ctx, alice.email, "Other", "Body", "<n1@mail>", [])
    assert new_id in [x["id"] for x in ok(alice.raw("GET", "/v1/support/tickets"))["tickets"]]
    # A reply to a closed ticket opens a follow-up.
    ok(alice.raw("POST", f"/v1/support/tickets/{new_id}/state", json={"state": "closed"}))
    inbound.add_customer_reply(ctx, new_id, alice.email, "One more thing", "<n2@mail>", [])
    mine = ok(alice.raw("GET", "/v1/support/tickets"))["tickets"]
    assert any(x["subject"] == "Follow-up to #2: Other" for x in mine)
