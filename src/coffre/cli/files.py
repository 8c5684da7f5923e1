"""Tree commands: ls, tree, find, du, df, mkdir, mv, cp, rm, rubbish, versions."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import click

from coffre.cli.context import CliContext, pass_cli
from coffre.cli.output import human_size, local_time, table
from coffre.client.download import Downloader
from coffre.client.drive import Drive, Entry, Tree, split_path
from coffre.errors import Conflict, NotFound, UsageError


def _mtime(entry: Entry) -> str:
    return local_time(entry.version.mtime_ms / 1000) if entry.version else "-"


def long_row(entry: Entry) -> list[str]:
    if entry.is_folder:
        return ["d", "-", "-", "-", entry.name + "/"]
    versions = entry.record.versions if entry.record else 1
    return ["-", str(entry.size), _mtime(entry), f"v{versions}", entry.name]


@click.command()
@click.option("-l", "long", is_flag=True, help="Also show type, size, modification time, versions.")
@click.argument("path", default="/")
@pass_cli
def ls(cli: CliContext, long: bool, path: str) -> None:
    """List a folder (one name a line)."""
    drive, path = cli.locate(path)
    entry = drive.resolve(path)
    entries = drive.children(entry) if entry.is_folder else [entry]
    if long:
        table([long_row(e) for e in entries], right=frozenset({1}))
    else:
        for e in entries:
            click.echo(e.name)


@click.command()
@click.argument("path", default="/")
@pass_cli
def tree(cli: CliContext, path: str) -> None:
    """Draw a folder and everything in it."""
    drive, path = cli.locate(path)
    whole = drive.tree()
    top = _find_in(whole, path)
    click.echo(top.name or "/")

    def draw(folder: Entry, prefix: str) -> None:
        kids = [k for k in whole.listing(folder) if not k.trashed]
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            click.echo(
                f"{prefix}{'└── ' if last else '├── '}{kid.name}{'/' if kid.is_folder else ''}"
            )
            if kid.is_folder:
                draw(kid, prefix + ("    " if last else "│   "))

    if top.is_folder:
        draw(top, "")


def _find_in(whole: Tree, path: str) -> Entry:
    entry = whole.root
    for part in split_path(path):
        match = [k for k in whole.listing(entry) if k.name == part and not k.trashed]
        if not match:
            raise NotFound("not_found", f"{path}: no such file or folder")
        entry = match[0]
    return entry


@click.command()
@click.argument("pattern")
@click.option("--path", "path", default="/", help="Search below this folder only.")
@pass_cli
def find(cli: CliContext, pattern: str, path: str) -> None:
    """Print the paths of files and folders whose name matches PATTERN (shell-style: *.txt)."""
    drive, path = cli.locate(path)
    whole = drive.tree()
    top = _find_in(whole, path)
    base = whole.path(top).rstrip("/")
    for rel, entry in whole.walk(top):
        if fnmatch.fnmatchcase(entry.name, pattern):
            click.echo(f"{base}/{rel}" + ("/" if entry.is_folder else ""))


@click.command()
@click.option("--bytes", "in_bytes", is_flag=True, help="Sizes in bytes.")
@click.argument("path", default="/")
@pass_cli
def du(cli: CliContext, in_bytes: bool, path: str) -> None:
    """Size of the files in a folder (current versions), per item and in total."""
    drive, path = cli.locate(path)
    whole = drive.tree()
    top = _find_in(whole, path)
    fmt = str if in_bytes else human_size
    rows: list[list[str]] = []
    total = 0
    for child in whole.listing(top) if top.is_folder else [top]:
        if child.trashed:
            continue
        size = (
            child.size + sum(e.size for _, e in whole.walk(child))
            if child.is_folder
            else child.size
        )
        total += size
        rows.append([fmt(size), child.name + ("/" if child.is_folder else "")])
    rows.append([fmt(total), "total"])
    table(rows, right=frozenset({0}))


@click.command()
@pass_cli
def df(cli: CliContext) -> None:
    """Storage used and left, by category (ciphertext bytes, as the quota counts them)."""
    drive = cli.drive()
    u = drive.api.usage()
    left = max(0, u.storage_quota - u.storage_used)
    rows = [
        ["used", human_size(u.storage_used)],
        ["  files", human_size(u.files)],
        ["  older versions", human_size(u.versions)],
        ["  rubbish bin", human_size(u.rubbish)],
        ["uploading", human_size(u.uploading)],
        ["quota", human_size(u.storage_quota)],
        ["free", human_size(left)],
    ]
    table(rows, right=frozenset({1}))


@click.command()
@click.option(
    "-p", "parents", is_flag=True, help="Make parent folders as needed; no error if it exists."
)
@click.argument("path")
@pass_cli
def mkdir(cli: CliContext, parents: bool, path: str) -> None:
    """Make a folder."""
    drive, path = cli.locate(path)
    parts = split_path(path)
    if not parts:
        raise UsageError("the root folder exists already")
    if parents:
        drive.makedirs(path)
        return
    parent = drive.resolve("/".join(parts[:-1]))
    if not parent.is_folder:
        raise Conflict("not_a_folder", f"{path}: the parent is a file")
    if drive.child(parent, parts[-1]) is not None:
        raise Conflict("exists", f"{path}: already exists")
    drive.mkdir(parent, parts[-1])


def destination(drive: Drive, source: Entry, dst: str) -> tuple[Entry, str]:
    """Where ``source`` goes for ``dst``, by cp's rules: into an existing folder, or renamed."""
    target = drive.resolve_or_none(dst)
    if target is not None and target.is_folder:
        name = source.name
        folder = target
    else:
        parts = split_path(dst)
        if not parts:
            raise UsageError("the root folder cannot be replaced")
        folder = drive.resolve("/".join(parts[:-1]))
        name = parts[-1]
        if not folder.is_folder:
            raise Conflict("not_a_folder", f"{dst}: the parent is a file")
    if drive.child(folder, name) is not None:
        raise Conflict("exists", f"{dst}: {name} already exists there")
    return folder, name


