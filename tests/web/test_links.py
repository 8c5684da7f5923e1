"""Public links in the browser: links made with the CLI opened in a fresh browser context
(no account) and downloaded byte for byte, a folder link browsed, a password link, the pages
of links that no longer work; and a link made in the browser fetched with ``coffre link get``.
The link key, which lives in the URL's fragment, must never reach the server."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Cli, Server
from tests.web.conftest import Web, playwright_sync, visitor
from tests.web.test_files import MiB, data, download


def watch(web: Web) -> list[bytes]:
    """Everything the page sends: URLs, headers and bodies, to look for a secret in."""
    sent: list[bytes] = []

    def record(request: playwright_sync.Request) -> None:
        sent.append(request.url.encode())
        sent.extend(f"{k}: {v}".encode() for k, v in request.headers.items())
        sent.append(request.post_data_buffer or b"")

    web.page.on("request", record)
    return sent


def never_sent(sent: list[bytes], secret: str) -> None:
    assert sent
    assert not [s for s in sent if secret.encode() in s]


def test_file_link_from_the_cli(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    cli, _ = cli_user()
    original = tmp_path / "report.pdf"
    original.write_bytes(os.urandom(2 * MiB + 3000))  # three chunks
    cli.run("put", str(original), "report.pdf")
    url = cli.out("link", "create", "report.pdf").strip()
    key = url.split("#", 1)[1]
    with visitor(browser, server) as v:
        sent = watch(v)
        v.page.goto(url)
        v.page.get_by_role("heading", name="report.pdf").wait_for()
        assert v.page.locator("#link-size").text_content() == "2.0 MiB"
        assert v.page.get_by_text("PDF (application/pdf)").is_visible()
        v.shot("link-file")
        got = download(
            v,
            lambda: v.page.get_by_role("button", name="Download", exact=True).click(),
            tmp_path / "got.pdf",
        )
        assert got == original.read_bytes()
        never_sent(sent, key)


def test_folder_link_browsed_and_downloaded(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    cli, _ = cli_user()
    top = tmp_path / "album"
    (top / "2026" / "summer").mkdir(parents=True)
    (top / "readme.txt").write_text("Photos from the trip.\n")
    (top / "2026" / "beach.bin").write_bytes(data(1536 * 1024, 3))  # two chunks
    (top / "2026" / "summer" / "tiny.txt").write_text("tiny")
    cli.run("put", str(top), "/")
    url = cli.out("link", "create", "album").strip()
    with visitor(browser, server) as v:
        page = v.page
        page.goto(url)
        page.get_by_role("heading", name="album").wait_for()
        page.get_by_text("3 files").wait_for()
        page.get_by_role("button", name="2026", exact=True).click()
        page.get_by_role("navigation", name="Breadcrumb").get_by_text("2026").wait_for()
        v.shot("link-folder")
        got = download(
            v,
            lambda: page.get_by_role("button", name="Download beach.bin").click(),
            tmp_path / "beach.bin",
        )
        assert got == data(1536 * 1024, 3)
        page.get_by_role("navigation", name="Breadcrumb").get_by_role(
            "button", name="album"
        ).click()
        page.get_by_role("button", name="Download readme.txt").wait_for()
        got = download(
            v,
            lambda: page.get_by_role("button", name="Download all as zip").click(),
            tmp_path / "album.zip",
        )
        with zipfile.ZipFile(io.BytesIO(got)) as z:
            assert z.testzip() is None
            assert z.read("album/readme.txt") == b"Photos from the trip.\n"
            assert z.read("album/2026/beach.bin") == data(1536 * 1024, 3)
            assert z.read("album/2026/summer/tiny.txt") == b"tiny"


def test_password_link(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    cli, _ = cli_user()
    secret = tmp_path / "secret.txt"
    secret.write_text("for your eyes only\n")
    cli.run("put", str(secret), "secret.txt")
    url = cli.out(
        "link", "create", "secret.txt", "--password-stdin", input="open sesame, please\n"
    ).strip()
    assert "#" not in url
    with visitor(browser, server) as v:
        sent = watch(v)
        page = v.page
        page.goto(url)
        page.get_by_role("heading", name="This link is protected by a password").wait_for()
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Open").click()
        page.get_by_text("Wrong password.").wait_for()
        v.shot("link-password-wrong")
        page.get_by_label("Password").fill("open sesame, please")
        page.get_by_role("button", name="Open").click()
        page.get_by_role("heading", name="secret.txt").wait_for()
        got = download(
            v,
            lambda: page.get_by_role("button", name="Download", exact=True).click(),
            tmp_path / "got.txt",
        )
        assert got == b"for your eyes only\n"
        never_sent(sent, "open sesame")


def test_links_that_do_not_open(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    cli, _ = cli_user()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "gone.txt").write_text("gone")
    cli.run("put", str(tmp_path / "a.txt"), str(tmp_path / "gone.txt"), "/")
    revoked = cli.out("link", "create", "a.txt").strip()
    cli.run("link", "revoke", revoked)
    deleted = cli.out("link", "create", "gone.txt").strip()
    cli.run("rm", "gone.txt")
    working = cli.out("link", "create", "a.txt").strip()
    bare, key = working.split("#", 1)
    expiring = cli.out("link", "create", "a.txt", "--expires", "1s").strip()
    made = time.monotonic()
    with visitor(browser, server) as v:
        page = v.page
        page.goto(revoked)
        page.get_by_role("heading", name="This link was turned off").wait_for()
        v.shot("link-revoked")
        page.goto(deleted)
        page.get_by_role("heading", name="This file or folder is no longer available").wait_for()
        page.goto(server.url + "/s/0123456789abcdef0123456789abcdef#" + key)
        page.get_by_role("heading", name="This link does not exist").wait_for()
        v.shot("link-not-found")
        # another valid-looking key: the server says the proof is wrong
        other = ("B" if key[0] == "A" else "A") + key[1:]
        page.goto(f"{bare}#{other}")
        page.get_by_role("heading", name="This link's key is wrong").wait_for()
        # the key sent apart (coffre link create --no-key): asked for, then the link opens
        page.goto(bare)
        page.get_by_role("heading", name="This link is missing its key").wait_for()
        page.get_by_label("Link key").fill(key)
        page.get_by_role("button", name="Open").click()
        page.get_by_role("heading", name="a.txt").wait_for()
        time.sleep(max(0.0, made + 1.5 - time.monotonic()))
        page.goto(expiring)
        page.get_by_role("heading", name="This link has expired").wait_for()


def test_link_made_in_the_browser(web: Web, tmp_path: Path, server: Server) -> None:
    page = web.page
    web.signup()
    web.files()
    original = tmp_path / "plans.bin"
    original.write_bytes(os.urandom(MiB + 4321))  # two chunks
    page.set_input_files("#upload-files", str(original))
    web.row("plans.bin").wait_for()

    web.action("plans.bin", "Get a link…")
    dialog = page.get_by_role("dialog", name="Link to plans.bin")
    dialog.get_by_label("Expires").select_option(label="In 7 days")
    dialog.get_by_role("button", name="Create link").click()
    url = dialog.get_by_label("Link", exact=True).input_value()
    assert url.startswith(server.url + "/s/") and "#" in url
    web.shot("link-created")
    dialog.get_by_role("button", name="Done").click()

    web.action("plans.bin", "Get a link…")
    dialog = page.get_by_role("dialog", name="Link to plans.bin")
    dialog.get_by_label("Protect with a password").check()
    dialog.get_by_label("Link password").fill("a shared secret")
    dialog.get_by_role("button", name="Create link").click()
    protected = dialog.get_by_label("Link", exact=True).input_value()
    assert "#" not in protected
    dialog.get_by_role("button", name="Done").click()

    # anyone, with no account, fetches them with the CLI
    anyone = Cli(tmp_path / "anyone", server)
    anyone.run("link", "get", url, str(tmp_path / "one.bin"), "-q")
    assert (tmp_path / "one.bin").read_bytes() == original.read_bytes()
    anyone.run(
        "link",
        "get",
        protected,
        str(tmp_path / "two.bin"),
        "-q",
        "--password-stdin",
        input="a shared secret\n",
    )
    assert (tmp_path / "two.bin").read_bytes() == original.read_bytes()

    # the Links page: both, with their downloads; revoke the first
    page.get_by_role("link", name="Links", exact=True).click()
    page.get_by_role("heading", name="Links", exact=True).wait_for()
    rows = page.locator(".links-table tbody tr")
    assert rows.count() == 2
    assert "password" in (rows.nth(0).text_content() or "")
    assert rows.nth(1).locator("td").nth(2).text_content() == "1"
    web.shot("links")
    rows.nth(1).get_by_role("button", name="Revoke the link to /plans.bin").click()
    page.get_by_role("button", name="Revoke", exact=True).click()
    rows.nth(1).get_by_text("Revoked", exact=True).wait_for()
    gone = anyone.run("link", "get", url, str(tmp_path / "three.bin"), check=False)
    assert gone.returncode == 3


def test_upload_only_link_in_the_browser(
    browser: playwright_sync.Browser,
    server: Server,
    tmp_path: Path,
    cli_user: Callable[[], tuple[Cli, str]],
) -> None:
    """A visitor with no account sends two files through a request made with the CLI; the
    owner's CLI reads them byte for byte. The visitor sees nothing of the folder, and the
    request's key never reaches the server."""
    cli, _ = cli_user()
    cli.run("mkdir", "inbox")
    private = tmp_path / "already.txt"
    private.write_text("not for visitors")
    cli.run("put", str(private), "inbox")
    url = cli.out("link", "request", "inbox").strip()
    key = url.split("#", 1)[1]
    big = tmp_path / "scan.pdf"
    big.write_bytes(os.urandom(5 * MiB + 17))  # six chunks, two ranged PUTs
    note = tmp_path / "note.txt"
    note.write_text("for you, from the browser\n")
    with visitor(browser, server) as v:
        sent = watch(v)
        v.page.goto(url)
        v.page.get_by_role("heading", name="Send files").wait_for()
        assert "already.txt" not in (v.page.text_content("main") or "")
        v.page.set_input_files("#request-files", [str(big), str(note)])
        v.page.get_by_role("button", name="Send", exact=True).click()
        v.page.get_by_text("2 of 2 files sent.").wait_for()
        v.shot("link-request")
        never_sent(sent, key)
    assert cli.out("ls", "inbox").split() == ["already.txt", "note.txt", "scan.pdf"]
    back = tmp_path / "back.pdf"
    cli.run("get", "inbox/scan.pdf", str(back))
    assert back.read_bytes() == big.read_bytes()
    assert cli.out("cat", "inbox/note.txt") == note.read_text()
