"""``coffre link``: create, list, revoke and fetch public links."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from coffre.cli.context import CliContext, pass_cli, retry_for
from coffre.cli.output import local_time, table
from coffre.cli.transfer import GET_RANGES, GET_WORKERS, download, plan_folder, quiet_option
from coffre.client import links
from coffre.client.api import Api
from coffre.client.download import Downloader
from coffre.crypto import links as cl
from coffre.crypto.nodes import check_name
from coffre.errors import LocalError, UsageError

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


MAX_DURATION = 100 * 365 * 86400
"""The longest --expires: a link that should outlive this should not expire at all."""


def parse_duration(text: str) -> int:
    match = _DURATION.match(text.strip().lower())
    digits = match.group(1).lstrip("0") if match else ""
    if match is None or not digits:
        raise UsageError(f"{text!r} is not a duration (like 30m, 12h, 7d or 2w)")
    # Past 12 digits no unit is under a century: not read as a number at all (Python
    # refuses to read one of over 4,300 digits).
    seconds = int(digits) * _UNITS[match.group(2)] if len(digits) <= 12 else MAX_DURATION + 1
    if seconds > MAX_DURATION:
        raise UsageError(f"{text!r} is longer than 100 years; leave --expires out for no expiry")
    return seconds


@click.group()
def link() -> None:
    """Public links: anyone with the link (and its password, if any) can download."""


@link.command("create")
@click.argument("path")
@click.option(
    "--password-stdin", is_flag=True, help="Protect the link with a password read from stdin."
)
@click.option(
    "--password", "ask_password", is_flag=True, help="Protect it with a password (prompt)."
)
@click.option("--expires", metavar="DURATION", help="Stop working after this long (30m, 12h, 7d).")
@click.option("--no-key", is_flag=True, help="Print the URL and the key apart, to send separately.")
@pass_cli
def create(
    cli: CliContext,
    path: str,
    password_stdin: bool,
    ask_password: bool,
    expires: str | None,
    no_key: bool,
) -> None:
    """Make a link to a file or folder; the key is only in the part after '#'."""
    drive = cli.drive()
    entry = drive.resolve(path)
    password = None
    if password_stdin or ask_password:
        password = cli.secret(
            "link password", "COFFRE_LINK_PASSWORD", from_stdin=password_stdin, confirm=True
        )
    until = time.time() + parse_duration(expires) if expires else None
    info, url = links.create(drive, entry, password=password, expires=until)
    if no_key and url.key is not None:
        click.echo(links.format_url(url.base, url.link_id, None))
        click.echo(f"key: {cl.encode_key(url.key)}")
    else:
        click.echo(str(url))
    if info.expires:
        click.echo(f"expires {local_time(info.expires)}", err=True)


@link.command("ls")
@pass_cli
def list_links(cli: CliContext) -> None:
    """List your links, with what they point to and how often they were downloaded."""
    drive = cli.drive()
    infos = drive.api.links()
    if not infos:
        return
    tree = drive.tree()
    rows = [["LINK", "WHAT", "DOWNLOADS", "STATE"]]
    for info in infos:
        entry = tree.entries.get(info.node_id)
        what = tree.path(entry) if entry else "(deleted)"
        if info.revoked:
            state = "revoked"
        elif info.expires and info.expires <= time.time():
            state = "expired"
        elif info.expires:
            state = f"until {local_time(info.expires)}"
        else:
            state = "active"
        if info.password:
            state += ", password"
        rows.append([info.id, what, str(info.downloads), state])
    table(rows, right=frozenset({2}))


def _link_id(text: str) -> str:
    if re.fullmatch(r"[0-9a-f]{32}", text.strip()):
        return text.strip()
    return links.parse_url(text).link_id


@link.command("revoke")
@click.argument("link_ref", metavar="LINK")
@pass_cli
def revoke(cli: CliContext, link_ref: str) -> None:
    """Turn a link off (LINK is its URL or its id from 'coffre link ls')."""
    cli.drive().api.revoke_link(_link_id(link_ref))


@link.command("get")
@click.argument("url")
@click.argument("local", required=False, type=click.Path(path_type=Path))
@click.option(
    "--password-stdin", is_flag=True, help="Read the link's password (or key) from stdin."
)
@quiet_option
@pass_cli
def get(cli: CliContext, url: str, local: Path | None, password_stdin: bool, quiet: bool) -> None:
    """Download and decrypt what a link points to (a folder recursively); no account needed."""
    parsed = links.parse_url(url)
    api = Api(parsed.base, retry_for=retry_for())
    password = None
    if links.needs_password(api, parsed):
        password = cli.secret("link password", "COFFRE_LINK_PASSWORD", from_stdin=password_stdin)
    elif parsed.key is None:
        key = cli.secret("link key", "COFFRE_LINK_KEY", from_stdin=password_stdin)
        parsed = links.LinkUrl(parsed.base, parsed.link_id, cl.decode_key(key))
    opened = links.open_link(api, parsed, password=password)
    name = check_name(opened.root.name)
    target = local or Path.cwd()
    dest = target / name if target.is_dir() else target
    if not dest.parent.is_dir():
        raise LocalError(f"{dest.parent}: no such folder")
    if opened.root.is_folder:
        tree = opened.tree()
        jobs = plan_folder(tree, tree.root, dest)
    else:
        jobs = [(opened.root, dest)]
    download(
        Downloader(opened.reader, workers=GET_WORKERS, range_workers=GET_RANGES), jobs, quiet=quiet
    )


@link.command("request")
@click.argument("folder")
@click.option("--expires", metavar="DURATION", help="Stop working after this long (30m, 12h, 7d).")
@pass_cli
def request(cli: CliContext, folder: str, expires: str | None) -> None:
    """Make an upload-only link: anyone with it can add files to FOLDER and see nothing."""
    drive = cli.drive()
    until = time.time() + parse_duration(expires) if expires else None
    _, url = links.create_request(drive, drive.resolve(folder), expires=until)
    click.echo(str(url))


@link.command("upload")
@click.argument("url")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_cli
def upload(cli: CliContext, url: str, files: tuple[Path, ...]) -> None:
    """Upload files through an upload-only link (no account needed)."""
    del cli
    parsed = links.parse_url(url)
    api = Api(parsed.base, retry_for=retry_for())
    for path in files:
        if not path.is_file():
            raise LocalError(f"{path}: not a file")
    for path in files:
        links.upload_to_request(api, parsed, path, check_name(path.name))
        click.echo(f"sent {path.name}")