@click.command()
@click.argument("src")
@click.argument("dst")
@pass_cli
def mv(cli: CliContext, src: str, dst: str) -> None:
    """Move or rename a file or folder."""
    drive, src = cli.locate(src)
    other, dst = cli.locate(dst)
    if type(other) is not type(drive) or drive.root().id != other.root().id:
        raise UsageError("mv moves within one tree; use cp (then rm) between trees")
    source = drive.resolve(src)
    if source.parent_id is None or source.id == drive.root().id:
        raise UsageError("the root folder cannot be moved")
    folder, name = destination(drive, source, dst)
    drive.move(source, folder, name)


@click.command()
@click.argument("src")
@click.argument("dst")
@pass_cli
def cp(cli: CliContext, src: str, dst: str) -> None:
    """Copy a file or a folder (with all it contains); no content is sent again."""
    source_drive, src = cli.locate(src)
    drive, dst = cli.locate(dst)
    source = source_drive.resolve(src)
    if source.parent_id is None:
        raise UsageError("copy the root folder's contents instead")
    folder, name = destination(drive, source, dst)
    drive.copy(source, folder, name, source_drive=source_drive)


@click.command()
@click.option("-r", "recursive", is_flag=True, help="Remove folders and what they contain.")
@click.argument("paths", nargs=-1, required=True)
@pass_cli
def rm(cli: CliContext, recursive: bool, paths: tuple[str, ...]) -> None:
    """Move files or folders to the rubbish bin."""
    located = [cli.locate(p) for p in paths]
    entries = [drive.resolve(p) for drive, p in located]
    for path, entry in zip(paths, entries, strict=True):
        if entry.parent_id is None:
            raise UsageError("the root folder cannot be removed")
        if entry.is_folder and not recursive:
            raise UsageError(f"{path}: is a folder (use -r)")
    for (drive, _), entry in zip(located, entries, strict=True):
        if entry.id == drive.root().id:
            raise UsageError("a shared folder itself is removed by its owner")
        drive.trash(entry)


@click.group(invoke_without_command=True)
@click.pass_context
def rubbish(ctx: click.Context) -> None:
    """The rubbish bin: ls (the default), restore PATH, rm PATH, empty."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(rubbish_ls)


@rubbish.command("ls")
@pass_cli
def rubbish_ls(cli: CliContext) -> None:
    """List what is in the bin, with the path it came from."""
    drive = cli.drive()
    rows = [
        [
            local_time(e.record.trashed or 0) if e.record else "-",
            path + ("/" if e.is_folder else ""),
        ]
        for path, e in drive.rubbish()
    ]
    table(rows)


@rubbish.command("restore")
@click.argument("path")
@pass_cli
def rubbish_restore(cli: CliContext, path: str) -> None:
    """Put PATH (as listed) back where it was."""
    drive = cli.drive()
    drive.api.restore(drive.find_in_rubbish(path).id)


@rubbish.command("rm")
@click.argument("path")
@pass_cli
def rubbish_rm(cli: CliContext, path: str) -> None:
    """Delete PATH from the bin for good."""
    drive = cli.drive()
    drive.api.delete(drive.find_in_rubbish(path).id)


@rubbish.command("empty")
@pass_cli
def rubbish_empty(cli: CliContext) -> None:
    """Delete everything in the bin for good."""
    cli.drive().api.empty_rubbish()


@click.command()
@click.argument("path")
@click.option("--get", "get", nargs=2, metavar="N LOCAL", help="Download version N to LOCAL.")
@click.option("--rm", "remove", type=int, metavar="N", help="Delete version N.")
@pass_cli
def versions(cli: CliContext, path: str, get: tuple[str, str] | None, remove: int | None) -> None:
    """List a file's versions; download or delete one."""
    drive, path = cli.locate(path)
    entry = drive.resolve(path)
    found = drive.versions(entry)

    def pick(number: int) -> int:
        for i, (record, _) in enumerate(found):
            if record.number == number:
                return i
        raise NotFound("version_not_found", f"{path}: no version {number}")

    if get:
        try:
            number = int(get[0])
        except ValueError:
            raise UsageError(f"{get[0]}: not a version number") from None
        record, info = found[pick(number)]
        local = Path(get[1])
        if local.is_dir():
            local = local / entry.name
        Downloader(drive.api).to_file(record, info, local)
        return
    if remove is not None:
        record, _ = found[pick(remove)]
        drive.api.delete_version(record.id)
        return
    current = entry.record.version.id if entry.record and entry.record.version else None
    rows = [
        [
            f"v{record.number}",
            str(info.size),
            local_time(info.mtime_ms / 1000),
            "current" if record.id == current else "",
        ]
        for record, info in found
    ]
    table(rows, right=frozenset({1}))
