"""The file manager in Chromium: uploads and downloads checked byte for byte, both ways with
the CLI; folders, moves, copies, versions, the rubbish bin, previews, live updates, and the
errors people must see (a tampered chunk, a full quota)."""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import blob_files
from tests.e2e.conftest import Cli, Server
from tests.web.conftest import QUOTA, Web, check_and_close, new_web, playwright_sync

MiB = 1024 * 1024


def data(size: int, seed: int = 0) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[seed : seed + size]


def download(web: Web, click: Callable[[], None], dest: Path) -> bytes:
    with web.page.expect_download() as info:
        click()
    info.value.save_as(dest)
    return dest.read_bytes()


def test_upload_and_download_with_the_cli(
    web: Web, tmp_path: Path, cli_for: Callable[[str], Cli]
) -> None:
    page = web.page
    email = web.signup()
    web.files()
    small = tmp_path / "notes.txt"
    small.write_text("Bonjour, Coffre! é ✓\n" * 10, encoding="utf-8")
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(3 * MiB + 12345))  # four chunks of 1 MiB
    page.set_input_files("#upload-files", [str(small), str(large)])
    web.row("large.bin").wait_for()
    web.row("notes.txt").wait_for()
    page.locator(".transfer[data-state=done]").wait_for(state="attached")
    web.shot("files-list")

    # the CLI reads what the browser wrote
    cli = cli_for(email)
    cli.run("get", "large.bin", str(tmp_path / "from-cli.bin"))
    assert (tmp_path / "from-cli.bin").read_bytes() == large.read_bytes()
    assert cli.run("cat", "notes.txt").stdout == small.read_bytes()

    # the browser reads what the CLI wrote, and sees it arrive without a reload
    theirs = tmp_path / "from-cli-upload.bin"
    theirs.write_bytes(os.urandom(2 * MiB + 777))
    cli.run("put", str(theirs), "cli.bin")
    web.row("cli.bin").wait_for()
    got = download(web, lambda: web.action("cli.bin", "Download"), tmp_path / "got.bin")
    assert got == theirs.read_bytes()
    got = download(web, lambda: web.action("notes.txt", "Download"), tmp_path / "n.txt")
    assert got == small.read_bytes()
    page.locator(".transfer[data-kind=download][data-state=done]").first.wait_for(state="attached")
    page.get_by_text("Transfers", exact=True).click()  # finished: the panel folded itself
    web.shot("transfers")


def test_folders_move_copy_versions_zip(
    web: Web, tmp_path: Path, cli_for: Callable[[str], Cli]
) -> None:
    page = web.page
    email = web.signup()
    web.files()
    # a folder upload (the folder picker), with a subfolder
    top = tmp_path / "photos"
    (top / "2026").mkdir(parents=True)
    (top / "a.txt").write_bytes(b"first file\n")
    (top / "2026" / "b.bin").write_bytes(data(1536 * 1024, 7))  # two chunks
    page.set_input_files("#upload-folder", str(top))
    web.row("photos").wait_for()

    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("Archive")
    page.get_by_role("button", name="Create").click()
    web.row("Archive").wait_for()

    # rename
    web.action("Archive", "Rename…")
    page.get_by_label("New name").fill("Old stuff")
    page.get_by_role("button", name="Rename").click()
    web.row("Old stuff").wait_for()

    # open the folder, see its contents and breadcrumbs
    page.get_by_role("button", name="photos", exact=True).click()
    page.get_by_role("heading", name="photos").wait_for()
    web.row("2026").wait_for()
    web.row("a.txt").wait_for()
    web.shot("folder")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="My files").click()
    page.get_by_role("heading", name="My files").wait_for()

    # the same name again: a new version
    again = tmp_path / "v" / "report.txt"
    again.parent.mkdir()
    again.write_text("version one\n")
    page.set_input_files("#upload-files", str(again))
    web.row("report.txt").wait_for()
    again.write_text("version two, longer\n")
    page.set_input_files("#upload-files", str(again))
    page.locator(".transfer[data-state=done]").nth(2).wait_for(state="attached")
    web.action("report.txt", "Versions…")
    dialog = page.get_by_role("dialog", name="Versions of report.txt")
    dialog.get_by_text("2 (current)").wait_for()
    got = download(
        web,
        lambda: dialog.get_by_role("button", name="Download version 1").click(),
        tmp_path / "v1.txt",
    )
    assert got == b"version one\n"
    web.shot("versions")
    dialog.get_by_role("button", name="Close").first.click()

    # drag a file onto a folder: a move
    web.row("report.txt").drag_to(web.row("Old stuff"))
    web.row("report.txt").wait_for(state="detached")
    # copy a folder into another
    web.action("photos", "Copy to…")
    page.get_by_role("dialog").get_by_label("Old stuff").check()
    page.get_by_role("button", name="Copy here").click()
    cli = cli_for(email)
    cli_tree = ""
    for _ in range(50):
        cli_tree = cli.out("tree")
        if "Old stuff" in cli_tree and cli_tree.count("b.bin") == 2:
            break
        page.wait_for_timeout(100)
    assert "report.txt" in cli.out("ls", "Old stuff")
    assert cli.run("cat", "Old stuff/photos/2026/b.bin").stdout == data(1536 * 1024, 7)

    # search by name (names are decrypted in the browser)
    page.get_by_label("Search files by name").fill("b.bin")
    page.get_by_label("Search files by name").press("Enter")
    page.get_by_role("heading", name="Search results for “b.bin”").wait_for()
    assert page.locator("tbody tr").count() == 2
    web.shot("search")
    web.files()

    # the grid view
    page.get_by_role("button", name="Grid", exact=True).click()
    page.locator(".grid-item").first.wait_for()
    web.shot("files-grid")
    page.get_by_role("button", name="List", exact=True).click()

    # a folder as a zip built in the browser
    got = download(web, lambda: web.action("photos", "Download as zip"), tmp_path / "p.zip")
    with zipfile.ZipFile(io.BytesIO(got)) as z:
        assert z.testzip() is None
        assert z.read("photos/a.txt") == b"first file\n"
        assert z.read("photos/2026/b.bin") == data(1536 * 1024, 7)
        assert "photos/2026/" in z.namelist()


