"""The help centre in Chromium: browse the topics, search, open an article; keyboard,
phone width and the Content-Security-Policy (no inline script or style is refused)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Server
from tests.web.conftest import Web, check_and_close, new_web

playwright_sync = pytest.importorskip("playwright.sync_api")


def test_browse_search_and_read(web: Web) -> None:
    page = web.page
    web.goto("/help")
    page.get_by_role("heading", name="How can we help?", level=1).wait_for()
    # Every category is a section with its articles; the way to support and back.
    for title in (
        "Getting started",
        "Security and recovery",
        "Sharing",
        "Plans and billing",
        "Troubleshooting",
    ):
        assert page.get_by_role("heading", name=title, level=2).is_visible()
    assert (
        page.get_by_role("link", name="Contact support").first.get_attribute("href") == "/support"
    )
    assert page.get_by_role("link", name="Back to Coffre").first.get_attribute("href") == "/files"
    # The stylesheet applied (a rule of help.css), so the CSP let it in.
    assert page.locator("main").evaluate("e => getComputedStyle(e).maxWidth") != "none"
    web.shot("help-home")

    # A category page, then back.
    page.get_by_role("link", name="Sharing", exact=True).click()
    page.get_by_role("heading", name="Sharing", level=1).wait_for()
    assert page.get_by_role("link", name="Shared folders and access levels").is_visible()

    # Search, by the labelled field, without JavaScript on the page.
    page.get_by_label("Search the help centre").fill("forgot my password")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="Search results", level=1).wait_for()
    assert page.get_by_role("status").inner_text().endswith("for “forgot my password”.")
    first = page.locator(".results > li").first
    assert first.get_by_role("link").inner_text() == "Your recovery key, and a forgotten password"
    assert first.locator("mark").count() >= 1
    web.shot("help-search")

    # The article: breadcrumbs, one h1, the plain answer, a way to support.
    first.get_by_role("link").click()
    page.get_by_role(
        "heading", name="Your recovery key, and a forgotten password", level=1
    ).wait_for()
    assert page.url.endswith("/help/security-and-recovery/recovery-key")
    assert page.get_by_role("navigation", name="Breadcrumb").is_visible()
    assert page.get_by_text("Your files are gone.").is_visible()
    assert page.locator("h1").count() == 1
    web.shot("help-article")

    # "More in" this category leads to another article.
    more = page.get_by_role("complementary")
    more.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("heading", name="Two-factor authentication", level=1).wait_for()


def test_skip_link_and_unknown_article(web: Web) -> None:
    page = web.page
    web.goto("/help/sharing/public-links")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("e => e === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    response = page.goto(web.url + "/help/sharing/no-such-article")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Article not found").is_visible()
    assert page.locator(".error-code").inner_text() == "article_not_found"


def test_phone_width(browser: playwright_sync.Browser, server: Server) -> None:
    w = new_web(browser, server, viewport={"width": 375, "height": 740})
    try:
        for path in ("/help", "/help/troubleshooting/error-messages", "/help/search?q=quota"):
            w.goto(path)
            w.page.locator("main").wait_for()
            overflow = w.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, path
        w.shot("help-phone", full_page=False)
    finally:
        check_and_close(w)
