"""Support in the browser: a user files a ticket at /support, an agent (staff role, 2FA on)
answers it in the staff desk at /staff, and the user sees the answer. A ticket's text is
shown as text: markup and script in it stay inert in the desk."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Cli, Server
from tests.web.conftest import Web, playwright_sync, staff_agent, visitor
from tests.web.test_files import download

ATTACK = (
    'Help <img src=x onerror="window.__xss = 1"> please\n'
    "<script>window.__xss = 2</script>\n"
    '<a href="javascript:window.__xss = 3">click</a>'
)


def test_a_ticket_answered_in_the_staff_desk(
    browser: playwright_sync.Browser,
    server: Server,
    web: Web,
    cli_user: Callable[[], tuple[Cli, str]],
    tmp_path: Path,
) -> None:
    page = web.page
    user_email = web.signup()
    page.get_by_role("link", name="Support", exact=True).click()
    page.get_by_role("heading", name="Support", exact=True).wait_for()
    warning = page.locator("#support-warning")
    assert "not end-to-end encrypted" in warning.inner_text()
    assert "Nobody at Coffre will ever ask for your password or your recovery key" in (
        warning.inner_text()
    )
    page.get_by_label("Category").select_option("billing")
    page.get_by_label("Subject").fill("Charged <b>twice</b>")
    page.get_by_label("Message").fill(ATTACK)
    evil = tmp_path / "invoice.html"
    evil.write_bytes(b"<script>window.__xss = 4</script>")
    page.get_by_label("Attachments").set_input_files(str(evil))
    web.shot("support-form")
    page.get_by_role("button", name="Send").click()
    heading = page.locator("h1").filter(has_text="Charged <b>twice</b>")
    heading.wait_for()
    number = heading.inner_text().split()[0]
    ticket_url = page.url
    assert page.locator(".message-body").first.inner_text() == ATTACK
    web.shot("support-ticket")

    agent_email, device = staff_agent(server, cli_user)
    with visitor(browser, server) as desk:
        desk.login_with_code(agent_email, device)
        dpage = desk.page
        dpage.get_by_role("link", name="Staff desk").click()
        dpage.get_by_role("heading", name="Tickets").wait_for()
        row = dpage.locator("tbody tr").filter(has_text="Charged <b>twice</b>")
        row.wait_for()
        assert user_email in row.inner_text()
        assert "Billing" in row.inner_text() and "new" in row.inner_text()
        desk.shot("staff-desk-queue")
        nav = dpage.get_by_role("navigation", name="Staff desk")
        for entry in ("Tickets", "Canned replies", "Accounts", "Abuse"):
            assert nav.get_by_role("link", name=entry, exact=True).is_visible()

        # A canned reply to answer with.
        dpage.get_by_role("link", name="Canned replies").click()
        dpage.get_by_label("Title").fill("Refund")
        dpage.get_by_label("Text").fill("We have refunded the second charge.")
        dpage.get_by_role("button", name="Add").click()
        dpage.get_by_role("heading", name="Refund").wait_for()

        dpage.get_by_role("link", name="Tickets", exact=True).click()
        dpage.get_by_role("link", name="Charged <b>twice</b>").click()
        dpage.locator("h1").filter(has_text=f"{number} Charged <b>twice</b>").wait_for()
        # The customer's text is text: no element was made of it and nothing ran.
        body = dpage.locator(".message-customer .message-body").first
        assert body.inner_text() == ATTACK
        assert body.locator("img, script, a").count() == 0
        assert dpage.evaluate("window.__xss") is None
        facts = dpage.locator(".account-facts")
        assert "Coffre staff can never see file names, contents or keys" in facts.inner_text()
        assert user_email in facts.inner_text()
        # The attachment is a download, never a page.
        saved = download(
            desk, lambda: dpage.get_by_role("button", name="invoice.html").click(), tmp_path / "a"
        )
        assert saved == evil.read_bytes()
        assert dpage.evaluate("window.__xss") is None

        dpage.get_by_label("Priority").select_option("high")
        dpage.locator(".audit").get_by_text("priority: normal -> high").wait_for()
        dpage.get_by_label("Assign to").select_option(label=f"{agent_email} (agent)")
        dpage.locator(".audit").get_by_text(f"nobody -> {agent_email}").wait_for()
        dpage.get_by_label("Message").fill("Internal: the card was charged twice on the 3rd.")
        dpage.get_by_role("button", name="Add internal note").click()
        note = dpage.locator(".message-note").first
        note.wait_for()
        assert "Internal note" in note.inner_text()
        dpage.get_by_label("Message").fill("Called: they confirmed the card's last digits.")
        dpage.get_by_role("button", name="Log a phone call").click()
        dpage.locator(".message-note").filter(has_text="Phone call (staff only)").wait_for()
        dpage.get_by_label("Canned replies").select_option(label="Refund")
        assert dpage.get_by_label("Message").input_value() == "We have refunded the second charge."
        dpage.get_by_role("button", name="Send reply").click()
        dpage.locator(".message-staff").wait_for()
        dpage.locator(".audit").get_by_text("state: new -> pending").wait_for()
        desk.shot("staff-desk-ticket")
        assert dpage.evaluate("window.__xss") is None
        assert not [u for u in desk.requests if u.endswith("/x")]

    # The customer sees the answer, not the note.
    page.goto(ticket_url)
    page.locator(".message-staff").wait_for()
    thread = page.locator(".thread").inner_text()
    assert "We have refunded the second charge." in thread
    assert "the card was charged twice" not in thread
    page.get_by_label("Your reply").fill("Thank you!")
    page.get_by_role("button", name="Send reply").click()
    page.locator(".message-customer").nth(1).wait_for()
    assert "open" in page.locator(".state").first.inner_text()
    web.shot("support-ticket-answered")


def test_a_visitor_files_a_ticket_without_an_account(
    browser: playwright_sync.Browser, server: Server
) -> None:
    with visitor(browser, server) as web:
        page = web.page
        web.goto("/support")
        page.get_by_role("heading", name="Support", exact=True).wait_for()
        page.get_by_label("Your email address").fill("visitor@example.org")
        page.get_by_label("Category").select_option("account")
        page.get_by_label("Subject").fill("Locked out")
        page.get_by_label("Message").fill("I lost my phone with my authenticator.")
        page.get_by_role("button", name="Send").click()
        page.get_by_role("heading", name=re.compile(r"^#\d+ Locked out$")).wait_for()
        # The access token is in the fragment: the page opens again from its address.
        assert re.search(r"/support/[0-9a-f]{32}#.+$", page.url)
        page.reload()
        page.get_by_text("I lost my phone with my authenticator.").wait_for()
        web.shot("support-visitor-ticket")
        # Without it, the ticket stays closed to the visitor.
        web.goto(page.url.split("#", 1)[0].removeprefix(server.url))
        page.get_by_role("heading", name="Ticket not found").wait_for()