def test_a_menu_acts_on_the_latest_version_before_the_list_is_drawn_again(
    web: Web, tmp_path: Path, cli_for: Callable[[str], Cli]
) -> None:
    """The list is drawn again a moment after the drive changes; a menu opened in between
    must not show or download the version that was current when the row was drawn."""
    page = web.page
    email = web.signup()
    web.files()
    first = tmp_path / "report.txt"
    first.write_text("version one\n")
    page.set_input_files("#upload-files", str(first))
    web.row("report.txt").wait_for()
    # Time stops in the page: the redraw, 50 ms after a change, never comes.
    page.clock.install()
    page.clock.pause_at(datetime.datetime.now() + datetime.timedelta(hours=1))
    second = tmp_path / "second.txt"
    second.write_text("version two, longer\n")
    cli_for(email).run("put", str(second), "report.txt")
    # The drive reads the tree again (and has version 2); the rows drawn before stay.
    page.evaluate("async () => (await import('/web/app/main.js')).app.drive.load()")
    web.action("report.txt", "Versions…")
    dialog = page.get_by_role("dialog", name="Versions of report.txt")
    dialog.get_by_text("2 (current)").wait_for()
    dialog.get_by_role("button", name="Close").first.click()
    got = download(web, lambda: web.action("report.txt", "Download"), tmp_path / "got.txt")
    assert got == b"version two, longer\n"


def test_rubbish_bin(web: Web, tmp_path: Path) -> None:
    page = web.page
    web.signup()
    web.files()
    for name in ("keep.txt", "bin-me.txt"):
        (tmp_path / name).write_text(name)
    page.set_input_files(
        "#upload-files", [str(tmp_path / "keep.txt"), str(tmp_path / "bin-me.txt")]
    )
    web.row("bin-me.txt").wait_for()
    # keyboard: move to the row and press Delete
    page.get_by_role("button", name="bin-me.txt", exact=True).focus()
    page.keyboard.press("Delete")
    web.row("bin-me.txt").wait_for(state="detached")
    web.action("keep.txt", "Move to rubbish bin")
    web.row("keep.txt").wait_for(state="detached")

    page.get_by_role("link", name="Rubbish bin").click()
    page.get_by_role("heading", name="Rubbish bin").wait_for()
    web.row("keep.txt").wait_for()
    web.shot("rubbish")
    page.get_by_role("button", name="Restore keep.txt").click()
    web.row("keep.txt").wait_for(state="detached")
    page.get_by_role("button", name="Empty rubbish bin").click()
    page.get_by_role("button", name="Empty the bin").click()
    page.get_by_text("The rubbish bin is empty.").first.wait_for()
    web.files()
    web.row("keep.txt").wait_for()
    assert web.row("bin-me.txt").count() == 0


def test_tampered_chunk_is_an_error_and_no_file(
    web: Web, tmp_path: Path, cli_for: Callable[[str], Cli]
) -> None:
    page = web.page
    email = web.signup()
    web.files()
    cli = cli_for(email)
    original = tmp_path / "precious.bin"
    original.write_bytes(os.urandom(2 * MiB + 100))  # three chunks, kept as blobs on disk
    cli.run("put", str(original), "precious.bin")
    web.row("precious.bin").wait_for()
    blobs = web.server.data / "blobs"
    contents = [p.name for p in blobs.glob("*/*") if p.is_dir()]
    flipped = 0
    for content in contents:  # flip one byte of chunk 1
        with contextlib.suppress(AssertionError):  # a content of one chunk
            raw = bytearray(blob_files.read_chunk(blobs, content, 1))
            raw[100] ^= 0x01
            blob_files.write_chunk(blobs, content, 1, bytes(raw))
            flipped += 1
    assert flipped, "the chunk is not where the local blob store keeps it"
    downloads: list[object] = []
    page.on("download", lambda d: downloads.append(d))  # noqa: PLW0108 - not a builtin
    web.action("precious.bin", "Download")
    page.get_by_text("Integrity check failed").first.wait_for()
    page.locator(".transfer[data-state=failed]").wait_for(state="attached")
    web.shot("tampered")
    page.wait_for_timeout(500)
    assert downloads == []


