"""Abuse reports and copyright notices: the form's defences, disabling links (one, or all
that share the stored content), notices and counter-notices, restoring, strikes, and the
transparency counts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from coffre.client import two_factor
from coffre.client.api import LinkApi
from coffre.errors import LegallyUnavailable
from coffre.protocol import models as m
from coffre.server.config import Settings
from coffre.server.db import tables as t
from coffre.server.services.background import run_pass
from tests.server.raw import Account, assert_error, new_id, sealed
from tests.server.staffing import ctx_of, make_staff


@pytest.fixture
def settings(settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(settings, strike_limit=2, abuse_reports_per_address=6)


def _link(owner: Account, node: m.NodeRecord) -> str:
    link_id = new_id()
    owner.api.create_link(
        m.LinkCreate(id=link_id, node_id=node.id, envelope=sealed(), auth=sealed(32))
    )
    return link_id


def _report(link: str, kind: str = "harm", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reporter_name": "Rita Reporter",
        "reporter_email": "rita@example.org",
        "link": link,
        "kind": kind,
        "description": "<script>alert(1)</script> this is harmful",
    }
    if kind == "copyright":
        body.update(
            work="My photograph, published at example.org/photo",
            good_faith=True,
            accurate=True,
            authorised=True,
            signature="Rita Reporter",
        )
    body.update(changes)
    return body


def _file(who: Account, reporter: Account, staff: Account, kind: str = "harm") -> tuple[str, str]:
    link_id = _link(who, who.upload(2000))
    response = reporter.api.http.post("/v1/abuse/reports", json=_report(link_id, kind))
    assert response.status_code == 201, response.text
    return link_id, str(response.json()["id"])


def _public(account: Account, link_id: str) -> int:
    return account.api.http.get(f"/v1/public/links/{link_id}").status_code


def test_the_report_form_refuses_keys_forms_and_other_sites(alice: Account, bob: Account) -> None:
    link_id = _link(alice, alice.upload(100))
    http = bob.api.http
    url = f"https://coffre.example/s/{link_id}"
    keyed = http.post("/v1/abuse/reports", json=_report(f"{url}#k=secret"))
    assert_error(keyed, 400, "link_key_refused")
    form = http.post("/v1/abuse/reports", data={"link": link_id, "kind": "harm"})
    assert_error(form, 415, "unsupported_media_type")
    cross = http.post(
        "/v1/abuse/reports", json=_report(url), headers={"origin": "https://evil.example"}
    )
    assert_error(cross, 403, "cross_site_request")
    incomplete = http.post("/v1/abuse/reports", json=_report(url, "copyright", accurate=False))
    assert_error(incomplete, 400, "notice_incomplete")
    unknown = http.post("/v1/abuse/reports", json=_report(new_id()))
    assert_error(unknown, 404, "link_not_found")
    same_site = http.post(
        "/v1/abuse/reports", json=_report(url), headers={"origin": "http://coffre.test"}
    )
    assert same_site.status_code == 201


def test_anonymous_reports_are_rate_limited_per_address(alice: Account, bob: Account) -> None:
    link_id = _link(alice, alice.upload(100))
    for _ in range(6):  # COFFRE_ABUSE_REPORTS_PER_ADDRESS in this module
        assert bob.api.http.post("/v1/abuse/reports", json=_report(link_id)).status_code == 201
    limited = bob.api.http.post("/v1/abuse/reports", json=_report(link_id))
    assert_error(limited, 429, "too_many_requests")


def test_disable_notice_counter_notice_and_restore(
    app: FastAPI, alice: Account, bob: Account, make_account: Any
) -> None:
    staff = make_account()
    make_staff(app, staff)
    link_id, report_id = _file(alice, bob, staff, "copyright")
    listed = staff.raw("GET", "/v1/staff/abuse/reports?status=open").json()["reports"]
    assert [r["id"] for r in listed] == [report_id]
    assert listed[0]["statements"] is True and listed[0]["owner_id"] == alice.user_id
    done = staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/disable", json={})
    assert done.json()["status"] == "disabled" and done.json()["links_disabled"] == 1
    assert_error(alice.api.http.get(f"/v1/public/links/{link_id}"), 451, "link_disabled")
    with pytest.raises(LegallyUnavailable) as refused:  # the library, and the CLI's exit 3
        LinkApi(bob.api, link_id).public()
    assert refused.value.code == "link_disabled" and refused.value.exit_code == 3
    again = staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/disable", json={})
    assert_error(again, 409, "report_handled")

    notices = alice.raw("GET", "/v1/account/notices").json()
    (notice,) = notices["notices"]
    assert notice["kind"] == "link_disabled" and notice["link_ids"] == [link_id]
    days = (notice["restore_at"] - time.time()) / 86400
    assert 13.9 < days <= 14  # COFFRE_ABUSE_RESTORE_DAYS
    assert notices["strikes"] == 1 and notices["sharing_suspended"] is False
    counter = {"statement": "It is my own photograph.", "signature": "Alice", "good_faith": True}
    filed = alice.raw("POST", f"/v1/account/notices/{notice['id']}/counter", json=counter)
    assert filed.status_code == 201 and filed.json()["countered"] is True
    twice = alice.raw("POST", f"/v1/account/notices/{notice['id']}/counter", json=counter)
    assert_error(twice, 409, "counter_notice_exists")
    not_hers = bob.raw("POST", f"/v1/account/notices/{notice['id']}/counter", json=counter)
    assert_error(not_hers, 404, "notice_not_found")
    seen = staff.raw("GET", f"/v1/staff/abuse/reports/{report_id}").json()
    assert seen["counter_notices"][0]["statement"] == "It is my own photograph."

    # Not yet due: a background pass changes nothing.
    run_pass(ctx_of(app))
    assert _public(alice, link_id) == 451
    with ctx_of(app).db.write() as db:
        db.execute(update(t.AbuseReport).values(restore_at=time.time() - 1))
    report = run_pass(ctx_of(app))
    assert report is not None and report.links_restored == 1
    assert _public(alice, link_id) == 200
    kinds = [n["kind"] for n in alice.raw("GET", "/v1/account/notices").json()["notices"]]
    assert sorted(kinds) == ["link_disabled", "link_restored"]
    # A counter-notice and no action by the reporter: the strike is withdrawn.
    assert alice.raw("GET", "/v1/account/notices").json()["strikes"] == 0


def test_when_the_reporter_acted_access_does_not_return(
    app: FastAPI, alice: Account, bob: Account, make_account: Any
) -> None:
    staff = make_account()
    make_staff(app, staff)
    link_id, report_id = _file(alice, bob, staff)
    staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/disable", json={"scope": "link"})
    acted = staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/reporter-acted", json={}).json()
    assert acted["reporter_acted"] is True and acted["restore_at"] is None
    with ctx_of(app).db.write() as db:
        db.execute(update(t.AbuseReport).values(restore_at=time.time() - 1))
    run_pass(ctx_of(app))
    assert _public(alice, link_id) == 451


def test_disabling_by_content_reaches_copies_and_other_links(
    app: FastAPI, alice: Account, bob: Account, make_account: Any
) -> None:
    staff = make_account()
    make_staff(app, staff)
    node = alice.upload(4000)
    (copy,) = alice.api.copy(alice.copy_request(node))
    other = alice.upload(4000)
    first, second, copied, unrelated = (_link(alice, n) for n in (node, node, copy, other))
    report_id = bob.api.http.post("/v1/abuse/reports", json=_report(first)).json()["id"]
    done = staff.raw(
        "POST", f"/v1/staff/abuse/reports/{report_id}/disable", json={"scope": "content"}
    ).json()
    assert done["scope"] == "content" and done["links_disabled"] == 3
    assert [_public(alice, x) for x in (first, second, copied, unrelated)] == [451] * 3 + [200]
    refused = alice.raw(
        "POST",
        "/v1/links",
        json={"id": new_id(), "node_id": copy.id, "envelope": "A" * 108, "auth": "A" * 43},
    )
    assert_error(refused, 451, "content_disabled")
    # Dismissing it brings every link back and withdraws the strike.
    staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/dismiss")
    assert [_public(alice, x) for x in (first, second, copied)] == [200] * 3
    assert alice.raw("GET", "/v1/account/notices").json()["strikes"] == 0


def test_strikes_suspend_links_and_sharing(
    app: FastAPI, alice: Account, bob: Account, make_account: Any
) -> None:
    staff = make_account()
    make_staff(app, staff)
    for _ in range(2):  # COFFRE_STRIKE_LIMIT in this module
        _, report_id = _file(alice, bob, staff)
        staff.raw("POST", f"/v1/staff/abuse/reports/{report_id}/disable", json={})
    notices = alice.raw("GET", "/v1/account/notices").json()
    assert notices["strikes"] == 2 and notices["sharing_suspended"] is True
    node = alice.upload(100)
    link = {"id": new_id(), "node_id": node.id, "envelope": "A" * 108, "auth": "A" * 43}
    assert_error(alice.raw("POST", "/v1/links", json=link), 403, "sharing_suspended")
    folder = alice.mkdir()
    share = {
        "id": new_id(),
        "folder_id": folder.id,
        "member_id": bob.user_id,
        "access": "read",
        "envelope": "A" * 252,
    }
    assert_error(alice.raw("POST", "/v1/shares", json=share), 403, "sharing_suspended")
    facts = staff.raw("GET", f"/v1/staff/accounts/{alice.user_id}").json()
    assert facts["strikes"] == 2 and facts["sharing_suspended"] is True
    # Strikes older than the window no longer count.
    with ctx_of(app).db.write() as db:
        db.execute(update(t.Strike).values(at=time.time() - 181 * 86400))
    assert alice.raw("POST", "/v1/links", json=link).status_code == 201


def test_transparency_counts_and_nothing_about_anyone(
    app: FastAPI, alice: Account, bob: Account, make_account: Any
) -> None:
    staff = make_account()
    make_staff(app, staff)
    a, first = _file(alice, bob, staff, "copyright")
    b, second = _file(alice, bob, staff)
    staff.raw("POST", f"/v1/staff/abuse/reports/{first}/disable", json={})
    staff.raw("POST", f"/v1/staff/abuse/reports/{second}/dismiss")
    (notice,) = alice.raw("GET", "/v1/account/notices").json()["notices"]
    alice.raw(
        "POST",
        f"/v1/account/notices/{notice['id']}/counter",
        json={"statement": "mine", "signature": "A", "good_faith": True},
    )
    response = bob.api.http.get("/v1/transparency")
    counts = response.json()
    assert counts == {
        "notices": 2,
        "copyright_notices": 1,
        "harm_reports": 1,
        "other_reports": 0,
        "dismissed": 1,
        "links_disabled": 1,
        "counter_notices": 1,
        "restored": 0,
        "accounts_suspended": 0,
    }
    for individual in (a, b, first, second, alice.user_id, alice.email, "rita", "Rita"):
        assert individual not in response.text
    assert two_factor.notices(alice.api).strikes == 1
