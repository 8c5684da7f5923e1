"""Helpers for the client tests: upload, download, look at the server's blob folder."""

from __future__ import annotations

import io
from pathlib import Path

from coffre.client.download import Downloader
from coffre.client.drive import Drive, Entry, Tree
from coffre.client.upload import Uploader

CHUNK = 4096  # small chunks make many-chunk files cheap; the test server allows >= 1024


def put(
    drive: Drive,
    path: Path,
    parent: Entry,
    name: str,
    *,
    existing: Entry | None = None,
    chunk_size: int = CHUNK,
) -> Entry:
    """Upload ``path`` as ``name`` in ``parent`` and return the entry as the server has it."""
    Uploader(drive, chunk_size=chunk_size).put(path, parent, name, existing)
    entry = drive.child(parent, name)
    assert entry is not None
    return entry


def fetch(drive: Drive, entry: Entry) -> bytes:
    """The current version of ``entry``, downloaded and checked."""
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    out = io.BytesIO()
    Downloader(drive.api).to_binary(entry.record.version, entry.version, out)
    return out.getvalue()


def blob_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def same_tree(one: Tree, other: Tree) -> None:
    """The two trees hold the same entries, opened alike, under the same folders."""
    assert set(one.entries) == set(other.entries)
    for node_id, entry in one.entries.items():
        twin = other.entries[node_id]
        assert (
            entry.name,
            entry.kind,
            entry.parent_id,
            entry.key,
            entry.trashed,
            entry.shared,
        ) == (
            twin.name,
            twin.kind,
            twin.parent_id,
            twin.key,
            twin.trashed,
            twin.shared,
        )
        assert entry.version == twin.version and entry.record == twin.record
    for folder_id, kids in one.children.items():
        assert {k.id for k in kids} == {k.id for k in other.children[folder_id]}