def test_quota_exceeded_is_a_clear_error(web: Web, tmp_path: Path) -> None:
    page = web.page
    web.signup()
    web.files()
    big = tmp_path / "too-big.bin"
    with big.open("wb") as f:
        f.truncate(QUOTA + MiB)
    page.set_input_files("#upload-files", str(big))
    page.get_by_text("Not enough storage space").first.wait_for()
    assert web.row("too-big.bin").count() == 0


def test_previews(web: Web, tmp_path: Path) -> None:
    page = web.page
    web.signup()
    web.files()
    png = tmp_path / "pixel.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000010000000100806000000"
            "1ff3ff610000001749444154789c63fccf40063052c520a30603f50100"
            "b54d1ff1e5c9af5a0000000049454e44ae426082"
        )
    )
    text = tmp_path / "poem.txt"
    text.write_text("Le vent se lève, il faut tenter de vivre.\n", encoding="utf-8")
    page.set_input_files("#upload-files", [str(png), str(text)])
    web.row("poem.txt").wait_for()
    web.row("pixel.png").wait_for()
    page.get_by_role("button", name="poem.txt", exact=True).click()
    page.get_by_label("Contents of poem.txt").get_by_text("il faut tenter de vivre").wait_for()
    web.shot("preview-text")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="pixel.png", exact=True).click()
    image = page.get_by_role("dialog").get_by_role("img", name="pixel.png")
    image.wait_for()
    assert page.evaluate("document.querySelector('.preview-image').naturalWidth") == 16
    page.keyboard.press("Escape")
    # grid view: the thumbnail is made in the browser from the decrypted image
    page.get_by_role("button", name="Grid", exact=True).click()
    page.locator(".grid-item img.thumbnail").wait_for()
    page.get_by_role("button", name="List", exact=True).click()


@pytest.mark.parametrize("width", [375])
def test_phone_width(web: Web, tmp_path: Path, width: int) -> None:
    page = web.page
    page.set_viewport_size({"width": width, "height": 740})
    web.signup()
    web.files()
    (tmp_path / "a file with a rather long name, to see it wrap.txt").write_text("x")
    page.set_input_files(
        "#upload-files", str(tmp_path / "a file with a rather long name, to see it wrap.txt")
    )
    web.row("a file with a rather long name").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    web.shot("phone-files")
    page.get_by_role("link", name="Account").click()
    page.get_by_role("heading", name="Account", exact=True).wait_for()
    page.get_by_text("Storage used").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    web.shot("phone-account")


def _noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: large (it does not compress), for a thumbnail smaller than it."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def test_thumbnails_are_stored_encrypted(
    web: Web, browser: playwright_sync.Browser, server: Server, tmp_path: Path
) -> None:
    """The first tab makes an image's thumbnail and stores it sealed; a second browser then
    shows it without downloading the image, and the server's copy holds no image bytes."""
    page = web.page
    email = web.signup()
    web.files()
    photo = tmp_path / "noise.png"
    photo.write_bytes(_noise_png(640, 480))
    page.set_input_files("#upload-files", str(photo))
    web.row("noise.png").wait_for()
    with page.expect_request(
        lambda r: r.method == "PUT" and r.url.endswith("/thumbnail")
    ) as stored:
        page.get_by_role("button", name="Grid", exact=True).click()
        page.locator(".grid-item img.thumbnail").wait_for()
    sealed = stored.value.post_data_buffer or b""
    assert 100 < len(sealed) < photo.stat().st_size
    assert b"WEBP" not in sealed and b"RIFF" not in sealed  # sealed, not an image
    other = new_web(browser, server, viewport={"width": 1280, "height": 800})
    try:
        other.login(email)
        other.page.get_by_role("button", name="Grid", exact=True).click()
        other.page.locator(".grid-item img.thumbnail").wait_for()
        other.page.wait_for_function(
            "document.querySelector('.grid-item img.thumbnail').naturalWidth > 0"
        )
        assert [u for u in other.requests if u.endswith("/thumbnail")]
        assert not [u for u in other.requests if "/chunks" in u or "/versions/small" in u]
        other.shot("files-grid-thumbnails")
    finally:
        check_and_close(other)
