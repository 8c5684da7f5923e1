"""The account page: quota bars and usage, sessions (one revoked from the browser), a
password change the CLI then uses, and the recovery key the CLI shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import PASSWORD, Cli
from tests.web.conftest import Web


def test_account_page(web: Web, tmp_path: Path, cli_for: Callable[..., Cli]) -> None:
    page = web.page
    email = web.signup()
    cli = cli_for(email)
    (tmp_path / "a.bin").write_bytes(b"x" * 200_000)
    cli.run("put", str(tmp_path / "a.bin"), "a.bin")
    cli.run("rm", "a.bin")

    page.get_by_role("link", name="Account").click()
    page.get_by_role("heading", name="Account", exact=True).wait_for()
    storage = page.get_by_label("Storage used")
    assert int(storage.get_attribute("value") or 0) > 200_000
    assert int(page.get_by_label("Rubbish bin").get_attribute("value") or 0) > 200_000
    transfer = page.get_by_label("Link transfer")
    assert int(transfer.get_attribute("max") or 0) == 100 * 1024**3  # the default quota

    # the recovery key is the one the CLI shows
    page.get_by_role("button", name="Show recovery key").click()
    shown = page.locator("#recovery-key").text_content()
    assert shown and shown.strip() in cli.out("recovery-key")

    # sessions: this browser and the CLI; revoke the CLI's
    rows = page.locator("section[aria-labelledby=sessions-title] tbody tr")
    assert rows.count() == 2
    web.shot("account")
    page.get_by_role("button", name="Revoke session coffre CLI").click()
    page.get_by_text("Session revoked.").first.wait_for()
    result = cli.run("ls", check=False)
    assert result.returncode != 0

    # change the password: the CLI logs in with the new one, not the old one
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("Repeat the new password").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed.").first.wait_for()
    bad = cli.run("login", email, "--password-stdin", input=PASSWORD + "\n", check=False)
    assert bad.returncode != 0
    cli.run("login", email, "--password-stdin", input="a brand new password\n")

    # a wrong current password is said so
    page.get_by_label("Current password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("another password!")
    page.get_by_label("Repeat the new password").fill("another password!")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("The current password is wrong.").wait_for()


def test_recover_with_the_recovery_key(web: Web, cli_for: Callable[..., Cli]) -> None:
    page = web.page
    email = web.signup()
    page.get_by_role("button", name="Show recovery key").click()
    key = (page.locator("#recovery-key").text_content() or "").strip()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Recovery key").fill(key.upper().replace("-", " "))
    page.get_by_label("New password", exact=True).fill("recovered password")
    page.get_by_label("Repeat the new password").fill("recovered password")
    page.get_by_role("button", name="Set new password").click()
    page.get_by_role("heading", name="My files").wait_for()
    cli_for(email, "recovered password")


def test_live_update_of_a_folder(web: Web, cli_for: Callable[..., Cli]) -> None:
    """A change made from the CLI appears without reloading (the change feed)."""
    page = web.page
    email = web.signup()
    web.files()
    cli = cli_for(email)
    cli.run("mkdir", "made-by-cli")
    web.row("made-by-cli").wait_for()
    cli.run("mv", "made-by-cli", "renamed-by-cli")
    web.row("renamed-by-cli").wait_for()
    cli.run("rm", "-r", "renamed-by-cli")
    web.row("renamed-by-cli").wait_for(state="detached")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
