"""What the server keeps on disk holds no name, no content and no key of the user's.

The client uploads files with distinctive contents and names (and folders with
distinctive names), through every path that writes: small inline files, multi-chunk files
in blobs, a new version, a rename and move, a copy, and an upload left unfinished. Then the
test reads every byte under the server's data folder (the SQLite database with its -wal
and -shm files, every blob file) and looks for each name in UTF-8 (NFC and NFD), UTF-16
(both byte orders) and UTF-32, for substrings of every content, and for the password and
the account's keys.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import httpx
import pytest

from coffre.client.upload import Uploader
from coffre.crypto import account as ca
from coffre.errors import ConnectionFailed
from coffre.server.db import tables as t
from tests import blob_files
from tests.malicious.conftest import CHUNK, Victim
from tests.malicious.harness import Exchange

FOLDERS = ["Zeppelin-Dossier-7F3A", "Confidentiel-Épreuves-ßüñ-Ωμέγα"]
FILES = {
    "quarterly-report-XYZZY-2291.pdf": 5 * CHUNK + 77,  # several chunks, blobs
    "Journal-intime-été-ünïcödé-Ж.txt": 300,  # one chunk, inline in the database
    "Big-Secret-Blueprint-QUUX-5150.bin": 70 * 1024,  # one chunk above the inline limit
}
RENAMED = "Renamed-Orchid-Manuscript-4477.txt"
COPIED = "Copied-Lighthouse-Ledger-6128.txt"
UNFINISHED = "Unfinished-Upload-Gargoyle-9013.bin"


def distinctive(tag: str, size: int) -> bytes:
    """Text no other file shares, every line numbered: any 24 bytes of it are unique."""
    lines = (
        f"{tag} line {i:06d}: the owl flies at midnight over Vervain Street;\n"
        for i in range(size // 40 + 1)
    )
    return "".join(lines).encode()[:size]


def encodings(name: str) -> list[bytes]:
    forms = {unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)}
    out: list[bytes] = []
    for form in forms:
        out += [form.encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le")]
    return out


def samples(data: bytes, width: int = 24) -> list[bytes]:
    step = max(1, (len(data) - width) // 6)
    return [data[i : i + width] for i in range(0, len(data) - width + 1, step)]


def test_no_plaintext_at_rest(victim: Victim, coffre_home: Path) -> None:
    drive = victim.drive
    outer = drive.mkdir(drive.root(), FOLDERS[0])
    inner = drive.mkdir(outer, FOLDERS[1])
    contents: dict[str, bytes] = {}
    for i, (name, size) in enumerate(FILES.items()):
        contents[name] = distinctive(f"CONTENT-{i}-{name[:6]}", size)
        parent = inner if i % 2 else outer
        if size > 64 * 1024:  # one big chunk: a small-file upload whose chunk goes to a blob
            local = victim.write(name, contents[name])
            Uploader(drive, chunk_size=128 * 1024).put(local, parent, name)
        else:
            victim.upload(name, contents[name], parent)

    journal = drive.resolve(f"/{FOLDERS[0]}/{FOLDERS[1]}/Journal-intime-été-ünïcödé-Ж.txt")
    contents["v2"] = distinctive("SECOND-VERSION-PAPAYA", 2 * CHUNK + 5)
    victim.upload(journal.name, contents["v2"], inner, existing=journal)
    drive.move(journal, outer, RENAMED)
    drive.copy(drive.resolve(f"/{FOLDERS[0]}/{RENAMED}"), inner, COPIED)

    def drop(x: Exchange) -> httpx.Response:
        raise httpx.ConnectError("cut", request=x.request)

    contents[UNFINISHED] = distinctive("UNFINISHED-CONTENT-MANGO", 4 * CHUNK)
    local = victim.write(UNFINISHED, contents[UNFINISHED])
    victim.server.answer("PUT", r"/v1/uploads/\w+/chunks/[2-9]", drop)
    with pytest.raises(ConnectionFailed):
        Uploader(drive, chunk_size=CHUNK, workers=1).put(local, inner, UNFINISHED)
    victim.server.clear()
    assert victim.store.rows(t.Upload)  # an unfinished upload, with its sealed name, at rest

    tree = drive.tree()
    names = {e.name for e in tree.entries.values()} - {""}
    assert names == {*FOLDERS, *FILES, RENAMED, COPIED} - {journal.name}

    keys = victim.user.keys
    row = victim.store.row(t.User, keys.user_id.hex())
    secrets = ca.derive_login_secrets(
        victim.user.password,
        ca.KdfParams(row.kdf_time_cost, row.kdf_memory_kib, row.kdf_lanes, row.kdf_salt),
    )
    needles: dict[str, bytes] = {}
    for name in {*FOLDERS, *FILES, RENAMED, COPIED, UNFINISHED}:
        for i, raw in enumerate(encodings(name)):
            needles[f"name {name!r} #{i}"] = raw
    for label, data in contents.items():
        for i, piece in enumerate(samples(data)):
            needles[f"content {label!r} @{i}"] = piece
    needles["password"] = victim.user.password.encode()
    needles["auth secret"] = secrets.auth_secret
    needles["key-encryption key"] = secrets.kek
    needles["master key"] = keys.master_key
    needles["root key"] = keys.root_key
    needles["x25519 private key"] = keys.identity.x25519_private
    needles["ed25519 private key"] = keys.identity.ed25519_private
    for entry in tree.entries.values():
        needles[f"node key of {entry.name!r}"] = entry.key
        for _, info in drive.versions(entry) if not entry.is_folder else []:
            needles[f"content key of {entry.name!r} {info.size}"] = info.content_key

    scanned = list(victim.store.files_at_rest())
    kinds = {p.name for p in scanned}
    assert {"coffre.db", "coffre.db-wal", "coffre.db-shm"} <= kinds, kinds
    blobs = [p for p in scanned if victim.store.blobs.root in p.parents]
    held = sum(blob_files.chunks_in(p) for p in blobs)
    assert held == 6 + 1 + 3 + 2  # report.pdf, blueprint, version 2, unfinished

    found = [
        f"{label} in {path.relative_to(victim.store.data_dir)}"
        for path in scanned
        for label, needle in needles.items()
        if needle in path.read_bytes()
    ]
    assert found == []
    # The scan can see: the account's email is admitted to be known to the server.
    assert any(victim.user.email.encode() in p.read_bytes() for p in scanned)
