"""Browser tests: Debian's Chromium, driven by Python Playwright, against a real ``coffre serve``.

One server and one browser serve the whole module; each test gets a fresh browser context
(no cookies, no storage) and usually a fresh account. Screenshots of the main screens go
to ``artifacts/screenshots/`` (git-ignored) for people to look at.

Chromium comes from the system (``apt-get install chromium``; .ci/run installs it), never
from ``playwright install``. Without it these tests are skipped, except under CI, where a
missing browser is an error.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.authenticator import Authenticator
from tests.e2e.conftest import PASSWORD, Cli, Server, free_port

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
QUOTA = 48 * 1024 * 1024
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_emails = itertools.count(1)

pytestmark = pytest.mark.web


@pytest.fixture(scope="session")
def browser() -> Iterator[playwright_sync.Browser]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("web-server")
    srv = Server(tmp / "data", free_port(), tmp / "server.log")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COFFRE_STORAGE_QUOTA", str(QUOTA))
        srv.start()
    yield srv
    # A page's change-feed long poll may still be held open on the server, which would make
    # a graceful stop wait its full 5 seconds; this server's data is thrown away anyway.
    srv.kill()


@dataclass
class Web:
    """A browser context on the server, with what it saw."""

    server: Server
    context: playwright_sync.BrowserContext
    page: playwright_sync.Page
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def goto(self, path: str) -> None:
        self.page.goto(self.url + path)

    def shot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def signup(self, email: str | None = None, password: str = PASSWORD) -> str:
        email = email or new_email("web")
        page = self.page
        self.goto("/signup")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Repeat the password").fill(password)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("heading", name="Account", exact=True).wait_for()
        return email

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        self.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="My files").wait_for()

    def login_with_code(self, email: str, device: Authenticator) -> None:
        """Log in an account with 2FA on: the code field appears once the password checked
        out."""
        page = self.page
        self.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_label("Two-factor code").fill(device.code())
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="My files").wait_for()

    def files(self) -> None:
        self.page.get_by_role("link", name="Files", exact=True).click()
        self.page.get_by_role("heading", name="My files").wait_for()

    def row(self, name: str) -> playwright_sync.Locator:
        return self.page.locator("tbody tr").filter(
            has=self.page.locator(".entry-name", has_text=name)
        )

    def action(self, name: str, label: str) -> None:
        self.page.get_by_role("button", name=f"Actions for {name}").click()
        self.page.get_by_role("menuitem", name=label).click()


def new_web(browser: playwright_sync.Browser, server: Server, **options: object) -> Web:
    context = browser.new_context(accept_downloads=True, **options)  # type: ignore[arg-type]
    page = context.new_page()
    web = Web(server, context, page)
    page.on("request", lambda r: web.requests.append(r.url))
    page.on("console", lambda m: web.console.append(f"{m.type}: {m.text} ({m.location['url']})"))
    page.set_default_timeout(20_000)
    return web


def check_and_close(w: Web) -> None:
    """Nothing from another origin, and nothing the Content-Security-Policy refused."""
    print("browser console:", *w.console, sep="\n  ")  # shown when a test fails
    try:
        foreign = [u for u in w.requests if not u.startswith((w.server.url, "blob:", "data:"))]
        assert not foreign, foreign
        refused = [c for c in w.console if "Content Security Policy" in c or "Refused to" in c]
        assert not refused, refused
    finally:
        w.context.close()


@pytest.fixture
def web(browser: playwright_sync.Browser, server: Server) -> Iterator[Web]:
    w = new_web(browser, server, viewport={"width": 1280, "height": 800})
    yield w
    check_and_close(w)


@contextlib.contextmanager
def visitor(browser: playwright_sync.Browser, server: Server) -> Iterator[Web]:
    """A fresh browser context: no account, no storage, as someone who got a link."""
    w = new_web(browser, server, viewport={"width": 1100, "height": 760})
    try:
        yield w
    finally:
        check_and_close(w)


@pytest.fixture
def cli_for(tmp_path: Path, server: Server) -> object:
    """A ``coffre`` CLI with its own home, logged in as ``email``."""
    count = itertools.count()

    def make(email: str, password: str = PASSWORD) -> Cli:
        client = Cli(tmp_path / f"cli-home-{next(count)}", server)
        client.run("login", email, "--password-stdin", input=password + "\n")
        return client

    return make


def new_email(who: str = "cli") -> str:
    return f"{who}{next(_emails)}-{os.getpid()}@example.org"


@pytest.fixture
def cli_user(tmp_path: Path, server: Server) -> Callable[[], tuple[Cli, str]]:
    """A new account made with the ``coffre`` CLI (its own home): (cli, email)."""
    count = itertools.count()

    def make() -> tuple[Cli, str]:
        email = new_email()
        client = Cli(tmp_path / f"cli-user-{next(count)}", server)
        client.run("signup", email, "--password-stdin", input=PASSWORD + "\n")
        return client, email

    return make


def staff_agent(
    server: Server, cli_user: Callable[[], tuple[Cli, str]]
) -> tuple[str, Authenticator]:
    """A staff agent: an account made with the CLI, 2FA turned on with ``coffre 2fa
    enable``, the role given by ``coffre admin staff add``."""
    from tests.e2e.test_two_factor_cli import enable_2fa

    cli, email = cli_user()
    device, _ = enable_2fa(cli, email)
    cli.run("admin", "staff", "add", email, "--role", "agent", "--data", str(server.data))
    return email, device
