"""Transfer commands: put, get, cat."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import click

from coffre.cli.context import CliContext, pass_cli
from coffre.cli.output import progress, shows_progress
from coffre.client.download import Downloader
from coffre.client.download import SmallJob as SmallDownload
from coffre.client.drive import Drive, Entry, Tree, split_path
from coffre.client.upload import SmallJob, Uploader
from coffre.crypto.nodes import check_name
from coffre.errors import Conflict, LocalError, NotFound, UsageError

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
GET_WORKERS = 4
"""Requests a download makes at once (``coffre get``, ``coffre cat``, a link's get): batches
of small files, and a large file's ranges where :data:`GET_RANGES` is not given. An
upload's ranges in flight are :data:`coffre.client.upload.WORKERS`."""
GET_RANGES = 8
"""Ranges of a large file that coffre get fetches at once. The server reads chunks around
the page cache, and a worker waits for its range, then decrypts and writes it, so more
ranges in flight overlap those waits: side by side, 1 GiB, 8 did 379-424 MB/s, 6 381-417
and 4 349-383; the peak 125 MiB against 92."""


def _local_name(path: Path) -> str:
    name = path.resolve().name if path.name in ("", ".", "..") else path.name
    return check_name(name)


def _plan_put(drive: Drive, locals_: list[Path], remote: str) -> list[tuple[Path, Entry, str]]:
    """(local, remote folder, remote name) for each source, by cp's rules."""
    target = drive.resolve_or_none(remote)
    if target is not None and target.is_folder:
        return [(p, target, _local_name(p)) for p in locals_]
    if len(locals_) > 1:
        raise UsageError(f"{remote}: not an existing folder (needed for several sources)")
    parts = split_path(remote)
    if not parts:
        raise UsageError("the root folder cannot be replaced")
    parent = drive.resolve("/".join(parts[:-1]))
    if not parent.is_folder:
        raise Conflict("not_a_folder", f"{remote}: the parent is a file")
    return [(locals_[0], parent, parts[-1])]


def _local_size(path: Path) -> int:
    """The bytes a put of ``path`` sends: the file, or the regular files under the folder
    (symbolic links are skipped, as put skips them)."""
    if not path.is_dir():
        return path.stat().st_size
    total, folders = 0, [str(path)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.argument("remote")
@quiet_option
@pass_cli
def put(cli: CliContext, sources: tuple[Path, ...], remote: str, quiet: bool) -> None:
    """Upload files and folders (recursively) to REMOTE.

    Into REMOTE if it is a folder; otherwise as REMOTE. A file whose name exists becomes
    a new version of it.
    """
    for source in sources:
        _check_source(source)
    drive, remote = cli.locate(remote)
    plan = _plan_put(drive, list(sources), remote)
    total = sum(_local_size(p) for p in sources) if shows_progress(quiet) else 0
    with progress(total, "uploading", quiet=quiet) as advance:
        uploader = Uploader(drive, progress=advance)
        for local, folder, name in plan:
            existing = drive.child(folder, name)
            if local.is_dir():
                _put_folder(drive, uploader, local, folder, name, existing)
            else:
                uploader.put(local, folder, name, existing)


def _check_source(source: Path) -> None:
    """A source named on the command line is a regular file or a folder (symbolic links
    followed): a pipe would wait for a writer for ever, a device has no end."""
    try:
        mode = source.stat().st_mode
    except FileNotFoundError:
        raise LocalError(f"{source}: no such file or folder") from None
    except OSError as exc:
        raise LocalError.of(source, exc) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise LocalError(f"{source}: not a regular file or a folder")


def _put_folder(
    drive: Drive, uploader: Uploader, local: Path, parent: Entry, name: str, existing: Entry | None
) -> None:
    if existing is not None and not existing.is_folder:
        raise Conflict("exists", f"{name}: a file with this name is in the way")
    top = existing or drive.mkdir(parent, name)
    small: list[SmallJob] = []
    stack: list[tuple[Path, Entry, bool]] = [(local, top, existing is None)]
    while stack:
        folder_path, folder, fresh = stack.pop()
        present = {} if fresh else {e.name: e for e in drive.children(folder)}
        # One directory read, and one stat for each file (its size): no more system calls.
        with os.scandir(folder_path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.is_symlink():
                continue
            child, child_name = folder_path / entry.name, check_name(entry.name)
            found = present.get(child_name)
            if entry.is_dir():
                if found is not None and not found.is_folder:
                    raise Conflict("exists", f"{child}: a file with this name is in the way")
                sub = found or drive.mkdir(folder, child_name)
                stack.append((child, sub, found is None))
            elif entry.is_file():
                if entry.stat().st_size <= uploader.chunk_size and (
                    found is None or not found.is_folder
                ):
                    small.append(SmallJob(child, folder, child_name, found))
                else:
                    uploader.put(child, folder, child_name, found)
    uploader.put_small(small)


def _plan_get(cli: CliContext, remotes: list[str], local: Path) -> list[tuple[Entry, Path, Drive]]:
    located = [cli.locate(r) for r in remotes]
    entries = [(drive.resolve(r), drive) for drive, r in located]
    if local.is_dir():
        return [(e, local / (e.name or "coffre"), d) for e, d in entries]
    if len(entries) > 1:
        raise UsageError(f"{local}: not an existing folder (needed for several sources)")
    if not local.parent.is_dir():
        raise LocalError(f"{local.parent}: no such folder")
    return [(entries[0][0], local, entries[0][1])]


@click.command()
@click.argument("remotes", nargs=-1, required=True)
@click.argument("local", type=click.Path(path_type=Path))
@quiet_option
@pass_cli
def get(cli: CliContext, remotes: tuple[str, ...], local: Path, quiet: bool) -> None:
    """Download files and folders (recursively) to LOCAL.

    Into LOCAL if it is a folder; otherwise as LOCAL. Each file appears only once it is
    complete and verified.
    """
    plan = _plan_get(cli, list(remotes), local)
    trees: dict[int, Tree] = {}
    jobs: list[tuple[Entry, Path]] = []
    for entry, dest, drive in plan:
        if entry.is_folder:
            if id(drive) not in trees:
                trees[id(drive)] = drive.tree()
            whole = trees[id(drive)]
            jobs += plan_folder(whole, whole.entries[entry.id], dest)
        else:
            jobs.append((entry, dest))
    downloader = Downloader(cli.drive().api, workers=GET_WORKERS, range_workers=GET_RANGES)
    download(downloader, jobs, quiet=quiet)


def plan_folder(tree: Tree, top: Entry, dest: Path) -> list[tuple[Entry, Path]]:
    """Make ``dest`` and the folders below it; the files to download into them."""
    _mkdir(dest)
    jobs = []
    for rel, sub in tree.walk(top):
        if sub.is_folder:
            _mkdir(dest / rel)
        else:
            jobs.append((sub, dest / rel))
    return jobs


def download(downloader: Downloader, jobs: list[tuple[Entry, Path]], *, quiet: bool) -> None:
    """Download files, many small ones together; each appears only once verified."""
    total = sum(e.size for e, _ in jobs)
    with progress(total, "downloading", quiet=quiet) as advance:
        downloader.progress = advance
        small: list[SmallDownload] = []
        for entry, dest in jobs:
            if dest.is_dir():
                raise LocalError(f"{dest}: a folder is in the way")
            assert entry.record is not None and entry.record.version is not None
            assert entry.version is not None
            if entry.version.size <= entry.version.chunk_size:
                small.append(SmallDownload(entry.record.version, entry.version, dest))
            else:
                downloader.to_file(entry.record.version, entry.version, dest)
        downloader.small_files(small)


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except FileExistsError:
        raise LocalError(f"{path}: a file is in the way") from None
    except OSError as exc:
        raise LocalError.of(path, exc) from None


@click.command()
@click.argument("path")
@pass_cli
def cat(cli: CliContext, path: str) -> None:
    """Write a file to standard output (each chunk only after it is authenticated)."""
    drive, path = cli.locate(path)
    entry = drive.resolve(path)
    if entry.is_folder:
        raise UsageError(f"{path}: is a folder")
    if entry.record is None or entry.record.version is None or entry.version is None:
        raise NotFound("not_found", f"{path}: no content")
    out = sys.stdout.buffer
    try:
        Downloader(drive.api, workers=GET_WORKERS).to_binary(
            entry.record.version, entry.version, out
        )
        out.flush()
    except BrokenPipeError:
        raise  # the reader went away: not an error (coffre.cli.main)
    except OSError as exc:  # a full disk behind the redirection, say
        raise LocalError.of("standard output", exc) from None
