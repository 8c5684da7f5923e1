"""Contacts and shared folders between a browser user and a CLI user, both ways.

Each side checks the other's cryptography: the CLI opens shares the browser sealed and
signed, and accepts (or refuses) nodes and versions by the writers' signatures the browser
made; the browser does the same with the CLI's. Fingerprints computed in the browser are
the ones the CLI prints and accepts."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.web.conftest import Web, playwright_sync
from tests.web.test_files import MiB, data, download


def contacts(web: Web) -> None:
    web.page.get_by_role("link", name="Contacts", exact=True).click()
    web.page.get_by_role("heading", name="Contacts", exact=True).wait_for()


def shared(web: Web) -> None:
    web.page.get_by_role("link", name="Shared", exact=True).click()
    web.page.get_by_role("heading", name="Shared folders").wait_for()


def contact_row(web: Web, email: str) -> playwright_sync.Locator:
    return web.page.locator(".contacts-table tbody tr").filter(has_text=email)


def test_a_cli_user_shares_with_the_browser(
    web: Web, tmp_path: Path, cli_user: Callable[[], tuple[Cli, str]]
) -> None:
    page = web.page
    bob = web.signup()
    alice_cli, alice = cli_user()
    note = tmp_path / "note.bin"
    note.write_bytes(data(1536 * 1024, 11))  # two chunks
    alice_cli.run("mkdir", "-p", "projects/2026")
    alice_cli.run("put", str(note), "projects/2026")
    alice_cli.run("contacts", "invite", bob)

    # the browser accepts the invitation; alice's keys are pinned on first sight
    contacts(web)
    page.get_by_role("button", name=f"Accept the invitation from {alice}").click()
    row = page.locator(".contacts-table tbody tr").filter(has_text=alice)
    row.get_by_text("Not verified").wait_for()
    alice_fp = alice_cli.out("contacts", "fingerprint").strip()
    assert row.locator(".fingerprint").text_content() == alice_fp
    row.get_by_role("button", name=f"Verify {alice}").click()
    dialog = page.get_by_role("dialog", name=f"Verify {alice}")
    assert dialog.locator("#verify-theirs").text_content() == alice_fp
    web.shot("contacts-verify")
    dialog.get_by_role("button", name="The fingerprints match").click()
    row.get_by_text("Verified", exact=True).wait_for()
    web.shot("contacts")

    # alice compares the fingerprint the browser shows for bob, then shares with write access
    bob_fp = page.locator("#my-fingerprint").text_content() or ""
    assert len(bob_fp.replace(" ", "")) == 60 and bob_fp.count(" ") == 11
    alice_cli.run("contacts", "verify", bob, "--fingerprint", bob_fp)
    alice_cli.run("share", "projects", bob, "--access", "write")

    # the browser checks alice's signature on the share with her pinned key, then accepts
    shared(web)
    page.get_by_text("Waiting for you").wait_for()
    page.get_by_role("button", name=f"Accept projects from {alice}").click()
    page.get_by_role("link", name=f"Open projects from {alice}").wait_for()
    web.shot("shared")
    page.get_by_role("link", name=f"Open projects from {alice}").click()
    page.get_by_role("heading", name="projects").wait_for()
    page.get_by_text(f"Shared with you by {alice}").wait_for()
    page.get_by_role("button", name="2026", exact=True).click()
    web.row("note.bin").wait_for()
    web.shot("shared-folder")
    got = download(web, lambda: web.action("note.bin", "Download"), tmp_path / "got.bin")
    assert got == note.read_bytes()

    # the browser writes in alice's folder; her CLI checks bob's signatures and reads it
    reply = tmp_path / "reply.txt"
    reply.write_text("from bob's browser\n")
    page.set_input_files("#upload-files", str(reply))
    web.row("reply.txt").wait_for()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(MiB + 999))  # an upload with a commit
    page.set_input_files("#upload-files", str(big))
    web.row("big.bin").wait_for()
    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("from bob")
    page.get_by_role("button", name="Create").click()
    web.row("from bob").wait_for()
    web.action("from bob", "Rename…")
    page.get_by_label("New name").fill("bob's")
    page.get_by_role("button", name="Rename").click()
    web.row("bob's").wait_for()
    web.action("reply.txt", "Copy to…")
    page.get_by_role("dialog").get_by_label("bob's").check()
    page.get_by_role("button", name="Copy here").click()
    page.locator("#notices").get_by_text("Copied reply.txt").wait_for()
    assert alice_cli.out("cat", "projects/2026/reply.txt") == "from bob's browser\n"
    assert alice_cli.out("cat", "projects/2026/bob's/reply.txt") == "from bob's browser\n"
    alice_cli.run("get", "projects/2026/big.bin", str(tmp_path / "big-back.bin"))
    assert (tmp_path / "big-back.bin").read_bytes() == big.read_bytes()


def test_the_browser_shares_with_a_cli_user(
    web: Web, tmp_path: Path, cli_user: Callable[[], tuple[Cli, str]], cli_for: Callable[..., Cli]
) -> None:
    page = web.page
    alice = web.signup()
    carol_cli, carol = cli_user()
    web.files()
    team = tmp_path / "team"
    team.mkdir()
    (team / "plan.txt").write_text("the plan\n")
    page.set_input_files("#upload-folder", str(team))
    web.row("team").wait_for()

    # invite carol from the browser; she accepts with the CLI
    contacts(web)
    page.get_by_label("Invite by email").fill(carol)
    page.get_by_role("button", name="Invite", exact=True).click()
    page.get_by_text("invitation sent").wait_for()
    carol_cli.run("contacts", "accept", alice)
    page.reload()
    row = contact_row(web, carol)
    row.get_by_text("Not verified").wait_for()
    carol_fp = carol_cli.out("contacts", "fingerprint").strip()
    assert row.locator(".fingerprint").text_content() == carol_fp

    # share "team" with carol (not verified: the browser asks first), with write access
    web.files()
    web.action("team", "Share with a contact…")
    dialog = page.get_by_role("dialog", name="Share team")
    dialog.get_by_label("Access").select_option("write")
    web.shot("share-dialog")
    dialog.get_by_role("button", name="Share", exact=True).click()
    page.get_by_role("dialog", name=f"{carol} is not verified").get_by_role(
        "button", name="Share anyway"
    ).click()
    page.locator("#notices").get_by_text(f"Shared team with {carol}").wait_for()

    # carol's CLI checks the browser's share signature and node/version signatures
    carol_cli.run("shares", "accept", f"{alice}:team")
    assert carol_cli.out("cat", f"{alice}:team/plan.txt") == "the plan\n"
    reply = tmp_path / "reply.bin"
    reply.write_bytes(os.urandom(MiB + 77))
    carol_cli.run("put", str(reply), f"{alice}:team")

    # the browser sees it arrive (the change feed), checks carol's signatures, downloads it
    page.get_by_role("button", name="team", exact=True).click()
    web.row("reply.bin").wait_for()
    got = download(web, lambda: web.action("reply.bin", "Download"), tmp_path / "got.bin")
    assert got == reply.read_bytes()

    # write access taken away: the folder gets new keys, everything is signed again
    shared(web)
    page.get_by_label(f"Access of {carol} to /team").select_option("read")
    page.get_by_role("button", name="Change", exact=True).click()
    page.locator("#notices").get_by_text(f"Shared team with {carol} (read)").wait_for()
    web.shot("shared-by-you")
    back = tmp_path / "back.bin"
    carol_cli.run("get", f"{alice}:team/reply.bin", str(back))
    assert back.read_bytes() == reply.read_bytes()
    refused = carol_cli.run("put", str(reply), f"{alice}:team/again.bin", check=False)
    assert refused.returncode == 4
    # the owner's CLI checks the re-signed, re-keyed tree
    alice_cli = cli_for(alice)
    assert alice_cli.out("cat", "team/plan.txt") == "the plan\n"

    # revoked: carol is out, the browser still reads everything
    page.get_by_role("button", name=f"Stop sharing /team with {carol}").click()
    page.get_by_role("button", name="Stop sharing", exact=True).click()
    page.locator("#notices").get_by_text(f"{carol} no longer has access to /team").wait_for()
    gone = carol_cli.run("ls", f"{alice}:team", check=False)
    assert gone.returncode == 3
    web.files()
    page.get_by_role("button", name="team", exact=True).click()
    got = download(web, lambda: web.action("reply.bin", "Download"), tmp_path / "again.bin")
    assert got == reply.read_bytes()

    # carol's keys change (as a server attack would make them): a loud warning, no sharing
    page.evaluate(
        """() => {
          const k = Object.keys(localStorage).find((k) => k.startsWith("coffre.pins."));
          const pins = JSON.parse(localStorage.getItem(k));
          for (const pin of Object.values(pins)) {
            pin.published = (pin.published[0] === "A" ? "B" : "A") + pin.published.slice(1);
          }
          localStorage.setItem(k, JSON.stringify(pins));
        }"""
    )
    contacts(web)
    page.get_by_text(f"the keys of {carol} changed").wait_for()
    contact_row(web, carol).get_by_text("KEYS CHANGED").wait_for()
    web.shot("contacts-keys-changed")
    web.files()
    web.action("team", "Share with a contact…")
    dialog = page.get_by_role("dialog", name="Share team")
    dialog.get_by_role("button", name="Share", exact=True).click()
    page.locator(".notice-error").get_by_text(f"The keys of {carol} changed").wait_for()
    dialog.get_by_role("button", name="Cancel").click()
    assert "team" not in carol_cli.out("shares")
    # compared again and trusted: verified
    contacts(web)
    contact_row(web, carol).get_by_role("button", name=f"Verify {carol}").click()
    page.get_by_role("button", name="Trust the new keys").click()
    contact_row(web, carol).get_by_text("Verified", exact=True).wait_for()
