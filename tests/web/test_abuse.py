"""Abuse handling and two-factor authentication in the browser: a report filed from a link
page's Report link disables the link once a staff agent (with 2FA) acts on it, and the link
page then says so; turning 2FA on in the account page and logging in with a code; a
support code made in the browser opens the account's facts for staff."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from coffre.client import account, two_factor
from coffre.client.api import Api
from tests.authenticator import Authenticator
from tests.e2e.conftest import PASSWORD, Cli, Server
from tests.web.conftest import Web, new_email, playwright_sync, staff_agent, visitor


def test_an_abuse_report_disables_a_link(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    owner, _ = cli_user()
    (tmp_path / "stolen.txt").write_text("someone else's novel\n")
    owner.run("put", str(tmp_path / "stolen.txt"), "stolen.txt")
    url = owner.out("link", "create", "stolen.txt").strip()
    link_id = urlsplit(url).path.rsplit("/", 1)[1]
    key = url.split("#", 1)[1]
    with visitor(browser, server) as v:
        sent: list[str] = []
        v.page.on("request", lambda r: sent.append(f"{r.url} {r.post_data or ''}"))
        v.page.goto(url)
        v.page.get_by_role("heading", name="stolen.txt").wait_for()
        v.page.get_by_role("link", name="Report this link").click()
        v.page.get_by_role("heading", name="Report a link").wait_for()
        assert v.page.url == f"{server.url}/abuse?link={link_id}"
        assert (
            v.page.get_by_label("The link", exact=True).input_value() == f"{server.url}/s/{link_id}"
        )
        v.page.get_by_label("Your name").fill("Nora Novelist")
        v.page.get_by_label("Your email address").fill("nora@example.org")
        v.page.get_by_label("What is wrong").select_option("copyright")
        v.page.get_by_label("Describe the material").fill("<img src=x onerror=alert(1)> my novel")
        v.page.get_by_label("The copyrighted work").fill("My novel, published 2024")
        v.page.get_by_label("I have a good-faith belief").check()
        v.page.get_by_label("The information in this notice is accurate").check()
        v.page.get_by_label("I am authorised to act").check()
        v.page.get_by_label("Signature").fill("Nora Novelist")
        v.shot("abuse-form")
        v.page.get_by_role("button", name="Send report").click()
        v.page.get_by_role("heading", name="Thank you: your report was received").wait_for()
        assert not [s for s in sent if key in s]  # the key never left the browser

        email, device = staff_agent(server, cli_user)
        with visitor(browser, server) as desk:
            desk.login_with_code(email, device)
            desk.page.get_by_role("link", name="Staff desk").click()
            desk.page.get_by_role("link", name="Abuse").click()
            desk.page.get_by_role("heading", name="Abuse reports").wait_for()
            card = desk.page.locator("article.report").filter(has_text=link_id)
            card.wait_for()
            text = card.locator(".report-text").first
            assert text.text_content() == "<img src=x onerror=alert(1)> my novel"
            assert card.locator("img").count() == 0  # shown as text, never as markup
            assert "never see names, contents or keys" in (
                desk.page.locator(".no-content").text_content() or ""
            )
            desk.shot("staff-abuse")
            card.get_by_role("button", name="Disable the link").click()
            desk.page.locator("#notices").get_by_text("Disable the link: done.").wait_for()

        v.page.goto(url)
        v.page.get_by_role("heading", name="This link was disabled after a report").wait_for()
        v.shot("link-disabled")


def test_two_factor_in_the_account_page_and_at_login(
    web: Web,
    browser: playwright_sync.Browser,
    server: Server,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    page = web.page
    email = web.signup(new_email("twofa"))
    page.get_by_role("button", name="Turn on").click()
    secret = page.locator("#two-factor-secret").text_content() or ""
    assert page.locator("#two-factor-uri").text_content().startswith("otpauth://totp/Coffre:")  # type: ignore[union-attr]
    device = Authenticator.from_b32(secret)
    page.get_by_label("Code from the app").fill("12345")
    page.get_by_role("button", name="Turn on").click()
    page.get_by_text("that two-factor code is wrong", exact=False).wait_for()
    page.get_by_label("Code from the app").fill(device.code())
    page.get_by_role("button", name="Turn on").click()
    page.locator("#two-factor-recovery li").nth(9).wait_for()
    web.shot("two-factor-on")

    # A support code, for staff to open this account's facts with.
    page.get_by_role("button", name="Make a support code").click()
    code = page.locator("#support-code").text_content() or ""
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", code)
    staff_email, staff_device = staff_agent(server, cli_user)
    with visitor(browser, server) as desk:
        desk.login_with_code(staff_email, staff_device)
        desk.goto("/staff/accounts")
        desk.page.get_by_label("Support code the caller reads out").fill(code)
        desk.page.get_by_role("button", name="Open the account's facts").click()
        desk.page.locator("#account-facts dd[data-key=email]").wait_for()
        assert desk.page.locator("#account-facts dd[data-key=email]").text_content() == email
        facts = desk.page.locator("#account-facts dd[data-key=two_factor]")
        assert facts.text_content() == "on"
        assert desk.page.locator("#no-content").is_visible()
        desk.shot("staff-accounts")
        # The code worked once.
        desk.page.get_by_label("Support code the caller reads out").fill(code)
        desk.page.get_by_role("button", name="Open the account's facts").click()
        desk.page.get_by_text("No such code").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    assert not page.locator("#totp").is_visible()  # asked for only after the password
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Two-factor code").fill(device.code())
    web.shot("login-two-factor")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My files").wait_for()

    # The library agrees: 2FA is on for this account.
    api = Api(server.url)
    response, _ = account.login(api, email, PASSWORD, totp=device.code())
    api.token = response.token
    assert two_factor.status(api).enabled
    api.close()
